"""The tf.data pipeline shared by every data set: arrays -> shuffled, batched batch dicts."""

import numpy as np
import tensorflow as tf

from kmvae.datasets.binarize import binarize as binarize_images


def _converter(spec):
    """A per-batch function casting each entry to the dtype and shape `spec` declares."""
    def convert(batch):
        out = dict(batch)
        for key, value in batch.items():
            if key == "mask":
                continue
            if key not in spec or spec[key].get("likelihood") == "categorical":
                out[key] = tf.cast(value, tf.int32)
                continue
            if value.dtype == tf.uint8:  # grey values 0..255
                value = tf.cast(value, tf.float32) / 255.0
            out[key] = tf.reshape(tf.cast(value, tf.float32), [-1, *spec[key]["shape"]])
        return out
    return convert


def make_dataset(arrays, spec, *, batch_size, seed=0, shuffle=False, binarize=None,
                 binarize_keys=(), fresh_binarization=True, mask=None, transform=None,
                 drop_remainder=False):
    """A batched, prefetched `tf.data.Dataset` of batch dicts built from in-memory arrays.

    Args:
        arrays: dict name -> array `(n, ...)`, all with the same n. A name in `spec` with a
            non-categorical likelihood becomes float32 reshaped to `(batch,) + spec shape`
            (uint8 grey values 0..255 are divided by 255); categorical modalities and names not
            in `spec` (e.g. an evaluation-only `"label"`) become int32.
        spec: dict modality name -> `{"shape": ..., "likelihood": ..., ...}` (as
            `kmvae.datasets.spec`).
        batch_size: examples per batch (the last batch is smaller unless `drop_remainder`).
        seed: seeds the shuffle, the `"sample"` binarisation and `transform`'s draws.
        shuffle: shuffle all n examples, anew each epoch (`reshuffle_each_iteration`),
            the same sequence of orders for the same seed.
        binarize: None, `"threshold"` or `"sample"`; see `kmvae.datasets.binarize.binarize`.
        binarize_keys: the entries binarised (each draw independent).
        fresh_binarization: with `"sample"`, a new draw every epoch (else a fixed draw); also
            whether `transform`'s seeds change each epoch.
        mask: None or bool `(n, num_modalities)`, attached to the examples before shuffling so it
            stays with them.
        transform: None or `f(batch, seed) -> batch`, applied to each converted, binarised batch
            with an int64 scalar seed tensor drawn from `tf.data.Dataset.random(seed)` (for
            stochastic views such as MNIST-NO's bit flips; use `tf.random.stateless_*`).
        drop_remainder: drop the last incomplete batch.

    Returns:
        A dataset of dicts with the entries of `arrays` (after `transform`) plus
        `"mask": bool (batch, num_modalities)` when given.

    Raises:
        ValueError: arrays of different lengths.
    """
    examples = {key: np.asarray(value) for key, value in arrays.items()}
    lengths = {key: len(value) for key, value in examples.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"All arrays must have the same number of examples; received {lengths}.")
    if mask is not None:
        examples["mask"] = np.asarray(mask, dtype=bool)
    count = next(iter(lengths.values()))
    dataset = tf.data.Dataset.from_tensor_slices(examples)
    if shuffle:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(_converter(spec), num_parallel_calls=tf.data.AUTOTUNE)
    for index, key in enumerate(binarize_keys):  # a different stream of draws per entry
        dataset = binarize_images(dataset, binarize, key=key, seed=seed + 7919 * index,
                                  fresh_each_epoch=fresh_binarization)
    if transform is not None:
        seeds = tf.data.Dataset.random(seed=seed + 1,
                                       rerandomize_each_iteration=fresh_binarization)
        dataset = tf.data.Dataset.zip((dataset, seeds)).map(
            transform, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
