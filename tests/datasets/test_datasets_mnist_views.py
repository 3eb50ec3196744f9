"""MNIST-TB / QU / NO (MSNVI section 5.2) and MNIST-Split(-3) (SVAE section 4) on small fake
IDX files: parts reassemble the digit, MNIST-NO's bit flips, options, masks, one-epoch training."""

import math

import keras
import numpy as np
import pytest

import kmvae
from kmvae import datasets
from kmvae.datasets import mnist_views
from kmvae.datasets.idx import write_idx
from epochs import epoch


def fake_mnist(root, n_train=40, n_test=24, seed=0):
    """Small random MNIST IDX files in `root/mnist/`; returns {split: (images (n, 28, 28),
    labels)}."""
    rng = np.random.default_rng(seed)
    folder = root / "mnist"
    folder.mkdir(parents=True)
    arrays = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        images[:, :, :3] = rng.choice([0, 255], (n, 28, 3))  # some exact 0 / 255 pixels
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
        arrays[split] = images, labels
    return arrays


def within(rate, p, n, sigmas=5.0):
    """`rate` of n Bernoulli(p) trials is within `sigmas` standard errors of p."""
    return abs(rate - p) <= sigmas * math.sqrt(p * (1 - p) / n) + 1e-12


def rows(part, height):
    return part.reshape(len(part), height, -1)


# The whole image from the parts, computed here with numpy's own concatenation.
REASSEMBLE = {
    "mnist_tb": lambda b: np.concatenate([rows(b["top"], 14), rows(b["bottom"], 14)], axis=1),
    "mnist_split": lambda b: np.concatenate([rows(b["top"], 14), rows(b["bottom"], 14)],
                                            axis=1),
    "mnist_qu": lambda b: np.concatenate([
        np.concatenate([rows(b["top_left"], 14), rows(b["top_right"], 14)], axis=2),
        np.concatenate([rows(b["bottom_left"], 14), rows(b["bottom_right"], 14)], axis=2)],
        axis=1),
    "mnist_split3": lambda b: np.concatenate([rows(b[k], 9) for k in ("top", "middle",
                                                                       "bottom")], axis=1),
}
PARTS = [
    ("mnist_tb", {}, {"top": 392, "bottom": 392}, "halves", 28),
    ("mnist_split", {}, {"top": 392, "bottom": 392}, "halves", 28),
    ("mnist_qu", {}, {"top_left": 196, "top_right": 196, "bottom_left": 196,
                      "bottom_right": 196}, "quarters", 28),
    ("mnist_split3", {}, {"top": 252, "middle": 252, "bottom": 252}, "thirds", 27),
    ("mnist_split3", {"equal_parts": False}, {"top": 252, "middle": 280, "bottom": 252},
     "thirds_9_10_9", 28),
]


@pytest.mark.parametrize("name, options, shapes, layout, covered", PARTS)
def test_parts_reassemble_the_image_exactly(tmp_path, name, options, shapes, layout, covered):
    raw = fake_mnist(tmp_path)
    assert {k: v["shape"] for k, v in datasets.spec(name, **options).items()} == {
        k: (v,) for k, v in shapes.items()}
    assert all(v["likelihood"] == "bernoulli" for v in datasets.spec(name, **options).values())
    assert datasets.modality_names(name, **options) == tuple(shapes)
    train, test = datasets.load(name, data_dir=tmp_path, source="idx", batch_size=16,
                                shuffle=False, **options)
    for split, dataset in (("train", train), ("test", test)):
        images, labels = raw[split]
        batch = epoch(dataset)
        assert set(batch) == set(shapes) | {"label"}
        for part, size in shapes.items():
            assert batch[part].shape == (len(images), size)
            assert batch[part].dtype == np.float32
        np.testing.assert_array_equal(batch["label"], labels)
        expected = images[:, :covered].astype(np.float32) / 255
        if name == "mnist_split3" and covered == 28:  # 9 / 10 / 9 rows
            whole = np.concatenate([rows(batch["top"], 9), rows(batch["middle"], 10),
                                    rows(batch["bottom"], 9)], axis=1)
        else:
            whole = REASSEMBLE[name](batch)
        np.testing.assert_array_equal(whole, expected)
        back = mnist_views.assemble({k: batch[k] for k in shapes}, layout, fill=-1.0)
        np.testing.assert_array_equal(back[:, :covered], expected)
        assert (back[:, covered:] == -1.0).all()  # row 27 of "thirds" is no part's
    assert datasets.num_examples(name, "train", data_dir=tmp_path, source="idx",
                                 **options) == 40


def test_split_parts_and_assemble_round_trip_and_errors():
    images = np.arange(3 * 784).reshape(3, 784) % 251
    for layout in mnist_views.LAYOUTS:
        parts = mnist_views.split_parts(images, layout)
        back = mnist_views.assemble(parts, layout)
        covered = 27 if layout == "thirds" else 28
        np.testing.assert_array_equal(back[:, :covered], images.reshape(3, 28, 28)[:, :covered])
        # every pixel is in at most one part
        assert sum(p.shape[1] for p in parts.values()) == covered * 28
    with pytest.raises(ValueError, match="layout='fifths'"):
        mnist_views.split_parts(images, "fifths")
    with pytest.raises(ValueError, match=r"\(3, 783\)"):
        mnist_views.split_parts(images[:, 1:], "halves")
    with pytest.raises(ValueError, match="missing \\['bottom'\\]"):
        mnist_views.assemble({"top": np.zeros((2, 392))}, "halves")
    with pytest.raises(ValueError, match="'top' has shape \\(2, 390\\); expected \\(2, 392\\)"):
        mnist_views.assemble({"top": np.zeros((2, 390)), "bottom": np.zeros((2, 392))},
                             "halves")


def test_threshold_binarises_every_part(tmp_path):
    raw = fake_mnist(tmp_path)
    batch = epoch(datasets.load("mnist_qu", "test", data_dir=tmp_path, source="idx",
                                shuffle=False, binarize="threshold"))
    images = raw["test"][0]
    whole = REASSEMBLE["mnist_qu"](batch)
    np.testing.assert_array_equal(whole, (images / 255 > 0.5).astype(np.float32))


@pytest.mark.parametrize("name", ["mnist_tb", "mnist_qu", "mnist_no"])
def test_with_label_makes_the_label_a_modality(tmp_path, name):
    raw = fake_mnist(tmp_path)
    spec = datasets.spec(name, with_label=True)
    assert list(spec)[-1] == "label"
    assert spec["label"] == {"shape": (), "num_classes": 10, "likelihood": "categorical"}
    assert "label" not in datasets.spec(name)
    batch = epoch(datasets.load(name, "test", data_dir=tmp_path, source="idx", shuffle=False,
                                with_label=True))
    assert batch["label"].dtype == np.int32
    np.testing.assert_array_equal(batch["label"], raw["test"][1])


@pytest.mark.parametrize("name, options, words", [
    ("mnist_tb", dict(with_label="yes"), ["with_label='yes'", "True or False"]),
    ("mnist_split3", dict(equal_parts=1), ["equal_parts=1"]),
    ("mnist_split", dict(with_label=True), ["'mnist_split'", "with_label", "none"]),
    ("mnist_no", dict(flip_probability=1.5), ["flip_probability=1.5", "[0, 1]"]),
    ("mnist_no", dict(num_sources=0), ["num_sources=0", ">= 1"]),
    ("mnist_no", dict(num_sources=2.0), ["num_sources=2.0"]),
])
def test_bad_options_name_the_value(tmp_path, name, options, words):
    fake_mnist(tmp_path)
    for call in (lambda: datasets.spec(name, **options),
                 lambda: datasets.load(name, data_dir=tmp_path, source="idx", **options)):
        with pytest.raises(ValueError) as error:
            call()
        for word in words:
            assert word in str(error.value)


def test_parts_arrays_directly(tmp_path):
    raw = fake_mnist(tmp_path)
    arrays = mnist_views.parts_arrays("mnist_tb", "test", data_dir=tmp_path)
    assert arrays["top"].dtype == np.uint8
    np.testing.assert_array_equal(arrays["top"], raw["test"][0][:, :14].reshape(-1, 392))
    with pytest.raises(ValueError, match="'mnist_xx'"):
        mnist_views.parts_arrays("mnist_xx", "test", data_dir=tmp_path)
    with pytest.raises(ValueError, match="equal_parts"):
        mnist_views.parts_arrays("mnist_tb", "test", data_dir=tmp_path, equal_parts=True)


# MNIST-NO ------------------------------------------------------------------------------------

def test_mnist_no_sources_flip_five_percent_independently(tmp_path):
    raw = fake_mnist(tmp_path, n_train=300)
    assert datasets.modality_names("mnist_no") == (
        "source_0", "source_1", "source_2", "source_3", "image")
    train = datasets.load("mnist_no", "train", data_dir=tmp_path, source="idx", batch_size=64,
                          shuffle=False, seed=3)
    first, second = epoch(train), epoch(train)
    image = first["image"]
    pixels = image.size
    assert set(np.unique(image)) <= {0.0, 1.0}
    flips = []
    for k in range(4):
        source = first[f"source_{k}"]
        assert source.shape == (300, 784) and set(np.unique(source)) <= {0.0, 1.0}
        flipped = source != image
        assert within(flipped.mean(), 0.05, pixels)
        # the noise ignores the pixel's value: 5% of the 0s and 5% of the 1s flip
        for value in (0.0, 1.0):
            assert within(flipped[image == value].mean(), 0.05, int((image == value).sum()))
        flips.append(flipped)
    for a in range(4):
        for b in range(a + 1, 4):
            assert within((flips[a] & flips[b]).mean(), 0.05 ** 2, pixels)
    # A fresh binarisation and fresh flips every training epoch.
    assert (first["image"] != second["image"]).mean() > 0.05
    again = second["source_0"] != second["image"]
    assert within(again.mean(), 0.05, pixels)
    assert within((again & flips[0]).mean(), 0.05 ** 2, pixels)
    # The clean image is a Bernoulli draw of the grey values (binarize=None: sampled).
    grey = raw["train"][0].reshape(300, 784) / 255
    np.testing.assert_array_equal(image[grey == 0.0], 0.0)
    np.testing.assert_array_equal(image[grey == 1.0], 1.0)
    middle = (grey > 0) & (grey < 1)
    assert abs(image[middle].mean() - grey[middle].mean()) < 5 * 0.5 / math.sqrt(middle.sum())
    np.testing.assert_array_equal(first["label"], raw["train"][1])


def test_mnist_no_test_split_is_fixed_and_seeds_reproduce(tmp_path):
    raw = fake_mnist(tmp_path)
    kwargs = dict(data_dir=tmp_path, source="idx", batch_size=10)
    train, test = datasets.load("mnist_no", seed=5, **kwargs)
    first_test, second_test = epoch(test), epoch(test)
    for key in first_test:
        np.testing.assert_array_equal(first_test[key], second_test[key])
    train2, test2 = datasets.load("mnist_no", seed=5, **kwargs)
    for a, b in ((train, train2), (test, test2)):
        x, y = epoch(a), epoch(b)
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])
    other = epoch(datasets.load("mnist_no", "test", seed=6, **kwargs))
    assert (other["source_1"] != first_test["source_1"]).any()
    np.testing.assert_array_equal(first_test["label"], raw["test"][1])


def test_mnist_no_threshold_and_flip_probability_extremes(tmp_path):
    raw = fake_mnist(tmp_path)
    kwargs = dict(data_dir=tmp_path, source="idx", shuffle=False, binarize="threshold")
    batch = epoch(datasets.load("mnist_no", "test", flip_probability=0.0, **kwargs))
    expected = (raw["test"][0].reshape(-1, 784) / 255 > 0.5).astype(np.float32)
    np.testing.assert_array_equal(batch["image"], expected)
    for k in range(4):
        np.testing.assert_array_equal(batch[f"source_{k}"], expected)
    batch = epoch(datasets.load("mnist_no", "test", flip_probability=1.0, num_sources=2,
                                **kwargs))
    assert set(batch) == {"source_0", "source_1", "image", "label"}
    np.testing.assert_array_equal(batch["source_1"], 1.0 - expected)


def test_mnist_no_sample_binarisation_is_left_alone(tmp_path):
    """With binarize="sample" the pipeline binarises, and the transform's draw keeps a binary
    image as it is: the image is then the pipeline's own sampled binarisation."""
    fake_mnist(tmp_path)
    kwargs = dict(data_dir=tmp_path, source="idx", shuffle=False, binarize="sample", seed=2)
    image = epoch(datasets.load("mnist_no", "test", **kwargs))["image"]
    # The same draws as the pipeline's "sample" binarisation of the same images.
    reference = epoch(datasets.load("mnist_label", "test", **kwargs))["image"]
    np.testing.assert_array_equal(image, reference)


# Masks ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, options", [
    ("mnist_tb", {}), ("mnist_qu", {}), ("mnist_split3", {}), ("mnist_no", {}),
    ("mnist_no", {"with_label": True}), ("mnist_qu", {"with_label": True})])
@pytest.mark.parametrize("mask_option", [dict(supervision=0.2), dict(keep_probability=0.3)])
def test_masks_never_empty_and_keep_the_observation(tmp_path, name, options, mask_option):
    fake_mnist(tmp_path, n_train=200)
    names = datasets.modality_names(name, **options)
    train, test = datasets.load(name, data_dir=tmp_path, source="idx", batch_size=64, seed=1,
                                **options, **mask_option)
    assert "mask" not in next(iter(test))
    mask = epoch(train)["mask"]
    assert mask.shape == (200, len(names))
    droppable = [i for i, n in enumerate(names) if n != "image"]
    assert mask[:, droppable].any(axis=1).all()
    if "image" in names:
        assert mask[:, names.index("image")].all()
    assert not mask[:, droppable].all()  # something is dropped
    if "supervision" in mask_option:
        assert mask[:, droppable].all(axis=1).sum() == 40


# One epoch of a foundation model ------------------------------------------------------------

@pytest.mark.parametrize("name, options", [
    ("mnist_tb", {"with_label": True}), ("mnist_qu", {}), ("mnist_no", {}),
    ("mnist_split", {}), ("mnist_split3", {})])
def test_one_epoch_of_mvae(tmp_path, name, options):
    fake_mnist(tmp_path, n_train=64, n_test=16)
    keras.utils.set_random_seed(0)
    train = datasets.load(name, "train", data_dir=tmp_path, source="idx", batch_size=32,
                          binarize="sample", keep_probability=0.7, **options)
    model = kmvae.MVAE([kmvae.Modality(n, **s)
                        for n, s in datasets.spec(name, **options).items()], latent_dim=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    history = model.fit(train, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_tfds_source_works_too(tmp_path):
    import tensorflow_datasets as tfds
    with tfds.testing.mock_data(num_examples=12):
        raw = next(iter(tfds.as_numpy(tfds.load("mnist", split="test").batch(100))))
        batch = epoch(datasets.load("mnist_tb", "test", source="tfds", data_dir=tmp_path,
                                    shuffle=False))
    images = raw["image"].reshape(12, 28, 28).astype(np.float32) / 255
    np.testing.assert_array_equal(REASSEMBLE["mnist_tb"](batch), images)
    np.testing.assert_array_equal(batch["label"], raw["label"])


def test_oracle_training_data_drops_the_mask_options_and_loads_only_when_called(
        tmp_path, monkeypatch):
    raw = fake_mnist(tmp_path)
    monkeypatch.setenv("KMVAE_DATA_DIR", str(tmp_path))
    options = {"equal_parts": False, "supervision": 0.5, "paired_per_batch": 3,
               "keep_probability": None}
    load, name = datasets.oracle_training_data("mnist_split3", options, batch_size=8)
    assert name == "mnist_split3-equal_parts=False"     # the oracle cache's key
    assert datasets.oracle_training_data("mnist_split")[1] == "mnist_split"
    batches = list(load())                # the training split, shuffled, unmasked, 40 digits
    assert [len(b["label"]) for b in batches] == [8] * 5 and "mask" not in batches[0]
    labels = np.concatenate([b["label"] for b in batches])
    assert sorted(labels) == sorted(raw["train"][1])
    assert datasets.part_names("mnist_split3", options) == ("top", "middle", "bottom")
    assert datasets.part_names("mnist_split") == ("top", "bottom")
    with pytest.raises(ValueError, match="Unknown data set 'mnist_splt'"):
        datasets.oracle_training_data("mnist_splt")
