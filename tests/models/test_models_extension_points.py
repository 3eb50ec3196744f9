"""The base's public extension points: a subclass that overrides `posterior_parameters`,
`invalid_rows`, `check_proposal` or `log_weight_terms` changes what `encode`, the batch checks and
`log_importance_weights` do; kmvae's own model classes override no underscored method of a
kmvae parent; subset models keep `experts` for the unimodal experts and give their subset
posteriors through `posterior_parameters`."""

import inspect

import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae import metrics
from kmvae.models.base import MultimodalVAE

TWO = ("bernoulli", "normal")


class Extended(kmvae.MoPoEVAE):
    """A MoPoE-VAE (product of experts, no prior expert) whose hooks are visible."""

    def posterior_parameters(self, x, training=False):
        locs, scales = super().posterior_parameters(x, training=training)
        return locs * 0.0, scales

    def invalid_rows(self, tensors, mask):
        missing = tf.reshape(tf.where(~mask[:, 0]), [-1])
        return super().invalid_rows(tensors, mask) + [("Modality 'a' missing at rows:", missing)]

    def check_proposal(self, proposal_mask, proposal):
        if "a" not in proposal:
            raise ValueError(f"Extended needs 'a' in the proposal; received {proposal}.")

    def log_weight_terms(self, x, mask, locs, scales, proposal_mask, num_samples):
        log_prior_ratio, log_likelihoods = super().log_weight_terms(
            x, mask, locs, scales, proposal_mask, num_samples)
        return tf.zeros_like(log_prior_ratio) + 2.0, tf.zeros_like(log_likelihoods) + 0.5


@pytest.fixture
def extended(tiny):
    return Extended(tiny.modalities(TWO), 2, fusion="poe", seed=1)


def test_posterior_parameters_feed_encode(tiny, extended):
    batch = tiny.batch(extended.modalities, 5)
    np.testing.assert_array_equal(extended.encode(batch).mean(), np.zeros((5, 2)))
    plain = kmvae.MoPoEVAE(tiny.modalities(TWO), 2, fusion="poe", seed=1)
    assert np.abs(np.asarray(plain.encode(batch).mean())).max() > 0


def test_invalid_rows_extend_the_batch_checks(tiny, extended):
    batch = {**tiny.batch(extended.modalities, 3), "mask": np.array([[1, 1], [0, 1], [1, 0]],
                                                                    bool)}
    with pytest.raises(ValueError, match=r"Modality 'a' missing at rows: \[1\]"):
        extended.encode(batch)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Modality 'a' missing at rows"):
        extended.check_batch(batch)
    extended.encode({**batch, "mask": np.ones((3, 2), bool)})          # the base's rows pass


def test_check_proposal_and_log_weights_drive_log_importance_weights(tiny, extended):
    batch = tiny.batch(extended.modalities, 4)
    with pytest.raises(ValueError, match="Extended needs 'a' in the proposal"):
        extended.log_importance_weights(batch, num_samples=3, proposal=["b"])
    log_w = extended.log_importance_weights(batch, num_samples=5, proposal=["a"], chunk_size=2)
    np.testing.assert_array_equal(log_w, np.full((5, 4), 3.0))          # 2 + 0.5 per modality
    np.testing.assert_allclose(extended.log_likelihood(batch, num_samples=5), 3.0, rtol=1e-6)
    only_a, both = metrics.importance_sampling_sets(extended, batch, [["a"], ["a", "b"]], ["a"],
                                                    num_samples=5)
    np.testing.assert_allclose(only_a.log_likelihood, 2.5, rtol=1e-6)
    np.testing.assert_allclose(both.elbo, 3.0, rtol=1e-6)


def model_classes():
    return sorted({cls for cls in vars(kmvae.models).values()
                   if inspect.isclass(cls) and issubclass(cls, MultimodalVAE)}
                  | {cls for module in (kmvae.models.svae, kmvae.models.jmvae)
                     for cls in vars(module).values()
                     if inspect.isclass(cls) and issubclass(cls, MultimodalVAE)},
                  key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", model_classes(), ids=lambda c: c.__name__)
def test_no_model_class_overrides_an_underscored_method_of_a_kmvae_parent(cls):
    for name, value in vars(cls).items():
        if not name.startswith("_") or name.startswith("__") or not callable(value):
            continue
        parents = [p for p in cls.__mro__[1:] if issubclass(p, MultimodalVAE)]
        assert not any(name in vars(p) for p in parents), \
            f"{cls.__name__}.{name} overrides a private method; use a public extension point"


def test_subset_models_keep_experts_unimodal_and_give_subset_posteriors(tiny):
    model = kmvae.M2VAE(tiny.modalities(("bernoulli", "normal", "categorical")), 2, seed=1)
    x, _ = model.prepare_batch(tiny.batch(model.modalities, 4))
    locs, scales = model.experts(x)
    assert locs.shape == scales.shape == (4, 3, 2)
    for m, encoder in enumerate(model.encoders):
        np.testing.assert_array_equal(locs[:, m], encoder(x[m]).distribution.loc)
    subset_locs, subset_scales = model.posterior_parameters(x)
    assert subset_locs.shape == (4, 7, 2)
    expected_locs, expected_scales = model.subset_posteriors(x)
    np.testing.assert_array_equal(subset_locs, expected_locs)
    np.testing.assert_array_equal(subset_scales, expected_scales)
    assert not hasattr(model, "subset_name")
    assert model.subset_labels == ["a", "b", "c", "a,b", "a,c", "b,c", "a,b,c"]
