"""MoPoE's per-subset protocol: averages by subset size, the subsets' posteriors as the paper
defines them, and all subsets encoded from one pass of the encoders."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae import metrics
from kmvae.metrics.subsets import by_size, paper_subset_model, subset_posteriors

SUBSETS = [["a"], ["b"], ["c"], ["a", "b"], ["a", "c"], ["b", "c"], ["a", "b", "c"]]


def test_by_size_averages_the_subsets_of_each_size():
    values = {"a": 0.2, "b": 0.4, "c": 0.9, "a,b": 0.5, "a,c": 0.7, "b,c": 0.6, "a,b,c": 1.0}
    # By hand: (0.2 + 0.4 + 0.9) / 3, (0.5 + 0.7 + 0.6) / 3, 1.0.
    assert by_size(values) == pytest.approx({"1": 0.5, "2": 0.6, "3": 1.0})
    assert list(by_size({"a,b": -3.0, "a": -7.0, "b": -5.0})) == ["1", "2"]


@pytest.mark.parametrize("kind", ["MVAE", "MoPoEVAE", "MMVAE"])
def test_subset_posteriors_equal_encoding_each_subset_alone(tiny, kind):
    modalities = tiny.modalities(("bernoulli", "normal", "laplace"))
    model = (kmvae.MMVAE if kind == "MMVAE" else getattr(kmvae, kind))(modalities, 3, seed=0)
    batch = tiny.batch(model.modalities, 6, seed=1)
    point = np.random.default_rng(2).normal(size=(6, 3)).astype("float32")
    for subset, q in subset_posteriors(model, batch, SUBSETS):
        alone = model.encode({n: batch[n] for n in subset})
        np.testing.assert_allclose(q.mean(), alone.mean(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(q.log_prob(point), alone.log_prob(point), rtol=1e-5,
                                   atol=1e-5)


def test_paper_subset_model_of_mopoe_is_the_product_of_the_subsets_experts(tiny):
    model = kmvae.MoPoEVAE(tiny.modalities(("bernoulli", "normal", "laplace")), 3, seed=0)
    batch = tiny.batch(model.modalities, 5, seed=3)
    product = paper_subset_model(model)
    assert product is not model and product.fusion.method == "poe"
    # Definition 1 by hand: precisions add, the mean is the precision-weighted mean of the
    # experts (each `encode({m})` of a MoPoE-VAE is the single expert q(z | x_m)).
    experts = {n: model.encode({n: batch[n]}) for n in ("a", "c")}
    precision = sum(1 / np.square(q.stddev()) for q in experts.values())
    mean = sum(q.mean() / np.square(q.stddev()) for q in experts.values()) / precision
    q = product.encode({n: batch[n] for n in ("a", "c")})
    np.testing.assert_allclose(q.mean(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q.stddev(), precision ** -0.5, rtol=1e-5)
    # The model's own posterior given {a, c} is the mixture over {a}, {c}, {a, c}: not that.
    assert not np.allclose(model.encode({n: batch[n] for n in ("a", "c")}).mean(), mean,
                           atol=1e-3)
    # The same networks: a single modality decodes and encodes as in the model.
    z = np.zeros((2, 3), "float32")
    np.testing.assert_allclose(product.decoders[1].mean(z), model.decoders[1].mean(z))
    for other in (kmvae.MVAE(tiny.modalities(), 2), kmvae.MoEVAE(tiny.modalities(), 2),
                  kmvae.MoPoEVAE(tiny.modalities(), 2, fusion="poe")):
        assert paper_subset_model(other) is other


def test_probe_codes_of_a_mixture_mean_or_one_component(tiny):
    model = kmvae.MoEVAE(tiny.modalities(("bernoulli", "normal")), 2, seed=0)
    batch = {**tiny.batch(model.modalities, 400, seed=4),
             "label": np.zeros(400, "int32")}
    data = tf.data.Dataset.from_tensor_slices(batch).batch(100)
    experts = [np.asarray(model.encode({n: batch[n]}).mean()) for n in ("a", "b")]
    mean = metrics.subset_encodings(model, data, [["a", "b"]])["a,b"][0]
    np.testing.assert_allclose(mean, (experts[0] + experts[1]) / 2, rtol=1e-5, atol=1e-6)
    codes, labels = metrics.subset_encodings(model, data, [["a", "b"]],
                                             representation="component")["a,b"]
    assert labels.shape == (400,)
    is_a = np.all(np.isclose(codes, experts[0], atol=1e-6), axis=1)
    is_b = np.all(np.isclose(codes, experts[1], atol=1e-6), axis=1)
    assert np.all(is_a | is_b)                        # every code is one expert's mean
    assert 150 < is_a.sum() < 250                     # each chosen about half the time
    with pytest.raises(ValueError, match="representation must be one of"):
        metrics.subset_encodings(model, data, [["a"]], representation="sample")


def test_coherence_by_size_averages_the_targets_outside_each_subset(tiny):
    """Three modalities: each subset is scored on the modalities it does not contain, and the
    size-k value is the mean over the subsets of size k of the mean over their targets."""
    keras.utils.set_random_seed(0)
    model = kmvae.MoPoEVAE(tiny.modalities(("bernoulli", "normal", "laplace")), 2, seed=0)
    rng = np.random.default_rng(5)
    batch = {**tiny.batch(model.modalities, 300, seed=5),
             "label": rng.integers(0, 3, 300).astype("int32")}
    data = tf.data.Dataset.from_tensor_slices(batch).batch(100)
    oracles = {n: keras.Sequential([keras.Input(shape), keras.layers.Dense(3)])
               for n, shape in (("a", (5,)), ("b", (3,)), ("c", (2,)))}
    result = metrics.conditional_coherence(model, data, oracles)
    pairs = result["pairs"]
    assert sorted(pairs) == sorted(f"{','.join(s)}->{t}" for s in SUBSETS[:-1]
                                   for t in "abc" if t not in s)
    by_hand = {}
    for subset in SUBSETS[:-1]:
        targets = [pairs[f"{','.join(subset)}->{t}"] for t in "abc" if t not in subset]
        by_hand.setdefault(str(len(subset)), []).append(np.mean(targets))
    assert result["by_size"] == pytest.approx({k: np.mean(v) for k, v in by_hand.items()})
    assert len({round(v, 6) for v in pairs.values()}) > 1       # not all alike: a real check
