"""`kmvae.datasets.load` on digits_label: layout, splits, shuffling, binarisation, supervision."""

import collections
import math

import numpy as np
import pytest

from kmvae import datasets
from kmvae.datasets import digits
from kmvae.datasets.pipeline import make_dataset
from epochs import epoch


# Registry -----------------------------------------------------------------------------------

def test_names_spec_and_counts():
    assert datasets.list() == datasets.names() == tuple(sorted(datasets.names()))
    assert {"digits_label", "fashion_mnist_label", "mnist_label"} <= set(datasets.names())
    assert datasets.modality_names("mnist_label") == ("image", "label")
    assert datasets.spec("mnist_label") == {
        "image": {"shape": (784,), "likelihood": "bernoulli"},
        "label": {"shape": (), "num_classes": 10, "likelihood": "categorical"}}
    assert datasets.spec("digits_label")["image"]["shape"] == (64,)
    datasets.spec("digits_label")["image"]["shape"] = "changed"  # a copy
    assert datasets.spec("digits_label")["image"]["shape"] == (64,)
    assert datasets.num_examples("digits_label", "train") == 1437
    assert datasets.num_examples("digits_label", "test") == 360


@pytest.mark.parametrize("kwargs, words", [
    (dict(name="cifar10"), ["'cifar10'", "digits_label", "mnist_label"]),
    (dict(name="digits_label", split="validation"), ["'validation'", "train", "test"]),
    (dict(name="digits_label", split=("train", "val")), ["'val'", "train"]),
    (dict(name="digits_label", binarize="otsu"), ["'otsu'", "threshold", "sample"]),
    (dict(name="digits_label", source="idx"), ["'idx'", "auto"]),
    (dict(name="mnist_label", source="web"), ["'web'", "tfds", "idx"]),
    (dict(name="digits_label", batch_size=0), ["batch_size=0"]),
    (dict(name="digits_label", seed=-1), ["seed=-1"]),
    (dict(name="digits_label", shuffle="yes"), ["shuffle='yes'"]),
])
def test_invalid_arguments_name_what_was_received(kwargs, words):
    with pytest.raises(ValueError) as error:
        datasets.load(**kwargs)
    for word in words:
        assert word in str(error.value)
    if "name" in kwargs and kwargs["name"] == "cifar10":
        with pytest.raises(ValueError, match="cifar10"):
            datasets.spec("cifar10")


# digits_label -------------------------------------------------------------------------------

def test_digits_batches_layout_and_range():
    train, test = datasets.load("digits_label", batch_size=64)
    batch = next(iter(train))
    assert set(batch) == {"image", "label"}
    assert batch["image"].dtype.name == "float32" and batch["image"].shape == (64, 64)
    assert batch["label"].dtype.name == "int32" and batch["label"].shape == (64,)
    assert train.element_spec["image"].shape.as_list() == [None, 64]
    data = {split: epoch(ds) for split, ds in (("train", train), ("test", test))}
    assert len(data["train"]["label"]) == 1437 and len(data["test"]["label"]) == 360
    assert len(data["train"]["label"]) + len(data["test"]["label"]) == 1797
    for part in data.values():
        assert part["image"].min() == 0.0 and part["image"].max() == 1.0
        assert set(np.unique(part["label"])) == set(range(10))
        assert np.all(np.isin(part["image"] * 16, np.arange(17)))  # pixel counts / 16
    # stratified: class proportions of the two splits agree
    np.testing.assert_allclose(np.bincount(data["train"]["label"]) / 1437,
                               np.bincount(data["test"]["label"]) / 360, atol=0.01)


def test_string_split_gives_one_dataset_and_test_split_is_not_shuffled():
    test = datasets.load("digits_label", "test", batch_size=100, seed=5)
    images, labels = digits.load_split("test")
    got = epoch(test)
    np.testing.assert_array_equal(got["image"], images)
    np.testing.assert_array_equal(got["label"], labels)
    (train,) = datasets.load("digits_label", ["train"], batch_size=100)
    assert len(epoch(train)["label"]) == 1437


def test_drop_remainder():
    train = datasets.load("digits_label", "train", batch_size=100, drop_remainder=True)
    assert train.element_spec["image"].shape.as_list() == [100, 64]
    assert sum(1 for _ in train) == 14


def test_shuffle_is_deterministic_per_seed_and_reshuffles_each_epoch():
    first = datasets.load("digits_label", "train", batch_size=500, seed=3)
    again = datasets.load("digits_label", "train", batch_size=500, seed=3)
    other = datasets.load("digits_label", "train", batch_size=500, seed=4)
    epochs = [epoch(first)["label"], epoch(first)["label"]]
    np.testing.assert_array_equal(epoch(again)["label"], epochs[0])
    np.testing.assert_array_equal(epoch(again)["label"], epochs[1])
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epoch(other)["label"], epochs[0])
    assert sorted(epochs[0]) == sorted(digits.load_split("train")[1])
    unshuffled = datasets.load("digits_label", "train", batch_size=500, shuffle=False)
    np.testing.assert_array_equal(epoch(unshuffled)["label"], digits.load_split("train")[1])


# Binarisation -------------------------------------------------------------------------------

def test_threshold_binarization():
    grey = epoch(datasets.load("digits_label", "train", batch_size=500, shuffle=False))["image"]
    binary = epoch(datasets.load("digits_label", "train", batch_size=500, shuffle=False,
                                 binarize="threshold"))["image"]
    assert binary.dtype == np.float32 and set(np.unique(binary)) == {0.0, 1.0}
    np.testing.assert_array_equal(binary, (grey > 0.5).astype(np.float32))


def test_sample_binarization_fresh_each_epoch_and_seeded():
    grey = epoch(datasets.load("digits_label", "train", batch_size=2000, shuffle=False))["image"]
    train = datasets.load("digits_label", "train", batch_size=2000, shuffle=False,
                          binarize="sample", seed=7)
    twin = datasets.load("digits_label", "train", batch_size=2000, shuffle=False,
                         binarize="sample", seed=7)
    draws = [epoch(train)["image"] for _ in range(2)]
    assert set(np.unique(draws[0])) == {0.0, 1.0}
    assert not np.array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(epoch(twin)["image"], draws[0])
    np.testing.assert_array_equal(epoch(twin)["image"], draws[1])
    for draw in draws:  # Bernoulli(p): never 1 where p = 0, always 1 where p = 1, mean ~ p
        assert np.all(draw[grey == 0] == 0) and np.all(draw[grey == 1] == 1)
        assert abs(draw.mean() - grey.mean()) < 0.01  # sd of the mean ~ 0.0016
    # on the test split the draw is fixed (documented)
    test = datasets.load("digits_label", "test", binarize="sample", seed=7)
    np.testing.assert_array_equal(epoch(test)["image"], epoch(test)["image"])


# Weak supervision ---------------------------------------------------------------------------

@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_supervision_mask_fractions(fraction):
    train, test = datasets.load("digits_label", batch_size=300, supervision=fraction, seed=2)
    assert "mask" not in next(iter(test))  # training split only
    batch = next(iter(train))
    assert batch["mask"].dtype.name == "bool" and batch["mask"].shape == (300, 2)
    mask = epoch(train)["mask"]
    n = len(mask)
    both = np.all(mask, axis=1)
    image_only = mask[:, 0] & ~mask[:, 1]
    label_only = ~mask[:, 0] & mask[:, 1]
    assert not np.any(~mask[:, 0] & ~mask[:, 1])  # no empty row
    assert abs(both.mean() - fraction) < 3 * math.sqrt(fraction * (1 - fraction) / n) + 1 / n
    assert abs(int(image_only.sum()) - int(label_only.sum())) <= 1
    assert both.sum() + image_only.sum() + label_only.sum() == n


def test_supervision_mask_fixed_across_epochs_and_seeded():
    def rows(dataset):
        data = epoch(dataset)
        return collections.Counter(
            (image.tobytes(), int(label), tuple(mask))
            for image, label, mask in zip(data["image"], data["label"], data["mask"]))

    train = datasets.load("digits_label", "train", batch_size=400, supervision=0.2, seed=1)
    assert rows(train) == rows(train)  # each example keeps its mask when reshuffled
    fixed = datasets.load("digits_label", "train", batch_size=400, supervision=0.2, seed=1,
                          shuffle=False)
    masks = epoch(fixed)["mask"]
    np.testing.assert_array_equal(epoch(fixed)["mask"], masks)
    same = datasets.load("digits_label", "train", batch_size=400, supervision=0.2, seed=1,
                         shuffle=False)
    other = datasets.load("digits_label", "train", batch_size=400, supervision=0.2, seed=2,
                          shuffle=False)
    np.testing.assert_array_equal(epoch(same)["mask"], masks)
    assert not np.array_equal(epoch(other)["mask"], masks)
    # data tensors are unchanged by the mask
    plain = epoch(datasets.load("digits_label", "train", batch_size=400, shuffle=False))
    np.testing.assert_array_equal(epoch(fixed)["image"], plain["image"])
    assert "mask" not in plain


@pytest.mark.parametrize("fraction", [0, 0.0, -0.1, 1.5, float("nan"), True, "0.5"])
def test_invalid_supervision_raises(fraction):
    with pytest.raises(ValueError, match="supervision"):
        datasets.load("digits_label", supervision=fraction)


# Paired examples in every batch (SVAE's Algorithm 1) ----------------------------------------

def _rows(data, index):
    return (data["image"][index].tobytes(), int(data["label"][index]), tuple(data["mask"][index]))


def test_paired_per_batch_puts_k_complete_examples_in_every_batch():
    options = dict(batch_size=50, supervision=0.05, seed=3)
    train = datasets.load("digits_label", "train", paired_per_batch=10, **options)
    plain = epoch(datasets.load("digits_label", "train", shuffle=False, **options))
    complete = np.all(plain["mask"], axis=1)
    known = collections.Counter(_rows(plain, i) for i in range(len(complete)))
    batches = [{key: value.numpy() for key, value in batch.items()} for batch in train]
    for batch in batches:
        whole = np.all(batch["mask"], axis=1)
        np.testing.assert_array_equal(whole, np.arange(len(whole)) < 10)  # first k complete
    data = {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}
    seen = collections.Counter(_rows(data, i) for i in range(len(data["label"])))
    assert set(seen) <= set(known)  # rows are the data set's, each with its own mask
    incomplete = {row for row in known if not all(row[2])}  # each once per epoch
    assert {row: seen[row] for row in incomplete} == {row: known[row] for row in incomplete}
    paired = [seen[row] / known[row] for row in known if all(row[2])]  # cycled permutations
    assert sum(known[row] for row in known if all(row[2])) == complete.sum()
    assert max(paired) - min(paired) <= 1
    assert sum(paired) == 10 * len(batches)
    assert len(batches) == -(-int((~complete).sum()) // 40)


def test_paired_per_batch_reshuffles_and_drops_remainder():
    train = datasets.load("digits_label", "train", batch_size=64, supervision=0.1,
                          paired_per_batch=16, drop_remainder=True, seed=2)
    first, second = epoch(train), epoch(train)
    assert len(first["label"]) % 64 == 0
    assert not np.array_equal(first["label"], second["label"])
    test = datasets.load("digits_label", "test", supervision=0.1, paired_per_batch=16)
    plain = datasets.load("digits_label", "test")
    np.testing.assert_array_equal(epoch(test)["image"], epoch(plain)["image"])
    assert "mask" not in epoch(test)


@pytest.mark.parametrize("supervision", [0.1, 1.0])
def test_unpaired_from_all_views_every_example_once_per_modality(supervision):
    """The SVAE authors' batches: k complete examples cycled, the rest every training example
    once as image-only and once as label-only, complete ones included; at 100% supervision
    too, where "incomplete" has no other examples."""
    options = dict(batch_size=50, supervision=supervision, seed=3)
    train = datasets.load("digits_label", "train", paired_per_batch=10, unpaired_from="all",
                          **options)
    plain = epoch(datasets.load("digits_label", "train", shuffle=False, **options))
    n = len(plain["label"])
    batches = [{key: value.numpy() for key, value in batch.items()} for batch in train]
    assert len(batches) == -(-2 * n // 40)
    for batch in batches:
        whole = np.all(batch["mask"], axis=1)
        np.testing.assert_array_equal(whole, np.arange(len(whole)) < 10)
    rest = {key: np.concatenate([b[key][10:] for b in batches]) for key in batches[0]}
    views = collections.Counter(_rows(rest, i) for i in range(len(rest["label"])))
    expected = collections.Counter()
    for i in range(n):
        image, label, _ = _rows(plain, i)
        expected[image, label, (True, False)] += 1
        expected[image, label, (False, True)] += 1
    assert views == expected
    paired = {key: np.concatenate([b[key][:10] for b in batches]) for key in batches[0]}
    complete = {_rows(plain, i) for i in range(n) if plain["mask"][i].all()}
    assert {_rows(paired, i) for i in range(len(paired["label"]))} <= complete


def test_unpaired_from_incomplete_views_views_only_the_unpaired_examples():
    """SVAE's L_comb (eq. 7-10): k complete examples cycled, the rest every incomplete example
    once as image-only and once as label-only (its own mask ignored), no complete one; at 100%
    supervision no incomplete example, so plain batches of pairs."""
    options = dict(batch_size=50, supervision=0.1, seed=3)
    train = datasets.load("digits_label", "train", paired_per_batch=10,
                          unpaired_from="incomplete_views", **options)
    plain = epoch(datasets.load("digits_label", "train", shuffle=False, **options))
    unpaired = [i for i in range(len(plain["label"])) if not plain["mask"][i].all()]
    assert 0 < len(unpaired) < len(plain["label"])
    batches = [{key: value.numpy() for key, value in batch.items()} for batch in train]
    assert len(batches) == -(-2 * len(unpaired) // 40)
    rest = {key: np.concatenate([b[key][10:] for b in batches]) for key in batches[0]}
    views = collections.Counter(_rows(rest, i) for i in range(len(rest["label"])))
    expected = collections.Counter()
    for i in unpaired:
        image, label, _ = _rows(plain, i)
        expected[image, label, (True, False)] += 1
        expected[image, label, (False, True)] += 1
    assert views == expected
    full = datasets.load("digits_label", "train", paired_per_batch=10,
                         unpaired_from="incomplete_views", **dict(options, supervision=1.0))
    sizes = [len(b["label"]) for b in full]
    everything = epoch(datasets.load("digits_label", "train", shuffle=False, batch_size=50))
    assert sum(sizes) == len(everything["label"]) and max(sizes) == 50
    assert all(np.all(b["mask"]) for b in full)


@pytest.mark.parametrize("unpaired_from", ["all", "incomplete_views"])
def test_views_come_in_blocks_of_the_recorded_layout(unpaired_from):
    """With single views and the others divisible by their number, every batch holds its k
    complete examples, then a block of each view (fewer rows in each, alike, in an epoch's
    last batch), and the dataset records that layout for the models (`kmvae_batch_layout`);
    with another number of others, or without views, the views are mixed and no layout is
    recorded."""
    from kmvae.datasets.pipeline import follows_layout
    options = dict(supervision=0.1, seed=3, paired_per_batch=10, unpaired_from=unpaired_from)
    train = datasets.load("digits_label", "train", batch_size=50, **options)
    layout = ((10, (True, True)), (20, (True, False)), (20, (False, True)))
    assert train.kmvae_batch_layout == layout
    masks = [batch["mask"].numpy() for batch in train]
    assert len({len(mask) for mask in masks[:-1]}) == 1 and len(masks[-1]) < 50
    for mask in masks:
        per_view = (len(mask) - 10) // 2
        expected = [(True, True)] * 10 + [(True, False)] * per_view + [(False, True)] * per_view
        assert [tuple(row) for row in mask] == expected
        assert bool(follows_layout(mask, layout))
    odd = datasets.load("digits_label", "train", batch_size=51, **options)
    assert odd.kmvae_batch_layout is None
    others = [[tuple(row) for row in b["mask"].numpy()[10:]] for b in odd]
    assert any(rows.index((False, True)) < rows.index((True, False)) for rows in others
               if (True, False) in rows and (False, True) in rows)       # mixed, not blocks
    assert datasets.load("digits_label", "train", batch_size=50, supervision=0.1,
                         paired_per_batch=10).kmvae_batch_layout is None
    assert datasets.load("digits_label", "test", batch_size=50, **options) \
        .kmvae_batch_layout is None


def test_paired_batches_checks_views_from():
    from kmvae.datasets.pipeline import paired_batches
    examples = {"x": np.zeros((4, 2), np.float32),
                "mask": np.array([[1, 1], [1, 0], [0, 1], [1, 1]], bool)}
    with pytest.raises(ValueError, match="views_from must be 'all' or 'incomplete'; received "
                                         "views_from='paired'"):
        paired_batches(examples, 4, 2, unpaired_views=np.eye(2, dtype=bool),
                       views_from="paired")


def test_unpaired_from_checks_its_value_and_needs_paired_per_batch():
    with pytest.raises(ValueError, match=r"unpaired_from must be one of \('incomplete', "
                                         r"'all', 'incomplete_views'\); received "
                                         r"unpaired_from='every'"):
        datasets.load("digits_label", supervision=0.1, paired_per_batch=10,
                      unpaired_from="every")
    for unpaired_from in ("all", "incomplete_views"):
        with pytest.raises(ValueError, match="give paired_per_batch too"):
            datasets.load("digits_label", supervision=0.1, unpaired_from=unpaired_from)
    arrays = {"image": np.zeros((6, 64), np.float32), "label": np.zeros(6, np.int32)}
    with pytest.raises(ValueError, match="unpaired_views needs paired_per_batch"):
        make_dataset(arrays, datasets.spec("digits_label"), batch_size=4,
                     mask=np.ones((6, 2), bool), unpaired_views=np.eye(2, dtype=bool))


@pytest.mark.parametrize("value", [0, 100, 150, True, 2.0, "4"])
def test_invalid_paired_per_batch_raises(value):
    with pytest.raises(ValueError, match=r"paired_per_batch .*1 \.\. batch_size - 1 = 99"):
        datasets.load("digits_label", supervision=0.1, paired_per_batch=value)


def test_paired_per_batch_needs_a_mask_with_complete_examples():
    with pytest.raises(ValueError, match="needs supervision or keep_probability"):
        datasets.load("digits_label", paired_per_batch=10)
    arrays = {"image": np.zeros((6, 64), np.float32), "label": np.zeros(6, np.int32)}
    spec = datasets.spec("digits_label")
    mask = np.array([[True, False], [False, True]] * 3)
    with pytest.raises(ValueError, match="none of the 6 training examples has every modality"):
        make_dataset(arrays, spec, batch_size=4, mask=mask, paired_per_batch=2)
    with pytest.raises(ValueError, match="needs a mask"):
        make_dataset(arrays, spec, batch_size=4, paired_per_batch=2)


def test_validation_split_is_held_out_of_training_and_fixed():
    from kmvae import datasets
    from kmvae.datasets.registry import validation_rows

    def images(dataset):
        return np.concatenate([b["image"] for b in dataset])

    full = images(datasets.load("digits_label", "train", shuffle=False))
    train, held, test = datasets.load("digits_label", ("train", "validation", "test"),
                                      shuffle=False, validation=0.25, seed=5)
    train, held = images(train), images(held)
    kept, rows = validation_rows(len(full), 0.25)
    assert len(held) == round(0.25 * len(full)) == len(rows) and len(train) + len(held) == len(full)
    np.testing.assert_array_equal(held, full[rows])
    np.testing.assert_array_equal(train, full[kept])
    assert not set(kept) & set(rows)
    # The held-out rows do not depend on the run's seed; an int counts examples.
    _, again = datasets.load("digits_label", ("train", "validation"), shuffle=False,
                             validation=0.25, seed=9)
    np.testing.assert_array_equal(images(again), held)
    assert len(images(datasets.load("digits_label", "validation", validation=100))) == 100
    np.testing.assert_array_equal(images(test), images(datasets.load("digits_label", "test")))


@pytest.mark.parametrize("bad", [0, -3, 1.0, 1.5, True, "10"])
def test_validation_option_errors(bad):
    from kmvae import datasets
    with pytest.raises(ValueError, match="validation"):
        datasets.load("digits_label", "train", validation=bad)


def test_validation_split_needs_the_option():
    from kmvae import datasets
    with pytest.raises(ValueError, match="needs the validation option"):
        datasets.load("digits_label", "validation")
    with pytest.raises(ValueError, match="holds out 1437 of the 1437"):
        datasets.load("digits_label", "train", validation=1437)
