"""Image data for the notebooks: MNIST-style idx files, keras.datasets, tensorflow-datasets.

Every loader returns `(images, labels)`: uint8 images of shape (N, H, W, C) and int64
labels of shape (N,). Scaling to a model's output range is a separate, explicit step
(`to_tanh_range`, `to_unit_range`), because a mismatch between data range and output
activation is one of the classic GAN bugs.
"""

import contextlib
import gzip
import io
import os
import struct
from pathlib import Path

import numpy as np

from gen_lib.quiet import quiet_native_stderr

DATA_DIR_ENV = "GEN_LIB_DATA_DIR"
KERAS_DATASETS = ("mnist", "fashion_mnist")
IDX_PREFIX = {"train": "train", "test": "t10k"}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
# MNIST's canonical test split ships with gen_lib (source and licence in its README.md), so
# the notebooks run without a network.
SHIPPED_MNIST = Path(__file__).resolve().parent / "datasets" / "mnist"


class DataError(RuntimeError):
    """Data could not be loaded; the message says why and how to fix it."""


def load_dataset(name="mnist", split="train", data_dir=None, subset=None):
    """Load `split` ("train" or "test") of MNIST or Fashion-MNIST.

    With `data_dir` (or the GEN_LIB_DATA_DIR environment variable) the canonical idx files
    are read offline, from the subfolder named after the dataset (`<data_dir>/mnist/`,
    `<data_dir>/fashion_mnist/`), or from `data_dir` itself when it bears the dataset's
    name. MNIST and Fashion-MNIST files have the same names and format: a folder of one
    must never be read as the other. Without a data folder `keras.datasets` downloads them.
    `subset=n` keeps the first n images, which is how the smoke profile stays fast.

    MNIST's test split is read from the copy shipped with gen_lib. When MNIST's train
    split cannot be downloaded, the test split is returned instead, and a message says so.
    """
    if name not in KERAS_DATASETS:
        raise ValueError(
            f"Unknown dataset {name!r}: expected one of {KERAS_DATASETS}. "
            "For other image datasets use load_tfds(name, split)."
        )
    if split not in IDX_PREFIX:
        raise ValueError(f"Unknown split {split!r}: expected 'train' or 'test'.")
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV) or None
    if data_dir:
        images, labels = load_idx_dir(dataset_folder(data_dir, name), split)
    elif name == "mnist" and split == "test":
        images, labels = load_idx_dir(SHIPPED_MNIST, "test")
    else:
        try:
            images, labels = _load_keras_dataset(name, split)
        except DataError as e:
            if name != "mnist":
                raise
            print(f"{e}\nTraining on MNIST's 10,000-image test split instead (shipped with "
                  "gen_lib): a sixth of the images, so six times the epochs for as many steps.")
            images, labels = load_idx_dir(SHIPPED_MNIST, "test")
    return _take(images, labels, subset)


def train_split_available(name, data_dir=None):
    """(True, "") if `name`'s train split can be loaded, else (False, why).

    Without a data folder this downloads it (keras.datasets keeps it in ~/.keras/datasets,
    so the notebook's own load_dataset then reads the local copy).
    """
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV)
    try:
        if data_dir:
            folder = dataset_folder(data_dir, name)
            _find_idx(folder, "train-images-idx3-ubyte", "train")
        else:
            # keras.datasets prints "Downloading data from ..." before it fails offline:
            # keep that line only if the download succeeds, so a failure reads as one message.
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                _load_keras_dataset(name, "train")
            print(printed.getvalue(), end="")
    except DataError as e:
        if data_dir:
            return False, str(e).split(" (idx files")[0]
        return False, f"{name}'s train split could not be downloaded"
    return True, ""


def dataset_folder(data_dir, name):
    """The folder that holds dataset `name`'s idx files under the data folder `data_dir`."""
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"Data directory {str(folder)!r} does not exist. Set {DATA_DIR_ENV} (or pass "
            "data_dir=) to a folder holding the MNIST idx files, or unset it to download."
        )
    if (folder / name).is_dir():
        return folder / name
    if _same_name(folder.name, name):
        return folder
    found = sorted(p.name for p in folder.iterdir() if p.is_dir() or "idx" in p.name)
    raise DataError(
        f"No {name!r} data in {folder}: it holds {found or 'nothing'}. Each dataset is read "
        f"from its own folder, because MNIST and Fashion-MNIST files share the same names: "
        f"put {name}'s idx files in {folder / name}, or point {DATA_DIR_ENV} (data_dir=) "
        f"at a folder named {name}."
    )


def _same_name(folder_name, dataset):
    def simple(text):
        return text.lower().replace("-", "").replace("_", "")
    return simple(folder_name) == simple(dataset)


def load_idx_dir(data_dir, split="train"):
    """Read `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]`."""
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"Data directory {str(folder)!r} does not exist. Set {DATA_DIR_ENV} (or pass "
            "data_dir=) to a folder holding the MNIST idx files, or unset it to download."
        )
    prefix = IDX_PREFIX[split]
    images = read_idx(_find_idx(folder, f"{prefix}-images-idx3-ubyte", split), IMAGE_MAGIC)
    labels = read_idx(_find_idx(folder, f"{prefix}-labels-idx1-ubyte", split), LABEL_MAGIC)
    if len(images) != len(labels):
        raise DataError(
            f"{folder} holds {len(images)} {split} images but {len(labels)} labels: "
            "the two files come from different datasets or one is damaged."
        )
    return images[..., None], labels.astype("int64")


def read_idx(path, expected_magic):
    """Read one idx file (optionally gzipped) into a uint8 array, checking its header."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:  # gzip raises these on a damaged or cut-off file
        raise DataError(f"Could not read {path}: {e}. Download the file again.") from e
    if len(raw) < 8:
        raise DataError(f"{path} is too short ({len(raw)} bytes) to be an idx file.")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != expected_magic:
        kind = "images (idx3)" if expected_magic == IMAGE_MAGIC else "labels (idx1)"
        raise DataError(
            f"{path} has magic number {magic}, expected {expected_magic} for {kind}. "
            "It is not an MNIST idx file of that kind (was it renamed or mixed up?)."
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(
            f"{path} is truncated or padded: its header announces shape {shape} "
            f"({expected} bytes of data) but it holds {len(raw) - header}. "
            "Download the file again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_tfds(name, split="train", data_dir=None, subset=None, image_key="image",
              label_key="label"):
    """Load any image dataset of tensorflow-datasets by name, e.g. "mnist" or "cifar10"."""
    with quiet_native_stderr():  # tfds imports TensorFlow, on every Keras backend
        import tensorflow_datasets as tfds

    try:
        dataset = tfds.load(name, split=split, data_dir=data_dir)
    except Exception as e:
        raise DataError(
            f"tensorflow-datasets could not load {name!r} split {split!r}: {e}. Offline, "
            "prepare the dataset once with network access (tfds build) and pass its "
            "data_dir."
        ) from e
    if subset is not None:
        _take([], None, subset)  # validates it
        dataset = dataset.take(subset)
    examples = list(tfds.as_numpy(dataset))
    if not examples:
        raise DataError(f"tensorflow-datasets returned no examples for {name!r} {split!r}.")
    images = np.stack([example[image_key] for example in examples])
    if images.ndim == 3:
        images = images[..., None]
    labels = (np.array([example[label_key] for example in examples], dtype="int64")
              if label_key in examples[0] else None)
    return images, labels


def to_tanh_range(images):
    """uint8 [0, 255] -> float32 [-1, 1], the range of a tanh output layer."""
    _check_uint8(images)
    return (images.astype("float32") - 127.5) / 127.5


def to_unit_range(images):
    """uint8 [0, 255] -> float32 [0, 1], the range of a sigmoid output layer."""
    _check_uint8(images)
    return images.astype("float32") / 255.0


def tanh_to_unit(images):
    """Map generator outputs in [-1, 1] to [0, 1] for plotting and metrics."""
    return (np.asarray(images, dtype="float32") + 1.0) / 2.0


def _find_idx(folder, stem, split):
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    present = sorted(p.name for p in folder.iterdir() if "idx" in p.name)
    hint = (
        " Only the test split is here: set GEN_LIB_SPLIT=test (or split='test')."
        if split == "train" and any(p.startswith("t10k") for p in present)
        else ""
    )
    raise DataError(
        f"{stem}[.gz] not found in {folder} (idx files there: {present or 'none'}).{hint}"
    )


def _load_keras_dataset(name, split):
    import keras

    loader = getattr(keras.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as e:
        raise DataError(
            f"Could not download {name} through keras.datasets ({type(e).__name__}: {e}). "
            f"Offline? Point {DATA_DIR_ENV} (or data_dir=) at a folder with the idx files "
            "(train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte.gz, ...)."
        ) from e
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    return images[..., None], labels.astype("int64")


def _take(images, labels, subset):
    if subset is not None:
        if subset < 1:
            raise ValueError(f"subset must be a positive number of images, got {subset}.")
        images = images[:subset]
        labels = None if labels is None else labels[:subset]
    return images, labels


def _check_uint8(images):
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        raise TypeError(
            "Expected uint8 images in [0, 255] as returned by the loaders, got "
            f"{type(images).__name__} of dtype {getattr(images, 'dtype', None)}. "
            "Scale raw data once, not twice."
        )
