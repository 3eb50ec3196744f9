"""`kmvae.evaluate` on a tiny M2VAE: Table 1's subset ELBOs (M2VAE eq. 12) from the importance
samples the MoPoE subset log-likelihoods already draw, and the figures of M2VAE Fig. 4-6."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae import Modality, evaluate, metrics

PNG = b"\x89PNG\r\n\x1a\n"


def tiny_m2vae(shapes=((16,), (9,)), likelihood="bernoulli"):
    modalities = [Modality(name, shape=shape, likelihood=likelihood)
                  for name, shape in zip("ab", shapes)]
    return kmvae.M2VAE(modalities, 2, seed=0)


def separate_encoders(model):
    """Shifts the means of q(z | a) and q(z | b) apart (+1, -2.5 on every latent dimension), so
    that the three encoders of an untrained model have clearly different ELBOs."""
    for encoder, shift in zip(model.encoders, (1.0, -2.5)):
        bias = encoder.head.dense.bias
        bias.assign(bias.numpy() + np.r_[np.full(model.latent_dim, shift),
                                         np.zeros(model.latent_dim)].astype(np.float32))
    return model


def data(model, n=16, seed=0, label=True):
    rng = np.random.default_rng(seed)
    batch = {m.name: rng.random((n,) + m.shape).astype(np.float32) for m in model.modalities}
    if label:
        batch["label"] = rng.integers(0, 4, n).astype(np.int32)
    return batch


def own_posteriors(model, batch):
    """Subset label -> `(loc, scale)` numpy, each subset's encoder called directly."""
    a, b = batch["a"], batch["b"]
    return {label: tuple(np.asarray(t, np.float64) for t in (q.distribution.loc,
                                                              q.distribution.scale))
            for label, q in (("a", model.encoders[0](a)), ("b", model.encoders[1](b)),
                             ("a,b", model.joint_encoders[0]([a, b])))}


def brute_force_elbo(model, batch, loc, scale, draws=4000, seed=3):
    """Per-example `E_q[log p(a | z) + log p(b | z)] - KL(q || N(0, I))` for the diagonal
    Gaussian `q = N(loc, scale^2)`: the reconstruction term from `draws` draws of q (its
    standard error returned too), the KL in closed form."""
    eps = np.random.default_rng(seed).standard_normal((draws,) + loc.shape)
    z = tf.constant(loc + scale * eps, tf.float32)                       # (S, N, D)
    log_lik = sum(np.asarray(model.decoders[m](z).log_prob(batch[name]), np.float64)
                  for m, name in enumerate(model.modality_names))       # (S, N)
    kl = np.sum(0.5 * (scale ** 2 + loc ** 2 - 1) - np.log(scale), axis=-1)
    return log_lik.mean(0) - kl, log_lik.std(0) / np.sqrt(draws)


def log_weight_spread(model, batch, loc, scale, draws=4000, seed=5):
    """Per-example standard deviation of `log w = log p(a, b | z) + log N(z; 0, I) - log q(z)`,
    `z ~ q = N(loc, scale^2)`: the spread of a Monte Carlo ELBO's terms, from numpy densities."""
    eps = np.random.default_rng(seed).standard_normal((draws,) + loc.shape)
    z = loc + scale * eps
    log_lik = sum(np.asarray(model.decoders[m](tf.constant(z, tf.float32)).log_prob(batch[name]),
                             np.float64) for m, name in enumerate(model.modality_names))
    log_prior = -0.5 * np.sum(z ** 2 + np.log(2 * np.pi), axis=-1)
    log_q = -0.5 * np.sum(eps ** 2 + np.log(2 * np.pi), axis=-1) - np.sum(np.log(scale), -1)
    return np.std(log_lik + log_prior - log_q, axis=0)


def test_subset_elbo_is_eq_12_from_the_subset_log_likelihoods_draws(monkeypatch):
    """`subset_elbo[M']` is the mean over examples of the ELBO of (a, b) under the encoder of
    M' (M2VAE eq. 12, Table 1), taken from the very estimates of `subset_log_likelihood` (no
    importance sampling twice), below that IWAE value, and equal to a brute-force ELBO
    computed from each subset's own encoder."""
    keras.utils.set_random_seed(0)
    model = tiny_m2vae()
    model.build()
    separate_encoders(model)
    batch = data(model, label=False)
    test = tf.data.Dataset.from_tensor_slices(batch).batch(16)
    calls = []
    original = metrics.importance_sampling_sets

    def recording(model, dataset, modality_sets, proposal, *args, **kwargs):
        estimates = original(model, dataset, modality_sets, proposal, *args, **kwargs)
        calls.extend(((tuple(modalities), tuple(proposal)), estimate)
                     for modalities, estimate in zip(modality_sets, estimates))
        return estimates

    monkeypatch.setattr(metrics, "importance_sampling_sets", recording)
    k = 200
    recipe = types.SimpleNamespace(eval_num_samples=k, source="a", target="b",
                                   dataset="none", dataset_options={})
    result = evaluate.compute_metrics(model, recipe, test, test, prior_samples=50)
    keys = [key for key, _ in calls]
    assert len(keys) == len(set(keys))                       # each estimate drawn once
    estimates = dict(calls)
    assert list(result["subset_elbo"]) == ["a", "b", "a,b"]
    posteriors = own_posteriors(model, batch)
    for label, proposal in (("a", ("a",)), ("b", ("b",)), ("a,b", ("a", "b"))):
        estimate = estimates[("a", "b"), proposal]
        assert result["subset_elbo"][label] == pytest.approx(float(np.mean(estimate.elbo)))
        assert result["subset_log_likelihood"][label] == pytest.approx(
            float(np.mean(estimate.log_likelihood)))
        assert result["subset_elbo"][label] < result["subset_log_likelihood"][label]
        exact, error = brute_force_elbo(model, batch, *posteriors[label])
        tolerance = 5 * (np.sqrt(np.sum(estimate.log_weight_variance) / k)
                         + np.sqrt(np.sum(error ** 2))) / len(exact)
        assert result["subset_elbo"][label] == pytest.approx(np.mean(exact), abs=tolerance)
    # The encoders differ enough for the comparison to tell them apart.
    assert min(np.diff(sorted(result["subset_elbo"].values()))) > 0.5
    assert "subset_elbo a,b" in evaluate.format_table(result)


def test_make_plots_draws_every_encoder_and_the_reencoding(drawn, tmp_path, monkeypatch):
    """M2VAE Fig. 4-7 for a tiny M2VAE with a 2-D latent space: `latent.png` has one panel per
    encoder, q(z | a), q(z | b), q(z | a, b), each the means of that encoder itself coloured by
    class, and below each the same means coloured by every example's ELBO under that encoder
    (eq. 12, checked against a brute-force ELBO); `reencoding.png` and the decoded latent grid
    `manifold.png` are written; images also get the reconstructions and generations."""
    keras.utils.set_random_seed(0)
    model = tiny_m2vae()
    model.build()
    separate_encoders(model)
    batch = data(model)
    monkeypatch.setattr(kmvae.metrics.suite, "LATENT_ELBO_SAMPLES", 4000)
    paths = evaluate.make_plots(model, tf.data.Dataset.from_tensor_slices(batch).batch(8),
                                tmp_path)
    assert set(paths) == {"latent", "reencoding", "manifold", "reconstructions",
                          "joint_generations"}
    for path in paths.values():
        assert open(path, "rb").read(8) == PNG
    assert paths["reencoding"].endswith("reencoding.png")
    latent = drawn[0]
    panels = {ax["title"]: (ax["points"][0], ax["colours"][0]) for ax in latent if ax["title"]}
    assert list(panels) == ["q(z | a)", "q(z | b)", "q(z | a,b)", "ELBO under q(z | a)",
                            "ELBO under q(z | b)", "ELBO under q(z | a,b)"]
    posteriors = own_posteriors(model, batch)
    for label, (loc, scale) in posteriors.items():
        points, classes = panels[f"q(z | {label})"]
        np.testing.assert_allclose(points, loc, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(classes, batch["label"])
        points, elbo = panels[f"ELBO under q(z | {label})"]
        np.testing.assert_allclose(points, loc, rtol=1e-5, atol=1e-6)
        exact, error = brute_force_elbo(model, batch, loc, scale)
        # The plot's estimate samples the KL term too: its standard error is that of log w.
        spread = log_weight_spread(model, batch, loc, scale)
        assert np.all(np.abs(elbo - exact) < 5 * np.hypot(spread / np.sqrt(4000), error))
    assert not np.allclose(panels["q(z | a)"][0], panels["q(z | a,b)"][0], atol=1e-3)
    manifold = drawn[-3]          # then the reconstructions and the joint generations
    assert [ax["title"].split(",")[0] for ax in manifold] == ["mean of p(a | z)",
                                                              "mean of p(b | z)"]


def test_make_plots_on_points_skips_the_images(tmp_path):
    """The MoG recipes' modalities are 2-D points: no image figures (which cannot draw them),
    but the latent panels and the re-encoding figure."""
    keras.utils.set_random_seed(0)
    model = tiny_m2vae(shapes=((2,), (2,)), likelihood="normal")
    test = tf.data.Dataset.from_tensor_slices(data(model)).batch(8)
    paths = evaluate.make_plots(model, test, tmp_path)
    assert set(paths) == {"latent", "reencoding"}      # no manifold.png of points either
    for path in paths.values():
        assert open(path, "rb").read(8) == PNG


@pytest.mark.parametrize("latent_dim", [2, 3])
def test_encoder_coherence_reencodes_on_2d_latent_spaces_only(latent_dim):
    """`compute_metrics` on a subset model with labels writes `cross_encoder_probe` (M2VAE
    Figure 5, each encoder's codes read by the joint codes' probe: the joint encoder's own
    entry is `latent_probe`'s) and, for a 2-D latent space only (where Figure 6 is drawn),
    `reencoding` with every encoder's fractions of 200 re-encoding steps."""
    keras.utils.set_random_seed(0)
    model = kmvae.M2VAE([Modality(n, shape=(6,), likelihood="bernoulli") for n in "ab"],
                        latent_dim, seed=0)
    model.build()
    test = tf.data.Dataset.from_tensor_slices(data(model, n=40)).batch(20)
    recipe = types.SimpleNamespace(eval_num_samples=5, source="a", target="b",
                                   dataset="none", dataset_options={}, metrics=(
                                       "LatentProbe", "EncoderCoherence"))
    result = evaluate.compute_metrics(model, recipe, test, test)
    assert set(result["cross_encoder_probe"]) == {"a", "b", "a,b"}
    assert result["cross_encoder_probe"]["a,b"] == result["latent_probe"]["a,b"]
    if latent_dim == 3:
        assert "reencoding" not in result
        return
    reencoding = result["reencoding"]
    assert (reencoding["steps"], reencoding["seeds"]) == (200, 40)
    for fractions in reencoding["subsets"].values():
        assert set(fractions) == {"converged", "class_kept", "class_at_start"}
        assert all(0 <= value <= 1 for value in fractions.values())
