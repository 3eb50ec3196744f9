"""The MoPoE authors' PolyMNIST networks (`PolyMNISTEncoder`, `PolyMNISTDecoder`): shapes, the
parameter count of their PyTorch modules, PyTorch's padding pixel for pixel, the Laplace
likelihood read straight from the decoder, and a `.keras` round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import kmvae
from kmvae import Modality
from kmvae.layers import ModalityDecoder, ModalityEncoder, PolyMNISTDecoder, PolyMNISTEncoder
from pytorch_reference import torch_conv, torch_conv_transpose

PIXELS = 28 * 28 * 3


def polymnist_modality(name="m0", units=512):
    return Modality(name, shape=(PIXELS,), likelihood="laplace", scale=0.75,
                    encoder=PolyMNISTEncoder(units=units), decoder=PolyMNISTDecoder())


def conv_params(kernel, c_in, c_out):
    """Weights of a PyTorch `Conv2d` / `ConvTranspose2d` with a bias."""
    return kernel * kernel * c_in * c_out + c_out


def linear_params(n_in, n_out):
    return n_in * n_out + n_out


def test_encoder_maps_flat_or_image_batches_to_a_posterior():
    x = np.random.default_rng(0).uniform(size=(3, PIXELS)).astype("float32")
    encoder = PolyMNISTEncoder(units=32)
    features = encoder(x)
    assert features.shape == (3, 32)
    np.testing.assert_allclose(encoder(x.reshape(3, 28, 28, 3)), features, rtol=1e-6)
    assert np.all(features.numpy() >= 0)                                    # ReLU
    q = ModalityEncoder(polymnist_modality(units=32), latent_dim=6)(x)
    assert q.batch_shape == (3,) and q.event_shape == (6,)
    with pytest.raises(ValueError, match=r"28x28x3 images.*received input shape \(3, 784\)"):
        PolyMNISTEncoder()(np.zeros((3, 784), "float32"))


def test_decoder_returns_the_laplace_locations():
    decoder = PolyMNISTDecoder()
    assert decoder(np.zeros((3, 8), "float32")).shape == (3, PIXELS)
    likelihood = ModalityDecoder(polymnist_modality(), latent_dim=8)
    assert likelihood.head.dense is None                  # no 2352 x 2352 projection after it
    z = np.random.default_rng(1).normal(size=(2, 3, 8)).astype("float32")
    p = likelihood(z)
    assert p.batch_shape == (2, 3) and p.event_shape == (PIXELS,)
    base = p.distribution
    assert isinstance(base, tfp.distributions.Laplace)
    np.testing.assert_allclose(base.scale, 0.75)
    locations = likelihood.backbone(z.reshape(6, 8)).numpy().reshape(2, 3, PIXELS)
    np.testing.assert_allclose(likelihood.mean(z), locations, rtol=1e-6)


def test_parameter_counts_are_the_authors_pytorch_modules():
    # mmnist/networks/ConvNetworksImgCMNIST.py, latent 512 (class_dim 512, style_dim 0):
    # EncoderImg = three convolutions, Linear(2048, 512), class_mu and class_logvar
    # (Linear(512, 512) each); DecoderImg = Linear(512, 2048) and three transposed convolutions.
    encoder = (conv_params(3, 3, 32) + conv_params(3, 32, 64) + conv_params(3, 64, 128)
               + linear_params(128 * 4 * 4, 512) + 2 * linear_params(512, 512))
    decoder = (linear_params(512, 128 * 4 * 4) + conv_params(3, 128, 64)
               + conv_params(3, 64, 32) + conv_params(3, 32, 3))
    modality = polymnist_modality()
    q, p = ModalityEncoder(modality, 512), ModalityDecoder(modality, 512)
    q.build(), p.build()
    assert (q.count_params(), p.count_params()) == (encoder, decoder) == (1_667_648, 1_143_747)


def relu(x):
    return np.maximum(x, 0)


def test_networks_pad_and_crop_as_pytorch():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(2, 28, 28, 3)).astype("float32")
    encoder = PolyMNISTEncoder(units=16)
    encoder(x)
    h = x.astype(np.float64)
    for conv in encoder.convs:                                       # 28 -> 14 -> 7 -> 4
        h = relu(torch_conv(h, *conv.get_weights(), stride=2, padding=1))
    assert h.shape == (2, 4, 4, 128)
    expected = relu(h.reshape(2, -1) @ encoder.dense.kernel.numpy() + encoder.dense.bias.numpy())
    np.testing.assert_allclose(encoder(x), expected, rtol=1e-4, atol=1e-4)

    z = rng.normal(size=(2, 5)).astype("float32")
    decoder = PolyMNISTDecoder()
    decoder(z)
    h = relu(z @ decoder.dense.kernel.numpy() + decoder.dense.bias.numpy()).reshape(2, 4, 4, 128)
    for i, (deconv, output_padding) in enumerate(zip(decoder.deconvs, (0, 1, 1))):  # -> 7, 14, 28
        h = torch_conv_transpose(h, *deconv.get_weights(), stride=2, padding=1,
                                 output_padding=output_padding)
        h = relu(h) if i < 2 else h
    assert h.shape == (2, 28, 28, 3)
    np.testing.assert_allclose(decoder(z), h.reshape(2, -1), rtol=1e-4, atol=1e-4)


def test_config_and_mixed_precision():
    encoder = PolyMNISTEncoder(units=64, name="enc")
    assert PolyMNISTEncoder.from_config(encoder.get_config()).get_config() == \
        encoder.get_config()
    assert encoder.get_config()["units"] == 64
    decoder = PolyMNISTDecoder(name="dec")
    assert PolyMNISTDecoder.from_config(decoder.get_config()).get_config() == \
        decoder.get_config()
    half = PolyMNISTDecoder(dtype="mixed_bfloat16")
    assert half(np.zeros((2, 4), "float32")).dtype == tf.bfloat16
    assert half.dense.kernel.dtype == tf.float32


def test_keras_round_trip_of_a_model_with_the_polymnist_networks(tmp_path):
    modalities = [polymnist_modality("m0", units=8), polymnist_modality("m1", units=8)]
    model = kmvae.MoPoEVAE(modalities, 4, beta=2.5)
    rng = np.random.default_rng(3)
    batch = {"m0": rng.uniform(size=(3, PIXELS)).astype("float32"),
             "m1": rng.uniform(size=(3, PIXELS)).astype("float32"),
             "mask": np.array([[1, 1], [1, 0], [0, 1]], bool)}
    outputs = model(batch)
    path = tmp_path / "polymnist.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config() == model.get_config()
    assert [type(e.backbone) for e in loaded.encoders] == [PolyMNISTEncoder] * 2
    assert [type(d.backbone) for d in loaded.decoders] == [PolyMNISTDecoder] * 2
    assert loaded.decoders[0].head.dense is None
    reloaded = loaded(batch)
    for key in outputs:
        np.testing.assert_array_equal(outputs[key], reloaded[key], err_msg=key)
    for w, w_loaded in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(w, w_loaded)


@pytest.mark.parametrize("make, shape", [
    (lambda: PolyMNISTEncoder(units=8), (PIXELS,)), (PolyMNISTDecoder, (4,)),
    (lambda: kmvae.layers.ConvEncoder((8, 8, 1), filters=(2, 4), units=8), (64,)),
    (lambda: kmvae.layers.ConvDecoder((8, 8, 1), filters=(4, 2), units=8), (4,))])
def test_built_from_shapes_alone_each_network_has_all_its_weights(make, shape, tmp_path):
    """Keras builds a `Sequential` with an `Input` from shapes (as `load_model` does): every
    convolution and dense layer inside the network gets its weights then, so a saved network
    (e.g. a coherence oracle) loads with them."""
    network = make()
    network.build((None,) + shape)
    x = np.random.default_rng(0).uniform(size=(2,) + shape).astype("float32")
    built = [w.shape for w in network.weights]
    called = make()
    called(x)
    assert built and built == [w.shape for w in called.weights]      # as a call builds it
    model = keras.Sequential([keras.Input(shape), make()])
    model.save(tmp_path / "network.keras")
    loaded = keras.saving.load_model(tmp_path / "network.keras")
    np.testing.assert_array_equal(loaded(x), model(x))
