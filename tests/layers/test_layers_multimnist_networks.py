"""The MVAE authors' MultiMNIST image networks (`MultiMNISTImageEncoder`,
`MultiMNISTImageDecoder`, MVAE section 4.3): shapes, PyTorch's padding and cropping pixel for
pixel (50 -> 25 -> 12 -> 6 -> 2 and back), the Bernoulli logits read straight from the decoder,
configs; and the four MultiMNIST networks, image and text (`kmvae.layers.text`), built from
shapes alone, saved and loaded."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae import Modality
from kmvae.layers import (GRUTextDecoder, GRUTextEncoder, ModalityDecoder, ModalityEncoder,
                          MultiMNISTImageDecoder, MultiMNISTImageEncoder)
from pytorch_reference import torch_conv, torch_conv_transpose

PIXELS = 50 * 50


def image_modality(units=512):
    return Modality("image", shape=(PIXELS,), likelihood="bernoulli",
                    encoder=MultiMNISTImageEncoder(units=units), decoder=MultiMNISTImageDecoder())


def swish(x):
    return x / (1 + np.exp(-x))


def test_encoder_maps_flat_or_image_canvases_to_a_posterior():
    x = np.random.default_rng(0).uniform(size=(3, PIXELS)).astype("float32")
    encoder = MultiMNISTImageEncoder(units=32)
    features = encoder(x)
    assert features.shape == (3, 32)
    np.testing.assert_allclose(encoder(x.reshape(3, 50, 50, 1)), features, rtol=1e-6)
    q = ModalityEncoder(image_modality(units=32), latent_dim=6)(x)
    assert q.batch_shape == (3,) and q.event_shape == (6,)
    with pytest.raises(ValueError, match=r"50x50x1 canvases.*received input shape \(3, 784\)"):
        MultiMNISTImageEncoder()(np.zeros((3, 784), "float32"))


def test_decoder_returns_the_bernoulli_logits_of_every_pixel():
    decoder = MultiMNISTImageDecoder()
    assert decoder(np.zeros((3, 8), "float32")).shape == (3, PIXELS)
    likelihood = ModalityDecoder(image_modality(), latent_dim=8)
    assert likelihood.head.dense is None                  # no 2500 x 2500 projection after it
    z = np.random.default_rng(1).normal(size=(2, 3, 8)).astype("float32")
    p = likelihood(z)
    assert p.batch_shape == (2, 3) and p.event_shape == (PIXELS,)
    assert isinstance(p.distribution, tfp.distributions.Bernoulli)
    logits = likelihood.backbone(z.reshape(6, 8)).numpy().reshape(2, 3, PIXELS)
    np.testing.assert_allclose(likelihood.mean(z), 1 / (1 + np.exp(-logits)), rtol=1e-5,
                               atol=1e-6)


def test_networks_pad_and_crop_as_the_authors_pytorch_modules():
    """multimnist/model.py: Conv2d(4, stride 2, padding 1, 1, 1, 0) and ConvTranspose2d
    (kernels 4, 4, 5, 4, stride 2, padding 0, 1, 1, 1), Swish between them."""
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(2, 50, 50, 1)).astype("float32")
    encoder = MultiMNISTImageEncoder(units=16)
    encoder(x)
    h = x.astype(np.float64)
    sizes = []
    for conv, padding in zip(encoder.convs, (1, 1, 1, 0)):
        h = swish(torch_conv(h, *conv.get_weights(), stride=2, padding=padding))
        sizes.append(h.shape[1])
    assert sizes == [25, 12, 6, 2] and h.shape == (2, 2, 2, 256)
    expected = swish(h.reshape(2, -1) @ encoder.dense.kernel.numpy()
                     + encoder.dense.bias.numpy())
    np.testing.assert_allclose(encoder(x), expected, rtol=1e-4, atol=1e-4)

    z = rng.normal(size=(2, 5)).astype("float32")
    decoder = MultiMNISTImageDecoder()
    decoder(z)
    h = swish(z @ decoder.dense.kernel.numpy() + decoder.dense.bias.numpy()).reshape(2, 2, 2, 256)
    sizes = []
    for i, (deconv, padding) in enumerate(zip(decoder.deconvs, (0, 1, 1, 1))):
        h = torch_conv_transpose(h, *deconv.get_weights(), stride=2, padding=padding)
        h = swish(h) if i < 3 else h
        sizes.append(h.shape[1])
    assert sizes == [6, 12, 25, 50] and h.shape == (2, 50, 50, 1)
    np.testing.assert_allclose(decoder(z), h.reshape(2, -1), rtol=1e-4, atol=1e-4)


def test_config_and_mixed_precision():
    encoder = MultiMNISTImageEncoder(units=64, name="enc")
    assert encoder.get_config()["units"] == 64
    assert MultiMNISTImageEncoder.from_config(encoder.get_config()).get_config() == \
        encoder.get_config()
    decoder = MultiMNISTImageDecoder(name="dec")
    assert MultiMNISTImageDecoder.from_config(decoder.get_config()).get_config() == \
        decoder.get_config()
    half = MultiMNISTImageDecoder(dtype="mixed_bfloat16")
    assert half(np.zeros((2, 4), "float32")).dtype == tf.bfloat16
    assert half.dense.kernel.dtype == tf.float32


@pytest.mark.parametrize("make, shape, dtype", [
    (lambda: MultiMNISTImageEncoder(units=8), (PIXELS,), "float32"),
    (MultiMNISTImageDecoder, (4,), "float32"),
    (lambda: GRUTextEncoder(13, embedding_dim=5, units=7), (6,), "int32"),
    (lambda: GRUTextDecoder(6, 13, units=7), (4,), "float32")])
def test_built_from_shapes_alone_each_network_has_all_its_weights(make, shape, dtype, tmp_path):
    """Keras builds a `Sequential` with an `Input` from shapes (as `load_model` does): every
    layer inside the network gets its weights then, and the saved network loads with them."""
    network = make()
    network.build((None,) + shape)
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 13, (2,) + shape) if dtype == "int32"
         else rng.uniform(size=(2,) + shape)).astype(dtype)
    built = [w.shape for w in network.weights]
    called = make()
    called(x)
    assert built and built == [w.shape for w in called.weights]      # as a call builds it
    model = keras.Sequential([keras.Input(shape, dtype=dtype), make()])
    model.save(tmp_path / "network.keras")
    loaded = keras.saving.load_model(tmp_path / "network.keras")
    np.testing.assert_array_equal(loaded(x), model(x))
