"""MMVAE: the importance-weighted mixture-of-experts VAE of Shi, Siddharth, Paige & Torr (2019),
as the MoPoE paper (Sutter et al. 2021, eq. 9-10 and Appendix B.1) describes it."""

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae.distribute import batch_mean
from kmvae.models.base import MultimodalVAE, fix_arguments
from kmvae.models.importance import (check_num_samples, dreg_surrogate, masked_log_mean_exp,
                                     sample_log_likelihoods)

tfd = tfp.distributions

OBJECTIVES = ("iwae", "dreg", "iwae_looser", "dreg_looser")
POSTERIORS = ("normal", "laplace")


@keras.saving.register_keras_serializable(package="kmvae")
class MMVAE(MultimodalVAE):
    """Mixture-of-experts multimodal VAE trained with importance-weighted bounds.

    Joint posterior: `q(z | X) = (1/|X|) sum_{m in X} q(z | x_m)`, the uniform mixture of the
    present unimodal posteriors (a missing modality is not a component). Training uses
    stratified sampling: K reparameterised samples `z_{m,k}` from every present
    `q(z | x_m)`, every decoder applied to every modality's samples, and the log weights
    `log w_{m,k} = log p(z_{m,k}) + sum_{n in X} lambda_n log p(x_n | z_{m,k})
    - log q(z_{m,k} | X)`,
    with `log q(z | X)` the log-mean-exp over the present components. Objectives:

    - `"iwae"` (tight): `log (1 / (|X| K)) sum_{m,k} w_{m,k}`, an unbiased estimate of p(X)
      under the log (the stratified IWAE; `m_iwae` in the authors' code);
    - `"iwae_looser"`: `(1/|X|) sum_m log (1/K) sum_k w_{m,k}` (the average over modalities
      outside the log, Shi et al. 2019 p. 5; `m_iwae_looser`), a lower bound on the tight one;
    - `"dreg"`, `"dreg_looser"`: the same values, with the doubly reparameterised gradient
      (Tucker et al. 2019) for the encoders: log q is evaluated with stopped posterior
      parameters and the gradient through each sample is reweighted by the squared normalised
      weight (`m_dreg`, `m_dreg_looser`). The decoders get the IWAE gradient. With one
      present modality this is exactly DReG, unbiased for the IWAE gradient; with several, the
      samples of a stratum come from `q(z | x_m)` while the weights divide by the mixture, so
      the DReG identity holds only approximately and the estimator, like the authors', is
      slightly biased (with much lower variance).

    Args:
        modalities, latent_dim, likelihood_weights, rescale_likelihoods, seed: as
            `kmvae.models.MultimodalVAE` (`beta` is fixed to 1: an importance-weighted bound
            has no KL term to weight; `fusion` and `prior_expert` too: the posterior is the
            mixture of the unimodal posteriors).
        objective: one of `"iwae"`, `"dreg"`, `"iwae_looser"`, `"dreg_looser"` (the authors'
            default is `"dreg_looser"`).
        num_samples: K, the importance samples per present modality in training (default
            30, the authors' MNIST-SVHN setting).
        posterior: `"normal"` or `"laplace"` (the authors' choice): the family of the unimodal
            posteriors and of the prior. The encoders' scales are used as the Laplace scales.
        learn_prior_scale: learn the prior's per-dimension scale (the authors' `learn_prior`);
            its location stays 0.

    Reported terms (nats per example): `loss` (the negated bound), `bound` (the objective's
    value), and `log_likelihood_<name>`, the mean over all stratified samples of
    `log p(x_name | z)`.

    Raises:
        ValueError: unknown objective or posterior, num_samples < 1, or a `fusion`,
            `prior_expert` or `beta` argument.
        TypeError: `num_importance_samples=`, `num_samples`' former name.

    Example:
        >>> model = kmvae.MMVAE([kmvae.Modality("image", shape=(784,)),
        ...                      kmvae.Modality("label", num_classes=10,
        ...                                     likelihood="categorical")], latent_dim=20)
        >>> model.compile(keras.optimizers.Adam(1e-3))
        >>> model.fit(train, epochs=10)
    """

    FIXED_ARGUMENTS = {
        "fusion": ("moe", "its posterior is the mixture of the present unimodal posteriors; "
                          "posterior='normal' or 'laplace' chooses their family."),
        "prior_expert": (False, "a mixture of single experts has no product to add the prior "
                                "expert to."),
        "beta": (1.0, "an importance-weighted bound has no KL term to weight; MoEVAE(beta=...) "
                      "trains the same posterior with a weighted ELBO.")}
    RENAMED_ARGUMENTS = {"num_importance_samples": "num_samples"}

    def __init__(self, modalities, latent_dim, *, objective="dreg_looser",
                 num_samples=30, posterior="normal", learn_prior_scale=False, **kwargs):
        kwargs = fix_arguments(self, kwargs, MMVAE.FIXED_ARGUMENTS)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}; received {objective!r}.")
        if posterior not in POSTERIORS:
            raise ValueError(f"posterior must be one of {POSTERIORS}; received {posterior!r}.")
        self.objective = objective
        self.num_samples = check_num_samples(num_samples)
        self.posterior_family = posterior
        self.learn_prior_scale = bool(learn_prior_scale)
        super().__init__(modalities, latent_dim, **kwargs)

    def build(self, input_shape=None):
        self.prior_raw_scale = self.add_weight(
            shape=(self.latent_dim,), initializer="zeros", dtype="float32",
            trainable=self.learn_prior_scale, name="prior_raw_scale")
        super().build(input_shape)

    def get_config(self):
        return {**super().get_config(), "objective": self.objective,
                "num_samples": self.num_samples,
                "posterior": self.posterior_family,
                "learn_prior_scale": self.learn_prior_scale}

    def term_names(self):
        return ("loss", "bound") + tuple(f"log_likelihood_{m.name}" for m in self.modalities)

    # ------------------------------------------------------------------------- distributions
    def _family(self, loc, scale):
        base = (tfd.Laplace if self.posterior_family == "laplace" else tfd.Normal)(loc, scale)
        return tfd.Independent(base, reinterpreted_batch_ndims=1)

    @property
    def prior_scale(self):
        """The prior's scale `(D,)`: 1 unless learned (then `softplus(raw) / softplus(0)`, 1 at
        initialisation)."""
        return tf.nn.softplus(self.prior_raw_scale) / math.log(2.0)

    def prior(self, batch_shape=()):
        """`p(z)`: Normal or Laplace, location 0, scale `prior_scale`, event shape `(D,)`."""
        shape = tuple(batch_shape) + (self.latent_dim,)
        return self._family(tf.zeros(shape), tf.broadcast_to(self.prior_scale, shape))

    def prior_from_standard_normal(self, noise):
        noise = tf.cast(noise, tf.float32)
        if self.posterior_family == "laplace":  # the Laplace quantile of Phi(noise)
            uniform = tfd.Normal(0.0, 1.0).cdf(noise) - 0.5
            noise = -tf.sign(uniform) * tf.math.log1p(-2.0 * tf.abs(uniform))
        return noise * self.prior_scale

    def posterior(self, locs, scales, mask):
        """`q(z | X)`: the uniform mixture of the present unimodal posteriors, batch `(B,)`."""
        logits = tf.where(mask, 0.0, -math.inf)
        return tfd.MixtureSameFamily(tfd.Categorical(logits=logits), self._family(locs, scales))

    def _sample(self, locs, scales, num_samples):
        """Reparameterised draws `(K, B, M, D)` from every unimodal posterior."""
        shape = tf.concat([[num_samples], tf.shape(locs)], 0)
        if self.posterior_family == "laplace":
            uniform = keras.random.uniform(shape, minval=-0.5 + 1e-7, maxval=0.5,
                                           seed=self._seed_generator)
            noise = -tf.sign(uniform) * tf.math.log1p(-2.0 * tf.abs(uniform))
        else:
            noise = keras.random.normal(shape, seed=self._seed_generator)
        return locs + scales * noise

    # ------------------------------------------------------------------------- objective
    def stratified_log_weights(self, x, mask, locs, scales, z):
        """Log importance weights of stratified samples (Shi et al. 2019; MoPoE eq. 10).

        Args:
            x, mask: as `prepare_batch` returns them (M tensors, `(B, M)` bool).
            locs, scales: the unimodal posteriors' parameters `(B, M, D)`.
            z: samples `(K, B, M, D)`, `z[:, :, m]` drawn from `q(z | x_m)`.

        Returns:
            `(log_w, log_lik)`: `log_w` `(K, B, M)` float32 nats (meaningful where `mask[:, m]`),
            and `log_lik`, a list of M tensors `(K, B, M)`, `log p(x_n | z)`.
        """
        components = self._family(locs[:, None], scales[:, None])       # batch (B, 1, M)
        log_q_each = components.log_prob(z[..., None, :])              # (K, B, M, M)
        log_q = masked_log_mean_exp(log_q_each, mask[:, None, :], axis=-1)
        log_lik = sample_log_likelihoods(self.decoders, x, mask, z)
        weighted = sum(w * lp for w, lp in zip(self.loss_weights, log_lik))
        return self.prior().log_prob(z) + weighted - log_q, log_lik

    def bound_and_surrogate(self, x, mask, locs, scales, num_samples=None):
        """The objective's bound per example and its gradient surrogate.

        Returns:
            `(bound, surrogate, log_lik)`: `bound` `(B,)` nats; `surrogate` `(B,)`, zero-valued,
            carrying the DReG gradient (zeros for the IWAE objectives, whose gradient is the
            bound's own); `log_lik` as `stratified_log_weights`.
        """
        num_samples = self.num_samples if num_samples is None else int(num_samples)
        looser = self.objective.endswith("looser")
        axis = 0 if looser else (0, 2)
        valid = mask[None]                                             # (1, B, M)
        z = self._sample(locs, scales, num_samples)
        if not self.objective.startswith("dreg"):
            log_w, log_lik = self.stratified_log_weights(x, mask, locs, scales, z)
            surrogate = tf.zeros(tf.shape(mask)[:1])
        else:
            stopped = tf.stop_gradient(z)
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(stopped)
                log_w, log_lik = self.stratified_log_weights(
                    x, mask, tf.stop_gradient(locs), tf.stop_gradient(scales), stopped)
                total = tf.reduce_sum(tf.where(tf.broadcast_to(valid, tf.shape(log_w)), log_w,
                                               0.0))
            grad_z = tape.gradient(total, stopped)
            surrogate = dreg_surrogate(log_w, valid, z, grad_z, axis)
            log_w = tf.stop_gradient(log_w)        # its gradient is the surrogate's
            if looser:
                surrogate = masked_mean(surrogate, mask)
        bound = masked_log_mean_exp(log_w, valid, axis)
        if looser:
            bound = masked_mean(bound, mask)
        return bound, surrogate, log_lik

    def compute_objective(self, x, mask, training=False):
        """The MMVAE objective (`objective`), per-example masks respected. Returns
        `(loss, terms)` as `MultimodalVAE.compute_objective`."""
        locs, scales = self.experts(x, training=training)
        bound, surrogate, log_lik = self.bound_and_surrogate(x, mask, locs, scales)
        loss = -batch_mean(bound + surrogate)
        ones = tf.ones_like(bound)
        present = tf.cast(mask, tf.float32)
        terms = {"bound": (bound, ones)}
        for m, modality in enumerate(self.modalities):
            mean = masked_mean(tf.reduce_mean(log_lik[m], axis=0), mask)
            terms[f"log_likelihood_{modality.name}"] = (mean, present[:, m])
        return loss, terms


def masked_mean(values, mask):
    """Mean over the last axis of `values` `(B, M)` where `mask` `(B, M)` is True -> `(B,)`."""
    present = tf.cast(mask, values.dtype)
    return tf.reduce_sum(tf.where(mask, values, 0.0), axis=-1) / tf.reduce_sum(present, axis=-1)
