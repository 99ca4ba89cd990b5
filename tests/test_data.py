import gzip
import os
from pathlib import Path

import keras
import numpy as np
import pytest

import gen_lib
from gen_lib.data import DataError, read_idx
from tests.conftest import SHARED_MNIST, write_idx


def test_reads_gzipped_and_plain_idx(idx_dir):
    folder, images, labels = idx_dir
    x, y = gen_lib.load_dataset("mnist", "test", data_dir=folder)
    assert x.shape == (12, 28, 28, 1) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[..., 0], images)
    np.testing.assert_array_equal(y, labels)
    # same content, uncompressed files
    for name, arr, magic in [("images-idx3", images, 2051), ("labels-idx1", labels, 2049)]:
        (folder / f"t10k-{name}-ubyte.gz").unlink()
        write_idx(folder / f"t10k-{name}-ubyte", arr, magic, gz=False)
    x2, y2 = gen_lib.load_dataset("mnist", "test", data_dir=folder)
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(y2, y)


def test_data_dir_from_environment_and_subset(idx_dir, monkeypatch):
    folder, images, _ = idx_dir
    monkeypatch.setenv("GEN_LIB_DATA_DIR", str(folder))
    x, y = gen_lib.load_dataset("mnist", "test", subset=5)
    assert x.shape == (5, 28, 28, 1) and y.shape == (5,)
    np.testing.assert_array_equal(x[..., 0], images[:5])


def test_real_mnist_test_split(real_mnist):
    x, y = real_mnist
    assert x.shape == (10000, 28, 28, 1) and y.shape == (10000,)
    assert x.dtype == np.uint8 and x.max() == 255 and x.min() == 0
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


def test_each_dataset_comes_from_its_own_folder(real_mnist, tmp_path):
    """MNIST and Fashion-MNIST idx files have the same names: a data folder of one must
    never be read as the other (an exercise that switches the dataset would silently keep
    training on digits)."""
    if not FASHION_MNIST.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (scripts/test.sh does)")
    (tmp_path / "mnist").symlink_to(SHARED_MNIST)
    (tmp_path / "fashion_mnist").symlink_to(FASHION_MNIST)
    digits, digit_labels = gen_lib.load_dataset("mnist", "test", data_dir=tmp_path)
    clothes, clothes_labels = gen_lib.load_dataset("fashion_mnist", "test", data_dir=tmp_path)
    np.testing.assert_array_equal(digits, real_mnist[0])
    assert np.bincount(clothes_labels).tolist() == [1000] * 10  # Fashion-MNIST's test split
    assert np.bincount(digit_labels).tolist() != [1000] * 10
    # A folder named after its dataset is read directly, Debian's "fashion-mnist" included.
    direct, _ = gen_lib.load_dataset("fashion_mnist", "test", data_dir=FASHION_MNIST)
    np.testing.assert_array_equal(direct, clothes)
    # A folder of MNIST is refused for Fashion-MNIST, saying what it holds and what to do.
    with pytest.raises(DataError, match=r"No 'fashion_mnist' data in .*mnist.*t10k-images"):
        gen_lib.load_dataset("fashion_mnist", "test", data_dir=SHARED_MNIST)
    os.remove(tmp_path / "mnist")
    with pytest.raises(DataError, match=r"No 'mnist' data .* holds \['fashion_mnist'\]. .*"
                                        r"put mnist's idx files in"):
        gen_lib.load_dataset("mnist", "test", data_dir=tmp_path)


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist.*GEN_LIB_DATA_DIR"):
        gen_lib.load_dataset("mnist", "test", data_dir=tmp_path / "nowhere")


def test_missing_file_names_it_and_suggests_test_split(idx_dir):
    folder, _, _ = idx_dir
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*GEN_LIB_SPLIT=test"):
        gen_lib.load_dataset("mnist", "train", data_dir=folder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        gen_lib.load_dataset("mnist", "test", data_dir=folder)


def test_truncated_file(idx_dir):
    folder, _, _ = idx_dir
    path = folder / "t10k-images-idx3-ubyte.gz"
    raw = gzip.open(path).read()
    with gzip.open(path, "wb") as f:
        f.write(raw[:-100])
    with pytest.raises(DataError, match="truncated"):
        gen_lib.load_dataset("mnist", "test", data_dir=folder)


def test_cut_off_gzip_stream(idx_dir):
    folder, _, _ = idx_dir
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="Could not read.*again"):
        gen_lib.load_dataset("mnist", "test", data_dir=folder)


def test_wrong_magic_number(idx_dir):
    folder, images, labels = idx_dir
    # labels where images should be
    write_idx(folder / "t10k-images-idx3-ubyte.gz", labels, 2049)
    with pytest.raises(DataError, match="magic number 2049, expected 2051"):
        read_idx(folder / "t10k-images-idx3-ubyte.gz", 2051)


def test_image_and_label_counts_must_match(idx_dir):
    folder, _, labels = idx_dir
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels[:7], 2049)
    with pytest.raises(DataError, match="12 test images but 7 labels"):
        gen_lib.load_dataset("mnist", "test", data_dir=folder)


def test_download_failure_says_how_to_work_offline(monkeypatch):
    monkeypatch.delenv("GEN_LIB_DATA_DIR", raising=False)

    def no_network():
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", no_network)
    with pytest.raises(DataError, match="Could not download fashion_mnist.*GEN_LIB_DATA_DIR"):
        gen_lib.load_dataset("fashion_mnist", "train")


def no_network():
    raise OSError("Temporary failure in name resolution")


def test_offline_mnist_falls_back_to_the_shipped_test_split(monkeypatch, capsys, real_mnist):
    """No network and no data folder: MNIST's test split ships with gen_lib, so a notebook
    still runs, and says what it trained on."""
    monkeypatch.delenv("GEN_LIB_DATA_DIR", raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    images, labels = gen_lib.load_dataset("mnist", "train")
    message = capsys.readouterr().out
    assert "Could not download mnist" in message and "10,000-image test split" in message
    np.testing.assert_array_equal(images, real_mnist[0])  # the canonical files, unchanged
    np.testing.assert_array_equal(labels, real_mnist[1])
    images, _ = gen_lib.load_dataset("mnist", "test")  # never needs the network
    assert images.shape == (10000, 28, 28, 1)


def test_offline_profile_trains_on_the_test_split_for_as_many_steps(monkeypatch, idx_dir):
    from gen_lib.data import train_split_available

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    available, why = train_split_available("mnist", data_dir=False)
    assert not available and why == "mnist's train split could not be downloaded"
    run = gen_lib.run_profile(epochs=7, env={}, dataset="mnist")
    assert (run.split, run.epochs) == ("test", 42)
    assert "test split because mnist's train split could not be downloaded" in run.describe(10000)
    # a data folder with only the test split is the same case, said the same way
    folder, _, _ = idx_dir
    run = gen_lib.run_profile(epochs=7, env={"GEN_LIB_DATA_DIR": str(folder)}, dataset="mnist")
    assert (run.split, run.epochs) == ("test", 42)
    assert f"train-images-idx3-ubyte[.gz] not found in {folder}" in run.note


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="load_tfds"):
        gen_lib.load_dataset("cifar10")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        gen_lib.load_dataset("mnist", "validation")


def test_tfds_by_name_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6):
        x, y = gen_lib.load_tfds("mnist", "train")
    assert x.shape == (6, 28, 28, 1) and x.dtype == np.uint8
    assert y.shape == (6,)


def test_scaling_helpers():
    images = np.array([[0, 255], [127, 128]], dtype=np.uint8)[None, ..., None]
    tanh = gen_lib.to_tanh_range(images)
    unit = gen_lib.to_unit_range(images)
    assert tanh.dtype == unit.dtype == np.float32
    assert tanh.min() == -1 and tanh.max() == 1
    assert unit.min() == 0 and unit.max() == 1
    np.testing.assert_allclose(gen_lib.tanh_to_unit(tanh), unit, atol=1e-6)
    with pytest.raises(TypeError, match="uint8"):
        gen_lib.to_tanh_range(tanh)  # scaling twice
