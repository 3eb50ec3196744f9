"""MoPoE-VAE: mixture of products of experts, with the mixture of experts as a special case."""

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae.distribute import batch_mean
from kmvae.layers.heads import diagonal_normal
from kmvae.models.base import MultimodalVAE, fix_arguments

tfd = tfp.distributions


@keras.saving.register_keras_serializable(package="kmvae")
class MoPoEVAE(MultimodalVAE):
    """MoPoE-VAE of Sutter, Daunhawer & Vogt (ICLR 2021).

    Joint posterior (Definition 1): the uniform mixture, over the non-empty subsets X_k of the
    present modalities, of `q(z | X_k) = PoE({q(z | x_m), m in X_k})`. Objective (eq. 6):
    `E_{q(z|X)}[sum_m lambda_m log p(x_m | z)] - beta KL(q(z|X) || p(z))`, estimated as in the
    authors' code: one mixture component is drawn per example (uniformly among its valid
    subsets) and a reparameterised z from it is decoded into every present modality; the KL term
    is the weighted sum over components `sum_k w_k KL(q(z|X_k) || p(z))`, which bounds the
    mixture's KL from above (convexity), so the objective stays a lower bound on log p(X).
    The reference code splits each batch among the components in fixed proportions; drawing the
    component per example has the same expectation and follows per-example masks.

    `fusion="moe"` gives the mixture-of-experts special case (eq. 9-10, components the unimodal
    posteriors) and `fusion="poe"` the product-of-experts one (eq. 7-8, a single component);
    see `MoEVAE`.

    Args:
        modalities, latent_dim, beta, likelihood_weights, rescale_likelihoods, seed: as
            `kmvae.models.MultimodalVAE`.
        fusion: `"mopoe"` (default), `"moe"` or `"poe"`.
        prior_expert: include the prior expert in each product; False by default, as in
            Definition 1.

    Reported terms (nats, per example, lambda = beta = 1): `elbo`, `kl` (the weighted sum above)
    and `log_likelihood_<name>`, the reconstruction log-likelihood of each present modality.

    Example:
        >>> model = kmvae.MoPoEVAE([kmvae.Modality("image", shape=(64,)),
        ...                         kmvae.Modality("label", num_classes=10,
        ...                                        likelihood="categorical")], latent_dim=16)
        >>> model.compile(keras.optimizers.Adam(1e-3))
        >>> model.fit(train, epochs=5)
    """

    def __init__(self, modalities, latent_dim, *, fusion="mopoe", prior_expert=False, **kwargs):
        super().__init__(modalities, latent_dim, fusion=fusion, prior_expert=prior_expert,
                         **kwargs)

    def term_names(self):
        return ("loss", "elbo", "kl") + tuple(f"log_likelihood_{m.name}"
                                              for m in self.modalities)

    def get_config(self):
        return {**super().get_config(), "fusion": self.fusion.method,
                "prior_expert": self.prior_expert}

    def compute_objective(self, x, mask, training=False):
        locs, scales = self.experts(x, training=training)
        loc, scale, log_weights = self.fusion.components(locs, scales, mask)  # (B, K, D), (B, K)
        valid = tf.math.is_finite(log_weights)
        kl_components = tfd.kl_divergence(diagonal_normal(loc, scale), self.prior())
        kl = tf.reduce_sum(tf.where(valid, tf.exp(log_weights) * kl_components, 0.0), axis=1)

        component = keras.random.categorical(log_weights, 1, seed=self._seed_generator)
        z = self.sample_normal(tf.gather(loc, component[:, 0], axis=1, batch_dims=1),
                               tf.gather(scale, component[:, 0], axis=1, batch_dims=1))
        present = tf.cast(mask, tf.float32)
        log_lik = [tf.where(mask[:, m], decoder(z).log_prob(x[m]), 0.0)
                   for m, decoder in enumerate(self.decoders)]
        weighted = sum(w * lp for w, lp in zip(self.loss_weights, log_lik))
        loss = -batch_mean(weighted - self.kl_weight * kl)

        ones = tf.ones_like(kl)
        terms = {"elbo": (sum(log_lik) - kl, ones), "kl": (kl, ones)}
        for m, modality in enumerate(self.modalities):
            terms[f"log_likelihood_{modality.name}"] = (log_lik[m], present[:, m])
        return loss, terms

    def subset_evaluation_model(self):
        """MoPoE-VAE (Definition 1) evaluates a subset X_k with `q~(z | X_k) = prod_{x_j in X_k}
        q(z | x_j)`, the product of the subset's experts (Figure 3, Tables 2 and 4), whereas
        `encode(X_k)` is the mixture over all non-empty subsets of X_k: with `fusion="mopoe"`,
        a `MoPoEVAE(fusion="poe")` with this model's `prior_expert` holding copies of its
        weights; with another fusion (`MoEVAE`'s mixture), the model itself."""
        if self.fusion.method != "mopoe":
            return self
        config = {**self.get_config(), "fusion": "poe", "prior_expert": self.prior_expert}
        product = MoPoEVAE.from_config(config)
        product.set_weights(self.get_weights())
        return product


@keras.saving.register_keras_serializable(package="kmvae")
class MoEVAE(MoPoEVAE):
    """Mixture-of-experts VAE: the MoPoE objective with the uniform mixture of the present
    unimodal posteriors as joint posterior (Sutter et al. 2021, eq. 9-10; the MMVAE posterior of
    Shi et al. 2019 without importance weighting, which is `kmvae.MMVAE`'s business).

    Args:
        modalities, latent_dim, beta, likelihood_weights, rescale_likelihoods, seed: as
            `kmvae.models.MultimodalVAE` (`fusion` is fixed to `"moe"`, and a mixture of
            single experts has no product to add a prior expert to).

    Raises:
        ValueError: a `fusion` or `prior_expert` argument, or those of `MultimodalVAE`.

    Example:
        >>> model = kmvae.MoEVAE(modalities, latent_dim=16)
    """

    FIXED_ARGUMENTS = {
        "fusion": ("moe", "its posterior is the mixture of the unimodal experts (eq. 9-10); "
                          "kmvae.MoPoEVAE(fusion=...) takes another fusion."),
        "prior_expert": (False, "a mixture of single experts has no product to add the prior "
                                "expert to; kmvae.MoPoEVAE(prior_expert=...) has products.")}

    def __init__(self, modalities, latent_dim, **kwargs):
        super().__init__(modalities, latent_dim,
                         **fix_arguments(self, kwargs, MoEVAE.FIXED_ARGUMENTS))

    def get_config(self):
        return self.without_fixed_arguments(super().get_config())
