"""MVAE: product-of-experts posterior with a prior expert, sub-sampled ELBO training."""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae.distribute import batch_mean
from kmvae.layers.fusion import product_of_experts
from kmvae.layers.heads import diagonal_normal
from kmvae.models.base import MultimodalVAE, fix_arguments
from kmvae.subsets import draw_subsets, nonempty_subsets, subset_matrix

tfd = tfp.distributions


@keras.saving.register_keras_serializable(package="kmvae")
class MVAE(MultimodalVAE):
    """Multimodal VAE of Wu & Goodman (2018), trained with the sub-sampled ELBO.

    Posterior of any subset X_k: `q(z | X_k) ∝ p(z) prod_{m in X_k} q(z | x_m)` (eq. 3).
    Objective (section 2.4, with eq. 4 for each term), for an example whose present modalities
    are X: the sum of the ELBOs of (1) X itself, (2) each single present modality, and
    (3) `num_random_subsets` random subsets, where the ELBO of a subset Y is
    `E_{q(z|Y)}[sum_{m in Y} lambda_m log p(x_m | z)] - beta KL(q(z|Y) || p(z))`: a subset term
    reconstructs its own modalities, as in the authors' code. The random subsets are drawn, once
    per training step, uniformly among the subsets of size 2 to M - 1 (the others are already
    terms (1) and (2); with M <= 2 there are none), and intersected with each example's present
    modalities. A term that repeats another for an example (a single modality when it is the only
    one present, a random subset that is empty, single or all of X) is dropped for that example.
    The loss is the negative sum of the terms, averaged over the batch.

    Args:
        modalities, latent_dim, beta, likelihood_weights, rescale_likelihoods, seed: as
            `kmvae.models.MultimodalVAE` (`fusion` and `prior_expert` are fixed: the product
            of experts with the prior expert, eq. 3).
        num_random_subsets: k, the number of random subset ELBOs per step (section 2.4;
            the paper uses k = 1 for 19 modalities).

    Raises:
        ValueError: a negative num_random_subsets, a `fusion` or `prior_expert` argument, or
            those of `MultimodalVAE`.

    Reported terms (nats, per example, lambda = beta = 1): `elbo` and `kl` of the full term (1),
    `elbo_<name>` of each single-modality term (over examples where it is present), and
    `elbo_random_subsets` when there are random terms.

    Example:
        >>> model = kmvae.MVAE([kmvae.Modality("image", shape=(64,)),
        ...                     kmvae.Modality("label", num_classes=10,
        ...                                    likelihood="categorical")], latent_dim=16)
        >>> model.compile(keras.optimizers.Adam(1e-3))
        >>> model.fit(train, epochs=5)
    """

    FIXED_ARGUMENTS = {
        "fusion": ("poe", "its posterior is the product of the experts and the prior expert "
                          "(eq. 3); kmvae.MoPoEVAE(fusion=...) takes another fusion."),
        "prior_expert": (True, "eq. 3's product always includes the prior expert; "
                               "kmvae.MoPoEVAE(fusion='poe', prior_expert=False) leaves it out.")}

    def __init__(self, modalities, latent_dim, *, num_random_subsets=1, **kwargs):
        kwargs = fix_arguments(self, kwargs, MVAE.FIXED_ARGUMENTS)
        num_modalities = len(list(modalities or []))
        self.num_random_subsets = int(num_random_subsets)
        if self.num_random_subsets < 0:
            raise ValueError(f"num_random_subsets must be >= 0; received {num_random_subsets!r}.")
        pool = nonempty_subsets(num_modalities, 2, num_modalities - 1)
        self._random_pool = subset_matrix(pool, num_modalities)
        self._num_random = self.num_random_subsets if pool else 0
        super().__init__(modalities, latent_dim, **kwargs)

    def term_names(self):
        names = ["loss", "elbo", "kl"] + [f"elbo_{m.name}" for m in self.modalities]
        return tuple(names + (["elbo_random_subsets"] if self._num_random else []))

    def get_config(self):
        return {**super().get_config(), "num_random_subsets": self.num_random_subsets}

    def _term_subsets(self):
        """`(T, M)` 0/1 rows: the full set, each single modality, the random subsets."""
        M = self.num_modalities
        rows = [tf.ones((1, M)), tf.eye(M)]
        if self._num_random:
            rows.append(draw_subsets(self._random_pool, self._num_random, self._seed_generator))
        return tf.concat(rows, axis=0)

    def compute_objective(self, x, mask, training=False):
        M, k = self.num_modalities, self._num_random
        locs, scales = self.experts(x, training=training)
        present = tf.cast(mask, tf.float32)
        inclusion = self._term_subsets()[None] * present[:, None, :]            # (B, T, M)
        size = tf.reduce_sum(inclusion, axis=-1)                                 # (B, T)
        num_present = tf.reduce_sum(present, axis=-1, keepdims=True)             # (B, 1)
        valid = tf.concat([size[:, :1] > 0,
                           (size[:, 1:1 + M] > 0) & (num_present > 1),
                           (size[:, 1 + M:] > 1) & (size[:, 1 + M:] < num_present)], axis=1)

        loc, scale = product_of_experts(locs, scales, inclusion, prior_expert=True)
        kl = tfd.kl_divergence(diagonal_normal(loc, scale), self.prior())       # (B, T)
        z = self.sample_normal(loc, scale)                                       # (B, T, D)

        # log p(x_m | z_t) on the terms that need modality m: the full set, m's own term and
        # the random subsets. Which random subsets hold m is drawn in the step, so they are all
        # decoded and the others masked out: XLA needs the shapes fixed when it compiles.
        log_lik = []
        for m, decoder in enumerate(self.decoders):
            terms = np.array([0, 1 + m] + list(range(1 + M, 1 + M + k)))
            log_p = decoder(tf.gather(z, terms, axis=1)).log_prob(x[m][:, None])
            scatter = tf.one_hot(terms, 1 + M + k)                               # (n_m, T)
            included = tf.gather(inclusion[..., m], terms, axis=1)
            log_lik.append(tf.einsum("bn,nt->bt", log_p * included, scatter))
        weighted = sum(w * lp for w, lp in zip(self.loss_weights, log_lik))
        elbo = sum(log_lik) - kl                                                 # (B, T), nats
        objective = weighted - self.kl_weight * kl
        loss = -batch_mean(tf.reduce_sum(tf.where(valid, objective, 0.0), axis=1))

        terms = {"elbo": (elbo[:, 0], tf.ones_like(elbo[:, 0])),
                 "kl": (kl[:, 0], tf.ones_like(kl[:, 0]))}
        for m, modality in enumerate(self.modalities):
            terms[f"elbo_{modality.name}"] = (elbo[:, 1 + m], present[:, m])
        if k:
            valid_random = tf.cast(valid[:, 1 + M:], tf.float32)
            count = tf.reduce_sum(valid_random, axis=1)
            mean = tf.reduce_sum(tf.where(valid[:, 1 + M:], elbo[:, 1 + M:], 0.0), axis=1)
            terms["elbo_random_subsets"] = (mean / tf.maximum(count, 1.0),
                                            tf.cast(count > 0, tf.float32))
        return loss, terms
