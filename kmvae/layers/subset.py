"""The joint inference network of a subset of modalities: `q(z | x_S)` from the concatenation of
its members' features (JMVAE's, M2VAE's and VAEVAE (b)'s joint encoders)."""

import keras
import tensorflow as tf

from kmvae.layers.heads import GaussianPosterior, diagonal_normal
from kmvae.layers.modality import _modality
from kmvae.layers.networks import mlp


@keras.saving.register_keras_serializable(package="kmvae")
class SubsetEncoder(keras.layers.Layer):
    """`q(z | x_S)` for a subset S of the modalities: each member is embedded by its own copy of
    its modality's encoder backbone (cloned: a subset encoder shares no weights with the unimodal
    encoders or with another subset's), the features are concatenated, optionally passed through
    a multilayer perceptron, and mapped to a Gaussian posterior (M2VAE section 6.1.4, Table 2:
    "2x784-2x128-2x64-concat-64-2"; SVAE Appendix F).

    Args:
        modalities: the members, a list of `kmvae.Modality` (or their serialised configs), in
            the order the inputs are given.
        latent_dim: size of the latent space.
        hidden_units: widths of the Swish dense layers after the concatenation (default none:
            the posterior head reads the concatenated features directly).

    Call `encoder(xs, presence=None)` with `xs` a list of the members' batches,
    `(batch,) + modality.shape` each. `presence`, optional, `(batch, n)` or `(batch, K, n)` 0/1
    in member order, zeroes the features of absent members (JMVAE-Zero's missing inputs; zeroed
    features rather than zeroed inputs, so a missing class label is not class 0); with a `K`
    axis the output has batch shape `(batch, K)`. Output: a Normal, event shape `(latent_dim,)`,
    float32.

    Raises:
        ValueError: on an empty member list or a wrong number of inputs.
    """

    def __init__(self, modalities, latent_dim, hidden_units=(), **kwargs):
        super().__init__(**kwargs)
        self.member_modalities = [_modality(m) for m in modalities]
        if not self.member_modalities:
            raise ValueError("SubsetEncoder needs at least one modality; received none.")
        self.latent_dim = int(latent_dim)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        policy = self.dtype_policy
        self.backbones = [m.make_encoder(dtype=policy) for m in self.member_modalities]
        self.hidden = mlp(self.hidden_units, dtype=policy, name="joint_mlp") \
            if self.hidden_units else None
        self.head = GaussianPosterior(self.latent_dim, name="posterior")

    def build(self, input_shape=None):
        self.call([tf.zeros((1,) + m.shape, m.dtype) for m in self.member_modalities])
        self.built = True

    def embed(self, xs):
        """Each member's features, a list of `(batch, features_m)`."""
        if len(xs) != len(self.backbones):
            names = [m.name for m in self.member_modalities]
            raise ValueError(f"SubsetEncoder over {names} needs {len(names)} inputs; received "
                             f"{len(xs)}.")
        return [backbone(x) for backbone, x in zip(self.backbones, xs)]

    def posterior_from(self, features, presence=None):
        """The posterior from the members' features (see the class docstring for `presence`)."""
        if presence is not None:
            presence = tf.convert_to_tensor(presence)
            extra = presence.shape.rank - 2          # 1 with a K axis
            features = [tf.reshape(f, [tf.shape(f)[0]] + [1] * extra + [f.shape[-1]])
                        * tf.cast(presence[..., i:i + 1], f.dtype)
                        for i, f in enumerate(features)]
        h = tf.concat(features, axis=-1)
        lead = tf.shape(h)[:-1]
        h = tf.reshape(h, [-1, h.shape[-1]])     # dense layers see (n, features)
        if self.hidden is not None:
            h = self.hidden(h)
        q = self.head(h).distribution
        shape = tf.concat([lead, [self.latent_dim]], axis=0)
        return diagonal_normal(tf.reshape(q.loc, shape), tf.reshape(q.scale, shape))

    def call(self, xs, presence=None):
        return self.posterior_from(self.embed(xs), presence)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "hidden_units": list(self.hidden_units),
                "modalities": [keras.saving.serialize_keras_object(m)
                               for m in self.member_modalities]}
