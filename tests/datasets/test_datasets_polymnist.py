"""PolyMNIST (MoPoE App. D.1): tuples of one class, different digits, inverted background crops."""

import keras
import numpy as np
import pytest

import kmvae
from kmvae import datasets
from kmvae.datasets import polymnist
from kmvae.datasets.idx import write_idx

M = 5


def fake_mnist(root, n_train=120, n_test=100, seed=0):
    """Random 28x28 digits with grey values on both sides of the > 128 threshold (0, 90, 128,
    129, 255; all different), balanced labels; written as IDX files into `root/mnist/`. Returns
    the arrays by split."""
    rng = np.random.default_rng(seed)
    folder = root / "mnist"
    folder.mkdir(parents=True)
    arrays = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = rng.choice(np.array([0, 90, 128, 129, 255], np.uint8), (n, 28, 28),
                            p=[0.5, 0.1, 0.1, 0.1, 0.2])
        labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
        arrays[split] = images, labels
    return arrays


def coordinate_backgrounds():
    """Backgrounds whose pixels say where they are: (row, column, 10 m + 5) in background m, so
    an image reveals its crop corner, its background and (by inverted values) the digit mask."""
    backgrounds = []
    for m in range(M):
        height, width = 40 + 3 * m, 60 + 5 * m
        rows, columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
        backgrounds.append(np.stack([rows, columns, np.full_like(rows, 10 * m + 5)],
                                    axis=-1).astype(np.uint8))
    return tuple(backgrounds)


def collect(dataset):
    batches = list(dataset)
    return {key: np.concatenate([b[key].numpy() for b in batches]) for key in batches[0]}


def to_uint8(values):
    return np.round(np.asarray(values) * 255.0).astype(np.int64)


def test_tuples_share_the_label_and_show_different_digits_over_their_own_backgrounds(tmp_path):
    raw = fake_mnist(tmp_path)
    backgrounds = coordinate_backgrounds()
    for split in ("train", "test"):
        images, labels = raw[split]
        binary = (images > 128).reshape(len(images), -1)
        data = collect(datasets.load("polymnist", split, batch_size=32, shuffle=False,
                                     data_dir=tmp_path, source="idx", backgrounds=backgrounds))
        assert set(data) == {f"m{m}" for m in range(M)} | {"label"}
        n = len(images)
        assert len(data["label"]) == n
        shown = np.empty((n, M), np.int64)
        for m in range(M):
            x = data[f"m{m}"]
            assert x.dtype == np.float32 and x.shape == (n, 2352)
            assert 0.0 <= x.min() and x.max() <= 1.0
            pixels = to_uint8(x).reshape(n, 28, 28, 3)
            inverted = pixels[..., 2] != 10 * m + 5  # the identity channel of background m
            assert np.all(pixels[..., 2][inverted] == 255 - (10 * m + 5))
            plain = np.where(inverted[..., None], 255 - pixels, pixels)  # undo the inversion
            corner_rows, corner_columns = plain[:, 0, 0, 0], plain[:, 0, 0, 1]
            steps = np.arange(28)
            np.testing.assert_array_equal(plain[..., 0], corner_rows[:, None, None]
                                          + steps[None, :, None] + 0 * steps[None, None, :])
            np.testing.assert_array_equal(plain[..., 1], corner_columns[:, None, None]
                                          + steps[None, None, :] + 0 * steps[None, :, None])
            height, width = backgrounds[m].shape[:2]
            assert corner_rows.max() <= height - 28 and corner_columns.max() <= width - 28
            # The inverted pixels are exactly the binarised digit of one MNIST image.
            matches = (inverted.reshape(n, 1, -1) == binary[None]).all(axis=-1)
            assert np.all(matches.sum(axis=1) == 1)
            shown[:, m] = matches.argmax(axis=1)
            # Every MNIST image appears once per modality (the authors' permutation per class).
            np.testing.assert_array_equal(np.sort(shown[:, m]), np.arange(n))
        np.testing.assert_array_equal(labels[shown], np.repeat(data["label"][:, None], M, 1))
        assert all(len(set(row)) == M for row in shown.tolist())  # >= 2M images per class
        assert len(np.unique(shown[:, 1] - shown[:, 0])) > 10  # not a fixed pairing


def test_default_backgrounds_are_scikit_image_crops_inverted_on_the_digit(tmp_path):
    import skimage.data

    raw = fake_mnist(tmp_path)
    images, labels = raw["train"]
    data = collect(datasets.load("polymnist", "train", batch_size=50, shuffle=False,
                                 data_dir=tmp_path, source="idx", num_examples=40))
    names = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")
    backgrounds = [getattr(skimage.data, name)() for name in names]
    shapes = [b.shape for b in backgrounds]
    indices, corners = polymnist.plan(labels, M, shapes, data_seed=0, split="train")
    assert len(data["label"]) == 40
    np.testing.assert_array_equal(data["label"], labels[indices[:40, 0]])
    for m, background in enumerate(backgrounds):
        pixels = to_uint8(data[f"m{m}"]).reshape(40, 28, 28, 3)
        for j in range(40):
            row, column = corners[j, m]
            crop = background[row:row + 28, column:column + 28].astype(np.int64)
            digit = images[indices[j, m]] > 128
            expected = crop.copy()
            expected[digit] = 255 - crop[digit]
            np.testing.assert_array_equal(pixels[j], expected)
        assert len(np.unique(corners[:, m, 0])) > 10  # random crops, not one place


def test_data_seed_fixes_the_content_and_seed_only_the_order(tmp_path):
    fake_mnist(tmp_path)
    options = dict(data_dir=tmp_path, source="idx", batch_size=200, num_examples=60)
    first = collect(datasets.load("polymnist", "train", shuffle=False, seed=1, **options))
    again = collect(datasets.load("polymnist", "train", shuffle=False, seed=9, **options))
    other = collect(datasets.load("polymnist", "train", shuffle=False, data_seed=1, **options))
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["m0"], other["m0"])
    shuffled = [collect(datasets.load("polymnist", "train", seed=4, **options)) for _ in range(2)]
    np.testing.assert_array_equal(shuffled[0]["m3"], shuffled[1]["m3"])
    assert not np.array_equal(shuffled[0]["label"], first["label"])
    order = np.lexsort(shuffled[0]["m0"].T)  # same tuples, another order
    np.testing.assert_array_equal(shuffled[0]["m0"][order], first["m0"][np.lexsort(first["m0"].T)])
    # A smaller set is a prefix of the full one.
    full = collect(datasets.load("polymnist", "train", shuffle=False, data_dir=tmp_path,
                                 source="idx", batch_size=200))
    np.testing.assert_array_equal(full["m2"][:60], first["m2"])


def test_pairing_is_within_classes_and_repairs_collisions():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, 2000)
    indices = polymnist.pair_within_classes(labels, 6, np.random.default_rng(0))
    assert indices.shape == (2000, 6)
    for m in range(6):
        np.testing.assert_array_equal(np.sort(indices[:, m]), np.arange(2000))
    assert np.all(labels[indices] == labels[indices[:, :1]])
    assert all(len(set(row)) == 6 for row in indices.tolist())
    # Columns are not shifted copies of one another: pairs of images vary.
    assert len(np.unique(indices[:, 1] - indices[:, 0])) > 1000


def test_masks_on_five_modalities_never_leave_a_tuple_empty(tmp_path):
    fake_mnist(tmp_path)
    names = datasets.modality_names("polymnist")
    assert names == tuple(f"m{m}" for m in range(M))
    for kwargs in ({"keep_probability": 0.2}, {"supervision": 0.25}):
        data = collect(datasets.load("polymnist", "train", batch_size=64, data_dir=tmp_path,
                                     source="idx", seed=2, **kwargs))
        mask = data["mask"]
        assert mask.shape == (120, M) and mask.dtype == bool
        assert mask.any(axis=1).all()
        if "supervision" in kwargs:
            assert mask.all(axis=1).sum() == 30  # round(0.25 * 120) complete tuples
        else:
            assert not mask.all()
    test = next(iter(datasets.load("polymnist", "test", batch_size=8, data_dir=tmp_path,
                                   source="idx", keep_probability=0.2)))
    assert "mask" not in test


def test_backgrounds_choose_the_modalities_and_bad_options_raise(tmp_path):
    fake_mnist(tmp_path)
    spec = datasets.spec("polymnist", backgrounds=("coffee", "rocket", "chelsea"))
    assert spec == {f"m{m}": {"shape": (2352,), "likelihood": "laplace"} for m in range(3)}
    assert datasets.num_examples("polymnist", "test", data_dir=tmp_path, source="idx") == 100
    assert datasets.num_examples("polymnist", "test", data_dir=tmp_path, source="idx",
                                 num_examples=7) == 7
    floats = np.linspace(0, 1, 30 * 30 * 3).reshape(30, 30, 3)
    data = collect(datasets.load("polymnist", "test", data_dir=tmp_path, source="idx",
                                 backgrounds=(floats, "coffee"), num_examples=5, batch_size=5))
    assert set(data) == {"m0", "m1", "label"}
    bad = [({"backgrounds": "astronaut"}, "tuple or list"),
           ({"backgrounds": ()}, "non-empty"),
           ({"backgrounds": ("astronaut", "no_such_image")}, "no_such_image"),
           ({"backgrounds": ("camera",)}, r"\(512, 512\)"),  # grey
           ({"backgrounds": (np.zeros((20, 40, 3), np.uint8),)}, "at least 28x28"),
           ({"backgrounds": (np.full((30, 30, 3), 2.0),)}, r"floats in \[0, 1\]"),
           ({"data_seed": -1}, "data_seed=-1"),
           ({"num_examples": 0}, "num_examples=0"),
           ({"num_examples": 101}, "only 100")]
    for options, words in bad:
        with pytest.raises(ValueError, match=words):
            datasets.load("polymnist", "test", data_dir=tmp_path, source="idx", **options)


def test_one_epoch_of_mvae_trains(tmp_path):
    fake_mnist(tmp_path)
    train = datasets.load("polymnist", "train", batch_size=32, data_dir=tmp_path, source="idx",
                          num_examples=64, keep_probability=0.5)
    modalities = [kmvae.Modality(name, **spec) for name, spec in datasets.spec("polymnist").items()]
    model = kmvae.MVAE(modalities, latent_dim=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    history = model.fit(train, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
