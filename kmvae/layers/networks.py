"""Encoder and decoder backbones: the papers' default networks.

A backbone maps a batch of one modality to features (encoder) or latent codes to features
(decoder); the heads in `kmvae.layers.heads` turn features into distributions.
"""

import math

import keras

SWISH = "silu"  # Swish (Ramachandran et al. 2017), as MVAE uses; Keras calls it silu.


def mlp(units=(512, 512), activation=SWISH, dtype=None, name=None):
    """A multilayer perceptron: `Dense(u, activation)` for each `u` in `units`.

    Input `(batch, features_in)`, output `(batch, units[-1])`.
    """
    return keras.Sequential(
        [keras.layers.Dense(u, activation=activation, dtype=dtype) for u in units], name=name)


def default_encoder(modality, dtype=None):
    """MVAE's encoder for `modality` (Wu & Goodman 2018, section 4.1): two hidden layers of 512
    units with Swish. For a categorical modality the first is a continuous embedding of its
    `num_classes` values (the "embedding of size 10" of the paper, 512 wide: the parameter counts
    of MVAE's Table 1 imply it); an array-shaped modality is flattened. Output `(batch, 512)`."""
    layers = []
    if modality.is_categorical:
        layers.append(keras.layers.Embedding(modality.num_classes, 512, dtype=dtype))
        layers.append(keras.layers.Activation(SWISH, dtype=dtype))
        layers.append(keras.layers.Flatten(dtype=dtype))
        layers.append(keras.layers.Dense(512, activation=SWISH, dtype=dtype))
    else:
        if len(modality.shape) > 1:
            layers.append(keras.layers.Flatten(dtype=dtype))
        layers += [keras.layers.Dense(512, activation=SWISH, dtype=dtype) for _ in range(2)]
    return keras.Sequential(layers, name=f"{modality.name}_encoder_mlp")


def default_decoder(modality, dtype=None):
    """MVAE's decoder for `modality` (section 4.1): two hidden layers of 512 units with Swish.
    Output `(batch, 512)`; the likelihood head projects it to the distribution's parameters."""
    return mlp((512, 512), dtype=dtype, name=f"{modality.name}_decoder_mlp")


@keras.saving.register_keras_serializable(package="kmvae")
class ConvEncoder(keras.layers.Layer):
    """MVAE's miniature DCGAN image encoder (Wu & Goodman 2018, section 4.2): two strided 4x4
    convolutions (64 and 128 filters, Swish) and a dense layer of `units`.

    MVAE also puts batch normalisation after the second convolution; it is left out here because
    rows of a missing modality (zero-filled) would bias its batch statistics.

    Args:
        image_shape: `(height, width, channels)`; the input may be flat, `(batch, h*w*c)`, or
            `(batch, h, w, c)`. Height and width must be divisible by 4.
        filters: the two convolutions' filter counts.
        units: the width of the output dense layer.

    Input `(batch, h*w*c)` or `(batch, h, w, c)`; output `(batch, units)`.
    """

    def __init__(self, image_shape=(28, 28, 1), filters=(64, 128), units=512, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        self.filters = tuple(filters)
        self.units = units
        dtype = self.dtype_policy
        self.reshape = keras.layers.Reshape(self.image_shape, dtype=dtype)
        self.convs = [keras.layers.Conv2D(f, 4, strides=2, padding="same", activation=SWISH,
                                          dtype=dtype) for f in self.filters]
        self.flatten = keras.layers.Flatten(dtype=dtype)
        self.dense = keras.layers.Dense(units, activation=SWISH, dtype=dtype)

    def call(self, x):
        h = self.reshape(x)
        for conv in self.convs:
            h = conv(h)
        return self.dense(self.flatten(h))

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape),
                "filters": list(self.filters), "units": self.units}


@keras.saving.register_keras_serializable(package="kmvae")
class ConvDecoder(keras.layers.Layer):
    """MVAE's miniature DCGAN image decoder (section 4.2): a dense layer of `units`, a dense
    layer to a `(h/4, w/4, filters[0])` map, and two strided 4x4 transposed convolutions, the
    last producing one parameter (e.g. a Bernoulli logit) per pixel and channel.

    It returns the likelihood's parameters directly (`returns_parameters = True`), flattened to
    `(batch, h*w*c)`, so the likelihood head adds no dense layer after it. Batch normalisation
    is left out, as in `ConvEncoder`.

    Args:
        image_shape: `(height, width, channels)`; height and width divisible by 4.
        filters: filters of the first transposed convolution and of the map before it.
        units: width of the first dense layer.
    """

    returns_parameters = True

    def __init__(self, image_shape=(28, 28, 1), filters=(128, 64), units=512, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        self.filters = tuple(filters)
        self.units = units
        h, w, c = self.image_shape
        if h % 4 or w % 4:
            raise ValueError(f"ConvDecoder: image height and width must be divisible by 4; "
                             f"received image_shape={self.image_shape}.")
        dtype = self.dtype_policy
        start = (h // 4, w // 4, self.filters[0])
        self.dense = keras.layers.Dense(units, activation=SWISH, dtype=dtype)
        self.project = keras.layers.Dense(math.prod(start), activation=SWISH, dtype=dtype)
        self.reshape = keras.layers.Reshape(start, dtype=dtype)
        self.deconv = keras.layers.Conv2DTranspose(self.filters[1], 4, strides=2, padding="same",
                                                   activation=SWISH, dtype=dtype)
        self.out = keras.layers.Conv2DTranspose(c, 4, strides=2, padding="same", dtype=dtype)
        self.flatten = keras.layers.Flatten(dtype=dtype)

    def call(self, z):
        h = self.reshape(self.project(self.dense(z)))
        return self.flatten(self.out(self.deconv(h)))

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape),
                "filters": list(self.filters), "units": self.units}
