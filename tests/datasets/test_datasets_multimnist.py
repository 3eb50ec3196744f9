"""MultiMNIST (MVAE section 4.3): digits at four fixed places, their classes as token ids."""

import keras
import numpy as np
import pytest
from PIL import Image

import kmvae
from kmvae import datasets
from kmvae.datasets import multimnist
from kmvae.datasets.idx import write_idx

START, STOP, PAD = 10, 11, 12
CORNERS = [(4, 4), (4, 23), (23, 4), (23, 23)]  # MVAE authors' generator, reading order


def fake_mnist(root, n_train=50, n_test=20, seed=0):
    """Random grey 28x28 digits (every one different) and labels, as IDX files in
    `root/mnist/`. Returns the arrays by split."""
    rng = np.random.default_rng(seed)
    folder = root / "mnist"
    folder.mkdir(parents=True)
    arrays = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = np.where(rng.random((n, 28, 28)) < 0.4, rng.integers(1, 256, (n, 28, 28)),
                          0).astype(np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
        arrays[split] = images, labels
    return arrays


def collect(dataset):
    batches = list(dataset)
    return {key: np.concatenate([b[key].numpy() for b in batches]) for key in batches[0]}


def test_resize_matches_pil_bilinear():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (30, 28, 28)).astype(np.uint8)
    ours = multimnist.resize_digits(images).astype(int)
    pil = np.stack([np.asarray(Image.fromarray(x).resize((21, 21), Image.BILINEAR))
                    for x in images]).astype(int)
    assert ours.shape == (30, 21, 21)
    assert np.abs(ours - pil).max() <= 1  # PIL rounds in fixed point
    assert np.mean(ours == pil) > 0.95
    weights = multimnist.resample_matrix(28, 21)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    flat = np.full((1, 28, 28), 200, np.uint8)
    np.testing.assert_array_equal(multimnist.resize_digits(flat), 200)


def test_canvas_is_the_digits_at_the_stated_places_and_text_reads_them(tmp_path):
    raw = fake_mnist(tmp_path)
    for split, size in (("train", 300), ("test", 40)):
        images, labels = raw[split]
        data = collect(datasets.load("multimnist", split, batch_size=64, shuffle=False,
                                     data_dir=tmp_path, source="idx", num_examples=size))
        assert set(data) == {"image", "text"}
        assert data["image"].dtype == np.float32 and data["image"].shape == (size, 2500)
        assert data["text"].dtype == np.int32 and data["text"].shape == (size, 6)
        counts, indices = multimnist.layout(size, len(images), data_seed=0, split=split)
        small = [np.asarray(Image.fromarray(x).resize((21, 21), Image.BILINEAR)).astype(int)
                 for x in images]
        canvases = np.round(data["image"] * 255).astype(int).reshape(size, 50, 50)
        for i in range(size):
            k = counts[i]
            expected = np.zeros((50, 50), int)
            for slot in range(k):
                row, column = CORNERS[slot]
                patch = expected[row:row + 21, column:column + 21]
                np.maximum(patch, small[indices[i, slot]], out=patch)
            assert np.abs(canvases[i] - expected).max() <= 1  # PIL's fixed-point rounding
            # Outside the used slots the canvas is empty; inside every slot, it is not.
            used = np.zeros((50, 50), bool)
            for slot in range(k):
                row, column = CORNERS[slot]
                used[row:row + 21, column:column + 21] = True
                assert canvases[i, row:row + 21, column:column + 21].any()
            assert not canvases[i][~used].any()
            # The text: START, the classes in reading order, STOP, then PAD.
            classes = [int(labels[j]) for j in indices[i, :k]]
            assert data["text"][i].tolist() == [START] + classes + [STOP] + [PAD] * (4 - k)
            assert multimnist.decode_text(data["text"][i]) == "".join(map(str, classes))
        if split == "train":
            # 0..4 digits, each count about a fifth of the canvases.
            assert set(counts.tolist()) == {0, 1, 2, 3, 4}
            assert np.all(np.abs(np.bincount(counts, minlength=5) / size - 0.2) < 0.08)
            assert len(np.unique(indices)) == len(images)  # draws cover the digits
            empty = counts == 0
            assert not canvases[empty].any()
            assert (data["text"][empty] == [START, STOP] + [PAD] * 4).all()


def test_decode_text():
    tokens = np.array([[START, 3, 0, 5, STOP, PAD], [START, STOP, PAD, PAD, PAD, PAD],
                       [START, 1, 2, 3, 4, STOP], [START, 7, PAD, 2, STOP, PAD]])
    assert multimnist.decode_text(tokens) == ["305", "", "1234", "7<pad>2"]
    assert multimnist.decode_text(tokens[0]) == "305"
    encoded = multimnist.encode_text(np.array([[3, 0, 5, 9], [1, 1, 1, 1]]), np.array([3, 0]))
    np.testing.assert_array_equal(encoded, tokens[:2])


def test_data_seed_fixes_the_canvases_and_seed_only_the_order(tmp_path):
    fake_mnist(tmp_path)
    options = dict(data_dir=tmp_path, source="idx", batch_size=500, num_examples=80)
    first = collect(datasets.load("multimnist", "train", shuffle=False, seed=1, **options))
    again = collect(datasets.load("multimnist", "train", shuffle=False, seed=5, **options))
    other = collect(datasets.load("multimnist", "train", shuffle=False, data_seed=2, **options))
    test = collect(datasets.load("multimnist", "test", **options))
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["text"], other["text"])
    assert not np.array_equal(first["text"], test["text"])
    shuffled = [collect(datasets.load("multimnist", "train", seed=3, **options))
                for _ in range(2)]
    np.testing.assert_array_equal(shuffled[0]["image"], shuffled[1]["image"])
    assert not np.array_equal(shuffled[0]["text"], first["text"])
    key = lambda d: np.lexsort(np.concatenate([d["image"], d["text"]], axis=1).T)  # noqa: E731
    np.testing.assert_array_equal(shuffled[0]["text"][key(shuffled[0])], first["text"][key(first)])
    assert datasets.num_examples("multimnist", "train", data_dir=tmp_path, source="idx") == 60000
    assert datasets.num_examples("multimnist", "test", data_dir=tmp_path, source="idx") == 10000
    assert datasets.num_examples("multimnist", "test", data_dir=tmp_path, source="idx",
                                 num_examples=80) == 80


def test_binarize_applies_to_the_image_only_and_masks_keep_one_modality(tmp_path):
    fake_mnist(tmp_path)
    options = dict(data_dir=tmp_path, source="idx", batch_size=64, num_examples=120)
    grey = collect(datasets.load("multimnist", "train", shuffle=False, **options))
    binary = collect(datasets.load("multimnist", "train", shuffle=False, binarize="threshold",
                                   **options))
    np.testing.assert_array_equal(binary["image"], (grey["image"] > 0.5).astype(np.float32))
    np.testing.assert_array_equal(binary["text"], grey["text"])
    assert datasets.modality_names("multimnist") == ("image", "text")
    for kwargs in ({"keep_probability": 0.3}, {"supervision": 0.1}):
        mask = collect(datasets.load("multimnist", "train", seed=4, **kwargs, **options))["mask"]
        assert mask.shape == (120, 2) and mask.any(axis=1).all()
        if "supervision" in kwargs:
            assert mask.all(axis=1).sum() == 12
            assert (mask[:, 0] & ~mask[:, 1]).sum() == 54


def test_bad_options_raise(tmp_path):
    fake_mnist(tmp_path)
    for options, words in (({"num_examples": 0}, "num_examples=0"),
                           ({"num_examples": "100"}, "num_examples='100'"),
                           ({"data_seed": True}, "data_seed=True"),
                           ({"canvas": 64}, "no option")):
        with pytest.raises(ValueError, match=words):
            datasets.load("multimnist", "test", data_dir=tmp_path, source="idx", **options)


def test_one_epoch_of_mvae_trains_with_the_text_modality(tmp_path):
    fake_mnist(tmp_path)
    train = datasets.load("multimnist", "train", batch_size=32, data_dir=tmp_path, source="idx",
                          num_examples=64, supervision=0.5)
    modalities = [kmvae.Modality(name, **spec)
                  for name, spec in datasets.spec("multimnist").items()]
    assert modalities[1].shape == (6,) and modalities[1].num_classes == 13
    model = kmvae.MVAE(modalities, latent_dim=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    history = model.fit(train, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    text = model.translate({"image": next(iter(train))["image"][:3]}, targets=["text"])["text"]
    assert tuple(text.shape) == (3, 6, 13)  # class probabilities per token
    np.testing.assert_allclose(np.sum(text, axis=-1), 1.0, rtol=1e-5)
