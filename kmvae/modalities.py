"""Modalities: what each observed variable of a multimodal VAE looks like.

A `Modality` is a plain description (name, shape, likelihood, networks). Models build their own
encoder and decoder layers from it, so one `Modality` can be shared by several models without them
sharing weights.
"""

import math

import keras

LIKELIHOODS = ("bernoulli", "categorical", "normal", "laplace")
DECODER_OUTPUTS = ("features", "parameters")


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
        decoder: a Keras layer mapping latent codes of shape `(batch, latent_dim)` to what
            `decoder_output` says; `None` takes the default network (as `encoder`, returning
            features). Cloned from its config, as `encoder`.
        scale: the scale of a `"normal"` or `"laplace"` likelihood: a positive float (fixed, as
            MMVAE's 0.75) or `"learned"` (one trainable scale per dimension).
        decoder_output: what the decoder returns, and so whether the likelihood head projects it:
            - `"features"`: `(batch, features)`, any width; the head maps them to the
              likelihood's parameters with a dense layer (`features x parameter_size` weights);
            - `"parameters"`: the likelihood's parameters themselves, `(batch,) +
              parameter_shape` or flattened row-major to `(batch, parameter_size)`: Bernoulli
              logits or Normal / Laplace locations of shape `shape`, or categorical logits of
              shape `shape + (num_classes,)`; the head adds no weight (a learned scale is
              still the head's). E.g. a `keras.Sequential` ending in `Conv2DTranspose` and
              `Flatten` that returns one logit per pixel and channel.
            `None` (default) takes the decoder's own declaration: `"parameters"` when its class
            sets `returns_parameters = True` (kmvae's `ConvDecoder`, `PolyMNISTDecoder`), else
            `"features"`. The resolved value is kept in `get_config`. The models check the
            decoder's output when they are built (see `ModalityDecoder`).

    Raises:
        ValueError: on an unknown likelihood, a missing or invalid shape or number of classes,
            a scale that is neither positive nor `"learned"`, a `decoder_output` other than
            `"features"`, `"parameters"` or None, or `decoder_output="parameters"` without a
            `decoder` (the default decoder returns 512 features).

    Example:
        >>> image = Modality("image", shape=(784,), likelihood="bernoulli")
        >>> label = Modality("label", num_classes=10, likelihood="categorical")
        >>> pixels = keras.Sequential([                   # 28x28x3 logits, no dense projection
        ...     keras.layers.Dense(7 * 7 * 32, activation="relu"),
        ...     keras.layers.Reshape((7, 7, 32)),
        ...     keras.layers.Conv2DTranspose(16, 4, strides=2, padding="same", activation="relu"),
        ...     keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same"),
        ...     keras.layers.Flatten()])
        >>> colour = Modality("colour", shape=(2352,), decoder=pixels,
        ...                   decoder_output="parameters")
    """

    def __init__(self, name, shape=None, likelihood="bernoulli", num_classes=None,
                 encoder=None, decoder=None, scale=0.75, decoder_output=None):
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
        self.decoder_output = _decoder_output(name, decoder_output, decoder)

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
    def parameter_shape(self):
        """Shape of the likelihood's parameters for one example: `shape + (num_classes,)`
        (logits) for categorical, else `shape` (logits or locations)."""
        return self.shape + ((self.num_classes,) if self.is_categorical else ())

    @property
    def parameter_size(self):
        """Number of the likelihood's parameters for one example (the product of
        `parameter_shape`)."""
        return math.prod(self.parameter_shape)

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
                "decoder": self._decoder_config, "scale": self.scale,
                "decoder_output": self.decoder_output}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder, decoder = config.pop("encoder", None), config.pop("decoder", None)
        # Configs written before `decoder_output` existed resolve it from the decoder's class,
        # as they did when they were saved.
        decoder_output = config.pop("decoder_output", None)
        modality = cls(**config)
        modality._encoder_config = encoder
        modality._decoder_config = decoder
        modality.decoder_output = _decoder_output(modality.name, decoder_output, decoder)
        return modality

    def __repr__(self):
        extra = f", num_classes={self.num_classes}" if self.is_categorical else ""
        return (f"Modality({self.name!r}, shape={self.shape}, "
                f"likelihood={self.likelihood!r}{extra})")


def _decoder_output(name, decoder_output, decoder):
    """`decoder_output` checked, or resolved from `decoder` (a layer, its serialised config, or
    None for the default network) when None."""
    if decoder_output is None:
        if decoder is None:
            return "features"
        if isinstance(decoder, dict):
            decoder = keras.saving.deserialize_keras_object(decoder)
        return "parameters" if getattr(decoder, "returns_parameters", False) else "features"
    if decoder_output not in DECODER_OUTPUTS:
        raise ValueError(f"Modality {name!r}: decoder_output must be one of {DECODER_OUTPUTS} "
                         f"or None; received {decoder_output!r}.")
    if decoder_output == "parameters" and decoder is None:
        raise ValueError(f"Modality {name!r}: decoder_output='parameters' needs a decoder that "
                         f"returns the likelihood's parameters; the default decoder returns 512 "
                         f"features (leave decoder_output unset, or pass decoder=).")
    return decoder_output


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
