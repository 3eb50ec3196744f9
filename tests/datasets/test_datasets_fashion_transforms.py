"""fashion_mnist_transforms (MVAE section 7 on Fashion-MNIST) on small fake IDX files: each
transformation is what it claims, the edge cache, masks, one-epoch training."""


import keras
import numpy as np
import pytest
from skimage.feature import canny

import kmvae
from kmvae import datasets
from kmvae.datasets import fashion_transforms
from kmvae.datasets.idx import write_idx
from epochs import epoch

NAME = "fashion_mnist_transforms"
MODALITIES = ("original", "edges", "obscured", "watermark", "inverted")


def fake_fashion(root, n_train=40, n_test=24, seed=0):
    """Small Fashion-MNIST-like IDX files in `root/fashion_mnist/`: a bright noisy rectangle on
    black per image (so Canny finds edges); returns {split: (images (n, 28, 28), labels)}."""
    rng = np.random.default_rng(seed)
    folder = root / "fashion_mnist"
    folder.mkdir(parents=True)
    arrays = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = np.zeros((n, 28, 28), np.uint8)
        for image in images:
            r0, c0 = rng.integers(2, 10, 2)
            r1, c1 = rng.integers(16, 27, 2)
            image[r0:r1, c0:c1] = rng.integers(120, 256, (r1 - r0, c1 - c0))
        images[:, 0, 0] = 255  # an exact white pixel
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
        arrays[split] = images, labels
    return arrays


def test_spec_counts_and_label_for_evaluation(tmp_path):
    raw = fake_fashion(tmp_path)
    assert datasets.modality_names(NAME) == MODALITIES
    assert datasets.spec(NAME) == {m: {"shape": (784,), "likelihood": "bernoulli"}
                                   for m in MODALITIES}
    assert datasets.num_examples(NAME, "train", data_dir=tmp_path, source="idx") == 40
    batch = epoch(datasets.load(NAME, "test", data_dir=tmp_path, shuffle=False))
    assert set(batch) == set(MODALITIES) | {"label"}
    assert batch["label"].dtype == np.int32
    np.testing.assert_array_equal(batch["label"], raw["test"][1])
    with pytest.raises(ValueError, match="with_label"):
        datasets.load(NAME, data_dir=tmp_path, with_label=True)


def test_transforms_are_what_they_claim(tmp_path):
    raw = fake_fashion(tmp_path)
    train, test = datasets.load(NAME, data_dir=tmp_path, source="idx", batch_size=16,
                                shuffle=False)
    mark = fashion_transforms.watermark_mask()
    for split, dataset in (("train", train), ("test", test)):
        images = raw[split][0]
        batch = {k: v.reshape(-1, 28, 28) for k, v in epoch(dataset).items() if k != "label"}
        x = images.astype(np.float32) / 255
        assert all(v.dtype == np.float32 for v in batch.values())
        np.testing.assert_array_equal(batch["original"], x)
        np.testing.assert_allclose(batch["original"] + batch["inverted"], 1.0, atol=1e-6)
        expected_edges = np.stack([canny(image / 255.0) for image in images])
        assert expected_edges.any(axis=(1, 2)).all()  # the test images do have edges
        np.testing.assert_array_equal(batch["edges"], expected_edges.astype(np.float32))
        # the right half is black, the left half the original
        np.testing.assert_array_equal(batch["obscured"][:, :, 14:], 0.0)
        np.testing.assert_array_equal(batch["obscured"][:, :, :14], x[:, :, :14])
        # the watermark: the original off the mark, half-way to white on it (rounded up)
        np.testing.assert_array_equal(batch["watermark"][:, ~mark], x[:, ~mark])
        on_mark = np.ceil((images[:, mark].astype(np.float64) + 255) / 2) / 255
        np.testing.assert_allclose(batch["watermark"][:, mark], on_mark, atol=1e-7)
        assert (batch["watermark"][:, mark] >= 128 / 255 - 1e-7).all()


def test_watermark_is_a_fixed_copyright_sign():
    mark = fashion_transforms.watermark_mask()
    assert mark.shape == (28, 28) and mark.dtype == bool
    assert 100 < mark.sum() < 300
    np.testing.assert_array_equal(mark, mark[::-1])  # symmetric top / bottom, like a C
    assert mark[14, 3] and mark[14, 24] and mark[3, 14] and mark[24, 14]  # the ring
    assert mark[14, 9] and not mark[14, 18]  # the C opens to the right
    assert not mark[14, 14] and not mark[0, 0]
    np.testing.assert_array_equal(mark, fashion_transforms.watermark_mask())


def test_transform_functions_check_their_input():
    images = np.arange(2 * 784).reshape(2, 784).astype(np.uint8)
    np.testing.assert_array_equal(fashion_transforms.invert(images), 255 - images)
    for function in (fashion_transforms.obscure, fashion_transforms.add_watermark,
                     fashion_transforms.invert, fashion_transforms.canny_edges):
        with pytest.raises(ValueError, match="float64"):
            function(images.astype(np.float64))
        with pytest.raises(ValueError, match=r"\(2, 780\)"):
            function(images[:, :780])


def test_edges_are_cached_on_disk_and_reused(tmp_path, monkeypatch):
    raw = fake_fashion(tmp_path)
    images = raw["test"][0].reshape(-1, 784)
    first = fashion_transforms.cached_canny_edges(images, tmp_path)
    files = list((tmp_path / fashion_transforms.CACHE_FOLDER).glob("edges-*.npy"))
    assert len(files) == 1
    assert np.load(files[0]).shape == (24, 98)  # bit-packed
    calls = []
    real = fashion_transforms.canny_edges
    monkeypatch.setattr(fashion_transforms, "canny_edges",
                        lambda x: calls.append(len(x)) or real(x))
    np.testing.assert_array_equal(fashion_transforms.cached_canny_edges(images, tmp_path), first)
    assert calls == []  # read from the file
    assert set(np.unique(first)) == {0, 255}
    # other images get their own file; a damaged file is recomputed and rewritten
    fashion_transforms.cached_canny_edges(raw["train"][0].reshape(-1, 784), tmp_path)
    assert calls == [40]
    files[0].write_bytes(b"not an npy file")
    np.testing.assert_array_equal(fashion_transforms.cached_canny_edges(images, tmp_path), first)
    assert calls == [40, 24]
    np.testing.assert_array_equal(fashion_transforms.cached_canny_edges(images, tmp_path), first)
    assert calls == [40, 24]


def test_load_uses_the_disk_cache_of_its_data_root(tmp_path, monkeypatch):
    fake_fashion(tmp_path)
    first = epoch(datasets.load(NAME, "test", data_dir=tmp_path, shuffle=False))
    fashion_transforms._arrays_cached.cache_clear()
    monkeypatch.setattr(fashion_transforms, "canny_edges",
                        lambda x: pytest.fail("edges recomputed despite the disk cache"))
    second = epoch(datasets.load(NAME, "test", data_dir=tmp_path, shuffle=False))
    np.testing.assert_array_equal(first["edges"], second["edges"])


def test_same_seed_same_data(tmp_path):
    fake_fashion(tmp_path)
    kwargs = dict(data_dir=tmp_path, batch_size=16, binarize="sample")
    a, b = (epoch(datasets.load(NAME, "train", seed=4, **kwargs)) for _ in range(2))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    c = epoch(datasets.load(NAME, "train", seed=5, **kwargs))
    assert not np.array_equal(a["label"], c["label"]) or not np.array_equal(a["original"],
                                                                             c["original"])
    for key in MODALITIES:
        assert set(np.unique(a[key])) <= {0.0, 1.0}


@pytest.mark.parametrize("mask_option", [dict(supervision=0.25), dict(keep_probability=0.4)])
def test_masks_never_leave_an_example_empty(tmp_path, mask_option):
    fake_fashion(tmp_path, n_train=120)
    mask = epoch(datasets.load(NAME, "train", data_dir=tmp_path, batch_size=50,
                               **mask_option))["mask"]
    assert mask.shape == (120, 5) and mask.any(axis=1).all() and not mask.all()
    if "supervision" in mask_option:
        assert mask.all(axis=1).sum() == 30


def test_one_epoch_of_mvae(tmp_path):
    fake_fashion(tmp_path, n_train=64, n_test=16)
    keras.utils.set_random_seed(0)
    train = datasets.load(NAME, "train", data_dir=tmp_path, batch_size=32, keep_probability=0.6)
    model = kmvae.MVAE([kmvae.Modality(n, **s) for n, s in datasets.spec(NAME).items()],
                       latent_dim=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    history = model.fit(train, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
