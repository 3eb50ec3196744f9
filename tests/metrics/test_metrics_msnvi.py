"""MSNVI's evaluation: Table 1 bounds and Figures 2 and 5, on tiny models."""

import math
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae import evaluate
from kmvae.metrics import plots


def tiny_msnvi(names, observations=None, latent_dim=2):
    mods = [kmvae.Modality(n, shape=(s,), likelihood="normal") for n, s in names]
    sources = [n for n, _ in names if observations is None or n not in observations]
    return kmvae.MSNVI(mods, latent_dim, num_samples=2, sources=sources,
                       observations=observations, seed=0)


def test_msnvi_bounds_are_the_negated_mean_bounds_of_the_test_set():
    """The same model and seed, batch by batch: exactly the mean of -model.bound."""
    rng = np.random.default_rng(0)
    data = {"x1": rng.normal(size=(10, 1)).astype("float32"),
            "x2": rng.normal(size=(10, 1)).astype("float32")}
    test = tf.data.Dataset.from_tensor_slices(data).batch(4)
    keras.utils.set_random_seed(3)
    got = evaluate.msnvi_bounds(tiny_msnvi([("x1", 1), ("x2", 1)]), test, num_samples=8)
    assert set(got) == {"-L(ind)", "-L(moe)", "-L(poe)"}
    keras.utils.set_random_seed(3)
    twin = tiny_msnvi([("x1", 1), ("x2", 1)])
    values = {objective: [] for objective in ("ind", "moe", "poe")}
    for batch in test:
        for objective, parts in values.items():
            parts.append(-twin.bound(batch, objective, num_samples=8).numpy())
    for objective, parts in values.items():
        np.testing.assert_allclose(got[f"-L({objective})"], np.mean(np.concatenate(parts)),
                                   rtol=1e-6)
    assert len(np.concatenate(values["ind"])) == 10
    limited = evaluate.msnvi_bounds(twin, test, eval_examples=4, num_samples=8)
    assert np.isfinite(limited["-L(ind)"])


def test_msnvi_figures_for_the_mixture_and_the_pendulum(tmp_path):
    mog = tiny_msnvi([("x1", 1), ("x2", 1)])
    recipe = types.SimpleNamespace(dataset="mog2d_sources", dataset_options={})
    paths = evaluate.msnvi_figures(mog, None, tmp_path, recipe)
    assert open(paths["beliefs"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    cameras = [(f"camera_{i}", 1024) for i in range(3)]
    pendulum = tiny_msnvi(cameras + [("position", 2)], observations=["position"])
    options = dict(failure_angle=4 * math.pi, num_examples=20, num_test_examples=30)
    recipe = types.SimpleNamespace(
        dataset="pendulum", dataset_options=options,
        load_data=lambda split: kmvae.datasets.load("pendulum", split, batch_size=16, **options))
    paths = evaluate.msnvi_figures(pendulum, None, tmp_path, recipe)
    assert open(paths["conflict"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    failure = evaluate.sensor_failure_conflict(pendulum, recipe)
    angles = kmvae.datasets.pendulum.angles("test", **options)
    values = np.concatenate([pendulum.conflict(b, "camera_0", "camera_1").numpy()
                             for b in recipe.load_data("test")])
    assert failure["median_after"] == pytest.approx(
        np.median(values[angles >= 4 * math.pi]), rel=1e-5)
    assert failure["median_before"] == pytest.approx(
        np.median(values[angles < 4 * math.pi]), rel=1e-5)


def test_belief_ellipses_needs_a_2d_latent_space(tmp_path):
    model = tiny_msnvi([("x1", 1), ("x2", 1)], latent_dim=3)
    with pytest.raises(ValueError, match="latent_dim 3"):
        plots.belief_ellipses(model, {"x1": np.zeros((2, 1), "float32"),
                                      "x2": np.zeros((2, 1), "float32")}, tmp_path / "b.png")


def test_coherence_and_probe_condition_on_sources_and_target_observations():
    """MSNVI: posteriors condition on information sources only, and only observations are
    generated (MNIST-NO's layout)."""
    mods = [kmvae.Modality("s0", shape=(3,)), kmvae.Modality("s1", shape=(3,)),
            kmvae.Modality("label", num_classes=3, likelihood="categorical")]
    model = kmvae.MSNVI(mods, 2, sources=["s0", "s1"], observations=["label"], seed=0)
    rng = np.random.default_rng(0)
    data = {"s0": rng.uniform(size=(12, 3)).astype("float32"),
            "s1": rng.uniform(size=(12, 3)).astype("float32"),
            "label": rng.integers(0, 3, 12).astype("int32")}
    dataset = tf.data.Dataset.from_tensor_slices(data).batch(6)
    result = kmvae.metrics.conditional_coherence(model, dataset, oracles={})
    assert set(result["pairs"]) == {"s0->label", "s1->label", "s0,s1->label"}
    assert model.conditioning_subsets() == [["s0"], ["s1"], ["s0", "s1"]]
    probe = kmvae.metrics.latent_probe(model, dataset, dataset, num_train=12)
    assert set(probe) == {"s0", "s1", "s0,s1"}


def test_an_iwae_has_no_coherence():
    """An MSNVI with one modality is an IWAE (`iwae_mnist`): nothing is generated from another
    modality, so coherence does not apply (its evaluation used to fail encoding an empty
    subset); a second modality brings it back. An empty subset list encodes nothing."""
    coherence = kmvae.metrics.suite.Coherence()
    context = types.SimpleNamespace(has_label=True)
    iwae = tiny_msnvi([("image", 4)])
    assert not coherence.applies(iwae, context)
    assert coherence.applies(tiny_msnvi([("top", 2), ("bottom", 2)]), context)
    assert not coherence.applies(tiny_msnvi([("top", 2), ("bottom", 2)]),
                                 types.SimpleNamespace(has_label=False))
    batch = {"image": np.zeros((3, 4), np.float32), "label": np.zeros(3, np.int32)}
    assert kmvae.metrics.subsets.subset_posteriors(iwae, batch, []) == []
    dataset = tf.data.Dataset.from_tensor_slices(batch).batch(3)
    assert kmvae.metrics.conditional_coherence(iwae, dataset, oracles={})["pairs"] == {}
