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
    `LikelihoodHead`, which projects the backbone's features to the likelihood's parameters
    with a dense layer, or takes them as they are when the modality declares
    `decoder_output="parameters"`.

    Args:
        modality: the `Modality` (or its serialised config).
        latent_dim: size of the latent space.

    Input `lead_shape + (latent_dim,)` (any number of leading axes, e.g. importance samples and
    batch); output a distribution with batch shape `lead_shape` and event shape `modality.shape`.

    Raises:
        ValueError: when built (models build at construction), if the backbone's output does not
            match `modality.decoder_output`: with `"features"`, an output that is not
            `(batch, features)`; with `"parameters"`, one that is neither `(batch,) +
            modality.parameter_shape` nor `(batch, modality.parameter_size)`. The message names
            the modality, the shape received and the shape expected.
    """

    def __init__(self, modality, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.modality = _modality(modality)
        self.latent_dim = int(latent_dim)
        self.backbone = self.modality.make_decoder(dtype=self.dtype_policy)
        m = self.modality
        self.head = LikelihoodHead(
            m.shape, m.likelihood, num_classes=m.num_classes, scale=m.scale,
            project=m.decoder_output == "features", name="likelihood")

    def build(self, input_shape=None):
        z = tf.zeros((1, self.latent_dim))
        features = self.backbone(z)
        check_decoder_output(self.modality, features.shape, self.latent_dim)
        self.head(features, lead_shape=tf.shape(z)[:-1])
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


def check_decoder_output(modality, output_shape, latent_dim):
    """Raises ValueError unless a decoder backbone's `output_shape` (batch axis first) is what
    `modality.decoder_output` declares: `(batch, features)` for `"features"`, `(batch,) +
    modality.parameter_shape` or `(batch, modality.parameter_size)` for `"parameters"`."""
    received = (None,) + tuple(output_shape)[1:]
    if modality.decoder_output == "parameters":
        expected = [(None, modality.parameter_size), (None,) + modality.parameter_shape]
        if received in expected:
            return
        raise ValueError(
            f"Modality {modality.name!r}: its decoder is declared to return the likelihood's "
            f"parameters (decoder_output='parameters') but returns shape {received} for latent "
            f"codes of shape (None, {latent_dim}); a {modality.likelihood} likelihood of shape "
            f"{modality.shape} needs {expected[0]} or {expected[1]}. Change the decoder's "
            f"output, or pass decoder_output='features' to project its output with a dense "
            f"layer.")
    if len(received) != 2:
        raise ValueError(
            f"Modality {modality.name!r}: its decoder returns shape {received} for latent codes "
            f"of shape (None, {latent_dim}); with decoder_output='features' it must return "
            f"(batch, features), which the likelihood head projects to the parameters. A "
            f"decoder that returns the {modality.likelihood} likelihood's parameters, "
            f"{(None,) + modality.parameter_shape}, is declared with "
            f"decoder_output='parameters'.")
