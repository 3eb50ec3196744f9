"""Importance-weighted models: MMVAE (stratified IWAE / DReG, tight and looser) and MSNVI
(L(ind), L(MoE), L(PoE), L(hybrid), eq. 3 integration with either belief parameterisation,
eq. 2 conflict, eq. 6 imputation).

Checked against closed forms of a linear-Gaussian model, numerically integrated densities and
hand-computed log weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, special, stats

import kmvae
from kmvae.models.importance import masked_log_mean_exp
from kmvae.models.msnvi import MIN_PRECISION, msnvi_product_of_experts
from linear_gaussian import (B, K, SIGMA, exact_log_marginal, linear_gaussian_model,
                             sample_linear_gaussian)

MMVAE_OBJECTIVES = ("iwae", "dreg", "iwae_looser", "dreg_looser")
MSNVI_OBJECTIVES = ("ind", "moe", "poe", "hybrid")


def test_masked_log_mean_exp_matches_numpy():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 3, 5)).astype("float32") * 10
    valid = rng.uniform(size=(4, 3, 5)) < 0.6
    valid[:, 0, 0] = True
    got = masked_log_mean_exp(tf.constant(values), tf.constant(valid), axis=0).numpy()
    for i in range(3):
        for j in range(5):
            chosen = values[valid[:, i, j], i, j]
            expected = special.logsumexp(chosen) - np.log(len(chosen)) if len(chosen) else -np.inf
            np.testing.assert_allclose(got[i, j], expected, rtol=1e-5)


# ----------------------------------------------------------------------------- MMVAE
def test_mmvae_stratified_log_weights_by_hand(tiny):
    """log w = log p(z) + sum_n log p(x_n | z) - log mean_{present j} q_j(z), at given z."""
    model = kmvae.MMVAE(tiny.modalities(("bernoulli", "normal", "categorical")), 3,
                        objective="iwae", seed=0)
    batch = tiny.batch(model.modalities, 4, seed=1)
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]], bool)
    x, mask_t = model.prepare_batch({**batch, "mask": mask})
    locs, scales = model.experts(x)
    z = tf.random.normal((2, 4, 3, 3), seed=5)
    log_w, _ = model.stratified_log_weights(x, mask_t, locs, scales, z)
    locs, scales, z = locs.numpy(), scales.numpy(), z.numpy()
    for k in range(2):
        for b in range(4):
            for m in np.flatnonzero(mask[b]):
                point = z[k, b, m]
                log_q = [stats.norm.logpdf(point, locs[b, j], scales[b, j]).sum()
                         for j in np.flatnonzero(mask[b])]
                expected = stats.norm.logpdf(point).sum() - (special.logsumexp(log_q)
                                                            - np.log(len(log_q)))
                for n in np.flatnonzero(mask[b]):
                    p = model.decoders[n](tf.constant(point[None]))
                    expected += float(p.log_prob(x[n][b:b + 1])[0])
                np.testing.assert_allclose(log_w[k, b, m], expected, rtol=1e-4, atol=1e-3)


def lg_mmvae(objective="iwae", **kwargs):
    return linear_gaussian_model(kmvae.MMVAE, objective=objective, seed=3, **kwargs)


def test_mmvae_iwae_rises_with_k_towards_log_p_x_and_tight_beats_looser():
    """The stratified estimate is unbiased for p(X): its log rises with K and converges to the
    closed-form log p(X); the looser bound (average over modalities outside the log) is
    below the tight one."""
    model = lg_mmvae()
    x = sample_linear_gaussian(6, seed=4)
    exact = exact_log_marginal(x, ["x1", "x2"])
    replicas = 300
    batch = {n: np.repeat(v, replicas, axis=0) for n, v in x.items()}
    xs, mask = model.prepare_batch(batch)
    locs, scales = model.experts(xs)

    def mean_bound(objective, k):
        model.objective = objective
        bound, _, _ = model.bound_and_surrogate(xs, mask, locs, scales, num_samples=k)
        return bound.numpy().reshape(6, replicas).mean(1)

    tight = [mean_bound("iwae", k) for k in (1, 4, 32, 256)]
    for low, high in zip(tight, tight[1:]):
        assert np.all(high > low - 0.01) and np.mean(high) > np.mean(low)
    assert np.all(tight[-1] <= exact + 0.02)
    assert np.abs(tight[-1] - exact).max() < 0.05
    looser = mean_bound("iwae_looser", 4)
    assert np.mean(looser) < np.mean(tight[1])


def per_example_gradients(model, objective, xs, mask, locs, scales, k):
    """Gradients of each example's loss with respect to its posterior parameters."""
    model.objective = objective
    with tf.GradientTape() as tape:
        tape.watch([locs, scales])
        bound, surrogate, _ = model.bound_and_surrogate(xs, mask, locs, scales, num_samples=k)
        loss = -tf.reduce_sum(bound + surrogate)
    grad_loc, grad_scale = tape.gradient(loss, [locs, scales])
    return np.concatenate([grad_loc.numpy().reshape(len(bound), -1),
                           grad_scale.numpy().reshape(len(bound), -1)], axis=1)


@pytest.mark.parametrize("looser", [False, True])
@pytest.mark.parametrize("present", [[True, False], [True, True]])
def test_dreg_has_lower_variance_and_with_one_component_the_iwae_expectation(looser, present):
    """Tucker et al. 2019: with one component (the proposal is the sampling distribution) the
    DReG estimator of the inference network's gradient is unbiased for the IWAE gradient; with
    several, stratified DReG (the authors' estimator) is not exactly unbiased (documented). In
    both cases its variance is lower."""
    model = lg_mmvae()
    x = sample_linear_gaussian(1, seed=7)
    replicas = 4000
    batch = {n: np.repeat(v, replicas, axis=0) for n, v in x.items()}
    batch["mask"] = np.tile([present], (replicas, 1))
    xs, mask = model.prepare_batch(batch)
    locs, scales = model.experts(xs)
    suffix = "_looser" if looser else ""
    iwae = per_example_gradients(model, "iwae" + suffix, xs, mask, locs, scales, 8)
    dreg = per_example_gradients(model, "dreg" + suffix, xs, mask, locs, scales, 8)
    assert dreg.var(0).sum() < 0.5 * iwae.var(0).sum()
    if not all(present):
        stderr = np.sqrt((iwae.var(0) + dreg.var(0)) / replicas)
        assert np.all(np.abs(iwae.mean(0) - dreg.mean(0)) < 5 * stderr + 1e-4)
        assert np.abs(iwae.mean(0)).max() > 0.01          # a gradient worth comparing


def test_dreg_and_iwae_give_the_same_decoder_gradient_in_expectation():
    model = lg_mmvae()
    x = sample_linear_gaussian(32, seed=8)
    xs, mask = model.prepare_batch(x)
    decoder_vars = [v for d in model.decoders for v in d.trainable_variables]

    def gradients(objective):
        model.objective = objective
        draws = []
        for _ in range(40):
            with tf.GradientTape() as tape:
                loss, _ = model.compute_objective(xs, mask)
            draws.append(np.concatenate([g.numpy().ravel()
                                         for g in tape.gradient(loss, decoder_vars)]))
        return np.array(draws)

    iwae, dreg = gradients("iwae"), gradients("dreg")
    stderr = np.sqrt((iwae.var(0) + dreg.var(0)) / len(iwae))
    assert np.all(np.abs(iwae.mean(0) - dreg.mean(0)) < 5 * stderr + 1e-4)
    assert np.abs(iwae.mean(0)).max() > 0.1


@pytest.mark.parametrize("objective", MMVAE_OBJECTIVES)
def test_mmvae_missing_entries_never_change_bounds_or_gradients(tiny, objective):
    """A missing modality is no component and no observation: whatever its entries hold, the
    bound and the gradients are bit-identical."""
    mods = tiny.modalities(("bernoulli", "normal", "categorical"))
    batch = tiny.batch(mods, 6, seed=2)
    mask = tiny.every_mask(3)[:6]
    garbage = {**batch, "b": np.where(mask[:, 1:2], batch["b"], np.nan).astype("float32"),
               "a": np.where(mask[:, :1], batch["a"], 7.0).astype("float32")}
    results = []
    for data in (batch, garbage):
        model = kmvae.MMVAE(tiny.modalities(("bernoulli", "normal", "categorical")), 2,
                            objective=objective, num_samples=3, seed=11)
        keras.utils.set_random_seed(5)
        model.set_weights([np.full(w.shape, 0.1, w.dtype) for w in model.get_weights()])
        x, m = model.prepare_batch({**data, "mask": mask})
        with tf.GradientTape() as tape:
            loss, terms = model.compute_objective(x, m, training=True)
        grads = tape.gradient(loss, model.trainable_variables)
        results.append((loss.numpy(), terms["bound"][0].numpy(),
                        [tf.convert_to_tensor(g).numpy() for g in grads if g is not None]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert np.isfinite(results[0][0])
    for a, b in zip(results[0][2], results[1][2]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("posterior", ["normal", "laplace"])
def test_mmvae_learns_its_prior_scale_and_samples_its_prior(tiny, posterior):
    mods = tiny.modalities(("bernoulli", "categorical"))
    model = kmvae.MMVAE(mods, 2, objective="dreg_looser", num_samples=2,
                        posterior=posterior, learn_prior_scale=True, seed=0)
    data = tf.data.Dataset.from_tensor_slices(tiny.batch(mods, 32)).batch(8)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=False)  # XLA compiles slowly
    history = model.fit(data, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert not np.allclose(model.prior_scale.numpy(), 1.0)      # the prior's scale is learned
    draws = model.sample_prior(20000, seed=1).numpy()
    family = stats.laplace if posterior == "laplace" else stats.norm
    scale = model.prior_scale.numpy()
    assert stats.kstest(draws[:, 0] / scale[0], family.cdf).pvalue > 1e-3


@pytest.mark.parametrize("kwargs, words", [
    (dict(objective="elbo"), ["'elbo'", "dreg_looser"]),
    (dict(posterior="student"), ["'student'", "laplace"]),
    (dict(num_samples=0), ["num_samples", "0"]),
])
def test_mmvae_rejects_bad_options(tiny, kwargs, words):
    with pytest.raises(ValueError) as error:
        kmvae.MMVAE(tiny.modalities(("bernoulli", "normal")), 2, **kwargs)
    for word in words:
        assert word in str(error.value)


# ----------------------------------------------------------------------------- MSNVI
def lg_msnvi(objective="ind", **kwargs):
    return linear_gaussian_model(kmvae.MSNVI, objective=objective, seed=3, **kwargs)


def test_eq3_product_of_experts_by_numerical_integration():
    """p(z) prod_m q_m(z) / p(z), normalised on a grid, has the mean and variance returned."""
    rng = np.random.default_rng(0)
    grid = np.linspace(-12, 12, 200001)
    for count in (1, 2, 3):
        locs = rng.normal(size=(1, count, 1))
        scales = rng.uniform(0.3, 0.9, size=(1, count, 1))
        loc, scale = msnvi_product_of_experts(tf.constant(locs, tf.float32),
                                              tf.constant(scales, tf.float32),
                                              tf.ones((1, count), tf.bool))
        log_density = stats.norm.logpdf(grid) + sum(
            stats.norm.logpdf(grid, locs[0, m, 0], scales[0, m, 0]) - stats.norm.logpdf(grid)
            for m in range(count))
        density = np.exp(log_density - log_density.max())
        density /= integrate.trapezoid(density, grid)
        mean = integrate.trapezoid(grid * density, grid)
        var = integrate.trapezoid((grid - mean) ** 2 * density, grid)
        np.testing.assert_allclose(loc.numpy()[0, 0], mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(scale.numpy()[0, 0] ** 2, var, rtol=1e-4)
        if count == 1:  # eq. 3 with one source is that source's belief
            np.testing.assert_allclose(loc.numpy()[0, 0], locs[0, 0, 0], rtol=1e-6)
            np.testing.assert_allclose(scale.numpy()[0, 0], scales[0, 0, 0], rtol=1e-6)


def test_beliefs_are_the_prior_times_the_encoders_factor():
    """q_m = p(z) r_m(z | x_m) normalised: on a grid, the product of N(0, 1) and the encoder's
    Gaussian has the belief's mean and variance."""
    model = lg_msnvi()
    x = sample_linear_gaussian(3, seed=2)
    factor = model.encoders[0](x["x1"]).distribution
    belief = model.belief(x, "x1")
    grid = np.linspace(-10, 10, 100001)
    for b in range(3):
        for d in range(2):
            log_density = stats.norm.logpdf(grid) + stats.norm.logpdf(
                grid, factor.loc[b, d], factor.scale[b, d])
            density = np.exp(log_density - log_density.max())
            density /= integrate.trapezoid(density, grid)
            mean = integrate.trapezoid(grid * density, grid)
            var = integrate.trapezoid((grid - mean) ** 2 * density, grid)
            np.testing.assert_allclose(belief.mean()[b, d], mean, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(belief.variance()[b, d], var, rtol=1e-4)


def test_eq3_ignores_masked_sources_and_gives_the_prior_without_any():
    locs = tf.constant([[[0.5], [9.0]], [[0.5], [9.0]]])
    scales = tf.constant([[[0.4], [0.1]], [[0.4], [0.1]]])
    loc, scale = msnvi_product_of_experts(locs, scales, tf.constant([[True, False],
                                                                     [False, False]]))
    np.testing.assert_allclose(loc.numpy(), [[0.5], [0.0]], rtol=1e-6)
    np.testing.assert_allclose(scale.numpy(), [[0.4], [1.0]], rtol=1e-6)


def test_ind_with_k1_averages_to_the_closed_form_elbo():
    """L(ind) with K = 1 is the average over sources of single-sample ELBOs: its mean over
    many draws equals the closed-form Gaussian ELBO E_q[log p(X | z)] - KL(q_m || p)."""
    model = lg_msnvi("ind")
    x = sample_linear_gaussian(3, seed=5)
    replicas = 20000
    batch = {n: np.repeat(v, replicas, axis=0) for n, v in x.items()}
    got = model.bound(batch, "ind", num_samples=1).numpy().reshape(3, replicas)
    expected = np.zeros(3)
    for name in ("x1", "x2"):
        q = model.belief({name: x[name]}, name)
        mu, var = q.mean().numpy().astype(float), q.variance().numpy().astype(float)
        elbo = -0.5 * np.sum(mu ** 2 + var - 1 - np.log(var), axis=1)      # - KL(q || p)
        for obs in ("x1", "x2"):
            loc = mu @ K[obs] + B[obs]
            elbo += stats.norm.logpdf(x[obs], loc, SIGMA[obs]).sum(1)
            elbo -= np.sum((var @ K[obs] ** 2), axis=1) / (2 * SIGMA[obs] ** 2)
        expected += elbo / 2
    stderr = got.std(1) / np.sqrt(replicas)
    assert np.all(np.abs(got.mean(1) - expected) < 5 * stderr + 1e-3)


def test_moe_with_one_source_equals_ind_and_bounds_rise_with_k():
    x = sample_linear_gaussian(5, seed=6)
    one_source = {**x, "mask": np.tile([[True, False]], (5, 1))}
    ind = lg_msnvi("ind").bound(one_source, "ind", num_samples=8).numpy()
    moe = lg_msnvi("ind").bound(one_source, "moe", num_samples=8).numpy()
    np.testing.assert_array_equal(ind, moe)
    model = lg_msnvi("poe")
    exact = exact_log_marginal(x, ["x1", "x2"])
    batch = {n: np.repeat(v, 200, axis=0) for n, v in x.items()}
    for objective in ("ind", "moe"):
        means = [model.bound(batch, objective, num_samples=k).numpy().reshape(5, 200).mean(1)
                 for k in (1, 16, 256)]
        assert np.mean(means[0]) < np.mean(means[1]) < np.mean(means[2])
        assert np.all(means[2] <= exact + 0.02)
    # The beliefs are the exact single-source posteriors here, so eq. 3 integrates them into the
    # exact joint posterior: every L(PoE) weight is log p(X), for any K.
    for k in (1, 16):
        np.testing.assert_allclose(model.bound(x, "poe", num_samples=k), exact, atol=2e-4)


def test_hybrid_is_the_weighted_sum_of_ind_and_poe():
    x = sample_linear_gaussian(4, seed=9)
    xs_model = lg_msnvi("hybrid", hybrid_weights=(0.3, 0.7))
    hybrid = xs_model.bound(x, "hybrid", num_samples=4).numpy()
    reference = lg_msnvi("hybrid", hybrid_weights=(0.3, 0.7))   # same seed: the same draws
    ind = reference.bound(x, "ind", num_samples=4).numpy()
    poe = reference.bound(x, "poe", num_samples=4).numpy()
    np.testing.assert_allclose(hybrid, 0.3 * ind + 0.7 * poe, rtol=1e-5)


def test_conflict_is_zero_for_identical_beliefs_and_grows_with_noise():
    """c(m || m') of eq. 2 against numpy's Gaussian KLs; 0 when both sources see the same."""
    mods = [kmvae.Modality(n, shape=(3,), likelihood="normal") for n in ("s1", "s2")]
    model = kmvae.MSNVI(mods, 2, seed=0)
    model.encoders[1].set_weights(model.encoders[0].get_weights())
    x = sample_linear_gaussian(50, seed=1)["x1"]
    same = model.conflict({"s1": x, "s2": x}, "s1", "s2").numpy()
    np.testing.assert_allclose(same, 0.0, atol=1e-6)
    rng = np.random.default_rng(2)
    slightly = model.conflict({"s1": x + rng.normal(0, 0.05, size=x.shape).astype("float32"),
                               "s2": x}, "s1", "s2").numpy()
    noise = rng.normal(0, 5, size=x.shape).astype("float32")
    batch = {"s1": noise, "s2": x}
    got = model.conflict(batch, "s1", "s2").numpy()
    q1, q2 = model.belief(batch, "s1"), model.belief(batch, "s2")
    m1, v1 = q1.mean().numpy(), q1.variance().numpy()
    m2, v2 = q2.mean().numpy(), q2.variance().numpy()
    kl_21 = 0.5 * np.sum(v2 / v1 + (m1 - m2) ** 2 / v1 - 1 + np.log(v1 / v2), axis=1)
    kl_2p = 0.5 * np.sum(v2 + m2 ** 2 - 1 - np.log(v2), axis=1)
    np.testing.assert_allclose(got, kl_21 / kl_2p, rtol=1e-4)
    assert np.median(got) > 10 * np.median(slightly) > 0


def test_impute_is_the_predictive_mean_of_eq6():
    model = lg_msnvi()
    x = sample_linear_gaussian(4, seed=3)
    keras.utils.set_random_seed(0)
    got = model.impute({"x1": x["x1"]}, "x2", num_samples=20000).numpy()
    q = model.belief({"x1": x["x1"]}, "x1")
    expected = q.mean().numpy() @ K["x2"] + B["x2"]         # E[W z + b], z ~ q(z | x1)
    np.testing.assert_allclose(got, expected, atol=0.03)


def test_sources_and_observations_and_their_errors(tiny):
    """MNIST-NO's layout: noisy sources encoded, the clean image observed."""
    mods = [kmvae.Modality(n, shape=(4,), encoder=tiny.dense_backbone(),
                           decoder=tiny.dense_backbone()) for n in ("s0", "s1", "image")]
    model = kmvae.MSNVI(mods, 2, objective="hybrid", sources=["s0", "s1"],
                        observations=["image"], num_samples=2, seed=0)
    rng = np.random.default_rng(0)
    batch = {n: rng.uniform(size=(8, 4)).astype("float32") for n in ("s0", "s1", "image")}
    x, mask = model.prepare_batch(batch)
    with tf.GradientTape() as tape:
        loss, _ = model.compute_objective(x, mask, training=True)
    grads = dict(zip([v.path for v in model.trainable_variables],
                     tape.gradient(loss, model.trainable_variables)))
    assert all(grads[v.path] is None for v in model.encoders[2].trainable_variables)
    assert all(grads[v.path] is None for v in model.decoders[0].trainable_variables)
    assert all(grads[v.path] is not None for v in model.encoders[0].trainable_variables)
    assert set(model(batch)) == {"loc", "scale", "image"}
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=False)  # XLA compiles slowly
    before = [v.numpy().copy() for v in model.encoders[2].trainable_variables]
    model.fit(tf.data.Dataset.from_tensor_slices(batch).batch(4), epochs=1, verbose=0)
    for old, new in zip(before, model.encoders[2].trainable_variables):
        np.testing.assert_array_equal(old, new.numpy())     # unused networks stay unchanged
    with pytest.raises(ValueError, match=r"no information source \('s0', 's1'\)"):
        model.bound({"image": batch["image"]})
    with pytest.raises(ValueError, match=r"sources must name modalities.*\['audio'\]"):
        kmvae.MSNVI(mods, 2, sources=["audio"])
    with pytest.raises(ValueError, match="'image' is not an information source"):
        model.conflict(batch, "image", "s0")
    with pytest.raises(ValueError, match=r"objective must be one of .*'elbo'"):
        kmvae.MSNVI(mods, 2, objective="elbo")


@pytest.mark.parametrize("objective", ["ind", "moe", "poe"])
def test_only_the_sources_samples_are_decoded(tiny, objective):
    """MNIST-NO's IWAE baseline: one source among four noisy views and the clean image. L(ind)
    and L(MoE) draw K samples per source and L(PoE) K in all; the image decoder sees no sample
    of a modality that is no source."""
    names = ("s0", "s1", "s2", "image")
    mods = [kmvae.Modality(n, shape=(4,), encoder=tiny.dense_backbone(),
                           decoder=tiny.dense_backbone()) for n in names]
    model = kmvae.MSNVI(mods, 2, objective=objective, sources=["s0"], observations=["image"],
                        num_samples=3, seed=0)
    rng = np.random.default_rng(0)
    batch = {n: rng.uniform(size=(5, 4)).astype("float32") for n in names}
    shapes = []
    decoder = model.decoders[3]
    original = decoder.call
    decoder.call = lambda z, *a, **kw: shapes.append(tuple(z.shape)) or original(z, *a, **kw)
    try:
        bound = model.bound(batch, num_samples=3).numpy()
    finally:
        decoder.call = original
    assert shapes == [(3, 1, 5, 2)]                # (K, S, B, D): one sample group
    # The other views change nothing: the bound of a model without them, with the same weights
    # and the same draws (both seeded alike, both drawing one sample group).
    alone = kmvae.MSNVI([mods[0], mods[3]], 2, objective=objective, sources=["s0"],
                        observations=["image"], num_samples=3, seed=0)
    for i, m in enumerate((0, 3)):
        alone.encoders[i].set_weights(model.encoders[m].get_weights())
        alone.decoders[i].set_weights(model.decoders[m].get_weights())
    np.testing.assert_allclose(bound, alone.bound({n: batch[n] for n in ("s0", "image")},
                                                  num_samples=3), rtol=1e-5)
    assert bound.shape == (5,) and np.all(np.isfinite(bound))


@pytest.mark.parametrize("objective", MSNVI_OBJECTIVES)
def test_msnvi_bounds_ignore_missing_entries(tiny, objective):
    """Each bound of `bound` ignores what missing entries hold (training, saving and export:
    the contract, tests/models/test_models_contract.py)."""
    mods = tiny.modalities(("bernoulli", "normal", "categorical"))
    batch = tiny.batch(mods, 7, seed=4)
    mask = tiny.every_mask(3)
    garbage = {**batch, "a": np.where(mask[:, :1], batch["a"], np.nan).astype("float32")}
    values = []
    for data in (batch, garbage):
        model = kmvae.MSNVI(tiny.modalities(("bernoulli", "normal", "categorical")), 2,
                            objective=objective, num_samples=3, seed=2)
        model.set_weights([np.full(w.shape, 0.1, w.dtype) for w in model.get_weights()])
        values.append(model.bound({**data, "mask": mask}, num_samples=3).numpy())
    np.testing.assert_array_equal(values[0], values[1])
    assert np.all(np.isfinite(values[0]))


# ------------------------------------------------------------------ MSNVI, beliefs="encoder"
def paper_msnvi(tiny, **kwargs):
    """Three normal sources, latent 3, the paper's beliefs. The encoders' scales are pushed to
    about 3, 0.7 and 0.13 in the three latent dimensions, so eq. 3's raw precision is below the
    floor in the first (three or two sources) and far above it in the last."""
    model = kmvae.MSNVI(tiny.modalities(("normal",) * 3), 3, beliefs="encoder", num_samples=2,
                        seed=5, **kwargs)
    for encoder in model.encoders:
        bias = encoder.head.dense.bias.numpy()
        bias[3:] += np.array([3.0, 0.0, -2.0], "float32")
        encoder.head.dense.bias.assign(bias)
    return model


def numpy_paper_eq3(locs, scales, mask):
    """Eq. 3 with the encoders' Gaussians as beliefs, `p(z) prod_m r_m / p(z)`, the precision
    `lambda = sum_m 1/s_m^2 - (|S| - 1)`, used as is from 0.1 and, below, continued as
    `1e-3 + 0.099 exp((lambda - 0.1) / 0.099)`; float64.
    locs, scales `(B, M, D)`, mask `(B, M)` -> loc, scale and lambda `(B, D)`."""
    locs, scales = np.asarray(locs, np.float64), np.asarray(scales, np.float64)
    present = np.asarray(mask, np.float64)[..., None]
    precisions = present / scales ** 2
    raw = precisions.sum(1) - (present.sum(1) - 1.0)
    below = 1e-3 + 0.099 * np.exp((np.minimum(raw, 0.1) - 0.1) / 0.099)
    precision = np.where(raw >= 0.1, raw, below)
    return (precisions * locs).sum(1) / precision, precision ** -0.5, raw


def encoder_outputs(model, batch):
    """Each source's encoder Gaussian on the complete batch: locs, scales `(B, M, D)`."""
    factors = [encoder(batch[name]).distribution
               for name, encoder in zip(model.modality_names, model.encoders)]
    return (np.stack([f.loc.numpy() for f in factors], 1),
            np.stack([f.scale.numpy() for f in factors], 1))


def test_paper_beliefs_are_the_encoders_gaussians_and_eq3_divides_the_prior_out(tiny):
    """beliefs="encoder": `belief` is the encoder's Gaussian; `encode` (integration="poe") and
    the L(PoE) proposal of `bound` (alone and inside L(hybrid)) are numpy's eq. 3 of the present
    sources, improper ones smoothly floored; missing sources' entries (NaN here) play no part."""
    model = paper_msnvi(tiny, objective="hybrid")
    batch = tiny.batch(model.modalities, 7, seed=3)
    mask = tiny.every_mask(3)                          # every subset of the sources
    locs, scales = encoder_outputs(model, batch)
    for m, name in enumerate(model.modality_names):
        q = model.belief(batch, name)
        np.testing.assert_allclose(q.mean(), locs[:, m], rtol=1e-6)
        np.testing.assert_allclose(q.stddev(), scales[:, m], rtol=1e-6)
    loc, scale, raw = numpy_paper_eq3(locs, scales, mask)
    assert np.any(raw < MIN_PRECISION) and np.any(raw > 1.0)   # improper and proper entries
    assert np.all(raw[mask.sum(1) == 3, 0] < 0)                # three vague sources: improper
    holed = {n: np.where(mask[:, m, None], batch[n], np.nan).astype("float32")
             for m, n in enumerate(model.modality_names)}
    q = model.encode({**holed, "mask": mask})
    np.testing.assert_allclose(q.mean(), loc, rtol=1e-5)
    np.testing.assert_allclose(q.stddev(), scale, rtol=1e-5)
    single = mask.sum(1) == 1                          # eq. 3 of one source is its belief
    own = np.einsum("bm,bmd->bd", mask[single].astype("float64"), scales[single])
    proper = own < 0.1 ** -0.5                         # where the floor leaves lambda as is
    assert np.any(proper) and np.any(~proper)
    np.testing.assert_allclose(q.stddev().numpy()[single][proper], own[proper], rtol=1e-5)
    proposals = []
    original = model._sample
    model._sample = lambda l, s, k: proposals.append((l, s)) or original(l, s, k)
    try:
        for objective in ("poe", "hybrid"):
            bound = model.bound({**holed, "mask": mask}, objective, num_samples=2).numpy()
            assert bound.shape == (7,) and np.all(np.isfinite(bound))
    finally:
        model._sample = original
    integrated = [(l, s) for l, s in proposals if l.shape.rank == 2]   # not L(ind)'s (B, S, D)
    assert len(integrated) == 2
    for got_loc, got_scale in integrated:
        np.testing.assert_allclose(got_loc, loc, rtol=1e-5)
        np.testing.assert_allclose(got_scale, scale, rtol=1e-5)


def test_paper_eq3_passes_gradients_where_it_is_improper(tiny):
    """Where eq. 3's raw precision is below the floor, the hard floor's gradient w.r.t. the
    beliefs' scales is 0 and the smooth floor's finite and nonzero: in
    `msnvi_product_of_experts`, in L(PoE) (zero means, so only the spread carries a gradient)
    and end to end into every encoder variable."""
    locs = tf.constant([[[0.5, -1.0], [0.2, 2.0], [-0.3, 0.1]]])          # (1, 3, 2)
    scales = tf.constant([[[3.0, 0.4], [2.0, 0.5], [4.0, 0.3]]])
    mask = tf.ones((1, 3), tf.bool)
    _, _, raw = numpy_paper_eq3(locs, scales, mask)
    assert raw[0, 0] < 0 < 1 < raw[0, 1]
    grads = {}
    for floor in ("hard", "smooth"):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([locs, scales])
            loc, scale = msnvi_product_of_experts(locs, scales, mask, floor=floor)
        grads[floor] = (tape.gradient(scale, scales).numpy(), tape.gradient(loc, locs).numpy())
    np.testing.assert_array_equal(grads["hard"][0][..., 0], 0.0)
    for g in grads["smooth"]:
        assert np.all(np.isfinite(g)) and np.all(g != 0)
    # L(PoE): the same through the bound, the paper's model against the default's hard floor.
    paper = paper_msnvi(tiny, objective="poe")
    default = kmvae.MSNVI(tiny.modalities(("normal",) * 3), 3, objective="poe", seed=5)
    default.set_weights(paper.get_weights())
    x, mask = paper.prepare_batch(tiny.batch(paper.modalities, 4, seed=1))
    _, scales = paper.experts(x)                                        # the encoders' own
    zeros = tf.zeros_like(scales)
    assert np.all(numpy_paper_eq3(zeros, scales, mask)[2][:, 0] < 0)
    for model in (paper, default):
        with tf.GradientTape() as tape:
            tape.watch(scales)
            bound = tf.reduce_sum(model.poe_bound(x, mask, zeros, scales, 3))
        grads[model.beliefs] = tape.gradient(bound, scales).numpy()[..., 0]   # dim 0: improper
    assert np.all(np.isfinite(grads["encoder"])) and np.all(grads["encoder"] != 0)
    np.testing.assert_array_equal(grads["prior_times_encoder"], 0.0)
    with tf.GradientTape() as tape:
        loss, _ = paper.compute_objective(x, mask, training=True)
    variables = [v for encoder in paper.encoders for v in encoder.trainable_variables]
    for v, g in zip(variables, tape.gradient(loss, variables)):
        assert g is not None and np.all(np.isfinite(g)) and np.any(g != 0), v.path


def test_paper_beliefs_round_trip_through_get_config_and_keras_save(tiny, tmp_path):
    """The `.keras` file keeps beliefs="encoder": the loaded model's bound on a fixed batch
    (same weights, same seed state, so the same draws) and encoding are the saved model's,
    and differ from a default-beliefs model with the same weights."""
    model = paper_msnvi(tiny, objective="hybrid")
    config = model.get_config()
    assert config["beliefs"] == "encoder"
    assert type(model).from_config(config).get_config() == config
    older = {k: v for k, v in config.items() if k != "beliefs"}      # saved before the option
    assert type(model).from_config(older).beliefs == "prior_times_encoder"
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.get_config() == config
    batch = {**tiny.batch(model.modalities, 7, seed=2), "mask": tiny.every_mask(3)}
    default = kmvae.MSNVI(tiny.modalities(("normal",) * 3), 3, objective="hybrid",
                          num_samples=2, seed=5)
    default.set_weights(model.get_weights())
    bounds = [m.bound(batch, num_samples=4).numpy() for m in (model, loaded, default)]
    np.testing.assert_array_equal(bounds[0], bounds[1])
    assert np.all(np.isfinite(bounds[0])) and np.all(np.abs(bounds[0] - bounds[2]) > 1e-3)
    means = [m.encode(batch).mean().numpy() for m in (model, loaded, default)]
    np.testing.assert_array_equal(means[0], means[1])
    assert np.all(np.abs(means[0] - means[2]) > 1e-6)


def test_beliefs_and_floor_errors_name_the_value_and_the_choices(tiny):
    with pytest.raises(ValueError, match=r"beliefs must be one of \('prior_times_encoder', "
                                         r"'encoder'\); received 'paper'"):
        kmvae.MSNVI(tiny.modalities(("normal",) * 2), 2, beliefs="paper")
    with pytest.raises(ValueError, match=r"floor must be one of \('hard', 'smooth'\); "
                                         r"received 'soft'"):
        msnvi_product_of_experts(tf.ones((1, 1, 1)), tf.ones((1, 1, 1)), tf.ones((1, 1), bool),
                                 floor="soft")
