"""e-MNIST / me-MNIST (M2VAE section 4.1): shared latents, class-conditional CVAEs, entangled and
mixed pairs, the CVAE and data caches, determinism, masks and one-epoch training.

The CVAEs are trained for one epoch (one or two batches) on tiny fake IDX files in tmp folders.
"""

import logging

import keras
import numpy as np
import pytest
from scipy import stats

import kmvae
from kmvae import datasets
from kmvae.datasets import cvae, entangled, paths
from kmvae.datasets.idx import write_idx

SMALL = {"num_examples": (40, 20), "cvae_epochs": 1}


def fake_idx(root, n_train=60, n_test=10, seed=0):
    """Small MNIST and Fashion-MNIST IDX folders under `root`: class-dependent blobs plus noise,
    so a CVAE has something class-conditional to learn."""
    rng = np.random.default_rng(seed)
    for offset, dataset in enumerate(("mnist", "fashion_mnist")):
        folder = root / dataset
        folder.mkdir(parents=True)
        for prefix, n in (("train", n_train), ("t10k", n_test)):
            labels = rng.integers(0, 10, n).astype(np.uint8)
            images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
            for i, label in enumerate(labels):
                row = 2 + 2 * ((label + offset) % 10)
                images[i, row:row + 6, 4:24] = 250
            write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
            write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return root


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return fake_idx(tmp_path_factory.mktemp("emnist"))


@pytest.fixture(scope="module")
def models(root):
    return [cvae.trained(dataset, epochs=1, source="idx", data_dir=root)[0]
            for dataset in ("mnist", "fashion_mnist")]


def load_all(name, root, split="train", **kwargs):
    """All batches of one split, concatenated: dict of numpy arrays."""
    options = {**SMALL, **kwargs}
    data = datasets.load(name, split, batch_size=16, data_dir=root, source="idx", **options)
    batches = list(data)
    return {key: np.concatenate([b[key].numpy() for b in batches]) for key in batches[0]}


# The shared latent ---------------------------------------------------------------------------

def test_shared_latents_are_the_prior_truncated_to_two_sigma():
    z = entangled.sample_shared_latents(20000, 2, seed=3)
    assert z.shape == (20000, 2) and z.dtype == np.float32
    assert np.abs(z).max() <= 2.0
    assert np.abs(z).max() > 1.95  # the whole box is used, not a narrower one
    truncated = stats.truncnorm(-2.0, 2.0)
    for column in z.T:
        assert stats.kstest(column, truncated.cdf).pvalue > 1e-3
        assert abs(column.var() - truncated.var()) < 0.03
    # Not a plain standard normal clipped to the box: no mass piles up on the bounds.
    assert np.mean(np.abs(z) > 1.99) < 0.002
    assert abs(np.corrcoef(z.T)[0, 1]) < 0.03  # independent coordinates
    np.testing.assert_array_equal(z, entangled.sample_shared_latents(20000, 2, seed=3))
    assert not np.array_equal(z, entangled.sample_shared_latents(20000, 2, seed=4))


@pytest.mark.parametrize("n, latent_dim, word", [(-1, 2, "n="), (3, 0, "latent_dim="),
                                                 (2.5, 2, "n=")])
def test_shared_latents_reject_bad_sizes(n, latent_dim, word):
    with pytest.raises(ValueError, match=word):
        entangled.sample_shared_latents(n, latent_dim)


def test_classes_are_balanced_and_derangement_stays_within_class():
    labels = entangled.sample_classes(103, seed=1)
    counts = np.bincount(labels, minlength=10)
    assert counts.sum() == 103 and counts.min() == 10 and counts.max() == 11
    labels = np.array([0, 0, 1, 2, 2, 2, 3, 3, 3, 3, 4])  # class 1 and 4: one example each
    p = entangled.within_class_derangement(labels, seed=0)
    assert sorted(p) == list(range(len(labels)))
    np.testing.assert_array_equal(labels[p], labels)
    moved = p != np.arange(len(labels))
    np.testing.assert_array_equal(moved, np.isin(labels, [0, 2, 3]))


# The CVAEs ----------------------------------------------------------------------------------

def test_cvae_has_table3_shapes_and_class_conditional_decoder(models):
    for model in models:
        assert model.latent_dim == 2
        shapes = [tuple(layer.output.shape[1:]) for layer in model.encoder.layers
                  if isinstance(layer, keras.layers.Conv2D)]
        assert shapes == [(28, 28, 1), (14, 14, 64), (14, 14, 64), (14, 14, 64)]
        z = np.tile(np.array([[0.5, -1.0]], np.float32), (10, 1))
        images = model.decode(z, np.arange(10))
        assert images.shape == (10, 784) and images.min() >= 0 and images.max() <= 1
        differences = np.abs(images[:, None] - images[None]).max(-1)
        assert (differences + np.eye(10) > 1e-3).all(), "some classes decode alike"
        same = model.decode(np.tile(z[:1], (3, 1)), [4, 4, 4])
        np.testing.assert_allclose(same, images[[4, 4, 4]], atol=1e-6)


def test_cvae_elbo_is_the_bce_plus_the_gaussian_kl():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 784)).astype("float32")
    logits = rng.normal(size=(3, 784)).astype("float32")
    mean, log_var = (rng.normal(size=(3, 2)).astype("float32") for _ in range(2))
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    bce = -(images * np.log(p) + (1 - images) * np.log(1 - p)).sum(-1)
    kl = 0.5 * (np.exp(log_var) + mean ** 2 - 1 - log_var).sum(-1)
    got = np.asarray(cvae.negative_elbo(images, logits, mean, log_var))
    np.testing.assert_allclose(got, bce + kl, rtol=1e-4)


def test_cvae_cache_is_reused_and_a_corrupt_one_rebuilt(tmp_path, caplog):
    fake_idx(tmp_path, n_train=30)
    caplog.set_level(logging.INFO, logger="kmvae.datasets")
    model, info = cvae.trained("mnist", epochs=1, source="idx", data_dir=tmp_path)
    assert info["trained"] and info["path"].parent == tmp_path / "cache"
    assert info["path"].name.startswith("cvae_mnist_") and info["path"].suffix == ".keras"
    assert "Training the mnist CVAE" in caplog.text and "Trained the mnist CVAE in" in caplog.text
    stamp = info["path"].stat().st_mtime_ns
    caplog.clear()
    again, info2 = cvae.trained("mnist", epochs=1, source="idx", data_dir=tmp_path)
    assert not info2["trained"] and info2["path"] == info["path"]
    assert info["path"].stat().st_mtime_ns == stamp and "Training" not in caplog.text
    assert info2["seconds"] == info["seconds"]  # recorded at training time
    z, labels = np.array([[0.3, 1.2], [-1.0, 0.1]], np.float32), [2, 7]
    np.testing.assert_array_equal(again.decode(z, labels), model.decode(z, labels))
    info["path"].write_bytes(b"not a keras archive")
    rebuilt, info3 = cvae.trained("mnist", epochs=1, source="idx", data_dir=tmp_path)
    assert info3["trained"] and "corrupt" in caplog.text
    assert isinstance(keras.saving.load_model(info3["path"]), cvae.CVAE)


def test_cvae_cache_key_follows_the_data_and_the_settings():
    images = np.zeros((4, 784), np.uint8)
    labels = np.arange(4)
    key = cvae.cache_path("mnist", images, labels, epochs=1, seed=0, data_dir="/r")
    assert key.parent == paths.data_root("/r") / "cache"
    assert cvae.cache_path("mnist", images, labels, epochs=2, seed=0, data_dir="/r") != key
    assert cvae.cache_path("mnist", images, labels, epochs=1, seed=1, data_dir="/r") != key
    assert cvae.cache_path("fashion_mnist", images, labels, epochs=1, seed=0, data_dir="/r") \
        != key
    changed = images.copy()
    changed[0, 0] = 1
    assert cvae.cache_path("mnist", changed, labels, epochs=1, seed=0, data_dir="/r") != key
    assert cvae.cache_path("mnist", images, labels[::-1], epochs=1, seed=0, data_dir="/r") != key
    assert cvae.cache_path("mnist", images, labels, epochs=1, seed=0, data_dir="/r") == key


# The data sets ------------------------------------------------------------------------------

def test_entangled_pairs_share_z_and_class(root, models):
    made = entangled.generate("train", source="idx", data_dir=root, **SMALL)
    assert made["a"].shape == made["b"].shape == (40, 784) and made["a"].dtype == np.uint8
    assert made["z"].shape == (40, 2) and np.abs(made["z"]).max() <= 2.0
    model_a, model_b = models
    # Decoding the returned (z, C) with each CVAE gives exactly that example's images.
    for key, model in (("a", model_a), ("b", model_b)):
        expected = np.round(model.decode(made["z"], made["label"]) * 255)
        assert np.abs(made[key].astype(float) - expected).max() <= 1
    # ... and the pipeline serves them, scaled to [0, 1], with the label kept for evaluation.
    served = load_all("emnist_entangled", root, shuffle=False)
    assert set(served) == {"a", "b", "label"}
    np.testing.assert_allclose(served["a"], made["a"] / 255.0, atol=1e-6)
    np.testing.assert_allclose(served["b"], made["b"] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(served["label"], made["label"])
    test = entangled.generate("test", source="idx", data_dir=root, **SMALL)
    assert len(test["label"]) == 20 and not np.allclose(test["z"][:20], made["z"][:20])


def test_mixed_permutes_b_within_each_class(root, models):
    tangled = entangled.generate("train", source="idx", data_dir=root, **SMALL)
    mixed = entangled.generate("train", mixed=True, source="idx", data_dir=root, **SMALL)
    np.testing.assert_array_equal(mixed["a"], tangled["a"])
    np.testing.assert_array_equal(mixed["label"], tangled["label"])
    for label in np.unique(tangled["label"]):
        rows = tangled["label"] == label
        sort = lambda images: images[np.lexsort(images.T[::-1])]  # noqa: E731
        np.testing.assert_array_equal(sort(mixed["b"][rows]), sort(tangled["b"][rows]))
    repeated = np.bincount(tangled["label"])[tangled["label"]] > 1
    assert (np.abs(mixed["z_b"] - tangled["z"]).max(-1)[repeated] > 0).all()
    moved = (mixed["b"] != tangled["b"]).any(-1)
    assert moved[repeated].mean() > 0.9  # different pairing (equal images only by rounding)
    # Each b is still the decoding of its own latent with the shared class.
    expected = np.round(models[1].decode(mixed["z_b"], mixed["label"]) * 255)
    assert np.abs(mixed["b"].astype(float) - expected).max() <= 1
    served = load_all("emnist_mixed", root, shuffle=False)
    np.testing.assert_allclose(served["b"], mixed["b"] / 255.0, atol=1e-6)


def test_generated_split_is_cached_on_disk_and_a_corrupt_file_regenerated(root, monkeypatch,
                                                                           caplog):
    options = {"num_examples": (30, 10), "cvae_epochs": 1, "data_seed": 5}
    first = entangled.generate("test", source="idx", data_dir=root, **options)
    files = sorted((root / "cache").glob("emnist_entangled_test_*.npz"))
    assert files
    entangled.clear_cache()

    def no_decoding(*args):
        raise AssertionError("decoded again despite the disk cache")

    monkeypatch.setattr(entangled, "entangle", no_decoding)
    cached = entangled.generate("test", source="idx", data_dir=root, **options)
    for key in ("a", "b", "label", "z"):
        np.testing.assert_array_equal(cached[key], first[key])
    monkeypatch.undo()
    for path in files:
        path.write_bytes(b"garbage")
    entangled.clear_cache()
    rebuilt = entangled.generate("test", source="idx", data_dir=root, **options)
    assert "corrupt" in caplog.text
    np.testing.assert_array_equal(rebuilt["z"], first["z"])
    assert np.abs(rebuilt["a"].astype(int) - first["a"]).max() <= 1


def test_same_seed_same_data_and_data_seed_changes_it(root, models):
    one = load_all("emnist_entangled", root, seed=3)
    two = load_all("emnist_entangled", root, seed=3)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key])
    other = entangled.generate("train", source="idx", data_dir=root, data_seed=1, **SMALL)
    base = entangled.generate("train", source="idx", data_dir=root, **SMALL)
    assert not np.allclose(other["z"], base["z"])
    binary = load_all("emnist_mixed", root, seed=3, binarize="sample")
    assert set(np.unique(binary["a"])) <= {0.0, 1.0} and set(np.unique(binary["b"])) <= {0.0, 1.0}


@pytest.mark.parametrize("name", ["emnist_entangled", "emnist_mixed"])
def test_masks_work(root, models, name):
    supervised = load_all(name, root, supervision=0.25)
    assert supervised["mask"].shape == (40, 2)
    assert supervised["mask"].all(-1).sum() == 10
    assert supervised["mask"].any(-1).all()
    kept = load_all(name, root, keep_probability=0.5)
    assert kept["mask"].any(-1).all() and not kept["mask"].all()
    assert "mask" not in load_all(name, root, split="test", supervision=0.25)


def test_spec_names_counts_and_bad_options(root):
    assert {"emnist_entangled", "emnist_mixed"} <= set(datasets.names())
    spec = datasets.spec("emnist_mixed")
    assert spec == {"a": {"shape": (784,), "likelihood": "bernoulli"},
                    "b": {"shape": (784,), "likelihood": "bernoulli"}}
    assert datasets.num_examples("emnist_entangled", "train", data_dir=root, source="idx") \
        == 60000
    assert datasets.num_examples("emnist_entangled", "test", data_dir=root, source="idx",
                                 num_examples=(5, 7)) == 7
    for options, word in (({"num_examples": 0}, "num_examples=0"),
                          ({"num_examples": (1, 2, 3)}, "num_examples=(1, 2, 3)"),
                          ({"cvae_epochs": 0}, "cvae_epochs=0"),
                          ({"cvae_epochs": 1.5}, "cvae_epochs=1.5"),
                          ({"data_seed": -1}, "data_seed=-1")):
        with pytest.raises(ValueError, match=word.replace("(", r"\(").replace(")", r"\)")):
            datasets.load("emnist_entangled", "train", data_dir=root, source="idx",
                          **{**SMALL, **options})


def test_missing_fashion_mnist_is_reported(tmp_path):
    fake_idx(tmp_path)
    for path in (tmp_path / "fashion_mnist").iterdir():
        path.unlink()
    with pytest.raises(datasets.DataNotFoundError, match="kmvae data fetch fashion_mnist"):
        datasets.load("emnist_entangled", data_dir=tmp_path, source="idx", **SMALL)


@pytest.mark.parametrize("name", ["emnist_entangled", "emnist_mixed"])
def test_one_epoch_of_mvae(root, models, name):
    modalities = [kmvae.Modality(key, **value) for key, value in datasets.spec(name).items()]
    model = kmvae.MVAE(modalities, latent_dim=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    train = datasets.load(name, "train", batch_size=20, data_dir=root, source="idx",
                          binarize="sample", **SMALL)
    history = model.fit(train, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_default_budget_makes_about_600_updates():
    assert cvae.auto_epochs(8000) == 8 and cvae.auto_epochs(60000) == 1
    budget = cvae.AUTO_UPDATES * cvae.BATCH_SIZE  # images seen
    for n in (37, 999, 7999, 60001, 10 ** 6):
        epochs = cvae.auto_epochs(n)
        assert epochs >= 1 and epochs * n >= min(budget, n)  # enough ...
        assert epochs == 1 or (epochs - 1) * n < budget  # ... and no epoch more
    assert cvae.check_epochs(None) is None
