"""M2VAE: 2^M - 1 encoders, eq. 6-10 by hand for two modalities, the eq. 11 recursion for three,
beta_S / beta_norm, re-encoding. Masks, saving, export and fit: the contract
(tests/models/test_models_contract.py)."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae.models.subsets import m2vae_coefficients
from saved_files import rewrite_config
from subset_helpers import gaussian, inject_noise, kl, log_lik, objective, standard

KINDS = ("bernoulli", "normal", "categorical", "laplace")


@pytest.mark.parametrize("num_modalities", [2, 3, 4])
def test_one_encoder_per_nonempty_subset(tiny, num_modalities):
    model = kmvae.M2VAE(tiny.modalities(KINDS[:num_modalities]), 2, seed=1)
    expected = 2 ** num_modalities - 1
    assert len(model.encoders) + len(model.joint_encoders) == expected == model.num_subsets
    members = sorted(tuple(m.name for m in e.member_modalities) for e in model.joint_encoders)
    names = model.modality_names
    assert members == sorted(tuple(names[i] for i in s) for s in model.subsets if len(s) > 1)
    batch = tiny.batch(model.modalities, 3)
    locs, scales = model.subset_posteriors(model.prepare_batch(batch)[0])
    assert locs.shape == scales.shape == (3, expected, 2)
    # Every encoder is its own network: no two subsets share a posterior.
    flat = np.asarray(locs).transpose(1, 0, 2).reshape(expected, -1)
    assert len({tuple(np.round(row, 6)) for row in flat}) == expected


def test_two_modalities_objective_is_the_sum_of_eq_6_terms(tiny):
    """2 L_M2 = L_a + L_b + L_M (eq. 6-10), with beta_a, beta_b, beta_ab, alpha and lambdas."""
    model = kmvae.M2VAE(tiny.modalities(("bernoulli", "categorical")), 2, seed=1, alpha=0.3,
                        betas={"a": 0.5, "b": 2.0, "a,b": 0.7},
                        likelihood_weights={"a": 1.5})
    batch = tiny.batch(model.modalities, 6, seed=2)
    eps = np.random.default_rng(0).normal(size=(6, 3, 2))
    inject_noise(model, eps)
    loss, terms = objective(model, batch)

    a, b = batch["a"], batch["b"]
    q_a = gaussian(model.encoders[0](a))
    q_b = gaussian(model.encoders[1](b))
    q_ab = gaussian(model.joint_encoders[0]([a, b]))
    prior = standard(q_a[0].shape)
    z_a, z_b, z_ab = (q[0] + q[1] * eps[:, k] for k, q in enumerate((q_a, q_b, q_ab)))
    eq7 = 1.5 * log_lik(model, "a", z_a, a) - 0.5 * kl(q_a, prior)
    eq8 = log_lik(model, "b", z_b, b) - 2.0 * kl(q_b, prior)
    eq9 = (1.5 * log_lik(model, "a", z_ab, a) + log_lik(model, "b", z_ab, b)
           - 0.7 * kl(q_ab, prior))
    eq10 = -0.3 * kl(q_ab, q_a) - 0.3 * kl(q_ab, q_b)
    eq6 = eq7 + eq8 + eq9 + eq10                                   # = 2 L_M2 per example
    np.testing.assert_allclose(2 * terms["m2vae"][0], eq6, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(loss, -np.mean(eq6) / 2, rtol=1e-5)
    np.testing.assert_allclose(terms["mutual_kl"][0], kl(q_ab, q_a) + kl(q_ab, q_b), rtol=1e-5)


def test_three_modalities_follow_the_recursion_of_eq_11(tiny):
    """L(abc) = 1/3 (T(abc) + L(ab) + L(ac) + L(bc)), L(ij) = 1/2 (T(ij) + T(i) + T(j))
    (Appendix 6.1.2), against the closed-form coefficients, for every presence pattern."""
    model = kmvae.M2VAE(tiny.modalities(KINDS[:3]), 2, seed=1, alpha=0.2, beta=0.9)
    mask = tiny.every_mask(3)
    batch = tiny.batch(model.modalities, len(mask), seed=4)
    batch["mask"] = mask
    inject_noise(model, np.random.default_rng(1).normal(size=(len(mask), 7, 2)))
    x, m = model.prepare_batch(batch)
    locs, scales = model.subset_posteriors(x)
    pieces = {k: np.asarray(v, np.float64)
              for k, v in model.subset_terms(x, m, locs, scales).items()}
    local = pieces["log_lik"] - 0.9 * pieces["kl_prior"] - 0.2 * pieces["kl_children"]
    index = {s: k for k, s in enumerate(model.subsets)}

    def recursion(row, subset):
        if len(subset) == 1:
            return local[row, index[subset]]
        rest = sum(recursion(row, tuple(i for i in subset if i != j)) for j in subset)
        return (local[row, index[subset]] + rest) / len(subset)

    expected = [recursion(r, tuple(np.flatnonzero(mask[r]))) for r in range(len(mask))]
    inject_noise(model, np.random.default_rng(1).normal(size=(len(mask), 7, 2)))
    loss, terms = objective(model, batch)
    np.testing.assert_allclose(terms["m2vae"][0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(loss, -np.mean(expected), rtol=1e-5)
    # A single present modality: its unimodal ELBO (eq. 7) exactly, nothing else.
    single = [r for r in range(len(mask)) if mask[r].sum() == 1]
    for r in single:
        k = index[(int(np.flatnonzero(mask[r])[0]),)]
        np.testing.assert_allclose(terms["m2vae"][0][r], local[r, k], rtol=1e-6)


def test_coefficients_are_the_unrolled_recursion():
    table = m2vae_coefficients(4)
    np.testing.assert_allclose(table[2, 1:3], [1 / 2, 1 / 2])
    np.testing.assert_allclose(table[3, 1:4], [1 / 3, 1 / 6, 1 / 3])
    for p in range(1, 5):     # summed over the subsets of a p-set: the harmonic number
        total = sum(len(list(itertools.combinations(range(p), s))) * table[p, s]
                    for s in range(1, p + 1))
        np.testing.assert_allclose(total, sum(1 / s for s in range(1, p + 1)), rtol=1e-6)


def test_beta_norm_and_betas(tiny):
    mods = tiny.modalities(("bernoulli", "normal"))           # D_a = 5, D_b = 3
    model = kmvae.M2VAE(mods, 4, beta_norm=0.01, betas={"b": 3.0})
    np.testing.assert_allclose(model.subset_betas, [0.01 * 5 / 4, 3.0, 0.01 * 8 / 4],
                               rtol=1e-6)
    clone = kmvae.M2VAE.from_config(model.get_config())         # as a .keras file reloads it
    assert clone.subset_betas.tolist() == model.subset_betas.tolist()
    np.testing.assert_allclose(kmvae.M2VAE(mods, 4, beta=0.2).subset_betas, [0.2] * 3)
    with pytest.raises(ValueError, match="'a,c'.*names no subset.*'a,b'"):
        kmvae.M2VAE(mods, 4, betas={"a,c": 1.0})
    with pytest.raises(ValueError, match="'a\\+b'.*names no subset.*'a,b'"):
        kmvae.M2VAE(mods, 4, betas={"a+b": 1.0})      # the one label format only
    with pytest.raises(ValueError, match="alpha must be >= 0; received -1"):
        kmvae.M2VAE(mods, 4, alpha=-1)
    with pytest.raises(ValueError, match="at least two modalities; received 1"):
        kmvae.M2VAE(mods[:1], 4)


def test_kl_warmup_scales_every_beta(tiny):
    model = kmvae.M2VAE(tiny.modalities(("bernoulli", "normal")), 2, beta=2.0,
                        betas={"a": 1.0}, alpha=0.0)
    batch = tiny.batch(model.modalities, 4)
    eps = np.zeros((4, 3, 2))
    inject_noise(model, eps)
    x, m = model.prepare_batch(batch)
    pieces = {k: np.asarray(v) for k, v in model.subset_terms(x, m, *model.subset_posteriors(x)).items()}
    model.kl_weight.assign(0.5)                          # a quarter of beta = 2
    _, terms = objective(model, batch)
    local = pieces["log_lik"] - np.array([1.0, 2.0, 2.0]) / 4 * pieces["kl_prior"]
    np.testing.assert_allclose(terms["m2vae"][0], local.sum(axis=1) / 2, rtol=1e-5)


def test_encode_picks_the_encoder_of_the_present_subset(tiny):
    model = kmvae.M2VAE(tiny.modalities(KINDS[:3]), 2, seed=1)
    mask = tiny.every_mask(3)
    batch = tiny.batch(model.modalities, len(mask), seed=5)
    q = model.encode({**batch, "mask": mask})
    x = [batch[n] for n in model.modality_names]
    joint = iter(model.joint_encoders)
    expected = {}
    for subset in model.subsets:
        encoder = model.encoders[subset[0]] if len(subset) == 1 else next(joint)
        inputs = x[subset[0]] if len(subset) == 1 else [x[i] for i in subset]
        expected[subset] = gaussian(encoder(inputs))
    for row, present in enumerate(mask):
        loc, scale = expected[tuple(np.flatnonzero(present))]
        np.testing.assert_allclose(q.mean()[row], loc[row], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(q.stddev()[row], scale[row], rtol=1e-5, atol=1e-6)


def test_reencode_trajectory(tiny):
    model = kmvae.M2VAE(tiny.modalities(("bernoulli", "categorical")), 2, seed=1)
    batch = tiny.batch(model.modalities, 5)
    z = model.encode(batch).mean()
    trajectory = model.reencode(z, steps=4)
    assert trajectory.shape == (5, 5, 2)
    np.testing.assert_array_equal(trajectory[0], z)
    # Step 1 by hand: decode the means, most likely class, encode with the joint encoder.
    a = model.decoders[0].mean(z)
    b = tf.argmax(model.decoders[1].mean(z), axis=-1, output_type=tf.int32)
    np.testing.assert_allclose(trajectory[1], model.joint_encoders[0]([a, b]).mean(),
                               rtol=1e-5, atol=1e-6)
    # Re-encoding through modality a alone uses q(z | a).
    only_a = model.reencode(z, steps=1, modalities=["a"])
    np.testing.assert_allclose(only_a[1], model.encoders[0](a).mean(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="modalities must name.*\\['c'\\]"):
        model.reencode(z, modalities=["c"])
    with pytest.raises(ValueError, match="z of shape \\(batch, 2\\); received \\(5, 3\\)"):
        model.reencode(np.zeros((5, 3), np.float32))


def test_files_with_betas_keyed_the_old_way_load(tiny, tmp_path):
    """Before kmvae.subsets, `betas` named a subset "a+b": such files load, the key read as
    the subset's label "a,b"."""
    model = kmvae.M2VAE(tiny.modalities(("bernoulli", "normal", "categorical")), 2, seed=1,
                        betas={"a,b": 0.3, "c": 2.0, "a,b,c": 0.1})
    path = tmp_path / "old.keras"
    model.save(path)
    legacy = {"a,b": "a+b", "c": "c", "a,b,c": "a+b+c"}
    rewrite_config(path, lambda c: {**c, "betas": {legacy[k]: v for k, v in c["betas"].items()}})
    loaded = keras.saving.load_model(path)
    assert loaded.betas == {"a,b": 0.3, "c": 2.0, "a,b,c": 0.1}
    np.testing.assert_array_equal(loaded.subset_betas, model.subset_betas)
    batch = tiny.batch(model.modalities, 4)
    np.testing.assert_array_equal(loaded.encode(batch).mean(), model.encode(batch).mean())
