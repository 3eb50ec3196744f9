"""Importance-weighted bounds shared by MMVAE and MSNVI: masked log-mean-exp, stratified log
weights, and the doubly reparameterised gradient surrogate.

Shapes: K importance samples, B examples, S sample groups (one per present source, the
"stratified" samples of MMVAE), D latent dimensions. Log weights are float32 nats.
"""

import math

import numpy as np
import tensorflow as tf


def check_num_samples(num_samples):
    """`num_samples`, K, the number of importance samples of a training bound, as an int.

    Raises:
        ValueError: anything but an int >= 1 (a bool included).
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) \
            or num_samples < 1:
        raise ValueError(f"num_samples must be an int >= 1; received {num_samples!r}.")
    return int(num_samples)


def masked_log_mean_exp(values, valid, axis):
    """`log mean exp` of `values` over `axis`, counting only `valid` entries.

    Args:
        values: float32 tensor; valid: bool, broadcastable to `values`; axis: int or tuple.

    Returns:
        The reduced tensor; `-inf` where no entry is valid.
    """
    valid = tf.broadcast_to(valid, tf.shape(values))
    total = tf.reduce_logsumexp(tf.where(valid, values, -math.inf), axis=axis)
    count = tf.reduce_sum(tf.cast(valid, values.dtype), axis=axis)
    return tf.where(count > 0, total - tf.math.log(tf.maximum(count, 1.0)), -math.inf)


def normalized_weights(log_weights, valid, axis):
    """Self-normalised importance weights `w_k / sum_j w_j` over `axis` (0 where not valid)."""
    valid = tf.broadcast_to(valid, tf.shape(log_weights))
    masked = tf.where(valid, log_weights, -math.inf)
    normalizer = tf.reduce_logsumexp(masked, axis=axis, keepdims=True)
    finite = tf.where(tf.math.is_finite(normalizer), normalizer, 0.0)
    return tf.where(valid, tf.exp(masked - finite), 0.0)


def sample_log_likelihoods(decoders, x, mask, z, modalities=None):
    """`log p(x_n | z)` of every present modality n at every sample of `z`.

    Args:
        decoders: the model's `ModalityDecoder`s; x: M tensors `(B,) + shape_n`; mask: `(B, M)`
            bool.
        z: `(K, B, S, D)` samples, S sample groups per example (e.g. one per source).
        modalities: the indices n to evaluate (default all); the others give None.

    Returns:
        A list of M entries: `(K, B, S)` float32 nats, 0 where modality n is missing, or None.
    """
    z_by_group = tf.transpose(z, [0, 2, 1, 3])                          # (K, S, B, D)
    chosen = range(len(decoders)) if modalities is None else modalities
    out = [None] * len(decoders)
    for n in chosen:
        values = tf.transpose(decoders[n](z_by_group).log_prob(x[n]), [0, 2, 1])  # (K, B, S)
        out[n] = tf.where(mask[None, :, n, None], values, 0.0)
    return out


def dreg_surrogate(log_weights, valid, z, log_weights_grad_z, axis):
    """The doubly reparameterised gradient surrogate of an IWAE bound (Tucker et al. 2019,
    eq. 5-6), used by MMVAE's `"dreg"` objectives (Shi et al. 2019).

    The returned value is 0, and its gradient is
    `sum_k w~_k d log w_k / d theta + sum_k w~_k^2 (d log w_k / d z_k) d z_k / d phi`
    with `w~` the normalised weights over `axis`: the IWAE gradient for the generative model and
    the DReG estimator for the inference network, provided `log_weights` were computed from a
    stopped `z` and a proposal density with stopped parameters.

    Args:
        log_weights: `(K, ..., B)` log weights computed at `stop_gradient(z)`.
        valid: bool, broadcastable to `log_weights`.
        z: the reparameterised samples, `log_weights.shape + (D,)`, carrying phi's gradient.
        log_weights_grad_z: `d log_weights / d z` at the stopped z, the shape of `z`.
        axis: the axis (or axes) the bound normalises over.

    Returns:
        `log_weights.shape` with `axis` reduced: zero-valued surrogates per group.
    """
    weights = tf.stop_gradient(normalized_weights(log_weights, valid, axis))
    generative = weights * log_weights
    inference = tf.reduce_sum(
        tf.stop_gradient(weights[..., None] ** 2 * log_weights_grad_z) * z, axis=-1)
    surrogate = tf.reduce_sum(tf.where(tf.broadcast_to(valid, tf.shape(log_weights)),
                                       generative + inference, 0.0), axis=axis)
    return surrogate - tf.stop_gradient(surrogate)
