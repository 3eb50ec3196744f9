"""The tf.data pipeline shared by every data set: arrays -> shuffled, batched batch dicts."""

import numpy as np
import tensorflow as tf

from kmvae.datasets.binarize import binarize as binarize_images


def _to_model_dtypes(batch):
    image = batch["image"]
    if image.dtype.is_integer:  # grey values 0..255
        image = tf.cast(image, tf.float32) / 255.0
    else:  # already in [0, 1]
        image = tf.cast(image, tf.float32)
    pixels = int(np.prod(image.shape[1:]))  # static, so the element spec is (None, pixels)
    image = tf.reshape(image, [-1, pixels])
    return {**batch, "image": image, "label": tf.cast(batch["label"], tf.int32)}


def make_dataset(images, labels, *, batch_size, seed=0, shuffle=False, binarize=None,
                 fresh_binarization=True, mask=None, drop_remainder=False):
    """A batched, prefetched `tf.data.Dataset` of `{"image", "label"[, "mask"]}` dicts.

    Args:
        images: `(n, ...)` uint8 grey values 0..255, or floats in [0, 1].
        labels: `(n,)` integer class ids.
        batch_size: examples per batch (the last batch is smaller unless `drop_remainder`).
        seed: seeds the shuffle and the `"sample"` binarisation.
        shuffle: shuffle all n examples, anew each epoch (`reshuffle_each_iteration`),
            the same sequence of orders for the same seed.
        binarize: None, `"threshold"` or `"sample"`; see `kmvae.datasets.binarize.binarize`.
        fresh_binarization: with `"sample"`, a new draw every epoch (else a fixed draw).
        mask: None or bool `(n, num_modalities)`, attached to the examples before shuffling so it
            stays with them.
        drop_remainder: drop the last incomplete batch.

    Returns:
        A dataset whose elements are `{"image": float32 (batch, prod(image shape)),
        "label": int32 (batch,)}` plus `"mask": bool (batch, num_modalities)` when given.
    """
    examples = {"image": np.asarray(images), "label": np.asarray(labels)}
    if mask is not None:
        examples["mask"] = np.asarray(mask, dtype=bool)
    dataset = tf.data.Dataset.from_tensor_slices(examples)
    if shuffle:
        dataset = dataset.shuffle(len(examples["label"]), seed=seed,
                                  reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(_to_model_dtypes, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = binarize_images(dataset, binarize, seed=seed, fresh_each_epoch=fresh_binarization)
    return dataset.prefetch(tf.data.AUTOTUNE)
