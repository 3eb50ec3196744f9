"""Posterior fusion against independent numerical computations.

PoE (MVAE eq. 3): the fused Normal must be the normalised product of the expert densities, which
is computed here on a fine grid with numpy and normalised by numerical integration. MoE / MoPoE
(MoPoE Definition 1, eq. 10): the mixture's density must be the uniform mixture, over the valid
subsets, of the products of their experts, computed here in numpy / scipy.
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, special, stats

from kmvae.layers import PosteriorFusion, product_of_experts

# ----------------------------------------------------------------------------- numpy references


def grid_product_1d(mus, sigmas, prior_expert, lo=-15.0, hi=15.0, n=60001):
    """The product `p(z)^[prior] * prod_m N(z; mu_m, s_m)` on a grid, normalised numerically.
    Returns (grid, density, mean, variance)."""
    z = np.linspace(lo, hi, n)
    log_density = sum(stats.norm.logpdf(z, mu, s) for mu, s in zip(mus, sigmas))
    if prior_expert:
        log_density = log_density + stats.norm.logpdf(z, 0.0, 1.0)
    unnormalised = np.exp(log_density - log_density.max())
    density = unnormalised / integrate.trapezoid(unnormalised, z)
    mean = integrate.trapezoid(z * density, z)
    variance = integrate.trapezoid((z - mean) ** 2 * density, z)
    return z, density, mean, variance


def closed_form_product(mus, sigmas, prior_expert):
    """Numpy product of diagonal Gaussians over axis 0 (precision-weighted), shape (D,)."""
    precisions = [1.0 / np.square(s) for s in sigmas]
    total = sum(precisions) + (1.0 if prior_expert else 0.0)
    mean = sum(p * mu for p, mu in zip(precisions, mus)) / total
    return mean, 1.0 / np.sqrt(total)


def numpy_mixture_log_prob(z, mus, sigmas):
    """Uniform mixture of diagonal Gaussians: z (n, D), mus/sigmas lists of (D,)."""
    comps = np.stack([stats.norm.logpdf(z, mu, s).sum(-1) for mu, s in zip(mus, sigmas)], -1)
    return special.logsumexp(comps, axis=-1) - np.log(len(mus))


def experts(batch, num_modalities, latent_dim, seed=0):
    rng = np.random.default_rng(seed)
    locs = rng.normal(0.0, 1.5, (batch, num_modalities, latent_dim)).astype("float32")
    scales = rng.uniform(0.3, 1.5, (batch, num_modalities, latent_dim)).astype("float32")
    return locs, scales


# ----------------------------------------------------------------------------- product of experts
MUS = np.array([0.7, -1.2, 2.0])
SIGMAS = np.array([0.5, 1.3, 0.8])


@pytest.mark.parametrize("prior_expert", [True, False])
def test_product_of_experts_is_the_normalised_product_of_densities(prior_expert):
    z, density, mean, variance = grid_product_1d(MUS, SIGMAS, prior_expert)
    locs = tf.constant(MUS.reshape(1, 3, 1), tf.float32)
    scales = tf.constant(SIGMAS.reshape(1, 3, 1), tf.float32)
    loc, scale = product_of_experts(locs, scales, tf.ones((1, 1, 3)), prior_expert=prior_expert)
    assert loc.shape == (1, 1, 1) and scale.shape == (1, 1, 1)
    np.testing.assert_allclose(float(loc[0, 0, 0]), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(scale[0, 0, 0]) ** 2, variance, rtol=1e-4)
    fused = stats.norm.pdf(z, float(loc[0, 0, 0]), float(scale[0, 0, 0]))
    np.testing.assert_allclose(fused, density, atol=1e-4 * density.max())


def test_prior_expert_changes_the_product():
    # The prior expert shrinks the product towards 0 and narrows it.
    _, _, mean_with, var_with = grid_product_1d(MUS, SIGMAS, True)
    _, _, mean_without, var_without = grid_product_1d(MUS, SIGMAS, False)
    fusion_with = PosteriorFusion(3, "poe", prior_expert=True)
    fusion_without = PosteriorFusion(3, "poe", prior_expert=False)
    locs = tf.constant(MUS.reshape(1, 3, 1), tf.float32)
    scales = tf.constant(SIGMAS.reshape(1, 3, 1), tf.float32)
    mask = tf.ones((1, 3), tf.bool)
    q_with, q_without = fusion_with(locs, scales, mask), fusion_without(locs, scales, mask)
    np.testing.assert_allclose(q_with.mean().numpy().ravel(), [mean_with], rtol=1e-5)
    np.testing.assert_allclose(q_without.mean().numpy().ravel(), [mean_without], rtol=1e-5)
    np.testing.assert_allclose(q_with.variance().numpy().ravel(), [var_with], rtol=1e-4)
    np.testing.assert_allclose(q_without.variance().numpy().ravel(), [var_without], rtol=1e-4)
    assert abs(mean_with - mean_without) > 0.05 and var_with < var_without


@pytest.mark.parametrize("prior_expert", [True, False])
def test_poe_fusion_with_a_mask_is_the_product_of_the_remaining_experts(prior_expert):
    fusion = PosteriorFusion(3, "poe", prior_expert=prior_expert)
    masks = np.array([[True, False, True], [False, True, False], [True, True, True]])
    locs = tf.constant(np.tile(MUS.reshape(1, 3, 1), (3, 1, 1)), tf.float32)
    scales = tf.constant(np.tile(SIGMAS.reshape(1, 3, 1), (3, 1, 1)), tf.float32)
    q = fusion(locs, scales, tf.constant(masks))
    assert q.batch_shape == (3,) and q.event_shape == (1,)
    for row, mask in enumerate(masks):
        z, density, mean, variance = grid_product_1d(MUS[mask], SIGMAS[mask], prior_expert)
        np.testing.assert_allclose(q.mean()[row, 0], mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(q.variance()[row, 0], variance, rtol=1e-4)
        points = z[::500, None, None] * np.ones((1, 3, 1))
        fused = q.prob(tf.constant(points, tf.float32)).numpy()[:, row]
        np.testing.assert_allclose(fused, density[::500], atol=1e-4 * density.max())
    # A dropped expert really is dropped: rows 0 and 2 differ only in expert 1.
    assert abs(float(q.mean()[0, 0] - q.mean()[2, 0])) > 1e-3


def test_masked_expert_parameters_do_not_matter():
    fusion = PosteriorFusion(3, "poe")
    mask = tf.constant([[True, False, True]])
    locs = MUS.reshape(1, 3, 1).astype("float32")
    scales = SIGMAS.reshape(1, 3, 1).astype("float32")
    other_locs, other_scales = locs.copy(), scales.copy()
    other_locs[0, 1], other_scales[0, 1] = 1e4, 1e-3
    q = fusion(locs, scales, mask)
    q_other = fusion(other_locs, other_scales, mask)
    np.testing.assert_array_equal(q.mean(), q_other.mean())
    np.testing.assert_array_equal(q.stddev(), q_other.stddev())


def test_product_of_experts_2d_against_a_2d_grid():
    mus = np.array([[0.5, -1.0], [1.5, 0.3]])
    sigmas = np.array([[0.6, 1.1], [0.9, 0.4]])
    g = np.linspace(-8, 8, 801)
    z1, z2 = np.meshgrid(g, g, indexing="ij")
    points = np.stack([z1, z2], -1)
    log_density = stats.multivariate_normal.logpdf(points, np.zeros(2), np.eye(2))
    for mu, s in zip(mus, sigmas):
        log_density = log_density + stats.multivariate_normal.logpdf(points, mu, np.diag(s ** 2))
    density = np.exp(log_density - log_density.max())
    density /= integrate.trapezoid(integrate.trapezoid(density, g, axis=1), g)

    def expect(f):
        return integrate.trapezoid(integrate.trapezoid(f * density, g, axis=1), g)

    mean = np.array([expect(z1), expect(z2)])
    cov = np.array([[expect((a - mean[i]) * (b - mean[j])) for j, b in enumerate((z1, z2))]
                    for i, a in enumerate((z1, z2))])
    q = PosteriorFusion(2, "poe", prior_expert=True)(
        tf.constant(mus[None], tf.float32), tf.constant(sigmas[None], tf.float32),
        tf.ones((1, 2), tf.bool))
    assert q.event_shape == (2,)
    np.testing.assert_allclose(q.mean().numpy()[0], mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.diag(q.variance().numpy()[0]), cov, atol=1e-4)
    some = points[::40, ::40].reshape(-1, 2)
    expected = np.log(density[::40, ::40].reshape(-1))
    fused = q.log_prob(tf.constant(some[:, None, :], tf.float32)).numpy()[:, 0]
    keep = expected > -20  # compare where the density is not vanishingly small
    np.testing.assert_allclose(fused[keep], expected[keep], atol=1e-3)


def test_product_with_several_components_per_row():
    locs, scales = experts(2, 3, 2, seed=3)
    inclusion = np.array([[[1, 0, 0], [1, 1, 0], [0, 1, 1]],
                          [[1, 1, 1], [0, 0, 1], [1, 0, 1]]], np.float32)
    loc, scale = product_of_experts(locs, scales, inclusion, prior_expert=False)
    assert loc.shape == (2, 3, 2)
    for b in range(2):
        for k in range(3):
            chosen = inclusion[b, k].astype(bool)
            mean, std = closed_form_product(locs[b, chosen], scales[b, chosen], False)
            np.testing.assert_allclose(loc[b, k], mean, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(scale[b, k], std, rtol=1e-5)
    # A single expert without the prior is the expert itself.
    np.testing.assert_allclose(loc[0, 0], locs[0, 0], rtol=1e-6)
    np.testing.assert_allclose(scale[0, 0], scales[0, 0], rtol=1e-6)


def test_empty_product_without_prior_is_standard_normal():
    locs, scales = experts(1, 2, 3)
    loc, scale = product_of_experts(locs, scales, np.zeros((1, 1, 2), np.float32),
                                    prior_expert=False)
    np.testing.assert_array_equal(loc, np.zeros((1, 1, 3)))
    np.testing.assert_array_equal(scale, np.ones((1, 1, 3)))


# ----------------------------------------------------------------------------- MoE / MoPoE
@pytest.mark.parametrize("num_modalities", [1, 2, 3, 4])
def test_component_counts(num_modalities):
    assert PosteriorFusion(num_modalities, "poe").num_components == 1
    assert PosteriorFusion(num_modalities, "moe").num_components == num_modalities
    mopoe = PosteriorFusion(num_modalities, "mopoe")
    assert mopoe.num_components == 2 ** num_modalities - 1
    expected = {frozenset(s) for r in range(1, num_modalities + 1)
                for s in itertools.combinations(range(num_modalities), r)}
    assert {frozenset(s) for s in mopoe.subsets} == expected
    assert len(set(mopoe.subsets)) == mopoe.num_components


def valid_subsets(method, present):
    """Index subsets that are mixture components for a row with `present` modalities."""
    idx = [m for m in range(len(present)) if present[m]]
    if method == "moe":
        return [(m,) for m in idx]
    return [s for r in range(1, len(idx) + 1) for s in itertools.combinations(idx, r)]


MASKS_3 = np.array([[k >> m & 1 for m in range(3)] for k in range(1, 8)], bool)


@pytest.mark.parametrize("method,prior_expert",
                         [("moe", False), ("mopoe", False), ("mopoe", True)])
def test_mixture_components_and_weights(method, prior_expert):
    fusion = PosteriorFusion(3, method, prior_expert=prior_expert)
    locs, scales = experts(len(MASKS_3), 3, 2, seed=7)
    loc, scale, log_weights = (t.numpy() for t in fusion.components(locs, scales, MASKS_3))
    assert log_weights.shape == (7, fusion.num_components)
    for row, present in enumerate(MASKS_3):
        valid = valid_subsets(method, present)
        for k, subset in enumerate(fusion.subsets):
            if tuple(subset) in valid:
                assert np.isclose(log_weights[row, k], -np.log(len(valid)), rtol=1e-6)
                mean, std = closed_form_product(locs[row, list(subset)], scales[row, list(subset)],
                                                prior_expert)
                np.testing.assert_allclose(loc[row, k], mean, rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(scale[row, k], std, rtol=1e-5)
            else:
                assert log_weights[row, k] == -np.inf
        np.testing.assert_allclose(special.logsumexp(log_weights[row]), 0.0, atol=1e-6)


def test_moe_ignores_the_prior_expert():
    fusion = PosteriorFusion(3, "moe", prior_expert=True)
    locs, scales = experts(2, 3, 2)
    loc, scale, _ = fusion.components(locs, scales, np.ones((2, 3), bool))
    np.testing.assert_allclose(loc, locs, rtol=1e-6)
    np.testing.assert_allclose(scale, scales, rtol=1e-6)


@pytest.mark.parametrize("method,prior_expert",
                         [("moe", False), ("mopoe", False), ("mopoe", True)])
def test_mixture_log_prob_is_the_uniform_mixture_of_products(method, prior_expert):
    fusion = PosteriorFusion(3, method, prior_expert=prior_expert)
    locs, scales = experts(len(MASKS_3), 3, 2, seed=11)
    q = fusion(tf.constant(locs), tf.constant(scales), tf.constant(MASKS_3))
    assert q.batch_shape == (7,) and q.event_shape == (2,)
    rng = np.random.default_rng(5)
    z = rng.normal(0.0, 2.0, (50, 7, 2)).astype("float32")
    log_prob = q.log_prob(z).numpy()
    for row, present in enumerate(MASKS_3):
        products = [closed_form_product(locs[row, list(s)], scales[row, list(s)], prior_expert)
                    for s in valid_subsets(method, present)]
        expected = numpy_mixture_log_prob(z[:, row], [p[0] for p in products],
                                          [p[1] for p in products])
        np.testing.assert_allclose(log_prob[:, row], expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(q.mean().numpy()[row], np.mean([p[0] for p in products], 0),
                                   rtol=1e-5, atol=1e-6)


def test_mixture_density_integrates_to_one_and_samples_match_its_moments():
    fusion = PosteriorFusion(3, "mopoe", prior_expert=False)
    locs, scales = experts(1, 3, 2, seed=2)
    mask = np.array([[True, False, True]])
    q = fusion(tf.constant(locs), tf.constant(scales), tf.constant(mask))
    g = np.linspace(-10, 10, 401)
    points = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 1, 2).astype("float32")
    density = np.exp(q.log_prob(points).numpy()).reshape(401, 401)
    assert integrate.trapezoid(integrate.trapezoid(density, g, axis=1), g) == pytest.approx(
        1.0, abs=1e-4)
    products = [closed_form_product(locs[0, list(s)], scales[0, list(s)], False)
                for s in [(0,), (2,), (0, 2)]]
    mean = np.mean([p[0] for p in products], 0)
    second = np.mean([p[1] ** 2 + p[0] ** 2 for p in products], 0)
    samples = q.sample(40000, seed=3).numpy()[:, 0]
    np.testing.assert_allclose(samples.mean(0), mean, atol=0.03)
    np.testing.assert_allclose(samples.var(0), second - mean ** 2, rtol=0.05)


def test_fusion_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Unknown fusion 'sum'"):
        PosteriorFusion(2, "sum")
    with pytest.raises(ValueError, match="num_modalities must be >= 1"):
        PosteriorFusion(0, "poe")


def test_fusion_config_round_trip():
    fusion = PosteriorFusion(3, "mopoe", prior_expert=True, name="f")
    clone = PosteriorFusion.from_config(fusion.get_config())
    assert (clone.num_modalities, clone.method, clone.prior_expert) == (3, "mopoe", True)
    assert PosteriorFusion.from_config(PosteriorFusion(2, "moe").get_config()).prior_expert is False
