"""A modality's encoder (backbone + Gaussian posterior head) and decoder (backbone + likelihood
head), built from its `Modality` description."""

import keras
import tensorflow as tf

from kmvae.layers.heads import GaussianPosterior, LikelihoodHead
from kmvae.modalities import Modality


def _modality(modality):
    if isinstance(modality, Modality):
        return modality
    return keras.saving.deserialize_keras_object(modality)


@keras.saving.register_keras_serializable(package="kmvae")
class ModalityEncoder(keras.layers.Layer):
    """The unimodal inference network `q(z | x_m)`: the modality's encoder backbone under a
    `GaussianPosterior` head.

    Args:
        modality: the `Modality` (or its serialised config).
        latent_dim: size of the latent space.

    Input `(batch,) + modality.shape`; output a Normal with batch shape `(batch,)` and event shape
    `(latent_dim,)`, float32.
    """

    def __init__(self, modality, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.modality = _modality(modality)
        self.latent_dim = int(latent_dim)
        self.backbone = self.modality.make_encoder(dtype=self.dtype_policy)
        self.head = GaussianPosterior(self.latent_dim, name="posterior")

    def build(self, input_shape=None):
        dummy = tf.zeros((1,) + self.modality.shape, self.modality.dtype)
        self.head(self.backbone(dummy))
        self.built = True

    def call(self, x):
        return self.head(self.backbone(x))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "modality": keras.saving.serialize_keras_object(self.modality)}


@keras.saving.register_keras_serializable(package="kmvae")
class ModalityDecoder(keras.layers.Layer):
    """The generative network `p(x_m | z)`: the modality's decoder backbone under its
    `LikelihoodHead`.

    Args:
        modality: the `Modality` (or its serialised config).
        latent_dim: size of the latent space.

    Input `lead_shape + (latent_dim,)` (any number of leading axes, e.g. importance samples and
    batch); output a distribution with batch shape `lead_shape` and event shape `modality.shape`.
    """

    def __init__(self, modality, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.modality = _modality(modality)
        self.latent_dim = int(latent_dim)
        self.backbone = self.modality.make_decoder(dtype=self.dtype_policy)
        m = self.modality
        self.head = LikelihoodHead(
            m.shape, m.likelihood, num_classes=m.num_classes, scale=m.scale,
            project=not getattr(self.backbone, "returns_parameters", False), name="likelihood")

    def build(self, input_shape=None):
        self.call(tf.zeros((1, self.latent_dim)))
        self.built = True

    def call(self, z):
        features = self.backbone(tf.reshape(z, (-1, self.latent_dim)))
        return self.head(features, lead_shape=tf.shape(z)[:-1])

    def mean(self, z):
        """The decoded mean `E[x_m | z]` (class probabilities for a categorical modality)."""
        return self.head.mean(self.call(z))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "modality": keras.saving.serialize_keras_object(self.modality)}
