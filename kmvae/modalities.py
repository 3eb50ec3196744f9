"""Modalities: what each observed variable of a multimodal VAE looks like.

A `Modality` is a plain description (name, shape, likelihood, networks). Models build their own
encoder and decoder layers from it, so one `Modality` can be shared by several models without them
sharing weights.
"""

import math

import keras

LIKELIHOODS = ("bernoulli", "categorical", "normal", "laplace")


@keras.saving.register_keras_serializable(package="kmvae")
class Modality:
    """One modality of a multimodal data set.

    Args:
        name: the key of this modality in a batch dict, e.g. `"image"`.
        shape: shape of one example, without the batch axis. Required unless `likelihood` is
            `"categorical"`, where it defaults to `()` (one class id per example).
        likelihood: `"bernoulli"` (values in [0, 1]), `"categorical"` (integer class ids in
            `[0, num_classes)`), `"normal"` or `"laplace"` (real values).
        num_classes: number of classes; required for, and only allowed with, `"categorical"`.
        encoder: a Keras layer mapping a batch of this modality, shape `(batch,) + shape`, to
            features of shape `(batch, features)`; `None` takes the default network (MVAE section
            4.1: two hidden layers of 512 units with Swish, the first an embedding of the classes
            for categorical modalities). The layer is cloned from its config by each model that uses
            the modality, so pass an unbuilt layer whose class Keras can deserialise.
        decoder: a Keras layer mapping latent codes of shape `(batch, latent_dim)` to features of
            shape `(batch, features)`; `None` takes the default network (as `encoder`).
        scale: the scale of a `"normal"` or `"laplace"` likelihood: a positive float (fixed, as
            MMVAE's 0.75) or `"learned"` (one trainable scale per dimension).

    Raises:
        ValueError: on an unknown likelihood, a missing or invalid shape or number of classes,
            or a scale that is neither positive nor `"learned"`.

    Example:
        >>> image = Modality("image", shape=(784,), likelihood="bernoulli")
        >>> label = Modality("label", num_classes=10, likelihood="categorical")
    """

    def __init__(self, name, shape=None, likelihood="bernoulli", num_classes=None,
                 encoder=None, decoder=None, scale=0.75):
        if not isinstance(name, str) or not name or name == "mask":
            raise ValueError(f"A modality name must be a non-empty string other than 'mask'; "
                             f"received {name!r}.")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"Modality {name!r}: unknown likelihood {likelihood!r}; expected one "
                             f"of {LIKELIHOODS}.")
        if likelihood == "categorical":
            if not isinstance(num_classes, int) or num_classes < 2:
                raise ValueError(f"Modality {name!r}: a categorical likelihood needs num_classes, "
                                 f"an int >= 2; received {num_classes!r}.")
            shape = () if shape is None else shape
        elif num_classes is not None:
            raise ValueError(f"Modality {name!r}: num_classes is only for a categorical "
                             f"likelihood; received num_classes={num_classes!r} with "
                             f"likelihood={likelihood!r}.")
        if shape is None:
            raise ValueError(f"Modality {name!r}: shape is required for a {likelihood!r} "
                             f"likelihood, e.g. shape=(784,).")
        shape = tuple(shape)
        if not all(isinstance(d, int) and d > 0 for d in shape):
            raise ValueError(f"Modality {name!r}: shape must be positive ints; received {shape}.")
        if not (scale == "learned" or (isinstance(scale, (int, float)) and scale > 0)):
            raise ValueError(f"Modality {name!r}: scale must be a positive float or 'learned'; "
                             f"received {scale!r}.")
        self.name = name
        self.shape = shape
        self.likelihood = likelihood
        self.num_classes = num_classes
        self.scale = scale
        self._encoder_config = _layer_config(encoder)
        self._decoder_config = _layer_config(decoder)

    @property
    def is_categorical(self):
        return self.likelihood == "categorical"

    @property
    def dtype(self):
        """The dtype of this modality's data in a batch: int32 for categorical, else float32."""
        return "int32" if self.is_categorical else "float32"

    @property
    def event_size(self):
        """Number of scalar values in one example (the product of `shape`)."""
        return math.prod(self.shape)

    @property
    def data_dimension(self):
        """Size of one example as the MoPoE reference code counts it for likelihood rescaling
        (Sutter et al. 2021, App. B): the number of values, times `num_classes` for categorical
        data (the size of its one-hot encoding)."""
        return self.event_size * (self.num_classes if self.is_categorical else 1)

    def make_encoder(self, dtype=None):
        """A fresh encoder backbone (default or cloned from the one given)."""
        if self._encoder_config is None:
            from kmvae.layers.networks import default_encoder
            return default_encoder(self, dtype=dtype)
        return _clone(self._encoder_config, dtype)

    def make_decoder(self, dtype=None):
        """A fresh decoder backbone (default or cloned from the one given)."""
        if self._decoder_config is None:
            from kmvae.layers.networks import default_decoder
            return default_decoder(self, dtype=dtype)
        return _clone(self._decoder_config, dtype)

    def get_config(self):
        return {"name": self.name, "shape": list(self.shape), "likelihood": self.likelihood,
                "num_classes": self.num_classes, "encoder": self._encoder_config,
                "decoder": self._decoder_config, "scale": self.scale}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        modality = cls(**{**config, "encoder": None, "decoder": None})
        modality._encoder_config = config.get("encoder")
        modality._decoder_config = config.get("decoder")
        return modality

    def __repr__(self):
        extra = f", num_classes={self.num_classes}" if self.is_categorical else ""
        return (f"Modality({self.name!r}, shape={self.shape}, "
                f"likelihood={self.likelihood!r}{extra})")


def _layer_config(layer):
    if layer is None:
        return None
    if not isinstance(layer, keras.layers.Layer):
        raise TypeError(f"encoder and decoder must be Keras layers or None; received "
                        f"{type(layer).__name__}.")
    return keras.saving.serialize_keras_object(layer)


def _clone(config, dtype):
    """A new layer from a serialised one, under the model's dtype policy when one is given
    (a mixed-precision model computes its backbones in half precision)."""
    config = dict(config)
    if dtype is not None and isinstance(config.get("config"), dict) and "dtype" in config["config"]:
        config["config"] = {**config["config"], "dtype": keras.saving.serialize_keras_object(
            keras.dtype_policies.get(dtype))}
    return keras.saving.deserialize_keras_object(config)
