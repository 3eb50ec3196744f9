"""MSNVI's conflict measure c(m || m') (eq. 2)."""

import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae import metrics
from kmvae.layers.heads import diagonal_normal


def test_conflict_of_identical_beliefs_is_zero_and_of_the_prior_is_one():
    loc = tf.constant([[0.5, -1.0], [2.0, 0.3]])
    scale = tf.constant([[0.3, 0.6], [1.2, 0.1]])
    q = diagonal_normal(loc, scale)
    np.testing.assert_allclose(metrics.conflict(q, diagonal_normal(loc, scale)), [0.0, 0.0],
                               atol=1e-6)
    prior = diagonal_normal(tf.zeros_like(loc), tf.ones_like(scale))
    np.testing.assert_allclose(metrics.conflict(prior, q), [1.0, 1.0], rtol=1e-5)
    # By hand, 1-D: KL(N(1, 0.5^2) || N(2, 1)) / KL(N(1, 0.5^2) || N(0, 1)).
    a, b = tf.constant([[1.0]]), tf.constant([[0.5]])
    kl = lambda m, s, m2, s2: np.log(s2 / s) + (s ** 2 + (m - m2) ** 2) / (2 * s2 ** 2) - 0.5
    expected = kl(1, 0.5, 2, 1) / kl(1, 0.5, 0, 1)
    value = metrics.conflict(diagonal_normal(a + 1.0, tf.ones_like(b)), diagonal_normal(a, b))
    np.testing.assert_allclose(value, [expected], rtol=1e-5)
    plain = metrics.conflict(tfp_normal(a + 1.0, tf.ones_like(b)), tfp_normal(a, b))
    np.testing.assert_allclose(plain, [expected], rtol=1e-5)


def tfp_normal(loc, scale):
    import tensorflow_probability as tfp
    return tfp.distributions.Normal(loc, scale)


def test_conflict_grows_when_a_source_is_replaced_by_noise(linear_gaussian):
    model = linear_gaussian.model()
    x = linear_gaussian.sample(200, seed=0)
    clean = metrics.pairwise_conflicts(model, x)
    assert set(clean) == {"x1||x2", "x2||x1"}
    assert clean["x1||x2"].shape == (200,)
    noisy_x1 = np.random.default_rng(1).normal(0.0, 4.0, x["x1"].shape).astype(np.float32)
    noisy = metrics.pairwise_conflicts(model, {"x1": noisy_x1, "x2": x["x2"]})
    assert np.median(noisy["x1||x2"]) > 5 * np.median(clean["x1||x2"])
    assert np.mean(noisy["x1||x2"] > clean["x1||x2"]) > 0.8


@pytest.mark.parametrize("cls", [kmvae.MVAE, kmvae.MoPoEVAE, kmvae.MoEVAE])
def test_beliefs_are_the_single_modality_posteriors(tiny, cls):
    model = cls(tiny.modalities(("bernoulli", "categorical")), 3, seed=0)
    batch = tiny.batch(model.modalities, 4)
    belief = metrics.beliefs(model, batch)
    for name in model.modality_names:
        q = model.encode({name: batch[name]})
        np.testing.assert_allclose(belief[name].mean(), q.mean(), atol=1e-6)
        np.testing.assert_allclose(belief[name].stddev(), q.stddev(), atol=1e-6)


@pytest.mark.parametrize("cls", [kmvae.M2VAE, kmvae.JMVAEZero, kmvae.TVAE])
def test_beliefs_of_subset_models_are_their_unimodal_posteriors(tiny, cls):
    """A subset model's experts are its subset posteriors, not one per modality: the belief of
    m is the posterior of the subset {m} (M2VAE's and tVAE's encoder of m itself, JMVAE-Zero's
    joint encoder with the other modality missing), and the conflicts follow eq. 2."""
    model = cls(tiny.modalities(("bernoulli", "normal")), 2, seed=0)
    batch = tiny.batch(model.modalities, 4)
    belief = metrics.beliefs(model, batch)
    for m, name in enumerate(model.modality_names):
        mask = np.zeros((4, 2), bool)
        mask[:, m] = True
        q = model.encode({**batch, "mask": mask})
        if cls is not kmvae.JMVAEZero:
            own = model.encoders[m](batch[name])
            np.testing.assert_allclose(q.mean(), own.mean(), atol=1e-6)
        np.testing.assert_allclose(belief[name].mean(), q.mean(), atol=1e-6)
        np.testing.assert_allclose(belief[name].stddev(), q.stddev(), atol=1e-6)
    conflicts = metrics.pairwise_conflicts(model, batch)
    np.testing.assert_allclose(conflicts["a||b"], metrics.conflict(belief["a"], belief["b"]),
                               rtol=1e-6)
