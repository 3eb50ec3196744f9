"""Encoder and decoder backbones: the papers' default networks.

A backbone maps a batch of one modality to features (encoder) or latent codes to features
(decoder); the heads in `kmvae.layers.heads` turn features into distributions.
"""

import math

import keras

SWISH = "silu"  # Swish (Ramachandran et al. 2017), as MVAE uses; Keras calls it silu.


class LayerChain(keras.layers.Layer):
    """A network that applies its layers one after the other, in the order `chain()` returns.

    `build` builds each layer on the output shape of the one before, as calling them in turn
    would, so that the children have their weights even when Keras builds the network from
    shapes alone (a `Sequential` with an `Input`, rebuilt by `keras.saving.load_model`);
    `call` applies them. A subclass creates its layers in `__init__` and returns them from
    `chain()`.
    """

    def chain(self):
        """The layers in the order they are applied."""
        raise NotImplementedError

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.chain():
            if not layer.built:
                layer.build(shape)
            shape = tuple(layer.compute_output_shape(shape))
        self.built = True

    def call(self, x):
        for layer in self.chain():
            x = layer(x)
        return x


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
class ConvEncoder(LayerChain):
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

    def chain(self):
        return [self.reshape, *self.convs, self.flatten, self.dense]

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape),
                "filters": list(self.filters), "units": self.units}


@keras.saving.register_keras_serializable(package="kmvae")
class ConvDecoder(LayerChain):
    """MVAE's miniature DCGAN image decoder (section 4.2): a dense layer of `units`, a dense
    layer to a `(h/4, w/4, filters[0])` map, and two strided 4x4 transposed convolutions, the
    last producing one parameter (e.g. a Bernoulli logit) per pixel and channel.

    It returns the likelihood's parameters directly, flattened to `(batch, h*w*c)`: its class
    declares `returns_parameters = True`, which a `Modality` takes as its default
    `decoder_output="parameters"`, so the likelihood head adds no dense layer after it. Batch
    normalisation is left out, as in `ConvEncoder`.

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

    def chain(self):
        return [self.dense, self.project, self.reshape, self.deconv, self.out, self.flatten]

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape),
                "filters": list(self.filters), "units": self.units}


class PaddedConvEncoder(LayerChain):
    """An image encoder ported from PyTorch: stride-2 convolutions, each on its input zero-padded
    by PyTorch's `padding` on every side (an explicit `ZeroPadding2D`, since TensorFlow's
    "same" places the odd pixel differently), flattened, and a dense layer of `units`. A
    subclass declares its layout in class attributes: `IMAGE` `(h, w, c)`, `FILTERS`, `KERNEL`,
    `PADDING` (one per convolution, 0 for none), `ACTIVATION` and `INPUTS` (what an input is
    called in errors).

    Input `(batch, h*w*c)` or `(batch, h, w, c)`; output `(batch, units)`.

    Raises:
        ValueError: an input that does not hold `h*w*c` values per example, naming the shape
            received and the ones expected.
    """

    IMAGE = FILTERS = PADDING = ()
    KERNEL, ACTIVATION, INPUTS = None, None, "images"

    def __init__(self, units=512, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        dtype = self.dtype_policy
        self.reshape = keras.layers.Reshape(self.IMAGE, dtype=dtype)
        self.pads = [keras.layers.ZeroPadding2D(p, dtype=dtype) if p else None
                     for p in self.PADDING]
        self.convs = [keras.layers.Conv2D(f, self.KERNEL, strides=2, activation=self.ACTIVATION,
                                          dtype=dtype) for f in self.FILTERS]
        self.flatten = keras.layers.Flatten(dtype=dtype)
        self.dense = keras.layers.Dense(self.units, activation=self.ACTIVATION, dtype=dtype)

    def _check_shape(self, shape):
        if None not in shape[1:] and math.prod(shape[1:]) != math.prod(self.IMAGE):
            h, w, c = self.IMAGE
            raise ValueError(f"{type(self).__name__} takes {h}x{w}x{c} {self.INPUTS}, (batch, "
                             f"{h * w * c}) or (batch, {h}, {w}, {c}); received input shape "
                             f"{tuple(shape)}.")

    def chain(self):
        steps = [layer for pair in zip(self.pads, self.convs) for layer in pair
                 if layer is not None]
        return [self.reshape, *steps, self.flatten, self.dense]

    def build(self, input_shape):
        self._check_shape(input_shape)
        super().build(input_shape)

    def call(self, x):
        self._check_shape(x.shape)
        return super().call(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class CroppedDeconvDecoder(LayerChain):
    """An image decoder ported from PyTorch: a dense layer reshaped to a `MAP` `(h, w, c)`, then
    stride-2 transposed convolutions, each Keras's "valid" output cropped as PyTorch's `padding`
    and `output_padding` (an explicit `Cropping2D`), the last without activation and giving the
    likelihood's parameters per pixel and channel, flattened to `(batch, h*w*c)` of `IMAGE`.
    A subclass declares `IMAGE`, `MAP`, `ACTIVATION` and `DECONVS`, one `(filters, kernel,
    crop)` per transposed convolution (`crop` a `Cropping2D` argument, 0 for none).

    It returns the likelihood's parameters (`returns_parameters = True`, a `Modality`'s default
    `decoder_output="parameters"`), so the likelihood head adds no dense layer after it.

    Input `(batch, latent_dim)`; output `(batch, h*w*c)`.
    """

    returns_parameters = True
    IMAGE = MAP = DECONVS = ()
    ACTIVATION = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        dtype = self.dtype_policy
        self.dense = keras.layers.Dense(math.prod(self.MAP), activation=self.ACTIVATION,
                                        dtype=dtype)
        self.reshape = keras.layers.Reshape(self.MAP, dtype=dtype)
        last = len(self.DECONVS) - 1
        self.deconvs = [keras.layers.Conv2DTranspose(
            f, k, strides=2, activation=self.ACTIVATION if i < last else None, dtype=dtype)
            for i, (f, k, _) in enumerate(self.DECONVS)]
        self.crops = [keras.layers.Cropping2D(crop, dtype=dtype) if crop else None
                      for _, _, crop in self.DECONVS]
        self.flatten = keras.layers.Flatten(dtype=dtype)

    def chain(self):
        steps = [layer for pair in zip(self.deconvs, self.crops) for layer in pair
                 if layer is not None]
        return [self.dense, self.reshape, *steps, self.flatten]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], math.prod(self.IMAGE))


# The MoPoE authors' PolyMNIST networks (Sutter et al. 2021, App. D.2 "straightforward
# convolutional neural networks ... we refer to the released code": mmnist/networks/
# ConvNetworksImgCMNIST.py of thomassutter/MoPoE). PyTorch pads its 3x3 / stride-2 convolutions
# by one pixel on each side and crops its transposed ones by `padding` (and extends them by
# `output_padding` at the end); TensorFlow's "same" places the odd pixel differently, so the
# padding and cropping are explicit layers here and every pixel lines up with PyTorch's.
POLYMNIST_IMAGE = (28, 28, 3)
POLYMNIST_FILTERS = (32, 64, 128)     # 28x28 -> 14x14 -> 7x7 -> 4x4
POLYMNIST_MAP = (4, 4, 128)           # the encoder's last map, the decoder's first: 2,048 values
# PyTorch's (padding, output_padding) of each transposed convolution: 4 -> 7 -> 14 -> 28.
POLYMNIST_DECONV_PADDING = ((1, 0), (1, 1), (1, 1))


@keras.saving.register_keras_serializable(package="kmvae")
class PolyMNISTEncoder(PaddedConvEncoder):
    """The MoPoE authors' PolyMNIST image encoder (Sutter et al. 2021, App. D.2, their released
    code): three 3x3 convolutions of stride 2 with 32, 64 and 128 filters and ReLU, each on the
    input padded by one pixel on every side (PyTorch's `padding=1`: 28x28 -> 14x14 -> 7x7 ->
    4x4), flattened to 2,048 features, and a dense layer of `units` with ReLU.

    The authors' encoder ends in two linear layers, `units -> latent` for the mean and for the
    log-variance; in kmvae those are the `GaussianPosterior` head that `ModalityEncoder` puts on
    this backbone (one dense layer `units -> 2 * latent`, the same number of weights; the scale
    is a softplus of its second half rather than `exp(logvar / 2)`).

    Args:
        units: the width of the dense layer; the authors set it to the latent size (their
            `style_dim + class_dim`, 0 + 512 for PolyMNIST).

    Input `(batch, 2352)` (a 28x28x3 image flattened row-major, as `kmvae.datasets` gives
    PolyMNIST) or `(batch, 28, 28, 3)`; output `(batch, units)`.

    Example:
        >>> encoder = PolyMNISTEncoder()
        >>> encoder(keras.ops.zeros((2, 2352))).shape
        TensorShape([2, 512])
    """

    IMAGE, FILTERS, KERNEL, ACTIVATION = POLYMNIST_IMAGE, POLYMNIST_FILTERS, 3, "relu"
    PADDING = (1,) * len(POLYMNIST_FILTERS)


@keras.saving.register_keras_serializable(package="kmvae")
class PolyMNISTDecoder(CroppedDeconvDecoder):
    """The MoPoE authors' PolyMNIST image decoder (Sutter et al. 2021, App. D.2, their released
    code), the encoder mirrored: a dense layer of 2,048 units with ReLU reshaped to a 4x4x128
    map, and three 3x3 transposed convolutions of stride 2 (64 and 32 filters with ReLU, then
    3 without activation), cropped as PyTorch's `padding=1` with `output_padding` 0, 1, 1:
    4x4 -> 7x7 -> 14x14 -> 28x28.

    The last convolution gives the location of the Laplace likelihood (scale 0.75 in the
    authors' code) per pixel and channel, flattened row-major to `(batch, 2352)`: the decoder
    returns the likelihood's parameters (its class declares `returns_parameters = True`, a
    `Modality`'s default `decoder_output="parameters"`), so the likelihood head adds no dense
    layer after it.

    The map is channels-last where PyTorch's is channels-first: the dense layer's outputs are
    the authors' in another order, the same network up to a permutation of its weights.

    Args:
        **kwargs: Keras layer arguments (`name`, `dtype`); the network has no options (its
            first layer takes any latent size).

    Input `(batch, latent_dim)`; output `(batch, 2352)`.

    Example:
        >>> decoder = PolyMNISTDecoder()
        >>> decoder(keras.ops.zeros((2, 512))).shape
        TensorShape([2, 2352])
    """

    IMAGE, MAP, ACTIVATION = POLYMNIST_IMAGE, POLYMNIST_MAP, "relu"
    # 64, 32, 3 filters of 3x3; Keras's "valid" output is PyTorch's before cropping `padding`
    # from each side and keeping `output_padding` of the end crop.
    DECONVS = tuple((f, 3, ((p, p - extra), (p, p - extra))) for f, (p, extra) in zip(
        POLYMNIST_FILTERS[-2::-1] + POLYMNIST_IMAGE[-1:], POLYMNIST_DECONV_PADDING))


# The MVAE authors' MultiMNIST image networks (Wu & Goodman 2018, section 4.3: "the DCGAN
# architecture from Radford et al. (2015)", without more detail; multimnist/model.py of
# mhw32/multimodal-vae-public). Their four 4x4 / stride-2 convolutions pad by PyTorch's
# `padding` on every side and their transposed ones crop it from every side; TensorFlow's "same"
# would make 25 -> 13 where PyTorch makes 25 -> 12, so the padding and cropping are explicit
# layers, as the PolyMNIST networks'.
MULTIMNIST_IMAGE = (50, 50, 1)
MULTIMNIST_FILTERS = (32, 64, 128, 256)
MULTIMNIST_CONV_PADDING = (1, 1, 1, 0)            # 50 -> 25 -> 12 -> 6 -> 2
MULTIMNIST_MAP = (2, 2, 256)                      # the encoder's last map, the decoder's first
# (filters, kernel, PyTorch padding) of each stride-2 transposed convolution: 2 -> 6 -> 12 ->
# 25 -> 50 (Keras's "valid" output is (n - 1) * 2 + kernel, before the crop).
MULTIMNIST_DECONVS = ((128, 4, 0), (64, 4, 1), (32, 5, 1), (1, 4, 1))


@keras.saving.register_keras_serializable(package="kmvae")
class MultiMNISTImageEncoder(PaddedConvEncoder):
    """The MVAE authors' MultiMNIST image encoder (Wu & Goodman 2018, section 4.3, "the DCGAN
    architecture"; their released code): four 4x4 convolutions of stride 2 with 32, 64, 128 and
    256 filters and Swish, the first three on the input padded by one pixel on every side, the
    last unpadded (50x50 -> 25x25 -> 12x12 -> 6x6 -> 2x2), flattened to 1,024 features, and a
    dense layer of `units` with Swish.

    The authors' encoder also has batch normalisation after the last three convolutions (so
    its convolutions have no bias) and dropout 0.1 after the dense layer. Both are left out here,
    as in `ConvEncoder`: rows of a missing modality (zero-filled) would bias the batch
    statistics, and the paper names no dropout; the convolutions have biases instead. Their
    last layer, `units -> 2 * latent`, is the `GaussianPosterior` head that `ModalityEncoder`
    puts on this backbone.

    Args:
        units: the width of the dense layer (512 in the authors' code).

    Input `(batch, 2500)` (a 50x50x1 canvas flattened row-major, as `kmvae.datasets` gives
    MultiMNIST) or `(batch, 50, 50, 1)`; output `(batch, units)`.

    Example:
        >>> encoder = MultiMNISTImageEncoder()
        >>> encoder(keras.ops.zeros((2, 2500))).shape
        TensorShape([2, 512])
    """

    IMAGE, FILTERS, KERNEL, ACTIVATION = MULTIMNIST_IMAGE, MULTIMNIST_FILTERS, 4, SWISH
    PADDING, INPUTS = MULTIMNIST_CONV_PADDING, "canvases"


@keras.saving.register_keras_serializable(package="kmvae")
class MultiMNISTImageDecoder(CroppedDeconvDecoder):
    """The MVAE authors' MultiMNIST image decoder (section 4.3, their released code): a dense
    layer of 1,024 units with Swish reshaped to a 2x2x256 map, and four transposed convolutions
    of stride 2, cropped as PyTorch's `padding`: 128 filters 4x4 unpadded (2x2 -> 6x6), 64
    filters 4x4 and 32 filters 5x5 with padding 1 (-> 12x12 -> 25x25), each with Swish, and one
    filter 4x4 with padding 1 (-> 50x50) without activation.

    The last convolution gives the Bernoulli logit of each pixel, flattened row-major to
    `(batch, 2500)`: the decoder returns the likelihood's parameters (its class declares
    `returns_parameters = True`, a `Modality`'s default `decoder_output="parameters"`), so the
    likelihood head adds no dense layer after it. Batch normalisation, which the authors put
    after the first three transposed convolutions, is left out as in `MultiMNISTImageEncoder`,
    and the convolutions have biases instead.

    The map is channels-last where PyTorch's is channels-first: the dense layer's outputs are
    the authors' in another order, the same network up to a permutation of its weights.

    Args:
        **kwargs: Keras layer arguments (`name`, `dtype`); the network has no options (its
            first layer takes any latent size).

    Input `(batch, latent_dim)`; output `(batch, 2500)`.

    Example:
        >>> decoder = MultiMNISTImageDecoder()
        >>> decoder(keras.ops.zeros((2, 100))).shape
        TensorShape([2, 2500])
    """

    IMAGE, MAP, ACTIVATION = MULTIMNIST_IMAGE, MULTIMNIST_MAP, SWISH
    DECONVS = MULTIMNIST_DECONVS
