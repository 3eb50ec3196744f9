"""The tf.data pipeline shared by every data set: arrays -> shuffled, batched batch dicts."""

import numbers

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


def _shuffled(examples, rows, seed, shuffle):
    """The examples (all of them when `rows` is None, else those rows) as a dataset of single
    examples, reshuffled each epoch when `shuffle`."""
    if rows is not None:
        examples = {key: value[rows] for key, value in examples.items()}
    dataset = tf.data.Dataset.from_tensor_slices(examples)
    if shuffle:
        count = len(next(iter(examples.values())))
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    return dataset


def check_paired_per_batch(paired_per_batch, batch_size):
    """Raises ValueError unless `paired_per_batch` is an int in 1 .. batch_size - 1."""
    if (isinstance(paired_per_batch, bool) or not isinstance(paired_per_batch, numbers.Integral)
            or not 0 < paired_per_batch < batch_size):
        raise ValueError(f"paired_per_batch must be an int in 1 .. batch_size - 1 = "
                         f"{batch_size - 1}; received paired_per_batch={paired_per_batch!r}.")


def paired_batches(examples, batch_size, paired_per_batch, *, seed=0, shuffle=False,
                   drop_remainder=False, unpaired_views=None, views_from="all"):
    """Batches of `paired_per_batch` complete examples and `batch_size - paired_per_batch`
    incomplete ones, as the training loop of SVAE's Algorithm 1 (Kutuzova et al. 2021,
    Appendix C) and of Wu & Goodman's VAEVAE, which take paired and unpaired minibatches at
    every step, here in one batch told apart by the mask.

    The other examples are the incomplete rows, or with `unpaired_views` every example once
    under each view's mask, complete rows included: the SVAE authors' code (sgalkina/poe-vaes,
    experiments/mnist_split/run.py) draws its unpaired top and bottom halves from all the
    training images at every supervision level, 100% included; with `views_from="incomplete"`
    only the incomplete examples are viewed so, each once under each view (SVAE's L_comb, eq.
    7-10, whose unpaired terms range over the unpaired data alone: both halves of every
    unpaired image, each on its own). An epoch is one pass over the
    other examples; the complete ones are cycled, in a new order each cycle when `shuffle`
    (with fewer than `paired_per_batch` of them, a batch holds some more than once). Each
    batch lists its complete examples first. With `unpaired_views` (V views) and
    `batch_size - paired_per_batch` divisible by V, the others follow in blocks of (batch_size
    - paired_per_batch) / V rows, one block per view in the views' order, each view's
    examples shuffled on their own (`batch_layout`): a model that knows the layout computes
    for each block only what its view's modalities need (`kmvae.models.PairedUnpairedVAE`).

    Args:
        examples: dict name -> array `(n, ...)`, with `"mask"`: bool `(n, M)`; a row is complete
            when all of it is True.
        batch_size: examples per batch; paired_per_batch: of them complete, 1 ..
            batch_size - 1.
        seed, shuffle, drop_remainder: as `make_dataset`.
        unpaired_views: None, or bool `(V, M)`, each row an incomplete mask: the other examples
            are then the V * n views of the examples (of the u incomplete ones, V * u, with
            `views_from="incomplete"`).
        views_from: `"all"` or `"incomplete"`, the examples `unpaired_views` views.

    Returns:
        An unconverted `tf.data.Dataset` of batch dicts. Without other examples (no incomplete
        example, and no views of all of them), plain batches of all of them.

    Raises:
        ValueError: `paired_per_batch` not an int in 1 .. batch_size - 1, no complete
            example, or `views_from` neither `"all"` nor `"incomplete"`.
    """
    if views_from not in ("all", "incomplete"):
        raise ValueError(f"views_from must be 'all' or 'incomplete'; received "
                         f"views_from={views_from!r}.")
    check_paired_per_batch(paired_per_batch, batch_size)
    complete = np.all(examples["mask"], axis=1)
    paired, unpaired = np.flatnonzero(complete), np.flatnonzero(~complete)
    if not len(paired):
        raise ValueError(f"paired_per_batch={paired_per_batch} needs complete examples; none "
                         f"of the {len(complete)} training examples has every modality.")
    viewed = (None if unpaired_views is None else
              np.arange(len(complete)) if views_from == "all" else unpaired)
    cycled = _shuffled(examples, paired, seed, shuffle).repeat().batch(paired_per_batch)
    layout = batch_layout(examples["mask"], batch_size, paired_per_batch, unpaired_views,
                          views_from)
    if layout:                               # a block of each view's rows
        blocks = []
        for v, (rows, view) in enumerate(layout[1:]):
            block = {key: value[viewed] for key, value in examples.items()}
            block["mask"] = np.repeat(np.array(view)[None], len(viewed), axis=0)
            blocks.append(_shuffled(block, None, seed + 1 + v, shuffle).batch(
                rows, drop_remainder))
        return _concatenated(cycled, *blocks)
    if viewed is not None and len(viewed):   # each viewed example once under each view's mask
        views = np.asarray(unpaired_views, bool)
        others = {key: np.concatenate([value[viewed]] * len(views))
                  for key, value in examples.items()}
        others["mask"] = np.repeat(views, len(viewed), axis=0)
        rows = None
    elif not len(unpaired):          # every row complete: plain batches
        return _shuffled(examples, None, seed, shuffle).batch(batch_size, drop_remainder)
    else:
        others, rows = examples, unpaired
    rest = _shuffled(others, rows, seed + 1, shuffle).batch(
        batch_size - paired_per_batch, drop_remainder)
    return _concatenated(cycled, rest)


def _concatenated(*parts):
    """The batches of the datasets `parts` zipped, concatenated along the batch axis in the
    order given."""
    return tf.data.Dataset.zip(*parts).map(
        lambda *batches: {key: tf.concat([b[key] for b in batches], 0) for key in batches[0]})


def batch_layout(mask, batch_size, paired_per_batch, unpaired_views, views_from="all"):
    """The presence patterns of the rows of each batch of `paired_batches` (arguments as
    there; `mask` the examples' bool `(n, M)`), in order, when its views come in blocks:
    `((paired_per_batch, complete), (r, view_1), ..., (r, view_V))`, r = (batch_size -
    paired_per_batch) / V, each pattern a tuple of M bools (an epoch's last batch has fewer
    rows in each view's block). None when the batches have no such layout: no
    `paired_per_batch`, `unpaired_views` or mask, no complete example, nothing to view, or
    `batch_size - paired_per_batch` not divisible by V."""
    if paired_per_batch is None or unpaired_views is None or mask is None:
        return None
    complete = np.all(mask, axis=1)
    views = np.asarray(unpaired_views, bool)
    others = batch_size - paired_per_batch
    if not complete.any() or (views_from == "incomplete" and complete.all()) \
            or others % len(views):
        return None
    return ((paired_per_batch, (True,) * views.shape[1]),) + tuple(
        (others // len(views), tuple(bool(b) for b in view)) for view in views)


def follows_layout(mask, layout):
    """Scalar bool tensor: the batch's rows `mask` `(batch, M)` have the presence patterns of
    `layout` (`batch_layout`): its first block's rows, then equal blocks of each other pattern,
    as many rows as the batch leaves (fewer in an epoch's last batch than `layout` gives)."""
    patterns = tf.constant([pattern for _, pattern in layout])                 # (V + 1, M)
    batch, paired, views = tf.shape(mask)[0], layout[0][0], len(layout) - 1
    others = batch - paired
    rows = tf.range(batch)
    block = tf.where(rows < paired, 0,
                     1 + tf.minimum((rows - paired) // tf.maximum(others // views, 1), views - 1))
    matches = tf.reduce_all(tf.equal(tf.cast(mask, tf.bool), tf.gather(patterns, block)))
    return tf.logical_and(tf.logical_and(others >= views, others % views == 0), matches)


def checked_layout(batch, layout):
    """The batch dict, unchanged, after a graph assertion that its `"mask"` follows `layout`
    (`follows_layout`); mapped over its dataset by `kmvae.models.PairedUnpairedVAE.fit`."""
    check = tf.debugging.Assert(follows_layout(batch["mask"], layout), [
        f"A batch does not follow the layout its dataset records (kmvae_batch_layout, blocks of "
        f"rows and presence pattern) {layout}: its mask is", batch["mask"]], summarize=20)
    with tf.control_dependencies([check]):
        return tf.nest.map_structure(tf.identity, batch)


def make_dataset(arrays, spec, *, batch_size, seed=0, shuffle=False, binarize=None,
                 binarize_keys=(), fresh_binarization=True, mask=None, transform=None,
                 drop_remainder=False, paired_per_batch=None, unpaired_views=None,
                 views_from="all"):
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
        paired_per_batch: None, or with `mask`, the number of complete examples in every batch
            (see `paired_batches`).
        unpaired_views: None, or with `paired_per_batch`, the masks under which every example
            (with `views_from="incomplete"`, every incomplete one) joins the other examples of
            each batch (see `paired_batches`).
        views_from: `"all"` or `"incomplete"` (see `paired_batches`).

    Returns:
        A dataset of dicts with the entries of `arrays` (after `transform`) plus
        `"mask": bool (batch, num_modalities)` when given. Its attribute `kmvae_batch_layout`
        is the rows' layout when the batches follow one (`batch_layout`), else None; a dataset
        derived from it (`map`, ...) has none.

    Raises:
        ValueError: arrays of different lengths; `paired_per_batch` without a mask,
            `unpaired_views` without `paired_per_batch`, or as `paired_batches` raises.
    """
    examples = {key: np.asarray(value) for key, value in arrays.items()}
    lengths = {key: len(value) for key, value in examples.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"All arrays must have the same number of examples; received {lengths}.")
    if mask is not None:
        examples["mask"] = np.asarray(mask, dtype=bool)
    if unpaired_views is not None and paired_per_batch is None:
        raise ValueError("unpaired_views needs paired_per_batch: they are the other examples "
                         "of batches of paired_per_batch complete ones.")
    if paired_per_batch is not None:
        if mask is None:
            raise ValueError(f"paired_per_batch={paired_per_batch!r} needs a mask (a "
                             f"supervision level) to tell complete examples from the others.")
        dataset = paired_batches(examples, batch_size, paired_per_batch, seed=seed,
                                 shuffle=shuffle, drop_remainder=drop_remainder,
                                 unpaired_views=unpaired_views, views_from=views_from)
    else:
        dataset = _shuffled(examples, None, seed, shuffle).batch(batch_size, drop_remainder)
    dataset = dataset.map(_converter(spec), num_parallel_calls=tf.data.AUTOTUNE)
    for index, key in enumerate(binarize_keys):  # a different stream of draws per entry
        dataset = binarize_images(dataset, binarize, key=key, seed=seed + 7919 * index,
                                  fresh_each_epoch=fresh_binarization)
    if transform is not None:
        seeds = tf.data.Dataset.random(seed=seed + 1,
                                       rerandomize_each_iteration=fresh_binarization)
        dataset = tf.data.Dataset.zip((dataset, seeds)).map(
            transform, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset.kmvae_batch_layout = batch_layout(examples.get("mask"), batch_size,
                                              paired_per_batch, unpaired_views, views_from)
    return dataset
