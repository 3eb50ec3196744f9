"""The mixture-of-Gaussians toys: MSNVI section 5.1 (`mog2d_sources`) and M2VAE section 4.2
(`mog_bimodal`): means, spreads, ambiguities, seeds, masks, and one epoch of training."""

import collections
import itertools
import math

import keras
import numpy as np
import pytest

import kmvae
from kmvae import datasets
from kmvae.datasets import mog
from epochs import epoch


def check_gaussian_classes(points, labels, means, std, num_classes):
    """Per class: sample mean within 4.5 standard errors of `means[c]` (each coordinate), sample
    std within 4.5 standard errors of `std`; class frequencies within 4.5 binomial errors of
    uniform."""
    n = len(labels)
    counts = np.bincount(labels, minlength=num_classes)
    assert len(counts) == num_classes
    p = 1 / num_classes
    assert np.all(np.abs(counts / n - p) <= 4.5 * math.sqrt(p * (1 - p) / n)), counts
    for c in range(num_classes):
        own = points[labels == c].astype(np.float64)
        k = len(own)
        np.testing.assert_array_less(np.abs(own.mean(0) - means[c]), 4.5 * std / math.sqrt(k))
        np.testing.assert_array_less(np.abs(own.std(0, ddof=1) - std),
                                     4.5 * std / math.sqrt(2 * (k - 1)))
        # isotropic, independent coordinates: correlation within sampling error of 0
        if points.shape[1] == 2:
            assert abs(np.corrcoef(own.T)[0, 1]) < 4.5 / math.sqrt(k)


# mog2d_sources: MSNVI section 5.1 -------------------------------------------------------------

def test_mog2d_components_on_the_unit_circle_with_std_0_1():
    train = datasets.load("mog2d_sources", "train", batch_size=4000, shuffle=False,
                          num_examples=8000)
    data = epoch(train)
    assert set(data) == {"x1", "x2", "x", "label"}
    assert data["x"].dtype == np.float32 and data["x"].shape == (8000, 2)
    assert data["x1"].shape == data["x2"].shape == (8000, 1)
    # each source perceives one coordinate of the observation
    np.testing.assert_array_equal(data["x1"][:, 0], data["x"][:, 0])
    np.testing.assert_array_equal(data["x2"][:, 0], data["x"][:, 1])
    # 8 equidistant means on the unit circle, computed here from the paper's description
    angles = 2 * np.pi * np.arange(8) / 8
    means = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    check_gaussian_classes(data["x"], data["label"], means, 0.1, 8)
    # whole-mixture check: the radius of a point is 1 +- a few std
    radius = np.linalg.norm(data["x"], axis=1)
    assert abs(radius.mean() - 1.0) < 0.01 and np.all(np.abs(radius - 1) < 0.6)


def test_mog2d_test_split_sizes_and_independence():
    train, test = datasets.load("mog2d_sources", batch_size=500, shuffle=False,
                                num_examples=300, num_test_examples=200)
    train, test = epoch(train), epoch(test)
    assert len(train["x"]) == 300 and len(test["x"]) == 200
    assert datasets.num_examples("mog2d_sources", "test", num_test_examples=200) == 200
    assert not np.array_equal(train["x"][:200], test["x"])
    assert datasets.num_examples("mog2d_sources", "train") == 10_000
    assert datasets.num_examples("mog2d_sources", "test") == 2_000


def test_mog2d_paper_test_points_are_means_rotated_by_two_degrees():
    points = mog.paper_test_points()
    assert points.shape == (8, 2) and points.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0, rtol=1e-6)
    angles = np.degrees(np.arctan2(points[:, 1], points[:, 0])) % 360
    np.testing.assert_allclose(angles, 45 * np.arange(8) + 2.0, atol=1e-4)


def test_mog2d_without_observation_follows_the_paper_factorisation():
    assert datasets.modality_names("mog2d_sources") == ("x1", "x2", "x")
    assert datasets.modality_names("mog2d_sources", observation=False) == ("x1", "x2")
    data = epoch(datasets.load("mog2d_sources", "test", observation=False, num_test_examples=50))
    full = epoch(datasets.load("mog2d_sources", "test", num_test_examples=50))
    assert set(data) == {"x1", "x2", "label"}
    np.testing.assert_array_equal(data["x1"], full["x1"])


# mog_bimodal: M2VAE section 4.2 ---------------------------------------------------------------

def test_mog_bimodal_means_and_stds():
    data = epoch(datasets.load("mog_bimodal", "train", batch_size=5000, shuffle=False,
                               num_examples=10_000))
    assert set(data) == {"a", "b", "label"}
    assert data["a"].shape == data["b"].shape == (10_000, 2)
    check_gaussian_classes(data["a"], data["label"], mog.A_MEANS, mog.BIMODAL_STD, 10)
    check_gaussian_classes(data["b"], data["label"], mog.B_MEANS, mog.BIMODAL_STD, 10)
    # a and b independent given the class
    for c in range(10):
        own = data["label"] == c
        correlation = np.corrcoef(data["a"][own, 0], data["b"][own, 0])[0, 1]
        assert abs(correlation) < 4.5 / math.sqrt(own.sum())


def test_mog_bimodal_layout_grid_and_circle():
    # a: cells of a grid of spacing 0.5 over {-0.5, 0, 0.5}^2
    cells = mog.A_MEANS / 0.5
    np.testing.assert_array_equal(cells, np.round(cells))
    assert np.all(np.isin(cells, [-1, 0, 1]))
    # b: equidistant on a circle, 9 distinct points
    radius = np.linalg.norm(mog.B_MEANS, axis=1)
    np.testing.assert_allclose(radius, radius[0])
    angles = np.sort(np.unique(np.round(np.arctan2(mog.B_MEANS[:, 1], mog.B_MEANS[:, 0])
                                        % (2 * np.pi), 9)))
    assert len(angles) == 9
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 9, atol=1e-8)


def _shared_groups(means):
    groups = collections.defaultdict(list)
    for c, mean in enumerate(means):
        groups[tuple(mean)].append(c)
    return sorted(tuple(g) for g in groups.values() if len(g) > 1)


def test_mog_bimodal_ambiguities_exactly_as_section_4_2():
    assert _shared_groups(mog.A_MEANS) == [(0, 8), (5, 6, 7)]
    assert _shared_groups(mog.B_MEANS) == [(0, 9)]
    for means, shared in ((mog.A_MEANS, [(0, 8), (5, 6, 7)]), (mog.B_MEANS, [(0, 9)])):
        for i, j in itertools.combinations(range(10), 2):
            distance = np.linalg.norm(means[i] - means[j])
            if any(i in g and j in g for g in shared):
                assert distance == 0.0
            else:  # distinct means, separated by far more than the spread
                assert distance > 6 * mog.BIMODAL_STD, (i, j, distance)
    # jointly every pair of classes is separated by at least one modality
    for i, j in itertools.combinations(range(10), 2):
        assert (np.linalg.norm(mog.A_MEANS[i] - mog.A_MEANS[j])
                + np.linalg.norm(mog.B_MEANS[i] - mog.B_MEANS[j])) > 6 * mog.BIMODAL_STD


def test_mog_bimodal_shared_means_show_in_the_data():
    data = epoch(datasets.load("mog_bimodal", "train", batch_size=5000, shuffle=False,
                               num_examples=6000))
    means = {(key, c): data[key][data["label"] == c].mean(0) for key in "ab" for c in range(10)}
    error = 5 * mog.BIMODAL_STD * math.sqrt(2 / 400)  # ~600 per class
    for key, group in (("a", (5, 6, 7)), ("a", (0, 8)), ("b", (0, 9))):
        for i, j in itertools.combinations(group, 2):
            assert np.all(np.abs(means[key, i] - means[key, j]) < error)
    assert np.linalg.norm(means["b", 5] - means["b", 6]) > 0.2  # b resolves a's (5, 6, 7)
    assert np.linalg.norm(means["b", 0] - means["b", 8]) > 0.2  # b resolves a's (0, 8)
    assert np.linalg.norm(means["a", 0] - means["a", 9]) > 0.2  # a resolves b's (0, 9)


# Both ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, key", [("mog2d_sources", "x"), ("mog_bimodal", "a")])
def test_data_seed_fixes_the_data_and_seed_only_the_order(name, key):
    def split(**options):
        return epoch(datasets.load(name, "train", batch_size=1000, shuffle=False,
                                   num_examples=300, **options))
    first, again, other = split(data_seed=0), split(data_seed=0), split(data_seed=1)
    for k in first:
        np.testing.assert_array_equal(first[k], again[k])
    assert not np.array_equal(first[key], other[key])
    # `seed` shuffles the same examples
    shuffled = epoch(datasets.load(name, "train", batch_size=1000, seed=3, num_examples=300))
    assert not np.array_equal(shuffled[key], first[key])
    np.testing.assert_array_equal(np.sort(shuffled[key], axis=0), np.sort(first[key], axis=0))
    # the arrays are the cached, read-only builds
    arrays = (mog.mog2d_sources if name == "mog2d_sources" else mog.mog_bimodal)("train", 300)
    assert not arrays[key].flags.writeable


@pytest.mark.parametrize("kwargs", [dict(supervision=0.2), dict(keep_probability=0.5)])
def test_masks_never_drop_the_observation_and_never_leave_a_row_empty(kwargs):
    data = epoch(datasets.load("mog2d_sources", "train", batch_size=1000, num_examples=2000,
                               **kwargs))
    mask = data["mask"]
    assert mask.shape == (2000, 3)  # columns x1, x2, x
    assert mask[:, 2].all()
    assert mask[:, :2].any(axis=1).all()
    assert not mask[:, :2].all(axis=1).all()  # sources do go missing
    bimodal = epoch(datasets.load("mog_bimodal", "train", batch_size=1000, num_examples=2000,
                                  **kwargs))["mask"]
    assert bimodal.shape == (2000, 2) and bimodal.any(axis=1).all()
    assert not bimodal.all(axis=1).all()
    if "supervision" in kwargs:
        assert bimodal.all(axis=1).sum() == 400 and mask[:, :2].all(axis=1).sum() == 400


@pytest.mark.parametrize("name, kwargs, words", [
    ("mog2d_sources", dict(num_examples=0), ["num_examples=0", ">= 1"]),
    ("mog2d_sources", dict(num_test_examples=2.5), ["num_test_examples=2.5"]),
    ("mog2d_sources", dict(data_seed=-1), ["data_seed=-1"]),
    ("mog2d_sources", dict(observation="yes"), ["observation='yes'"]),
    ("mog_bimodal", dict(num_examples=True), ["num_examples=True"]),
    ("mog_bimodal", dict(std=0.1), ["'mog_bimodal'", "std", "num_examples"]),
])
def test_bad_options_name_the_value_received(name, kwargs, words):
    with pytest.raises(ValueError) as error:
        datasets.load(name, **kwargs)
    for word in words:
        assert word in str(error.value)


def _tiny(name, spec):
    return kmvae.Modality(name, **spec,
                          encoder=keras.Sequential([keras.layers.Dense(16, activation="tanh")]),
                          decoder=keras.Sequential([keras.layers.Dense(16, activation="tanh")]))


@pytest.mark.parametrize("name", ["mog2d_sources", "mog_bimodal"])
def test_one_epoch_of_mvae_training(name):
    keras.utils.set_random_seed(0)
    options = dict(num_examples=256, num_test_examples=64)
    model = kmvae.MVAE([_tiny(k, s) for k, s in datasets.spec(name, **options).items()],
                       latent_dim=2, seed=0)
    model.compile(keras.optimizers.Adam(1e-3), jit_compile=False)  # XLA compiles too slowly here
    train, test = datasets.load(name, batch_size=64, keep_probability=0.7, **options)
    history = model.fit(train, epochs=1, validation_data=test, verbose=0).history
    assert np.isfinite(history["loss"][0]) and np.isfinite(history["val_loss"][0])
