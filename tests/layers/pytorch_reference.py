"""PyTorch's convolutions written out in numpy, channels-last: the reference the ports of the
papers' PyTorch networks (`PolyMNISTEncoder` / `Decoder`, `MultiMNISTImageEncoder` / `Decoder`)
are checked against pixel for pixel."""

import numpy as np


def torch_conv(x, kernel, bias, stride, padding):
    """PyTorch's `Conv2d` on channels-last arrays: zero padding on every side, then the
    cross-correlation; `kernel` in Keras's layout `(k, k, c_in, c_out)`."""
    x = np.pad(x, [(0, 0), (padding, padding), (padding, padding), (0, 0)])
    k = kernel.shape[0]
    oh, ow = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, kernel.shape[-1]))
    for i in range(oh):
        for j in range(ow):
            window = x[:, i * stride:i * stride + k, j * stride:j * stride + k, :]
            out[:, i, j] = np.einsum("bklc,klcf->bf", window, kernel)
    return out + bias


def torch_conv_transpose(x, kernel, bias, stride, padding, output_padding=0):
    """PyTorch's `ConvTranspose2d` on channels-last arrays: every input pixel adds the kernel
    times its value at `stride` times its position, `padding` is cut from each side and
    `output_padding` given back at the end; `kernel` in Keras's layout `(k, k, c_out, c_in)`."""
    b, h, w, _ = x.shape
    k = kernel.shape[0]
    full = np.zeros((b, (h - 1) * stride + k, (w - 1) * stride + k, kernel.shape[2]))
    for i in range(h):
        for j in range(w):
            full[:, i * stride:i * stride + k, j * stride:j * stride + k] += np.einsum(
                "bc,klfc->bklf", x[:, i, j], kernel)
    end = -padding + output_padding
    return full[:, padding:end or None, padding:end or None] + bias
