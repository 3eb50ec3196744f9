"""Distribution heads, modality encoders / decoders and backbones against scipy / numpy."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from kmvae import Modality
from kmvae.layers import (ConvDecoder, ConvEncoder, GaussianPosterior, LikelihoodHead,
                          ModalityDecoder, ModalityEncoder, default_decoder, default_encoder)

RNG = np.random.default_rng(0)


def head_params(head):
    kernel, bias = (w.numpy() for w in head.dense.weights)
    return kernel, bias


def test_gaussian_posterior_is_affine_mean_and_softplus_scale():
    head = GaussianPosterior(3)
    features = RNG.normal(size=(4, 5)).astype("float32")
    q = head(features)
    kernel, bias = head_params(head)
    out = features @ kernel + bias
    assert q.batch_shape == (4,) and q.event_shape == (3,)
    np.testing.assert_allclose(q.mean(), out[:, :3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q.stddev(), np.logaddexp(0.0, out[:, 3:]) + 1e-6, rtol=1e-5)
    z = RNG.normal(size=(4, 3)).astype("float32")
    expected = stats.norm.logpdf(z, out[:, :3], np.logaddexp(0.0, out[:, 3:]) + 1e-6).sum(-1)
    np.testing.assert_allclose(q.log_prob(z), expected, rtol=1e-5)


def test_bernoulli_head_accepts_grey_values():
    head = LikelihoodHead((2, 3), "bernoulli")
    features = RNG.normal(size=(4, 6)).astype("float32")
    p = head(features)
    assert p.batch_shape == (4,) and p.event_shape == (2, 3)
    kernel, bias = head_params(head)
    logits = (features @ kernel + bias).reshape(4, 2, 3)
    x = RNG.uniform(size=(4, 2, 3)).astype("float32")
    expected = (x * special.log_expit(logits) + (1 - x) * special.log_expit(-logits)).sum((1, 2))
    np.testing.assert_allclose(p.log_prob(x), expected, rtol=1e-5)
    np.testing.assert_allclose(head.mean(p), special.expit(logits), rtol=1e-5)


def test_categorical_head():
    head = LikelihoodHead((), "categorical", num_classes=4)
    features = RNG.normal(size=(5, 6)).astype("float32")
    p = head(features)
    kernel, bias = head_params(head)
    logits = features @ kernel + bias
    x = np.array([0, 3, 1, 2, 3], np.int32)
    expected = special.log_softmax(logits, -1)[np.arange(5), x]
    np.testing.assert_allclose(p.log_prob(x), expected, rtol=1e-5)
    np.testing.assert_allclose(head.mean(p), special.softmax(logits, -1), rtol=1e-5)


@pytest.mark.parametrize("likelihood,scipy_dist", [("normal", stats.norm),
                                                   ("laplace", stats.laplace)])
def test_location_scale_heads(likelihood, scipy_dist):
    head = LikelihoodHead((3,), likelihood, scale=0.75)
    features = RNG.normal(size=(4, 6)).astype("float32")
    p = head(features)
    kernel, bias = head_params(head)
    loc = features @ kernel + bias
    x = RNG.normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(p.log_prob(x), scipy_dist.logpdf(x, loc, 0.75).sum(-1), rtol=1e-5)
    np.testing.assert_allclose(head.mean(p), loc, rtol=1e-5, atol=1e-6)


def test_learned_scale_is_trainable_and_used():
    head = LikelihoodHead((3,), "normal", scale="learned")
    features = RNG.normal(size=(4, 6)).astype("float32")
    head(features)
    assert any("log_scale" in w.path for w in head.trainable_weights)
    head.log_scale.assign(np.log([0.5, 1.0, 2.0]).astype("float32"))
    p = head(features)
    kernel, bias = head_params(head)
    x = RNG.normal(size=(4, 3)).astype("float32")
    expected = stats.norm.logpdf(x, features @ kernel + bias, [0.5, 1.0, 2.0]).sum(-1)
    np.testing.assert_allclose(p.log_prob(x), expected, rtol=1e-5)


def test_modality_decoder_keeps_leading_axes():
    modality = Modality("x", shape=(2, 3), likelihood="bernoulli",
                        decoder=keras.Sequential([keras.layers.Dense(8, activation="tanh")]))
    decoder = ModalityDecoder(modality, latent_dim=4)
    z = RNG.normal(size=(5, 7, 4)).astype("float32")
    p = decoder(z)
    assert p.batch_shape == (5, 7) and p.event_shape == (2, 3)
    flat = decoder(z.reshape(35, 4))
    np.testing.assert_allclose(p.log_prob(np.full((5, 7, 2, 3), 0.5, np.float32)).numpy().ravel(),
                               flat.log_prob(np.full((35, 2, 3), 0.5, np.float32)), rtol=1e-5)
    assert decoder.mean(z).shape == (5, 7, 2, 3)


def test_modality_encoder_and_decoder_clone_the_backbone():
    backbone = keras.Sequential([keras.layers.Dense(8, activation="tanh")])
    modality = Modality("x", shape=(3,), encoder=backbone)
    first, second = ModalityEncoder(modality, 2), ModalityEncoder(modality, 2)
    first.build(), second.build()
    assert first.backbone is not second.backbone and first.backbone is not backbone
    assert not np.allclose(first.backbone.weights[0].numpy(), second.backbone.weights[0].numpy())
    q = first(np.zeros((4, 3), np.float32))
    assert q.batch_shape == (4,) and q.event_shape == (2,)


def test_default_networks_follow_mvae_section_4_1():
    label = Modality("label", num_classes=10, likelihood="categorical")
    image = Modality("image", shape=(28, 28))
    encoder = default_encoder(label)
    assert encoder(np.array([1, 2], np.int32)).shape == (2, 512)
    assert default_encoder(image)(np.zeros((2, 28, 28), np.float32)).shape == (2, 512)
    assert default_decoder(image)(np.zeros((2, 4), np.float32)).shape == (2, 512)
    dense = [layer for layer in default_decoder(image).layers]
    assert [layer.units for layer in dense] == [512, 512]
    assert all(layer.activation.__name__ == "silu" for layer in dense)


def test_conv_backbones_shapes_and_parameters():
    encoder = ConvEncoder(image_shape=(8, 8, 1), filters=(4, 8), units=16)
    assert encoder(np.zeros((3, 64), np.float32)).shape == (3, 16)
    assert encoder(np.zeros((3, 8, 8, 1), np.float32)).shape == (3, 16)
    decoder = ConvDecoder(image_shape=(8, 8, 1), filters=(8, 4), units=16)
    assert decoder(np.zeros((3, 2), np.float32)).shape == (3, 64)
    modality = Modality("image", shape=(64,), encoder=ConvEncoder((8, 8, 1), (4, 8), 16),
                        decoder=ConvDecoder((8, 8, 1), (8, 4), 16))
    head = ModalityDecoder(modality, 2).head
    assert head.dense is None  # the decoder returns the logits itself
    with pytest.raises(ValueError, match="divisible by 4"):
        ConvDecoder(image_shape=(6, 8, 1))


@pytest.mark.parametrize("kwargs,match", [
    ({"name": "mask", "shape": (2,)}, "other than 'mask'"),
    ({"name": "x", "shape": (2,), "likelihood": "poisson"}, "unknown likelihood 'poisson'"),
    ({"name": "x", "likelihood": "categorical"}, "needs num_classes"),
    ({"name": "x", "likelihood": "categorical", "num_classes": 1}, "needs num_classes"),
    ({"name": "x", "shape": (2,), "num_classes": 3}, "num_classes is only for a categorical"),
    ({"name": "x"}, "shape is required"),
    ({"name": "x", "shape": (0, 2)}, "shape must be positive ints"),
    ({"name": "x", "shape": (2,), "likelihood": "normal", "scale": -1.0}, "scale must be"),
])
def test_modality_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Modality(**kwargs)


def test_modality_rejects_a_non_layer_backbone():
    with pytest.raises(TypeError, match="Keras layers"):
        Modality("x", shape=(2,), encoder=lambda x: x)


def test_modality_data_dimension_counts_one_hot_size():
    assert Modality("x", shape=(4, 5)).data_dimension == 20
    assert Modality("y", num_classes=10, likelihood="categorical").data_dimension == 10
    assert Modality("s", shape=(3,), num_classes=7, likelihood="categorical").data_dimension == 21
    assert Modality("y", num_classes=10, likelihood="categorical").dtype == "int32"


def test_decoder_reshape_is_tf_function_safe():
    modality = Modality("x", shape=(3,), likelihood="normal",
                        decoder=keras.Sequential([keras.layers.Dense(8)]))
    decoder = ModalityDecoder(modality, 2)

    @tf.function(input_signature=[tf.TensorSpec((None, None, 2), tf.float32)])
    def log_prob(z):
        return decoder(z).log_prob(tf.zeros(tf.concat([tf.shape(z)[:-1], [3]], 0)))

    assert log_prob(tf.zeros((4, 6, 2))).shape == (4, 6)
