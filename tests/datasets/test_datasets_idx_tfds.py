"""MNIST / Fashion-MNIST sources: IDX files (round trip, malformed, missing) and mocked TFDS."""

import struct

import numpy as np
import pytest

from kmvae import datasets
from kmvae.datasets.idx import IdxFormatError, read_idx, read_idx_header, write_idx


def fake_mnist(root, dataset="mnist", n_train=30, n_test=10, gz=False, seed=0):
    """Writes small random IDX files into `root/dataset/`; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder = root / dataset
    folder.mkdir(parents=True)
    suffix = ".gz" if gz else ""
    arrays = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        arrays[split] = images, labels
    return arrays


def as_arrays(dataset):
    batches = list(dataset)
    return (np.concatenate([b["image"].numpy() for b in batches]),
            np.concatenate([b["label"].numpy() for b in batches]))


# IDX format ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    if dtype == "uint8":
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    path = write_idx(tmp_path / name, array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)
    assert read_idx_header(path)[1] == (2, 3, 4)


def test_idx_header_is_standard_big_endian(tmp_path):
    path = write_idx(tmp_path / "labels", np.array([7, 2, 1], np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
    path = write_idx(tmp_path / "ints", np.array([[1, 256]], np.int32))
    assert path.read_bytes() == (bytes([0, 0, 0x0C, 2]) + struct.pack(">II", 1, 2)
                                 + struct.pack(">ii", 1, 256))


@pytest.mark.parametrize("content, words", [
    (b"\x01\x02\x08\x01\x00\x00\x00\x01\x05", ["magic number 01020801"]),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", ["magic number", "type code"]),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", ["3 dimensions", "ends"]),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", ["shape (5,)", "holds 2 bytes"]),
    (b"\x00\x00", ["shorter than the 4-byte magic"]),
])
def test_malformed_idx_names_the_file(tmp_path, content, words):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(IdxFormatError) as error:
        read_idx(path)
    assert str(path) in str(error.value)
    for word in words:
        assert word in str(error.value)


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))


# load(..., source="idx") --------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_from_idx_exactly(tmp_path, gz):
    arrays = fake_mnist(tmp_path, gz=gz)
    train, test = datasets.load("mnist_label", data_dir=tmp_path, source="idx", batch_size=8,
                                shuffle=False)
    assert train.element_spec["image"].shape.as_list() == [None, 784]
    for split, dataset in (("train", train), ("test", test)):
        images, labels = as_arrays(dataset)
        raw_images, raw_labels = arrays[split]
        assert images.dtype == np.float32 and labels.dtype == np.int32
        np.testing.assert_array_equal(images, raw_images.reshape(-1, 784).astype(np.float32) / 255)
        np.testing.assert_array_equal(labels, raw_labels)
    assert datasets.num_examples("mnist_label", "train", data_dir=tmp_path, source="idx") == 30
    assert datasets.num_examples("mnist_label", "test", data_dir=tmp_path, source="idx") == 10


def test_auto_falls_back_to_idx_and_env_var_sets_the_root(tmp_path, monkeypatch):
    arrays = fake_mnist(tmp_path, "fashion_mnist", n_train=12, n_test=4)
    _, labels = as_arrays(datasets.load("fashion_mnist_label", "test", data_dir=tmp_path))
    np.testing.assert_array_equal(labels, arrays["test"][1])
    monkeypatch.setenv("KMVAE_DATA_DIR", str(tmp_path))
    _, labels = as_arrays(datasets.load("fashion_mnist_label", "test", source="idx"))
    np.testing.assert_array_equal(labels, arrays["test"][1])


def test_malformed_idx_in_data_dir_is_reported(tmp_path):
    fake_mnist(tmp_path)
    bad = tmp_path / "mnist" / "t10k-labels-idx1-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x0a\x01")  # 10 labels declared, 1 given
    with pytest.raises(IdxFormatError, match="t10k-labels-idx1-ubyte"):
        datasets.load("mnist_label", "test", data_dir=tmp_path, source="idx")
    gz = tmp_path / "mnist" / "train-labels-idx1-ubyte"
    gz.unlink()
    (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(IdxFormatError, match="train-labels-idx1-ubyte.gz"):
        datasets.load("mnist_label", "train", data_dir=tmp_path, source="idx")


def test_mismatched_counts_are_reported(tmp_path):
    fake_mnist(tmp_path)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte", np.zeros(9, np.uint8))
    with pytest.raises(ValueError, match="expected \\(10,\\)"):
        datasets.load("mnist_label", "test", data_dir=tmp_path, source="idx")


@pytest.mark.parametrize("name, dataset", [("mnist_label", "mnist"),
                                           ("fashion_mnist_label", "fashion_mnist")])
@pytest.mark.parametrize("source", ["idx", "auto"])
def test_missing_data_says_which_directory_and_what_to_run(tmp_path, name, dataset, source):
    root = tmp_path / "nowhere"
    with pytest.raises(datasets.DataNotFoundError) as error:
        datasets.load(name, data_dir=root, source=source)
    message = str(error.value)
    assert str(root / dataset) in message
    assert f"kmvae data fetch {dataset}" in message
    assert "TFDS" in message
    if dataset == "mnist":
        assert "subset" in message
    assert isinstance(error.value, FileNotFoundError)


# load(..., source="tfds") with mocked TFDS ----------------------------------------------------

def test_tfds_source_converts_mock_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        # (batch_size=-1 aborts under mock_data: the mock has no split sizes)
        raw = next(iter(tfds.as_numpy(tfds.load("mnist", split="train").batch(100))))
        train, test = datasets.load("mnist_label", source="tfds", batch_size=5, shuffle=False,
                                    data_dir=tmp_path)
        batch = next(iter(train))
        assert set(batch) == {"image", "label"}
        assert batch["image"].dtype.name == "float32" and batch["image"].shape == (5, 784)
        assert batch["label"].dtype.name == "int32" and batch["label"].shape == (5,)
        images, labels = as_arrays(train)
    assert raw["image"].shape == (12, 28, 28, 1) and raw["image"].dtype == np.uint8
    assert raw["image"].max() > 1  # random grey values, so the scaling is visible
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, raw["image"].reshape(12, 784).astype(np.float32) / 255)
    np.testing.assert_array_equal(labels, raw["label"])


def test_auto_prefers_prepared_tfds(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    fake_mnist(tmp_path, "fashion_mnist", n_train=3, n_test=3)  # would give 3 examples
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
    with tfds.testing.mock_data(num_examples=7):
        test = datasets.load("fashion_mnist_label", "test", batch_size=100, data_dir=tmp_path,
                             binarize="threshold")
        images, labels = as_arrays(test)
    assert images.shape == (7, 784) and set(np.unique(images)) <= {0.0, 1.0}
