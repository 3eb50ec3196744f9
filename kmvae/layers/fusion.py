"""Posterior fusion: product of experts, mixture of experts, mixture of products of experts.

All three are mixtures over subsets of the modalities, each component the product of the
Gaussian experts in its subset:

- `"poe"`: one component, the product of the present experts and (optionally) the prior expert
  `p(z) = N(0, I)` (MVAE, Wu & Goodman 2018, eq. 3);
- `"moe"`: one component per present modality, uniformly weighted (MoPoE paper eq. 10, MMVAE);
- `"mopoe"`: one component per non-empty subset of the present modalities, uniformly weighted,
  each the product of its experts (MoPoE, Sutter et al. 2021, Definition 1).

Tensors: `locs`, `scales` of the unimodal experts `(batch, num_modalities, latent_dim)`, float32;
`mask` `(batch, num_modalities)` bool, True where the modality is present. Components
follow the order of `kmvae.subsets.nonempty_subsets`.
"""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae.layers.heads import diagonal_normal
from kmvae.subsets import nonempty_subsets, subset_matrix

tfd = tfp.distributions

FUSIONS = ("poe", "moe", "mopoe")


def product_of_experts(locs, scales, inclusion, prior_expert=True):
    """Closed-form product of Gaussian experts, one product per row of `inclusion`.

    `q(z | X_k) ∝ p(z) prod_{m in X_k} q(z | x_m)` (MVAE eq. 3); its precision is the sum of the
    experts' precisions and its mean their precision-weighted mean. Without the prior expert it is
    `prod_m q(z | x_m)` (MoPoE Definition 1).

    Args:
        locs, scales: `(batch, M, D)` float32, the experts' means and standard deviations.
        inclusion: `(batch, K, M)` float32 in {0, 1}: which experts enter product k.
        prior_expert: include `N(0, I)` in every product.

    Returns:
        `(loc, scale)`, each `(batch, K, D)`. A product with no expert and no prior expert is
        returned as `N(0, I)`; callers give it zero weight.
    """
    precisions = tf.math.reciprocal(tf.square(scales))[:, None]                  # (B, 1, M, D)
    inclusion = inclusion[..., None]                                           # (B, K, M, 1)
    # Sums over the few experts as broadcasts: faster than batched matrix products under XLA.
    total = tf.reduce_sum(inclusion * precisions, axis=2)
    weighted = tf.reduce_sum(inclusion * precisions * locs[:, None], axis=2)
    if prior_expert:
        total = total + 1.0
    total = tf.where(total > 0.0, total, tf.ones_like(total))
    return weighted / total, tf.math.rsqrt(total)


@keras.saving.register_keras_serializable(package="kmvae")
class PosteriorFusion(keras.layers.Layer):
    """Fuses unimodal Gaussian posteriors into the joint posterior of the present modalities.

    Args:
        num_modalities: M.
        method: `"poe"`, `"moe"` or `"mopoe"` (see the module docstring).
        prior_expert: include the prior expert `N(0, I)` in each product of experts (MVAE eq. 3).
            Ignored by `"moe"`, whose components are single experts.

    Call `fusion(locs, scales, mask)` with `locs`, `scales` `(batch, M, D)` and `mask`
    `(batch, M)` bool; it returns the fused posterior: for `"poe"` an independent Normal with
    batch shape `(batch,)` and event shape `(D,)`, otherwise a `MixtureSameFamily` of such
    Normals. Rows with no modality present must be rejected by the caller: they have no valid
    component.

    Raises:
        ValueError: on an unknown method or `num_modalities < 1`.
    """

    def __init__(self, num_modalities, method="poe", prior_expert=True, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        if method not in FUSIONS:
            raise ValueError(f"Unknown fusion {method!r}; expected one of {FUSIONS}.")
        if num_modalities < 1:
            raise ValueError(f"num_modalities must be >= 1; received {num_modalities}.")
        self.num_modalities = int(num_modalities)
        self.method = method
        self.prior_expert = bool(prior_expert) and method != "moe"
        if method == "poe":
            subsets = [tuple(range(num_modalities))]
        elif method == "moe":
            subsets = nonempty_subsets(num_modalities, 1, 1)
        else:
            subsets = nonempty_subsets(num_modalities)
        self.subsets = subsets
        self._subset_matrix = subset_matrix(subsets, num_modalities)
        # No weights: built from the start, so that Keras (which builds an unbuilt model
        # symbolically before `fit` under a `tf.distribute` strategy) finds the model built.
        self.built = True

    @property
    def num_components(self):
        return len(self.subsets)

    def components(self, locs, scales, mask):
        """The mixture's components and weights.

        Returns:
            `(loc, scale, log_weights)`: `loc`, `scale` `(batch, K, D)` float32, the product of
            experts of each subset (for `"poe"` restricted to the present modalities);
            `log_weights` `(batch, K)`, `log(1 / #valid)` for a valid component and `-inf`
            otherwise. A subset is valid when all its modalities are present (`"poe"`: when any
            is present).
        """
        present = tf.cast(mask, tf.float32)
        subsets = tf.constant(self._subset_matrix)
        inclusion = subsets[None, :, :] * present[:, None, :]
        included = tf.reduce_sum(inclusion, axis=-1)
        if self.method == "poe":
            valid = included > 0.0
        else:
            valid = tf.equal(included, tf.reduce_sum(subsets, axis=-1)[None, :])
        loc, scale = product_of_experts(locs, scales, inclusion, self.prior_expert)
        num_valid = tf.reduce_sum(tf.cast(valid, tf.float32), axis=-1, keepdims=True)
        log_weights = tf.where(valid, -tf.math.log(tf.maximum(num_valid, 1.0)),
                               tf.fill(tf.shape(valid), -np.inf))
        return loc, scale, log_weights

    def call(self, locs, scales, mask):
        loc, scale, log_weights = self.components(locs, scales, mask)
        if self.method == "poe":
            return diagonal_normal(loc[:, 0], scale[:, 0])
        return tfd.MixtureSameFamily(
            mixture_distribution=tfd.Categorical(logits=log_weights),
            components_distribution=diagonal_normal(loc, scale))

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return {**config, "num_modalities": self.num_modalities, "method": self.method,
                "prior_expert": self.prior_expert}
