"""Importance-sampled estimators: `log_importance_weights` and the IWAE `log_likelihood`.

Checked against (1) a linear-Gaussian model built from the public pieces (identity backbones, a
linear decoder head, a fixed-scale normal likelihood), where log p(X), the exact posterior and the
ELBO of any Gaussian proposal are known in closed form, and (2) independent numpy Monte Carlo
ELBOs of tiny nonlinear models.
"""

import keras
import numpy as np
import pytest
from scipy import special, stats

import kmvae
from kmvae import Modality

from linear_gaussian import (B, K, SIGMA, exact_log_marginal, exact_posterior,  # noqa: F401
                             linear_gaussian_model, sample_linear_gaussian)


def test_the_linear_gaussian_encoders_give_the_exact_posterior():
    model = linear_gaussian_model()
    x = sample_linear_gaussian(5, seed=0)
    for names in (["x1", "x2"], ["x1"], ["x2"]):
        q = model.encode({n: x[n] for n in names})
        mean, cov = exact_posterior(x, names)
        np.testing.assert_allclose(q.mean(), mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(q.variance(), np.tile(np.diag(cov), (5, 1)), rtol=1e-4)
        assert abs(cov[0, 1]) < 1e-12


def test_with_the_exact_posterior_every_importance_weight_is_log_p_x():
    """q(z | X) = p(z | X) makes p(X, z) / q(z | X) = p(X) for every z: each log weight, and so
    the IWAE estimate for any K, is exactly log p(X)."""
    model = linear_gaussian_model()
    x = sample_linear_gaussian(6, seed=1)
    mask = np.array([[1, 1], [1, 0], [0, 1], [1, 1], [1, 0], [0, 1]], bool)
    batch = {**x, "mask": mask}
    log_w = model.log_importance_weights(batch, num_samples=30, chunk_size=7).numpy()
    assert log_w.shape == (30, 6) and log_w.dtype == np.float32
    expected = np.empty(6)
    for names, rows in ((["x1", "x2"], mask.all(1)), (["x1"], mask[:, 0] & ~mask[:, 1]),
                        (["x2"], ~mask[:, 0] & mask[:, 1])):
        expected[rows] = exact_log_marginal({n: x[n][rows] for n in names}, names)
    np.testing.assert_allclose(log_w, np.tile(expected, (30, 1)), atol=2e-4)
    for k in (1, 17):
        np.testing.assert_allclose(model.log_likelihood(batch, num_samples=k), expected,
                                   atol=2e-4)


def gaussian_kl(mean_q, var_q, mean_p, cov_p):
    """KL(N(mean_q, diag(var_q)) || N(mean_p, cov_p)) per row, numpy."""
    inv = np.linalg.inv(cov_p)
    d = mean_p - mean_q
    return 0.5 * (np.sum(np.diag(inv) * var_q, -1) + np.einsum("ni,ij,nj->n", d, inv, d) - 2
                  + np.log(np.linalg.det(cov_p)) - np.sum(np.log(var_q), -1))


def test_k1_weights_average_to_the_elbo_and_iwae_converges_to_log_p_x():
    """Proposal q(z | x1) for examples with x1 and x2: E[log w] = log p(X) - KL(q || p(z | X))
    (the ELBO, closed form here); the IWAE estimate rises with K towards log p(X)."""
    model = linear_gaussian_model()
    x = sample_linear_gaussian(8, seed=2)
    exact = exact_log_marginal(x, ["x1", "x2"])
    q = model.encode({"x1": x["x1"]})
    mean_post, cov_post = exact_posterior(x, ["x1", "x2"])
    elbo = exact - gaussian_kl(q.mean().numpy().astype(np.float64),
                               q.variance().numpy().astype(np.float64), mean_post, cov_post)
    assert np.all(exact - elbo > 0.05)                  # the proposal is visibly imperfect
    keras.utils.set_random_seed(0)
    log_w = model.log_importance_weights(x, num_samples=20000, proposal=["x1"],
                                         chunk_size=5000).numpy().astype(np.float64)
    stderr = log_w.std(0) / np.sqrt(len(log_w))
    assert np.all(np.abs(log_w.mean(0) - elbo) < 5 * stderr + 1e-3)

    def iwae(k):  # average of the K-sample estimate over independent groups
        groups = log_w[: len(log_w) // k * k].reshape(-1, k, log_w.shape[1])
        return (special.logsumexp(groups, axis=1) - np.log(k)).mean(0)

    estimates = [iwae(k) for k in (1, 10, 200, 5000)]
    for low, high in zip(estimates, estimates[1:]):
        assert np.mean(high) > np.mean(low)
    assert np.all(estimates[-1] <= exact + 0.01)
    assert np.abs(estimates[-1] - exact).max() < 0.02
    assert np.abs(estimates[-1] - exact).mean() < np.abs(estimates[0] - exact).mean() / 10
    keras.utils.set_random_seed(1)
    ll = model.log_likelihood(x, num_samples=5000, proposal=["x1"], chunk_size=2500).numpy()
    assert np.abs(ll - exact).max() < 0.03


def test_mopoe_mixture_proposal_converges_to_log_p_x():
    model = linear_gaussian_model(kmvae.MoPoEVAE, prior_expert=True)
    x = sample_linear_gaussian(6, seed=3)
    exact = exact_log_marginal(x, ["x1", "x2"])
    keras.utils.set_random_seed(0)
    small = model.log_likelihood(x, num_samples=1).numpy()
    big = model.log_likelihood(x, num_samples=4000, chunk_size=2000).numpy()
    assert np.abs(big - exact).max() < 0.03
    assert np.mean(exact - small) > np.mean(np.abs(exact - big))


# ----------------------------------------------------------------------------- nonlinear models
def numpy_mc_elbo(model, batch, num_samples, seed):
    """E_q[log p(X, z) - log q(z | X)] by numpy Monte Carlo with our own draws of z, the fused
    posterior's parameters recomputed from the encoders (PoE with the prior expert for MVAE, the
    uniform mixture of products of the subsets for MoPoE without the prior expert)."""
    rng = np.random.default_rng(seed)
    names = model.modality_names
    locs = np.stack([e(batch[n]).mean().numpy() for n, e in zip(names, model.encoders)], 1)
    scales = np.stack([e(batch[n]).stddev().numpy() for n, e in zip(names, model.encoders)], 1)
    locs, scales = locs.astype(np.float64), scales.astype(np.float64)
    M, rows = len(names), len(locs)
    if model.fusion.method == "poe":
        subsets, prior = [tuple(range(M))], True
    else:
        subsets = [s for s in model.fusion.subsets]
        prior = False
    means, stds = [], []
    for s in subsets:
        precision = sum(1 / scales[:, m] ** 2 for m in s) + prior
        means.append(sum(locs[:, m] / scales[:, m] ** 2 for m in s) / precision)
        stds.append(precision ** -0.5)
    means, stds = np.stack(means, 1), np.stack(stds, 1)            # (rows, C, D)
    which = rng.integers(len(subsets), size=(num_samples, rows))
    eps = rng.normal(size=(num_samples, rows, model.latent_dim))
    idx = np.arange(rows)
    z = means[idx, which] + stds[idx, which] * eps                   # (S, rows, D)
    log_q = special.logsumexp(
        stats.norm.logpdf(z[:, :, None], means[None], stds[None]).sum(-1), axis=-1) \
        - np.log(len(subsets))
    log_p = stats.norm.logpdf(z).sum(-1)
    for m, name in enumerate(names):
        mean = model.decoders[m].mean(z.astype(np.float32)).numpy().astype(np.float64)
        value = batch[name]
        if model.modalities[m].likelihood == "bernoulli":
            log_p += np.sum(value * np.log(mean) + (1 - value) * np.log1p(-mean), -1)
        else:
            log_p += np.log(np.take_along_axis(mean, np.broadcast_to(
                value[None, :, None], mean.shape[:-1] + (1,)).astype(int), -1)[..., 0])
    values = log_p - log_q
    return values.mean(0), values.std(0) / np.sqrt(num_samples)


@pytest.mark.parametrize("kind", ["MVAE", "MoPoEVAE"])
def test_k1_log_weights_average_to_a_numpy_monte_carlo_elbo(tiny, kind):
    model = tiny.model(kind, kinds=("bernoulli", "categorical"), latent_dim=2)
    batch = tiny.batch(model.modalities, 5, seed=1)
    keras.utils.set_random_seed(3)
    log_w = model.log_importance_weights(batch, num_samples=8000, chunk_size=4000).numpy()
    assert log_w.shape == (8000, 5)
    elbo, stderr = numpy_mc_elbo(model, batch, 8000, seed=4)
    stderr_w = log_w.std(0) / np.sqrt(len(log_w))
    assert np.all(np.abs(log_w.mean(0) - elbo) < 5 * np.hypot(stderr, stderr_w) + 1e-3)


@pytest.mark.parametrize("kind", ["MVAE", "MoPoEVAE"])
def test_iwae_estimate_exceeds_the_elbo_and_increases_with_k(tiny, kind):
    model = tiny.model(kind, kinds=("bernoulli", "categorical"), latent_dim=2)
    batch = tiny.batch(model.modalities, 16, seed=2)
    keras.utils.set_random_seed(5)
    log_w = model.log_importance_weights(batch, num_samples=4000, chunk_size=2000).numpy()
    log_w = log_w.astype(np.float64)
    elbo = log_w.mean(0)
    means = []
    for k in (1, 10, 200):
        ll = model.log_likelihood(batch, num_samples=k).numpy()
        assert ll.shape == (16,) and np.all(np.isfinite(ll))
        groups = log_w.reshape(-1, k, 16)
        means.append((special.logsumexp(groups, 1) - np.log(k)).mean())
        if k == 200:
            assert np.all(ll >= elbo - 0.05)
            assert np.mean(ll) > np.mean(elbo) + 0.05
    assert means[0] < means[1] < means[2]
    assert means[0] == pytest.approx(elbo.mean(), abs=1e-9)


def test_proposal_errors(tiny):
    model = tiny.model("MVAE", kinds=("bernoulli", "categorical"))
    batch = {**tiny.batch(model.modalities, 3), "mask": np.array([[1, 1], [0, 1], [1, 1]], bool)}
    with pytest.raises(ValueError, match="proposal must name modalities"):
        model.log_likelihood(batch, num_samples=2, proposal=["zz"])
    with pytest.raises(ValueError, match=r"Rows \[1\] have none of the proposal's modalities"):
        model.log_likelihood(batch, num_samples=2, proposal=["a"])
    ll = model.log_likelihood(batch, num_samples=3, proposal=["b"])
    assert ll.shape == (3,) and np.all(np.isfinite(ll))
