"""Importance-sampled log-likelihoods against the closed form of a linear-Gaussian model."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kmvae import metrics


def test_estimators_converge_to_the_closed_form_as_k_grows(linear_gaussian):
    """Proposal q(z | x1) for log p(x1, x2): an imperfect proposal, so K = 1 is visibly biased
    (the ELBO) and the estimate approaches log p(x1, x2) as K grows."""
    model = linear_gaussian.model()
    x = linear_gaussian.sample(8, seed=2)
    exact = linear_gaussian.exact_log_marginal(x, ["x1", "x2"])
    errors = []
    for k in (1, 30, 3000):
        estimate = metrics.importance_sampling(model, x, ["x1", "x2"], ["x1"], num_samples=k,
                                               chunk_size=1000)
        assert estimate.log_likelihood.shape == (8,)
        errors.append(np.mean(np.abs(estimate.log_likelihood - exact)))
    assert errors[0] > 0.05
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.03
    mean = metrics.test_log_likelihood(model, x, ["x1", "x2"], ["x1"], num_samples=3000,
                                       chunk_size=1000)
    assert mean == pytest.approx(np.mean(exact), abs=0.03)


def test_conditional_log_likelihood_is_eq_7(linear_gaussian):
    """log p(x1 | x2) = log p(x1, x2) - log E_p(z)[p(x2 | z)], both Monte Carlo terms converging
    to the closed form."""
    model = linear_gaussian.model()
    x = linear_gaussian.sample(6, seed=3)
    exact_y = linear_gaussian.exact_log_marginal(x, ["x2"])
    log_py = metrics.log_prior_predictive(model, x, ["x2"], num_samples=200000, chunk_size=20000, seed=1).numpy()
    assert log_py.shape == (6,)
    np.testing.assert_allclose(log_py, exact_y, atol=0.03)
    exact = linear_gaussian.exact_log_marginal(x, ["x1", "x2"]) - exact_y
    cond = metrics.conditional_log_likelihood(model, x, ["x1"], ["x2"], num_samples=3000,
                                              prior_samples=200000, chunk_size=1000)
    np.testing.assert_allclose(cond, exact, atol=0.05)
    rough = metrics.conditional_log_likelihood(model, x, ["x1"], ["x2"], num_samples=1,
                                               prior_samples=40000)
    assert np.mean(np.abs(rough - exact)) > np.mean(np.abs(cond - exact))


def test_subset_log_likelihoods_converge_for_every_proposal(linear_gaussian):
    """MoPoE's protocol: log p(X) with each subset's posterior as proposal; all estimate the
    same log p(X), exactly so with the full set (the exact posterior)."""
    model = linear_gaussian.model()
    x = linear_gaussian.sample(6, seed=4)
    exact = np.mean(linear_gaussian.exact_log_marginal(x, ["x1", "x2"]))
    result = metrics.subset_log_likelihoods(model, x, num_samples=3000, chunk_size=1000)
    assert list(result) == ["x1", "x2", "x1,x2"]
    for value in result.values():
        assert value == pytest.approx(exact, abs=0.05)
    assert result["x1,x2"] == pytest.approx(exact, abs=1e-3)


def test_a_proposal_outside_the_modalities_is_mvae_table_3(linear_gaussian):
    """log p(x1) with q(z | x1, x2) as proposal (MVAE Table 3) converges to the closed form;
    with q(z | x2) alone it is a poor proposal for x1 but still consistent."""
    model = linear_gaussian.model()
    x = linear_gaussian.sample(6, seed=7)
    exact = linear_gaussian.exact_log_marginal(x, ["x1"])
    rough = metrics.importance_sampling(model, x, ["x1"], ["x1", "x2"], num_samples=1)
    good = metrics.importance_sampling(model, x, ["x1"], ["x1", "x2"], num_samples=4000,
                                       chunk_size=1000)
    np.testing.assert_allclose(good.log_likelihood, exact, atol=0.03)
    assert np.mean(np.abs(rough.log_likelihood - exact)) > 0.05
    assert np.all(good.log_weight_variance > 1e-3)
    other = metrics.importance_sampling(model, x, ["x1"], ["x2"], num_samples=20000,
                                        chunk_size=5000)
    np.testing.assert_allclose(other.log_likelihood, exact, atol=0.1)


def test_sets_with_one_proposal_are_mvae_tables_2_and_3_from_one_set_of_draws(linear_gaussian):
    """log p(x1) and log p(x1, x2) from one pass per proposal: with q(z | x1), x1's exact
    posterior, every weight of log p(x1) is exact and log p(x1, x2) converges (Table 2); with
    q(z | x1, x2) the roles swap (Table 3). Each set's estimate is the one `importance_sampling`
    gives alone."""
    model = linear_gaussian.model()
    x = linear_gaussian.sample(6, seed=8)
    exact_1 = linear_gaussian.exact_log_marginal(x, ["x1"])
    exact_12 = linear_gaussian.exact_log_marginal(x, ["x1", "x2"])
    for proposal, (exact_set, converging_set) in ((["x1"], (0, 1)), (["x1", "x2"], (1, 0))):
        estimates = metrics.importance_sampling_sets(model, x, [["x1"], ["x1", "x2"]], proposal,
                                                     num_samples=4000, chunk_size=1000)
        exact = (exact_1, exact_12)
        np.testing.assert_allclose(estimates[exact_set].log_likelihood, exact[exact_set],
                                   atol=1e-3)
        assert np.all(estimates[exact_set].log_weight_variance < 1e-6)
        errors = np.abs(estimates[converging_set].log_likelihood - exact[converging_set])
        assert np.mean(errors) < 0.03 and np.max(errors) < 0.1
        assert np.all(estimates[converging_set].log_weight_variance > 1e-3)
        assert np.all(estimates[converging_set].elbo < estimates[converging_set].log_likelihood)
    with pytest.raises(ValueError, match="at least one set"):
        metrics.importance_sampling_sets(model, x, [], ["x1"], num_samples=2)
    with pytest.raises(ValueError, match="modalities must name"):
        metrics.importance_sampling_sets(model, x, [["x1"], ["image"]], ["x1"], num_samples=2)


def test_log_weight_variance_is_zero_with_the_true_posterior(linear_gaussian):
    model = linear_gaussian.model()
    x = linear_gaussian.sample(6, seed=5)
    for names in (["x1"], ["x2"], ["x1", "x2"]):
        variance = metrics.log_weight_variance(model, x, names, names, num_samples=200)
        assert variance < 1e-6
    imperfect = metrics.importance_sampling(model, x, ["x1", "x2"], ["x2"], num_samples=200)
    assert np.all(imperfect.log_weight_variance > 1e-3)


def test_estimates_over_a_dataset_respect_max_examples(linear_gaussian):
    model = linear_gaussian.model()
    x = linear_gaussian.sample(10, seed=6)
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(4)
    keras.utils.set_random_seed(0)
    estimate = metrics.importance_sampling(model, dataset, ["x1", "x2"], num_samples=5,
                                           max_examples=7)
    assert estimate.log_likelihood.shape == (7,) and estimate.log_weight_variance.shape == (7,)
    np.testing.assert_allclose(estimate.log_likelihood,
                               linear_gaussian.exact_log_marginal(x, ["x1", "x2"])[:7],
                               atol=1e-3)


def test_bad_arguments_are_errors(linear_gaussian):
    model = linear_gaussian.model()
    x = linear_gaussian.sample(2, seed=0)
    with pytest.raises(ValueError, match="modalities among"):
        metrics.importance_sampling(model, x, ["image"], num_samples=2)
    with pytest.raises(ValueError, match="num_samples"):
        metrics.importance_sampling(model, x, num_samples=0)
    with pytest.raises(ValueError, match="disjoint"):
        metrics.conditional_log_likelihood(model, x, ["x1"], ["x1"])
    with pytest.raises(ValueError, match=r"needs the modalities \['x2'\]"):
        metrics.importance_sampling(model, {"x1": x["x1"]}, ["x1", "x2"], num_samples=2)


def gaussian_kl(mean_q, cov_q, mean_p, cov_p):
    """KL(N(mean_q, cov_q) || N(mean_p, cov_p)) per row of the means `(n, d)`, numpy."""
    inverse = np.linalg.inv(cov_p)
    diff = mean_p - mean_q
    return 0.5 * (np.trace(inverse @ cov_q) + np.einsum("ni,ij,nj->n", diff, inverse, diff)
                  - len(cov_q) + np.linalg.slogdet(cov_p)[1] - np.linalg.slogdet(cov_q)[1])


def test_elbo_is_eq_12_in_closed_form(linear_gaussian):
    """M2VAE eq. 12: the ELBO of (x1, x2) under q(z | x1), here the exact p(z | x1), is
    log p(x1, x2) - KL(p(z | x1) || p(z | x1, x2)); the Monte Carlo mean of the log weights
    matches it within its standard error, lies below the IWAE bound of the same draws, and
    with the exact joint posterior as proposal every weight is p(x1, x2). A proposal outside X
    (log p(x1) under q(z | x1, x2)) gives log p(x1) - KL(p(z | x1, x2) || p(z | x1))."""
    model = linear_gaussian.model()
    x = linear_gaussian.sample(8, seed=9)
    log_p = {n: linear_gaussian.exact_log_marginal(x, list(n)) for n in (("x1",), ("x1", "x2"))}
    posterior = {n: linear_gaussian.exact_posterior(x, list(n)) for n in log_p}
    k = 20000
    for modalities, proposal in ((("x1", "x2"), ("x1",)), (("x1",), ("x1", "x2"))):
        exact = log_p[modalities] - gaussian_kl(*posterior[proposal], *posterior[modalities])
        estimate = metrics.importance_sampling(model, x, modalities, proposal, num_samples=k,
                                               chunk_size=5000)
        assert estimate.elbo.shape == (8,)
        error = 5 * np.sqrt(estimate.log_weight_variance / k) + 1e-3
        np.testing.assert_array_less(np.abs(estimate.elbo - exact), error)
        # The closed-form gap to log p(X) is several tolerances: the IWAE value would fail.
        assert np.mean(log_p[modalities] - exact) > 5 * np.mean(error)
        assert np.all(estimate.elbo < estimate.log_likelihood)
    exact_proposal = metrics.importance_sampling(model, x, ["x1", "x2"], num_samples=50)
    np.testing.assert_allclose(exact_proposal.elbo, log_p["x1", "x2"], atol=1e-3)
    np.testing.assert_allclose(exact_proposal.log_likelihood, log_p["x1", "x2"], atol=1e-3)


def test_a_checkpoint_serves_more_or_fewer_examples_without_starting_over(
        linear_gaussian, tmp_path, monkeypatch):
    """An estimate over the first 4 examples, then over all 10 with the same checkpoint: only
    examples 4-9 are computed and the first 4 are the saved ones; then over the first 3: none
    computed, the first 3 saved values returned, and the checkpoint keeps all 10."""
    model = linear_gaussian.model()
    x = linear_gaussian.sample(10, seed=3)
    batches = tf.data.Dataset.from_tensor_slices(x).batch(4)
    path = tmp_path / "estimate.npz"
    first = metrics.importance_sampling(model, batches, ["x1"], num_samples=3, max_examples=4,
                                        checkpoint=path)
    computed = []
    original = model.log_importance_weight_terms
    monkeypatch.setattr(model, "log_importance_weight_terms", lambda inputs, **kw: (
        computed.append(int(inputs["x1"].shape[0])) or original(inputs, **kw)))
    every = metrics.importance_sampling(model, batches, ["x1"], num_samples=3, checkpoint=path)
    assert computed == [4, 2] and every.log_likelihood.shape == (10,)
    np.testing.assert_array_equal(every.log_likelihood[:4], first.log_likelihood)
    computed.clear()
    fewer = metrics.importance_sampling(model, batches, ["x1"], num_samples=3, max_examples=3,
                                        checkpoint=path)
    assert computed == [] and fewer.elbo.shape == (3,)
    np.testing.assert_array_equal(fewer.log_likelihood, every.log_likelihood[:3])
    with np.load(path) as saved:
        np.testing.assert_array_equal(saved["ll_0"], every.log_likelihood.astype(np.float32))


def test_an_interrupted_estimate_resumes_after_the_examples_it_checkpointed(
        linear_gaussian, tmp_path, monkeypatch):
    """With the exact posterior as proposal every log weight is log p(X), so the resumed
    estimate must equal the closed form example by example: a misaligned resume (examples
    skipped or counted twice) fails, whatever the draws."""
    model = linear_gaussian.model()
    x = linear_gaussian.sample(10, seed=7)
    exact = linear_gaussian.exact_log_marginal(x, ["x1", "x2"])
    path = tmp_path / "estimate.npz"

    def interrupted():                  # two batches of 3, then the process is stopped
        for i, batch in enumerate(tf.data.Dataset.from_tensor_slices(x).batch(3)):
            if i == 2:
                raise KeyboardInterrupt
            yield batch
    with pytest.raises(KeyboardInterrupt):
        metrics.importance_sampling(model, interrupted(), ["x1", "x2"], num_samples=4,
                                    checkpoint=path, checkpoint_seconds=0)
    with np.load(path) as saved:
        np.testing.assert_allclose(saved["ll_0"], exact[:6], atol=1e-3)

    computed = []
    original = model.log_importance_weight_terms
    monkeypatch.setattr(model, "log_importance_weight_terms", lambda inputs, **kw: (
        computed.append(int(inputs["x1"].shape[0])) or original(inputs, **kw)))
    batches = tf.data.Dataset.from_tensor_slices(x).batch(4)   # another batching: 4, 4, 2
    resumed = metrics.importance_sampling(model, batches, ["x1", "x2"], num_samples=4,
                                          checkpoint=path)
    assert computed == [2, 2]                  # examples 6-7 of the second batch, then 8-9
    np.testing.assert_allclose(resumed.log_likelihood, exact, atol=1e-3)
    assert resumed.elbo.shape == resumed.log_weight_variance.shape == (10,)
    computed.clear()
    again = metrics.importance_sampling(model, batches, ["x1", "x2"], num_samples=4,
                                        checkpoint=path)
    assert computed == [] and np.array_equal(again.log_likelihood, resumed.log_likelihood)
    # Another estimate (here K) does not read this one's examples.
    metrics.importance_sampling(model, batches, ["x1", "x2"], num_samples=5, checkpoint=path)
    assert computed == [4, 4, 2]
