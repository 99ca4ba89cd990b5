"""Run profile: the full teaching run, or a fast smoke run for CI.

The smoke profile runs the same code on less: a small real subset, one short epoch,
fewer samples for the metric. Any single setting can be overridden from the
environment, e.g. to do a full-length run on the 10k test split:

    GEN_LIB_SPLIT=test jupyter lab

A notebook's epochs are passes over the 60,000-image train split. On the 10,000-image
test split (chosen, or the fallback when the train split cannot be downloaded) the full
profile trains six times as many epochs, so as many steps, unless GEN_LIB_EPOCHS says
otherwise.
"""

import dataclasses
import os

PROFILE_ENV = "GEN_LIB_PROFILE"
PROFILES = ("full", "smoke")
# What the smoke profile changes, whatever the notebook's full settings are.
SMOKE = {"subset": 512, "epochs": 1, "fd_samples": 200}
TEST_SPLIT_EPOCHS = 6  # MNIST's and Fashion-MNIST's train splits hold 6x the test split
OVERRIDABLE = {  # setting -> (environment variable, parser)
    "split": ("GEN_LIB_SPLIT", str),
    "epochs": ("GEN_LIB_EPOCHS", int),
    "subset": ("GEN_LIB_SUBSET", int),
    "fd_samples": ("GEN_LIB_FD_SAMPLES", int),
    "seed": ("GEN_LIB_SEED", int),
}


@dataclasses.dataclass(frozen=True)
class RunProfile:
    name: str
    split: str
    epochs: int
    subset: int | None  # None: every image of the split
    fd_samples: int  # images per set in the Fréchet distance and its floor
    seed: int
    overridden: tuple = ()  # names of the settings taken from the environment
    note: str = ""  # why the split or the epochs differ from the notebook's, if they do

    def size(self, full, smoke):
        """`full` in the full profile, `smoke` in the smoke one: an exercise's steps or
        images, so that the quick run executes the same solution code on less."""
        if not (isinstance(full, int) and isinstance(smoke, int)) or min(full, smoke) < 1:
            raise ValueError(
                f"size() takes two positive whole numbers, got {full!r} and {smoke!r}: "
                "e.g. run.size(400, smoke=10)."
            )
        return full if self.name == "full" else min(full, smoke)

    def describe(self, n_images=None):
        images = f"{n_images} images" if n_images is not None else (
            f"first {self.subset} images" if self.subset else "all images"
        )
        text = (
            f"profile {self.name!r}: {self.split} split, {images}, {self.epochs} epoch(s), "
            f"FD on {self.fd_samples} samples, seed {self.seed}"
        )
        if self.overridden:
            text += f" (from the environment: {', '.join(self.overridden)})"
        return text + (f"; {self.note}" if self.note else "")


def run_profile(epochs, split="train", subset=None, fd_samples=5000, seed=42,
                smoke=None, env=None, dataset=None):
    """Settings for this run: the notebook's full settings, or the smoke ones.

    `smoke` may override the smoke settings for one notebook. With `dataset`, a train
    split that cannot be loaded (offline, no data folder) gives way to the test split,
    which gen_lib ships for MNIST. Seeds Python, NumPy and Keras once, so a rerun gives
    the same result on the same backend and machine.
    """
    env = os.environ if env is None else env
    name = env.get(PROFILE_ENV, "full").strip().lower() or "full"
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={env.get(PROFILE_ENV)!r} is not a profile: use one of {PROFILES}."
        )
    settings = {"split": split, "epochs": epochs, "subset": subset,
                "fd_samples": fd_samples, "seed": seed}
    if name == "smoke":
        settings.update(SMOKE)
        settings.update(smoke or {})
    overridden = []
    for key, (var, parse) in OVERRIDABLE.items():
        raw = env.get(var, "").strip()
        if not raw:
            continue
        try:
            value = parse(raw)
        except ValueError:
            raise ValueError(
                f"{var}={raw!r} cannot be read as {parse.__name__}: expected e.g. "
                f"{var}={settings[key] if settings[key] is not None else 1000}."
            ) from None
        settings[key] = None if key == "subset" and value == 0 else value
        overridden.append(var)
    _validate(settings)
    notes = []
    if dataset is not None and settings["split"] == "train":
        from gen_lib.data import train_split_available

        available, why = train_split_available(dataset, env.get("GEN_LIB_DATA_DIR") or False)
        if not available:
            settings["split"] = "test"
            notes.append(f"the test split because {why}")
            print(f"{why}: this run trains on the test split instead (10,000 images)")
    if (name == "full" and settings["split"] == "test" and settings["subset"] is None
            and "GEN_LIB_EPOCHS" not in overridden):
        notes.append(f"{TEST_SPLIT_EPOCHS} times the {settings['epochs']} epoch(s) set for the "
                     "60,000-image train split, for as many steps")
        settings["epochs"] *= TEST_SPLIT_EPOCHS
    profile = RunProfile(name=name, overridden=tuple(overridden), note="; ".join(notes),
                         **settings)
    import keras

    from gen_lib.quiet import quiet_native_stderr

    with quiet_native_stderr():  # it also seeds TensorFlow, importing it on every backend
        keras.utils.set_random_seed(profile.seed)
    return profile


def _validate(s):
    if s["split"] not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {s['split']!r}.")
    if s["epochs"] < 1:
        raise ValueError(f"epochs must be at least 1, got {s['epochs']}.")
    if s["subset"] is not None and s["subset"] < 1:
        raise ValueError(f"subset must be positive (0 or unset for all), got {s['subset']}.")
    if s["fd_samples"] < 10:
        raise ValueError(f"fd_samples must be at least 10, got {s['fd_samples']}.")
