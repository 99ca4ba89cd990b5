"""Which releases of Keras and its backends gen_lib supports, checked when gen_lib is imported.

OLDEST holds, for Keras and each backend, the oldest release the whole test suite passes on;
NEWEST_TESTED the newest it was run on. CI runs the suite at both ends, on every backend
(constraints/oldest.txt pins OLDEST, constraints/newest.txt NEWEST_TESTED), and
pyproject.toml, requirements.txt and environment.yml declare OLDEST as their lower bounds
(tests/test_versions.py checks that they all agree).

Importing gen_lib raises `UnsupportedVersionError` (an ImportError) that names the supported
releases when Keras, or the library of the backend Keras runs on, is older than OLDEST, or
when Keras lacks a part of its public API that gen_lib uses (REQUIRED_API): better at
import, with the fix, than in the middle of a training loop with an error about some Keras
detail. Set GEN_LIB_SKIP_VERSION_CHECK=1 to try another release anyway, at your own risk.

Why each lower bound:
- keras 3.13.0: before it, `keras.utils.set_random_seed` does not reset Keras' global seed
  generator, so a seeded `run_profile` does not repeat `keras.random` draws (on every
  backend; tests/test_profile.py). Keras 3.13 needs Python 3.11.
- tensorflow 2.16.1: the first TensorFlow for Keras 3 (2.15 requires Keras 2).
- jax 0.4.30: Keras 3.13's JAX backend imports `jax.export`, public from JAX 0.4.30 on.
- torch 2.13.0: the oldest CPU-only build this project can install; older releases on PyPI
  are CUDA builds (gigabytes), so none older is tested.
"""

import importlib
import inspect
import os
import re

OLDEST = {"keras": "3.13.0", "tensorflow": "2.16.1", "jax": "0.4.30", "torch": "2.13.0"}
NEWEST_TESTED = {"keras": "3.15.1", "tensorflow": "2.21.0", "jax": "0.10.2", "torch": "2.13.0"}
NAMES = {"keras": "Keras", "tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
SKIP_ENV = "GEN_LIB_SKIP_VERSION_CHECK"

# The public Keras API gen_lib is built on, as paths under `keras` ("Class.member" for a
# method or property). tests/test_versions.py checks that every `keras.` name in gen_lib's
# source is listed here.
REQUIRED_API = (
    "Input", "Model", "Model.compile", "Model.get_config", "Model.get_compile_config",
    "Model.compile_from_config", "Model.save_own_variables", "Model.load_own_variables",
    "Model.metrics_variables", "StatelessScope", "StatelessScope.get_current_value",
    "StatelessScope.add_update", "Variable.path", "Variable.value",
    "backend.backend", "callbacks.Callback", "callbacks.History", "callbacks.TerminateOnNaN",
    "datasets", "initializers.GlorotUniform", "layers.Layer", "layers.Conv2D", "layers.Dense",
    "layers.Flatten", "losses.SparseCategoricalCrossentropy", "metrics.Mean", "ops.sum",
    "ops.exp", "ops.shape", "ops.take", "ops.convert_to_numpy", "optimizers.Adam",
    "optimizers.Optimizer", "optimizers.Optimizer.apply", "optimizers.Optimizer.build",
    "random.SeedGenerator", "random.normal", "saving.serialize_keras_object",
    "saving.deserialize_keras_object", "saving.register_keras_serializable",
    "utils.set_random_seed",
)
# Keyword arguments gen_lib passes: {"path": (names, ...)}.
REQUIRED_ARGUMENTS = {"StatelessScope": ("state_mapping", "initialize_variables")}


class UnsupportedVersionError(ImportError):
    """Keras or its backend is outside the releases gen_lib supports."""


def release(version):
    """(major, minor, patch) of a version string: '2.13.0+cpu' -> (2, 13, 0)."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", str(version))
    if match is None:
        raise ValueError(f"Cannot read a release number from version {version!r}.")
    return tuple(int(part or 0) for part in match.groups())


def supported_range():
    """One line naming every supported release, for error messages and the README."""
    return ", ".join(f"{NAMES[name]} {OLDEST[name]} or newer (tested up to "
                     f"{NEWEST_TESTED[name]})" for name in OLDEST)


def missing_api(keras):
    """The parts of REQUIRED_API (and REQUIRED_ARGUMENTS) that this `keras` lacks."""
    missing = []
    for path in REQUIRED_API:
        target = keras
        for part in path.split("."):
            try:
                target = getattr(target, part)
            except Exception:  # AttributeError, or a lazy module that fails to load
                missing.append(f"keras.{path}")
                break
    for path, names in REQUIRED_ARGUMENTS.items():
        target = keras
        for part in path.split("."):
            target = getattr(target, part, None)
        if target is None:
            continue  # reported above
        parameters = inspect.signature(target).parameters
        missing += [f"keras.{path}({name}=...)" for name in names if name not in parameters]
    return missing


def problems(keras, backend_versions=None):
    """What makes this environment unsupported, as sentences; [] when it is supported.

    `backend_versions` maps a backend's name to its library's version; by default it is
    read from the library Keras runs on.
    """
    found = []
    if release(keras.__version__) < release(OLDEST["keras"]):
        found.append(f"it has Keras {keras.__version__}: "
                     f'pip install -U "keras>={OLDEST["keras"]}"')
    backend = keras.backend.backend()
    if backend in OLDEST:
        if backend_versions is None:
            backend_versions = {backend: importlib.import_module(backend).__version__}
        version = backend_versions[backend]
        if release(version) < release(OLDEST[backend]):
            found.append(f"Keras runs on {NAMES[backend]} {version}: "
                         f'pip install -U "{backend}>={OLDEST[backend]}"')
    if not found:  # a supported release that lacks what gen_lib uses: say what
        lacking = missing_api(keras)
        if lacking:
            found.append(f"its Keras {keras.__version__} lacks {', '.join(lacking)}, which "
                         "gen_lib uses")
    return found


def check(keras=None, backend_versions=None):
    """Raise UnsupportedVersionError if Keras or its backend is unsupported (see the module)."""
    if os.environ.get(SKIP_ENV, "") not in ("", "0"):
        return
    if keras is None:
        import keras
    found = problems(keras, backend_versions)
    if found:
        raise UnsupportedVersionError(
            f"gen_lib supports {supported_range()}; this environment is outside that range: "
            f"{'; '.join(found)}. Then restart the Python process (in a notebook: the "
            f"kernel). To try this environment anyway, set {SKIP_ENV}=1.")


check()
