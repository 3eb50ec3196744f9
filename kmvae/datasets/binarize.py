"""Binarisation of grey-value images inside a batched tf.data pipeline."""

import tensorflow as tf

METHODS = (None, "threshold", "sample")


def check_binarize(method):
    """Raises ValueError unless `method` is one of `METHODS`."""
    if method not in METHODS:
        raise ValueError(f"binarize must be one of {METHODS}; received binarize={method!r}.")
    return method


def binarize(dataset, method, *, key="image", seed=0, fresh_each_epoch=True):
    """Binarises `batch[key]` (float32 grey values in [0, 1]) of every batch of `dataset`.

    Args:
        dataset: a `tf.data.Dataset` of batch dicts.
        method: None (unchanged), `"threshold"` (`x > 0.5` as float32), or `"sample"` (a Bernoulli
            draw with probability x, as float32: stochastic binarisation, Salakhutdinov & Murray
            2008). The draw of a batch comes from `tf.random.stateless_uniform` seeded by the
            batch's number from `tf.data.Dataset.random(seed)`: with `fresh_each_epoch=True` a new
            draw every epoch (every new iterator), otherwise the same draw every epoch; in both
            cases the same sequence for the same seed (and TF global seed).
        key: the entry to binarise; the others are untouched.
        seed: an int.
        fresh_each_epoch: see `method`.

    Returns:
        A dataset with the same element spec.

    Raises:
        ValueError: unknown `method`.
    """
    check_binarize(method)
    if method is None:
        return dataset
    if method == "threshold":
        return dataset.map(lambda batch: {**batch, key: tf.cast(batch[key] > 0.5, tf.float32)})

    def sample(batch, draw_seed):
        probs = batch[key]
        seed_pair = tf.stack([draw_seed, tf.constant(seed, tf.int64)])
        uniform = tf.random.stateless_uniform(tf.shape(probs), seed=seed_pair)
        return {**batch, key: tf.cast(uniform < probs, tf.float32)}

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=fresh_each_epoch)
    return tf.data.Dataset.zip((dataset, seeds)).map(sample, num_parallel_calls=tf.data.AUTOTUNE)
