"""Joint-encoder baselines of M2VAE's section 2: JMVAE (Suzuki et al. 2017), JMVAE-Zero (a
joint VAE trained with single-modality copies, Ngiam et al. 2011) and tVAE (the triplet ELBO
of Vedantam et al. 2017, trained in two stages)."""

import keras
import numpy as np
import tensorflow as tf

from kmvae.distribute import batch_mean
from kmvae.layers.fusion import product_of_experts
from kmvae.models.subsets import SubsetVAE


@keras.saving.register_keras_serializable(package="kmvae")
class JMVAE(SubsetVAE):
    """JMVAE-kl (Suzuki et al. 2017), as M2VAE eq. 3 and Appendix 6.1.1 write it.

    Encoders: a joint `q(z | x_1..x_M)` (a `kmvae.layers.SubsetEncoder`) and one for each
    subset of M - 1 modalities: for two modalities the unimodal `q(z | a)`, `q(z | b)`; for
    M > 2 the Appendix shows the variation of information yields only the (M-1)-modal
    encoders, so the model has those and no unimodal ones (the base's unimodal `encoders`
    exist, unused, and receive no gradient). `encode` uses the joint encoder for complete
    examples and the (M-1)-modal one otherwise; a row with fewer present modalities is an error.

    Objective, per complete example (nats):
    `E_{q(z|X)}[sum_m lambda_m log p(x_m | z)] - beta KL(q(z|X) || p(z))
    - alpha sum_m KL(q(z|X) || q(z|X \\ x_m))` (eq. 3 for two modalities, eq. 15-18 for more).
    Examples with a missing modality have no term (JMVAE learns from paired data only); the
    loss is the negated mean over the complete examples of the batch (0 if there are none).

    Args:
        modalities, latent_dim, beta, likelihood_weights, rescale_likelihoods, seed,
            joint_units: as `kmvae.models.SubsetVAE`.
        alpha: weight of the KL terms between the joint and the (M-1)-modal encoders (eq. 3
            has 1).

    Reported terms (nats, per example): `elbo` (of the present subset under its encoder,
    lambda = beta = 1) and `mutual_kl` (the alpha-free KL sum, complete examples).

    Raises:
        ValueError: fewer than two modalities or a negative alpha; in `encode` / `fit`, rows
            with fewer than M - 1 modalities present when M > 2.

    Example:
        >>> model = kmvae.JMVAE([kmvae.Modality("image", shape=(784,)),
        ...                      kmvae.Modality("label", num_classes=10,
        ...                                     likelihood="categorical")], latent_dim=64)
    """

    def __init__(self, modalities, latent_dim, *, alpha=1.0, **kwargs):
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0; received {alpha!r}.")
        self.alpha = float(alpha)
        super().__init__(modalities, latent_dim, **kwargs)

    def create_networks(self):
        M = self.num_modalities
        self.joint_encoders = [self.joint_encoder_for(s) for s in self.subsets
                               if len(s) == M or (len(s) == M - 1 and len(s) > 1)]

    def extra_networks(self):
        return list(self.joint_encoders)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}

    def term_names(self):
        return ("loss", "elbo", "mutual_kl")

    def encodable(self):
        M = self.num_modalities
        return np.array([len(s) >= M - 1 for s in self.subsets])

    def subset_posteriors(self, x, training=False):
        M = self.num_modalities
        batch = tf.shape(x[0])[0]
        placeholder = tf.zeros([batch, self.latent_dim])
        locs, scales, joint = [], [], iter(self.joint_encoders)
        for subset in self.subsets:
            if len(subset) == 1 and M == 2:
                q = self.encoders[subset[0]](x[subset[0]], training=training).distribution
                locs.append(q.loc)
                scales.append(q.scale)
            elif len(subset) >= M - 1:
                q = next(joint)([x[m] for m in subset], training=training).distribution
                locs.append(q.loc)
                scales.append(q.scale)
            else:                              # no encoder: never used (rows are rejected)
                locs.append(placeholder)
                scales.append(placeholder + 1.0)
        return tf.stack(locs, axis=1), tf.stack(scales, axis=1)

    def compute_objective(self, x, mask, training=False):
        locs, scales = self.subset_posteriors(x, training=training)
        pieces = self.subset_terms(x, mask, locs, scales)
        full = self.num_subsets - 1
        value = (pieces["log_lik"][:, full] - self.kl_weight * pieces["kl_prior"][:, full]
                 - self.alpha * pieces["kl_children"][:, full])
        complete = tf.cast(tf.reduce_all(mask, axis=1), tf.float32)
        loss = -batch_mean(value, complete)
        return loss, {"elbo": (self.present_elbo(pieces, mask), tf.ones_like(value)),
                      "mutual_kl": (pieces["kl_children"][:, full], complete)}


class _JointEncoderVAE(SubsetVAE):
    """A subset model with one joint encoder over all modalities (JMVAE-Zero, tVAE)."""

    def create_networks(self):
        self.joint_encoder = self.joint_encoder_for(range(self.num_modalities),
                                                    name="joint_encoder")

    def extra_networks(self):
        return [self.joint_encoder]


@keras.saving.register_keras_serializable(package="kmvae")
class JMVAEZero(_JointEncoderVAE):
    """JMVAE-Zero (M2VAE eq. 2): a single joint encoder `q(z | x_1..x_M)` whose missing inputs
    are zeroed, trained with the joint ELBO on a data set augmented with single-modality
    copies of its complete examples (Ngiam et al. 2011).

    The augmentation happens inside the objective, through masks: each complete example of a
    batch also enters as M copies with a single modality present, whose targets remain all M
    modalities (Ngiam et al.: "still require the network to reconstruct both modalities").
    `fit` on the plain data set is thus training on the augmented one; there is no separate
    data set to build. A missing modality's features (not its input, so that a missing class
    label is not class 0) are zeroed before the concatenation.

    Objective, per (augmented) example with input subset S and targets P (nats):
    `E_{q(z|x_S)}[sum_{m in P} lambda_m log p(x_m | z)] - beta KL(q(z|x_S) || p(z))`, averaged
    over the original and augmented examples of the batch.

    Args:
        modalities, latent_dim, beta, likelihood_weights, rescale_likelihoods, seed,
            joint_units: as `kmvae.models.SubsetVAE`.
        augment: add the single-modality copies (default True; False trains the joint VAE on
            the batch as it is).

    The base's unimodal `encoders` exist, unused, and receive no gradient.

    Reported terms (nats, per original example): `elbo` (lambda = beta = 1).

    Example:
        >>> model = kmvae.JMVAEZero(modalities, latent_dim=2)
        >>> model.fit(train, epochs=10)         # complete examples, copies made per batch
    """

    def __init__(self, modalities, latent_dim, *, augment=True, **kwargs):
        self.augment = bool(augment)
        super().__init__(modalities, latent_dim, **kwargs)

    def get_config(self):
        return {**super().get_config(), "augment": self.augment}

    def term_names(self):
        return ("loss", "elbo")

    def subset_posteriors(self, x, training=False):
        features = self.joint_encoder.embed(x)
        presence = tf.broadcast_to(tf.constant(self._inclusion)[None],
                                   [tf.shape(x[0])[0], self.num_subsets, self.num_modalities])
        q = self.joint_encoder.posterior_from(features, presence).distribution
        return q.loc, q.scale

    def compute_objective(self, x, mask, training=False):
        locs, scales = self.subset_posteriors(x, training=training)
        pieces = self.subset_terms(x, mask, locs, scales, reconstruct="all")
        value = pieces["log_lik"] - self.kl_weight * pieces["kl_prior"]        # (B, K)
        weights = tf.one_hot(self.subset_index(mask), self.num_subsets)
        if self.augment:
            complete = tf.cast(tf.reduce_all(mask, axis=1), tf.float32)[:, None]
            single = tf.constant((self._sizes == 1).astype(np.float32))[None]
            weights += complete * single
        loss = -batch_mean(value, weights)
        elbo = pieces["log_lik_raw"] - pieces["kl_prior"]
        index = self.subset_index(mask)[:, None]
        elbo = tf.gather(elbo, index, axis=1, batch_dims=1)[:, 0]
        return loss, {"elbo": (elbo, tf.ones_like(elbo))}


@keras.saving.register_keras_serializable(package="kmvae")
class TVAE(_JointEncoderVAE):
    """tVAE: the triplet ELBO of Vedantam et al. (2017), trained in two stages as M2VAE section
    5.1.2 describes.

    Encoders: a joint `q(z | x_1..x_M)` (`kmvae.layers.SubsetEncoder`) and the unimodal
    `q(z | x_m)`; a subset of 2..M-1 modalities is encoded by the product of its unimodal
    experts and the prior (Vedantam et al.'s product of experts).

    - Stage 1 (`stage=1`): the joint encoder and the decoders, with the joint ELBO
      `E_{q(z|X)}[sum_m lambda_m log p(x_m | z)] - beta KL(q(z|X) || p(z))` on the complete
      examples of each batch (negated mean over them).
    - Stage 2 (`model.set_stage(2)`, then `compile` and `fit` again): the decoders and the joint
      encoder are frozen (`trainable = False`) and the unimodal encoders trained with the
      remaining triplet terms `sum_{m present} E_{q(z|x_m)}[lambda_m log p(x_m | z)]
      - beta KL(q(z|x_m) || p(z))` (negated mean over the batch; single-modality examples
      count too).

    Args:
        modalities, latent_dim, beta, likelihood_weights, rescale_likelihoods, seed,
            joint_units: as `kmvae.models.SubsetVAE`.
        stage: 1 or 2.

    Reported terms (nats, per example): `elbo` (of the present subset, lambda = beta = 1).

    Raises:
        ValueError: a stage other than 1 or 2.

    Example:
        >>> model = kmvae.TVAE(modalities, latent_dim=2)
        >>> model.compile(keras.optimizers.Adam(1e-3)); model.fit(train, epochs=10)
        >>> model.set_stage(2)
        >>> model.compile(keras.optimizers.Adam(1e-3)); model.fit(train, epochs=10)
    """

    def __init__(self, modalities, latent_dim, *, stage=1, **kwargs):
        self._check_stage(stage)
        self.stage = int(stage)
        super().__init__(modalities, latent_dim, **kwargs)
        self.set_stage(self.stage)

    @staticmethod
    def _check_stage(stage):
        if stage not in (1, 2) or isinstance(stage, bool):
            raise ValueError(f"stage must be 1 or 2; received {stage!r}.")

    def set_stage(self, stage):
        """Switches the training stage: 2 freezes the decoders and the joint encoder (1 unfreezes
        them). Call `compile` again before `fit`."""
        self._check_stage(stage)
        self.stage = int(stage)
        for layer in self.decoders + [self.joint_encoder]:
            layer.trainable = self.stage == 1
        self.train_function = self.test_function = self.predict_function = None

    def get_config(self):
        return {**super().get_config(), "stage": self.stage}

    def term_names(self):
        return ("loss", "elbo")

    def subset_posteriors(self, x, training=False):
        experts = [encoder(x_m, training=training).distribution
                   for encoder, x_m in zip(self.encoders, x)]
        unimodal_locs = tf.stack([q.loc for q in experts], axis=1)
        unimodal_scales = tf.stack([q.scale for q in experts], axis=1)
        inclusion = tf.broadcast_to(tf.constant(self._inclusion)[None],
                                    [tf.shape(x[0])[0], self.num_subsets, self.num_modalities])
        locs, scales = product_of_experts(unimodal_locs, unimodal_scales, inclusion,
                                          prior_expert=True)
        locs, scales = tf.unstack(locs, axis=1), tf.unstack(scales, axis=1)
        for k, subset in enumerate(self.subsets):
            if len(subset) == 1:
                locs[k], scales[k] = experts[subset[0]].loc, experts[subset[0]].scale
        joint = self.joint_encoder(x, training=training).distribution
        locs[-1], scales[-1] = joint.loc, joint.scale
        return tf.stack(locs, axis=1), tf.stack(scales, axis=1)

    def compute_objective(self, x, mask, training=False):
        locs, scales = self.subset_posteriors(x, training=training)
        pieces = self.subset_terms(x, mask, locs, scales)
        value = pieces["log_lik"] - self.kl_weight * pieces["kl_prior"]        # (B, K)
        if self.stage == 1:
            weights = tf.cast(tf.reduce_all(mask, axis=1), tf.float32)
            loss = -batch_mean(value[:, -1], weights)
        else:
            singles = tf.constant(np.flatnonzero(self._sizes == 1))
            per_example = tf.reduce_sum(tf.where(mask, tf.gather(value, singles, axis=1), 0.0),
                                        axis=1)
            loss = -batch_mean(per_example)
        elbo = self.present_elbo(pieces, mask)
        return loss, {"elbo": (elbo, tf.ones_like(elbo))}
