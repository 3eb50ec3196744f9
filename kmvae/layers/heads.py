"""Heads: layers that turn backbone features into TFP distributions.

Parameters, log-probabilities and everything after them are float32 even under a mixed-precision
policy: the heads run in float32 whatever the model's policy.
"""

import keras
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

MIN_SCALE = 1e-6


def diagonal_normal(loc, scale):
    """`N(loc, diag(scale^2))` with the last axis as its event: batch shape `loc.shape[:-1]`."""
    return tfd.Independent(tfd.Normal(loc=loc, scale=scale), reinterpreted_batch_ndims=1)


@keras.saving.register_keras_serializable(package="kmvae")
class GaussianPosterior(keras.layers.Layer):
    """Gaussian posterior head: features -> `N(mu, diag(sigma^2))` over the latent space.

    `mu` is a linear map of the features and `sigma = softplus(.) + 1e-6` another; both are
    float32.

    Args:
        latent_dim: size of the latent space.

    Input `(batch, features)`; output a distribution with batch shape `(batch,)` and event
    shape `(latent_dim,)`.
    """

    def __init__(self, latent_dim, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.dense = keras.layers.Dense(2 * self.latent_dim, dtype="float32")

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.built = True

    def call(self, features):
        loc, raw_scale = tf.split(self.dense(tf.cast(features, "float32")), 2, axis=-1)
        return diagonal_normal(loc, tf.nn.softplus(raw_scale) + MIN_SCALE)

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return {**config, "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable(package="kmvae")
class LikelihoodHead(keras.layers.Layer):
    """Likelihood head: decoder features -> `p(x | z)` for one modality.

    `"bernoulli"`: logits, the log-probability of values in [0, 1] being
    `x log sigma(l) + (1 - x) log(1 - sigma(l))` (grey values are allowed, as in MVAE);
    `"categorical"`: logits over `num_classes` per value; `"normal"` / `"laplace"`: the location,
    with a fixed scale or a learned one per dimension.

    Args:
        shape: shape of one example of the modality.
        likelihood: `"bernoulli"`, `"categorical"`, `"normal"` or `"laplace"`.
        num_classes: classes of a categorical likelihood.
        scale: fixed positive scale, or `"learned"`, for normal / laplace.
        project: apply a dense layer to the features (False when the decoder backbone returns
            the parameters themselves: `Modality(decoder_output="parameters")`, e.g.
            `ConvDecoder`).

    Input `(n, features)`; output a distribution with batch shape `(n,)`, or `lead_shape` when
    given, and event shape `shape` (all of the modality's values are one event).
    """

    def __init__(self, shape, likelihood, num_classes=None, scale=0.75, project=True, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.shape = tuple(shape)
        self.likelihood = likelihood
        self.num_classes = num_classes
        self.scale = scale
        self.project = project
        self._param_shape = self.shape + ((num_classes,) if likelihood == "categorical" else ())
        size = 1
        for d in self._param_shape:
            size *= d
        self.dense = keras.layers.Dense(size, dtype="float32") if project else None

    def build(self, input_shape):
        if self.dense is not None:
            self.dense.build(input_shape)
        if self.scale == "learned":
            self.log_scale = self.add_weight(shape=self.shape, initializer="zeros",
                                             name="log_scale", dtype="float32")
        self.built = True

    def call(self, features, lead_shape=None):
        """`features` `(n, features)`; `lead_shape` (default `(n,)`) the batch shape to give the
        distribution, e.g. `(batch, samples)` for `n = batch * samples` (matrix products stay
        two-dimensional, which XLA compiles much faster than batched ones)."""
        params = tf.cast(features, "float32")
        if self.dense is not None:
            params = self.dense(params)
        lead = tf.shape(params)[:-1] if lead_shape is None else lead_shape
        params = tf.reshape(params, tf.concat([lead, self._param_shape], axis=0))
        return self.distribution(params)

    def distribution(self, params):
        """The distribution whose parameters are `params`, shape `lead_shape + param_shape`."""
        ndims = len(self.shape)
        if self.likelihood == "bernoulli":
            base = tfd.Bernoulli(logits=params, dtype=tf.float32)
        elif self.likelihood == "categorical":
            base = tfd.Categorical(logits=params, dtype=tf.int32)
        else:
            if self.scale == "learned":
                scale = tf.exp(self.log_scale) + MIN_SCALE
            else:
                scale = tf.constant(float(self.scale), tf.float32)
            family = tfd.Normal if self.likelihood == "normal" else tfd.Laplace
            base = family(loc=params, scale=tf.broadcast_to(scale, tf.shape(params)))
        return tfd.Independent(base, reinterpreted_batch_ndims=ndims) if ndims else base

    def mean(self, distribution):
        """The decoded mean of `distribution`: probabilities for Bernoulli, class probabilities
        of shape `lead_shape + shape + (num_classes,)` for categorical, the location otherwise."""
        base = distribution.distribution if isinstance(distribution, tfd.Independent) \
            else distribution
        if self.likelihood == "bernoulli":
            return tf.sigmoid(base.logits)
        if self.likelihood == "categorical":
            return tf.nn.softmax(base.logits)
        return base.loc

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return {**config, "shape": list(self.shape), "likelihood": self.likelihood,
                "num_classes": self.num_classes, "scale": self.scale, "project": self.project}
