"""JMVAE, JMVAE-Zero and tVAE: objectives by hand, encoders per subset, zero mutual KL when the
unimodal encoders copy the joint one, augmentation through masks, tVAE's frozen second stage,
JMVAE's masks with two modalities (the contract, tests/models/test_models_contract.py, has
three)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae
from subset_helpers import (assert_masked_entries_change_nothing, fit_one_epoch, gaussian,
                            inject_noise, kl, log_lik, objective, product, standard)

TWO = ("bernoulli", "categorical")
THREE = ("bernoulli", "normal", "categorical")


# ------------------------------------------------------------------------------------ JMVAE
def test_jmvae_objective_is_eq_3_on_complete_examples_only(tiny):
    model = kmvae.JMVAE(tiny.modalities(TWO), 2, seed=1, alpha=0.4, beta=0.8)
    batch = tiny.batch(model.modalities, 6, seed=2)
    batch["mask"] = np.array([[1, 1], [1, 0], [1, 1], [0, 1], [1, 1], [1, 0]], bool)
    eps = np.random.default_rng(0).normal(size=(6, 3, 2))
    inject_noise(model, eps)
    loss, terms = objective(model, batch)
    a, b = batch["a"], batch["b"]
    q_a, q_b = gaussian(model.encoders[0](a)), gaussian(model.encoders[1](b))
    q_ab = gaussian(model.joint_encoders[0]([a, b]))
    z = q_ab[0] + q_ab[1] * eps[:, 2]
    eq3 = (log_lik(model, "a", z, a) + log_lik(model, "b", z, b)
           - 0.8 * kl(q_ab, standard(z.shape)) - 0.4 * kl(q_ab, q_a) - 0.4 * kl(q_ab, q_b))
    complete = batch["mask"].all(axis=1)
    np.testing.assert_allclose(loss, -eq3[complete].mean(), rtol=1e-5)
    np.testing.assert_allclose(terms["mutual_kl"][0][complete],
                               (kl(q_ab, q_a) + kl(q_ab, q_b))[complete], rtol=1e-5)
    np.testing.assert_array_equal(terms["mutual_kl"][1], complete)


def copy_weights(source, target):
    for s, t in zip(source.weights, target.weights):
        t.assign(s)


def test_jmvae_kl_terms_vanish_when_unimodal_encoders_copy_the_joint_one(tiny):
    """Two identical Bernoulli modalities fed the same data; the joint encoder's head averages
    the two copies of unimodal a's features, and unimodal b copies unimodal a: q(z|a,b) =
    q(z|a) = q(z|b), so the mutual KL is 0 and the loss is the joint ELBO (eq. 2)."""
    model = kmvae.JMVAE(tiny.modalities(("bernoulli", "bernoulli")), 2, seed=1)
    joint = model.joint_encoders[0]
    unimodal_a = model.encoders[0]
    copy_weights(unimodal_a, model.encoders[1])
    for backbone in joint.backbones:
        copy_weights(unimodal_a.backbone, backbone)
    kernel, bias = [np.array(w) for w in unimodal_a.head.dense.weights]
    joint.head.dense.kernel.assign(np.concatenate([kernel, kernel]) / 2)
    joint.head.dense.bias.assign(bias)
    data = tiny.batch(model.modalities[:1], 5, seed=3)["a"]
    batch = {"a": data, "b": data}
    inject_noise(model, np.zeros((5, 3, 2)))
    loss, terms = objective(model, batch)
    np.testing.assert_allclose(terms["mutual_kl"][0], 0.0, atol=1e-5)
    np.testing.assert_allclose(loss, -terms["elbo"][0].mean(), rtol=1e-5)
    # Any other unimodal b makes them positive.
    model.encoders[1].head.dense.bias.assign(bias + 0.5)
    _, terms = objective(model, batch)
    assert np.all(terms["mutual_kl"][0] > 1e-3)


def test_jmvae_three_modalities_has_the_joint_and_the_bimodal_encoders(tiny):
    model = kmvae.JMVAE(tiny.modalities(THREE), 2, seed=1)
    members = sorted(tuple(m.name for m in e.member_modalities) for e in model.joint_encoders)
    assert members == [("a", "b"), ("a", "b", "c"), ("a", "c"), ("b", "c")]
    assert model.encodable().tolist() == [False, False, False, True, True, True, True]
    batch = tiny.batch(model.modalities, 4)
    batch["mask"] = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], bool)
    q = model.encode(batch)
    np.testing.assert_allclose(q.mean()[1], model.joint_encoders[0](
        [batch["a"][1:2], batch["b"][1:2]]).mean()[0], rtol=1e-5, atol=1e-6)
    batch["mask"][2] = [0, 0, 1]
    with pytest.raises(ValueError, match="subsets of \\[2, 3\\] modalities only.*\\[2\\]"):
        model.encode(batch)
    # No posterior of one modality: not a proposal, not a subset evaluations condition on.
    batch["mask"][:] = True
    with pytest.raises(ValueError, match="proposal \\('a',\\) leaves rows \\[0, 1, 2, 3\\]"):
        model.log_importance_weights(batch, 3, proposal=["a"])
    assert np.isfinite(model.log_importance_weights(batch, 3, proposal=["a", "b"])).all()
    assert model.conditioning_subsets() == [["a", "b"], ["a", "c"], ["b", "c"],
                                            ["a", "b", "c"]]
    # The objective (eq. 15-18): KLs from the joint to the three bimodal encoders.
    x, mask = model.prepare_batch(batch)
    locs, scales = model.subset_posteriors(x)
    full = [gaussian(e([batch[n.name] for n in e.member_modalities]))
            for e in model.joint_encoders]
    expected = sum(kl(full[3], q) for q in full[:3])       # ab, ac, bc, then abc
    pieces = model.subset_terms(x, mask, locs, scales)
    np.testing.assert_allclose(pieces["kl_children"][:, -1], expected, rtol=1e-5)


# ------------------------------------------------------------------------------------ JMVAE-Zero
def test_jmvae_zero_augments_complete_examples_with_single_modality_copies(tiny):
    model = kmvae.JMVAEZero(tiny.modalities(TWO), 2, seed=1, beta=0.6)
    batch = tiny.batch(model.modalities, 4, seed=2)
    batch["mask"] = np.array([[1, 1], [1, 0], [1, 1], [0, 1]], bool)
    eps = np.random.default_rng(0).normal(size=(4, 3, 2))
    inject_noise(model, eps)
    loss, _ = objective(model, batch)
    a, b, mask = batch["a"], batch["b"], batch["mask"]
    joint = model.joint_encoder

    def elbo(presence, k, targets):
        q = gaussian(joint([a, b], presence=np.broadcast_to(presence, (4, 2)).astype("f")))
        z = q[0] + q[1] * eps[:, k]
        value = -0.6 * kl(q, standard(z.shape))
        value += np.where(targets[:, 0], log_lik(model, "a", z, a), 0)
        value += np.where(targets[:, 1], log_lik(model, "b", z, b), 0)
        return value

    original = np.select([mask.all(1), mask[:, 0]], [elbo([1, 1], 2, mask), elbo([1, 0], 0, mask)],
                         elbo([0, 1], 1, mask))
    complete = mask.all(1)
    copies = [elbo([1, 0], 0, mask)[complete], elbo([0, 1], 1, mask)[complete]]
    values = np.concatenate([original] + copies)           # 4 + 2 x 2 augmented examples
    assert values.shape == (8,)
    np.testing.assert_allclose(loss, -values.mean(), rtol=1e-5)
    # Without augmentation: the plain ELBO of what is present.
    plain = kmvae.JMVAEZero(tiny.modalities(TWO), 2, seed=1, beta=0.6, augment=False)
    plain.set_weights(model.get_weights())
    inject_noise(plain, eps)
    np.testing.assert_allclose(objective(plain, batch)[0], -original.mean(), rtol=1e-5)


def test_tvae_two_stages(tiny):
    model = kmvae.TVAE(tiny.modalities(TWO), 2, seed=1)
    batch = tiny.batch(model.modalities, 8, seed=2)
    batch["mask"] = np.array([[1, 1], [1, 0], [1, 1], [0, 1]] * 2, bool)

    def snapshot(layers):
        return [np.array(w) for layer in layers for w in layer.weights]

    def changed(before, layers):
        return [not np.array_equal(b, a) for b, a in zip(before, snapshot(layers))]

    frozen = model.decoders + [model.joint_encoder]
    before_frozen, before_single = snapshot(frozen), snapshot(model.encoders)
    fit_one_epoch(model, batch)
    assert any(changed(before_frozen, frozen)) and not any(changed(before_single,
                                                                   model.encoders))
    model.set_stage(2)
    assert not any(layer.trainable for layer in frozen)
    before_frozen, before_single = snapshot(frozen), snapshot(model.encoders)
    fit_one_epoch(model, batch)
    assert not any(changed(before_frozen, frozen))         # decoders pinned
    assert all(changed(before_single, model.encoders)[::2])  # kernels of the unimodal encoders


def test_tvae_stage_objectives_by_hand(tiny):
    model = kmvae.TVAE(tiny.modalities(TWO), 2, seed=1, beta=0.5)
    batch = tiny.batch(model.modalities, 4, seed=2)
    batch["mask"] = np.array([[1, 1], [1, 0], [1, 1], [0, 1]], bool)
    eps = np.random.default_rng(0).normal(size=(4, 3, 2))
    a, b, mask = batch["a"], batch["b"], batch["mask"]
    q = [gaussian(model.encoders[0](a)), gaussian(model.encoders[1](b)),
         gaussian(model.joint_encoder([a, b]))]
    z = [qk[0] + qk[1] * eps[:, k] for k, qk in enumerate(q)]
    prior = standard(z[0].shape)
    joint = log_lik(model, "a", z[2], a) + log_lik(model, "b", z[2], b) - 0.5 * kl(q[2], prior)
    inject_noise(model, eps)
    np.testing.assert_allclose(objective(model, batch)[0], -joint[mask.all(1)].mean(), rtol=1e-5)
    model.set_stage(2)
    single = (np.where(mask[:, 0], log_lik(model, "a", z[0], a) - 0.5 * kl(q[0], prior), 0)
              + np.where(mask[:, 1], log_lik(model, "b", z[1], b) - 0.5 * kl(q[1], prior), 0))
    np.testing.assert_allclose(objective(model, batch)[0], -single.mean(), rtol=1e-5)
    with pytest.raises(ValueError, match="stage must be 1 or 2; received 3"):
        model.set_stage(3)


def test_tvae_encodes_intermediate_subsets_with_a_product_of_experts(tiny):
    model = kmvae.TVAE(tiny.modalities(THREE), 2, seed=1)
    batch = tiny.batch(model.modalities, 3)
    batch["mask"] = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 1]], bool)
    q = model.encode(batch)
    experts = [gaussian(e(batch[n])) for e, n in zip(model.encoders, "abc")]
    loc, scale = product(experts[0], experts[1], standard(experts[0][0].shape))
    np.testing.assert_allclose(q.mean()[0], loc[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q.stddev()[0], scale[0], rtol=1e-5)
    np.testing.assert_allclose(q.mean()[1], model.joint_encoder(
        [batch[n] for n in "abc"]).mean()[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q.mean()[2], experts[2][0][2], rtol=1e-5, atol=1e-6)


def test_jmvae_with_two_modalities_ignores_missing_entries(tiny):
    """With two modalities JMVAE encodes single modalities with its unimodal encoders."""
    model = kmvae.JMVAE(tiny.modalities(TWO), 3, seed=1, alpha=0.5, joint_units=(8,))
    mask = np.array([[1, 1], [1, 0], [0, 1], [1, 1]] * 2, bool)
    assert_masked_entries_change_nothing(model, tiny.batch(model.modalities, len(mask), 3),
                                         mask)
