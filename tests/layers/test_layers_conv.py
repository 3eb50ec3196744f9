"""`kmvae.layers.Conv2D` (im2col and one matrix product) against a direct numpy convolution and
against `keras.layers.Conv2D`: outputs, output shapes, gradients under XLA, fallbacks and a
save / load round trip."""

import numpy as np
import pytest
import keras
import tensorflow as tf

from kmvae.layers import Conv2D
from kmvae.layers.conv import conv2d_patches

# (height, width, c_in, filters, kernel, stride, padding): odd and even sizes, the SVAE part
# encoder's 4x4 / stride 2 on 14- and 9-row parts, stride 1, "valid".
CASES = [(14, 28, 1, 4, 4, 2, "same"), (9, 28, 1, 3, 4, 2, "same"), (4, 7, 5, 6, 4, 2, "same"),
         (5, 6, 3, 2, 3, 2, "same"), (7, 8, 2, 3, 3, 1, "same"), (9, 9, 2, 3, 3, 2, "valid"),
         (6, 5, 2, 2, 2, 3, "valid")]


def numpy_conv2d(x, kernel, stride, padding):
    """Direct cross-correlation, one output position at a time, with TensorFlow's padding rule
    (for "same": output ceil(n / s), the odd pixel of padding after)."""
    b, h, w, _ = x.shape
    k, f = kernel.shape[0], kernel.shape[-1]
    if padding == "same":
        oh, ow = -(-h // stride), -(-w // stride)
        ph = max((oh - 1) * stride + k - h, 0)
        pw = max((ow - 1) * stride + k - w, 0)
        x = np.pad(x, [(0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)])
    else:
        oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((b, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            window = x[:, i * stride:i * stride + k, j * stride:j * stride + k, :]
            out[:, i, j, :] = np.einsum("bklc,klcf->bf", window, kernel)
    return out


@pytest.mark.parametrize("h, w, c, f, k, s, padding", CASES)
def test_patches_equal_a_direct_convolution(h, w, c, f, k, s, padding):
    rng = np.random.default_rng(h * w + k)
    x = rng.normal(size=(2, h, w, c)).astype(np.float32)
    kernel = rng.normal(size=(k, k, c, f)).astype(np.float32)
    got = conv2d_patches(tf.constant(x), tf.constant(kernel), (s, s), padding).numpy()
    np.testing.assert_allclose(got, numpy_conv2d(x.astype(np.float64), kernel, s, padding),
                               rtol=1e-4, atol=1e-4)


def twin_layers(f, k, s, padding, x, **options):
    """A Keras Conv2D and a kmvae Conv2D with the same configuration and weights."""
    reference = keras.layers.Conv2D(f, k, strides=s, padding=padding, activation="relu",
                                    **options)
    layer = Conv2D(f, k, strides=s, padding=padding, activation="relu", **options)
    reference(x), layer(x)
    layer.set_weights(reference.get_weights())
    return reference, layer


@pytest.mark.parametrize("h, w, c, f, k, s, padding", CASES)
def test_layer_matches_keras_with_gradients_under_xla(h, w, c, f, k, s, padding):
    x = tf.constant(np.random.default_rng(1).normal(size=(3, h, w, c)).astype(np.float32))
    reference, layer = twin_layers(f, k, s, padding, x)

    @tf.function(jit_compile=True)
    def value_and_gradients(conv):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = conv(x)
            loss = tf.reduce_sum(tf.square(y) * tf.range(1.0, f + 1.0))
        return y, tape.gradient(loss, [x, *conv.trainable_variables])

    y_ref, g_ref = value_and_gradients(reference)
    y, g = value_and_gradients(layer)
    assert y.shape == y_ref.shape
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4)
    for got, expected in zip(g, g_ref):
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)


def test_dilated_convolution_falls_back_to_keras():
    x = tf.constant(np.random.default_rng(2).normal(size=(2, 9, 9, 2)).astype(np.float32))
    reference, layer = twin_layers(3, 3, 1, "same", x, dilation_rate=2)
    np.testing.assert_allclose(layer(x), reference(x), rtol=1e-5, atol=1e-5)


def test_saved_model_keeps_the_layer_and_its_outputs(tmp_path):
    x = np.random.default_rng(3).normal(size=(4, 14, 28, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((14, 28, 1)),
                              Conv2D(8, 4, strides=2, padding="same", activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    path = tmp_path / "conv.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.layers[0]) is Conv2D
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
