"""A strided convolution computed as one matrix product, for XLA on CPU.

XLA's CPU backend runs the gradient of a strided convolution as a dilated convolution, which it
has no fast kernel for. It is slowest where the output map is small and deep: in SVAE's
Table F.7 part encoder (4x4 / stride-2 convolutions down to a 2 x 4 x 256 map) forward and
backward took 8 times the forward pass alone (507 against 64 ms at batch 100).

`Conv2D` here is `keras.layers.Conv2D` (same arguments, weights and results) whose convolution
is the kernel's `kh * kw` strided slices of the padded input, concatenated along channels
("im2col"), times the kernel reshaped to `(kh * kw * c_in, filters)`.
Slices, pads and matrix products have fast gradients: the same encoder's forward and backward
take 197 ms, about 3 times its forward pass.

It is not faster everywhere: on large maps (MVAE's DCGAN encoder on 28 x 28 images) Keras's
convolution is quicker, so kmvae uses it only where `benchmarks/conv_step.py` measures a gain
(the SVAE recipes' part encoders). Layouts other than `channels_last` without dilation or
groups, and GPUs (where cuDNN is fast), use Keras's own convolution.
"""

import keras
import tensorflow as tf


def _same_padding(size, kernel, stride):
    """TensorFlow's "same" padding of one axis: `(output size, pad before, pad after)`."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def conv2d_patches(x, kernel, strides, padding):
    """`tf.nn.conv2d(x, kernel, strides, padding)` as im2col and one matrix product.

    Args:
        x: `(batch, height, width, c_in)`, static height and width.
        kernel: `(kh, kw, c_in, filters)`.
        strides: `(sh, sw)`.
        padding: `"same"` or `"valid"`.

    Returns:
        `(batch, out_h, out_w, filters)`, TensorFlow's output sizes for `padding`.
    """
    (kh, kw), (sh, sw) = kernel.shape[:2], strides
    h, w = x.shape[1], x.shape[2]
    if padding == "same":
        oh, top, bottom = _same_padding(h, kh, sh)
        ow, left, right = _same_padding(w, kw, sw)
        x = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
    else:
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = [x[:, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw, :]
            for i in range(kh) for j in range(kw)]
    patches = tf.concat(cols, axis=-1)                                # (b, oh, ow, kh*kw*c_in)
    return tf.einsum("bhwk,kf->bhwf", patches, tf.reshape(kernel, (-1, kernel.shape[-1])))


def _use_patches(layer, inputs):
    return (layer.data_format == "channels_last" and tuple(layer.dilation_rate) == (1, 1)
            and getattr(layer, "groups", 1) == 1 and None not in inputs.shape[1:3]
            and not tf.config.list_logical_devices("GPU"))


@keras.saving.register_keras_serializable(package="kmvae")
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` whose convolution is im2col and one matrix product
    (`conv2d_patches`), fast to differentiate under XLA on CPU. Same arguments, weights, inputs
    `(batch, height, width, c_in)` and outputs `(batch, out_h, out_w, filters)` as Keras's
    layer; see the module docstring for when it falls back to Keras's convolution."""

    def convolution_op(self, inputs, kernel):
        if not _use_patches(self, inputs):
            return super().convolution_op(inputs, kernel)
        return conv2d_patches(inputs, kernel, self.strides, self.padding)
