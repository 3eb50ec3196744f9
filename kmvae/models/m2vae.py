"""M2VAE (Korthals et al., ICLR 2019 submission): one encoder per non-empty subset of the
modalities, the recursive objective of eq. 11, and in-place sensor fusion by auto re-encoding
(section 5.2)."""

import keras
import numpy as np
import tensorflow as tf

from kmvae.distribute import batch_mean
from kmvae.models.subsets import SubsetVAE, m2vae_coefficients
from kmvae.subsets import nonempty_subsets, subset_label


@keras.saving.register_keras_serializable(package="kmvae")
class M2VAE(SubsetVAE):
    """Multi-modal VAE with all `2^M - 1` subset encoders.

    Encoders: `q(z | x_m)` for each modality (the base's `encoders`) and a joint
    `kmvae.layers.SubsetEncoder` for each subset of two or more; `encode` uses, per example, the
    encoder of its present modalities.

    Objective, per example with present modalities P (nats; eq. 11, unrolled):
    `L(P) = 1/|P| (T(P) + sum_{m in P} L(P \\ m))`, `L({m}) = T({m})`, where
    `T(S) = E_{q(z|x_S)}[sum_{m in S} lambda_m log p(x_m | z)] - beta_S KL(q(z|x_S) || p(z))
    - alpha sum_{m in S} KL(q(z|x_S) || q(z|x_{S \\ m}))` (the last sum only for |S| >= 2: the
    JMVAE term of S, eq. 3 and Appendix 6.1.1). For two modalities `2 L({a, b})` is eq. 6-10:
    the unimodal ELBOs (eq. 7, 8), the joint ELBO (eq. 9) and the mutual KL terms (eq. 10); for
    three, Appendix 6.1.2. Unrolled, T(S) has weight `(|P| - |S|)! (|S| - 1)! / |P|!`
    (`m2vae_coefficients`). An example with missing modalities trains the encoders of the
    subsets it has. The loss is `-L(P)` averaged over the batch; the expectations use one
    reparameterised sample per subset.

    Args:
        modalities, latent_dim, likelihood_weights, rescale_likelihoods, seed, joint_units: as
            `kmvae.models.SubsetVAE`.
        beta: the prior KL weight beta_S of every subset not in `betas`.
        betas: dict subset -> beta_S, a subset named by its `kmvae.subsets.subset_label`
            (modality names joined by `","` in model order), e.g. `{"a": 1.0, "a,b": 0.5}`.
        beta_norm: if given, `beta_S = beta_norm * D_S / D_z` for subsets not in `betas`
            (D_S the data dimension of S, the sum of its modalities' `data_dimension`,
            D_z = latent_dim); the paper's best is 0.01. Section 3 prints the inverse,
            "beta_norm = beta* D*/D_z", but section 5.3's "beta_norm = 0.01 which is
            beta* ~ 4" for a 28x28 image and D_z = 2 needs this direction (0.01 * 784 / 2).
        alpha: weight of the mutual KL terms (the paper finds alpha <= 0.01 best, section
            5.1.1; default 0.01).

    `kmvae.callbacks.KLWarmup` scales every beta_S by `kl_weight / beta`.

    Reported terms (nats, per example): `elbo` (of the present subset under its own encoder,
    lambda = beta = 1), `mutual_kl` (the alpha-free KL sum of the present subset, 0 for one
    modality) and `m2vae` (L(P), the objective's value).

    Raises:
        ValueError: fewer than two modalities, a `betas` key naming no subset, a negative beta,
            beta_norm or alpha.

    Example:
        >>> model = kmvae.M2VAE([kmvae.Modality("a", shape=(2,), likelihood="normal"),
        ...                      kmvae.Modality("b", shape=(2,), likelihood="normal")],
        ...                     latent_dim=2, beta_norm=0.01, alpha=0.01)
        >>> model.compile(keras.optimizers.RMSprop(1e-3))
        >>> model.fit(train, epochs=10)
        >>> trajectory = model.reencode(model.encode(batch).mean(), steps=10)
    """

    def __init__(self, modalities, latent_dim, *, alpha=0.01, betas=None, beta_norm=None,
                 **kwargs):
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0; received {alpha!r}.")
        if beta_norm is not None and not beta_norm >= 0:
            raise ValueError(f"beta_norm must be >= 0 or None; received {beta_norm!r}.")
        self.alpha = float(alpha)
        self.beta_norm = None if beta_norm is None else float(beta_norm)
        self.betas = {str(k): float(v) for k, v in dict(betas or {}).items()}
        super().__init__(modalities, latent_dim, **kwargs)
        labels = self.subset_labels
        for key, value in self.betas.items():
            if key not in labels:
                raise ValueError(f"betas key {key!r} names no subset; expected keys among "
                                 f"{labels} (modality names joined by ',', in model order).")
            if not value >= 0:
                raise ValueError(f"betas[{key!r}] must be >= 0; received {value!r}.")
        self._coefficients = m2vae_coefficients(self.num_modalities)

    def create_networks(self):
        self.joint_encoders = [self.joint_encoder_for(s) for s in self.subsets if len(s) > 1]

    def extra_networks(self):
        return list(self.joint_encoders)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "betas": dict(self.betas),
                "beta_norm": self.beta_norm}

    @classmethod
    def from_config(cls, config):
        """As `MultimodalVAE.from_config`; `betas` keys of files saved before kmvae had one
        subset label, modality names joined by `"+"` (`"a+b"`), are read as the subset's
        `kmvae.subsets.subset_label` (`"a,b"`)."""
        config = dict(config)
        if config.get("betas"):
            names = [_modality_name(m) for m in config["modalities"]]
            legacy = {"+".join(names[m] for m in s): subset_label([names[m] for m in s])
                      for s in nonempty_subsets(len(names))}
            config["betas"] = {legacy.get(k, k): v for k, v in config["betas"].items()}
        return super().from_config(config)

    def term_names(self):
        return ("loss", "elbo", "mutual_kl", "m2vae")

    @property
    def subset_betas(self):
        """`(K,)` the beta_S of every subset, in `subsets` order."""
        values = []
        for subset, label in zip(self.subsets, self.subset_labels):
            if label in self.betas:
                values.append(self.betas[label])
            elif self.beta_norm is not None:
                size = sum(self.modalities[m].data_dimension for m in subset)
                values.append(self.beta_norm * size / self.latent_dim)
            else:
                values.append(self.beta)
        return np.array(values, np.float32)

    def subset_posteriors(self, x, training=False):
        locs, scales = [], []
        joint = iter(self.joint_encoders)
        for subset in self.subsets:
            if len(subset) == 1:
                q = self.encoders[subset[0]](x[subset[0]], training=training)
            else:
                q = next(joint)([x[m] for m in subset], training=training)
            locs.append(q.distribution.loc)
            scales.append(q.distribution.scale)
        return tf.stack(locs, axis=1), tf.stack(scales, axis=1)

    def coefficients(self, mask):
        """`(batch, K)` weight of each subset's T(S) in L(P), P the present modalities."""
        present = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        sizes = tf.constant(self._sizes.astype(np.int32))
        table = tf.gather(tf.constant(self._coefficients), present)             # (B, M + 1)
        weights = tf.gather(table, sizes, axis=1)                               # (B, K)
        return tf.where(self.contained(mask), weights, 0.0)

    def compute_objective(self, x, mask, training=False):
        locs, scales = self.subset_posteriors(x, training=training)
        pieces = self.subset_terms(x, mask, locs, scales)
        warm = self.kl_weight / self.beta if self.beta > 0 else 1.0
        betas = tf.constant(self.subset_betas) * warm
        local = (pieces["log_lik"] - betas * pieces["kl_prior"]
                 - self.alpha * pieces["kl_children"])                          # T(S), (B, K)
        weights = self.coefficients(mask)
        value = tf.reduce_sum(tf.where(weights > 0, weights * local, 0.0), axis=1)
        loss = -batch_mean(value)
        index = self.subset_index(mask)[:, None]
        mutual = tf.gather(pieces["kl_children"], index, axis=1, batch_dims=1)[:, 0]
        ones = tf.ones_like(value)
        return loss, {"elbo": (self.present_elbo(pieces, mask), ones),
                      "mutual_kl": (mutual, ones), "m2vae": (value, ones)}


def _modality_name(modality):
    """The name of a `kmvae.Modality` or of its serialised config."""
    return modality["config"]["name"] if isinstance(modality, dict) else modality.name
