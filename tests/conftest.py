import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"


def write_idx(path, array, magic, gz=True):
    """Write `array` (uint8) as an idx file: magic, dims, then the raw bytes."""
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


@pytest.fixture
def idx_dir(tmp_path):
    """A folder named mnist with a tiny, valid MNIST-style test split: 12 images, 12 labels."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    labels = np.arange(12, dtype=np.uint8) % 10
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images, 2051)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels, 2049)
    return folder, images, labels


@pytest.fixture(scope="session")
def real_mnist():
    """The real MNIST test split from ../shared (CI always has it)."""
    from gen_lib import load_idx_dir

    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST not found in {SHARED_MNIST}")
    return load_idx_dir(SHARED_MNIST, "test")


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test caches classifiers in one temporary folder, never in $HOME."""
    monkeypatch.setenv("GEN_LIB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
