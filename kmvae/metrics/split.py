"""Accuracy of whole images reassembled from generated parts (SVAE, Kutuzova et al. 2021,
section 4, "MNIST-Split": Table 1, Figures 4 and 6).

An image is cut horizontally into parts (MNIST-Split: top and bottom halves; MNIST-Split-3:
three thirds), each a modality. Given a subset S of the parts, every part is decoded from
`z ~ q(z | x_S)`, the decoded parts are put back together into the whole image in their row
order, and an oracle classifier trained on real whole images labels it; the metric is the
fraction of test examples whose label it predicts. Given all parts this is the paper's
"synergy", given one part its "cross-coherence" ("Accuracy (both)", "(top half)", "(bottom
half)"). The paper's oracle is a ResNet-18 trained on MNIST; kmvae's default is
`default_oracle` on the `(28, 28, 1)` image, trained on the reassembled real parts of the same
data set (`train_whole_image_oracle`), so its inputs have the pixel values the decoders are
trained to produce (grey values in [0, 1] for MNIST-Split, the dropped bottom row of
MNIST-Split-3 zero).
"""

import numpy as np
import tensorflow as tf

from kmvae.metrics.coherence import data_loader, train_oracle
from kmvae.subsets import nonempty_subsets, subset_label

IMAGE_SHAPE = (28, 28)
WHOLE_IMAGE = "whole_image"    # the key of the reassembled image in `whole_images` batches


def reassemble(parts, image_shape=IMAGE_SHAPE):
    """Stacks horizontal strips of an image back into the whole image (the inverse of
    `kmvae.datasets.mnist_views.split_parts` for the `"halves"` and `"thirds"` layouts).

    Args:
        parts: sequence of `(batch, rows_k * width)` tensors or arrays, the strips from top to
            bottom, each flattened row-major (as the MNIST-Split data sets hold them).
        image_shape: `(height, width)` of the whole image. Rows below the last strip are zero
            (MNIST-Split-3's three 9-row parts leave row 27 out; the SVAE authors' evaluation
            pads it with zeros).

    Returns:
        float32 tensor `(batch, height, width, 1)`, in the parts' units (e.g. grey values in
        [0, 1]).

    Raises:
        ValueError: no parts, a part whose size is not a multiple of `width`, or parts with more
            rows than `height` in all.
    """
    height, width = (int(d) for d in image_shape)
    if not parts:
        raise ValueError("reassemble needs at least one part; received none.")
    strips, rows = [], 0
    for k, value in enumerate(parts):
        value = tf.cast(tf.convert_to_tensor(value), tf.float32)
        size = value.shape[-1]
        if value.shape.rank != 2 or size is None or size % width:
            raise ValueError(f"Part {k} has shape {tuple(value.shape)}; expected (batch, "
                             f"rows * {width}): a strip of whole rows of the {height}x{width} "
                             f"image, flattened row-major.")
        strips.append(tf.reshape(value, [-1, size // width, width]))
        rows += size // width
    if rows > height:
        raise ValueError(f"The parts have {rows} rows in all; the {height}x{width} image has "
                         f"only {height}. Pass the image's shape as image_shape.")
    image = tf.concat(strips, axis=1)
    if rows < height:
        image = tf.pad(image, [[0, 0], [0, height - rows], [0, 0]])
    return image[..., None]


def whole_images(dataset, parts, image_shape=IMAGE_SHAPE, label="label"):
    """A data set of the whole images reassembled from the real parts, for training or testing
    an oracle: batches `{"whole_image": (batch, height, width, 1), label: (batch,)}`.

    Args:
        dataset: `tf.data.Dataset` of batch dicts holding every name of `parts` and `label` (a
            `"mask"` is ignored: the data tensors of masked parts are still there).
        parts: the part names from top to bottom; image_shape: as `reassemble`.
        label: the key of the integer class ids.

    Raises:
        ValueError: when the batches lack a part or the label.
    """
    spec = dataset.element_spec
    missing = [key for key in list(parts) + [label] if key not in spec]
    if missing:
        raise ValueError(f"whole_images: the batches hold {sorted(spec)}; expected "
                         f"{missing} among them.")
    parts = list(parts)
    return dataset.map(lambda b: {WHOLE_IMAGE: reassemble([b[p] for p in parts], image_shape),
                                  label: b[label]})


def train_whole_image_oracle(dataset, parts, model=None, *, name, image_shape=IMAGE_SHAPE,
                             label="label", epochs=5, cache_dir=None, retrain=False,
                             learning_rate=1e-3, verbose=0):
    """Trains (or loads from the cache) the oracle of `split_reconstruction_accuracy`: a
    classifier of the whole images reassembled from a split data set's real parts (SVAE
    section 4 trains a ResNet-18 on the original MNIST images), through `train_oracle`.

    Args:
        dataset: a `tf.data.Dataset` of batch dicts holding every part and `label`, or a
            function of no arguments returning one (called only when the oracle is trained,
            not when it is read from the cache); for a registered data set,
            `kmvae.datasets.oracle_training_data(name, options)` gives both the data and
            `name`.
        parts: the part names from top to bottom, e.g. `("top", "bottom")`.
        model: a Keras classifier `(batch, height, width, 1)` -> `(batch, classes)` logits
            (default: `default_oracle` on that shape, two convolutions and two dense layers).
        name: the cache key's data set name, e.g. `"mnist_split3-equal_parts=False"`; the file
            is `<cache_dir>/<name>-whole_image-<architecture>.keras`.
        image_shape: as `reassemble`; label, epochs, cache_dir, retrain, learning_rate,
            verbose: as `train_oracle`.

    Returns:
        The trained Keras classifier (logits), with attribute `cache_path`.

    Raises:
        ValueError: `dataset` is not a `tf.data.Dataset` or a function returning one, or its
            batches lack a part or the label.
    """
    load = data_loader(dataset, "train_whole_image_oracle")
    return train_oracle(lambda: whole_images(load(), parts, image_shape, label), WHOLE_IMAGE,
                        model, label=label, epochs=epochs, cache_dir=cache_dir, name=name,
                        retrain=retrain, learning_rate=learning_rate, verbose=verbose)


def split_reconstruction_accuracy(model, dataset, oracle, parts, *, image_shape=IMAGE_SHAPE,
                                  label="label", sample=True, max_examples=None,
                                  subsets=None, seed=None):
    """SVAE's MNIST-Split accuracy (Kutuzova et al. 2021, section 4; Table 1, Figures 4 and
    6): for every non-empty subset S of the parts, all parts decoded from `z ~ q(z | x_S)`
    (`model.translate(x_S, targets=parts)`: the decoded means, grey values for a Bernoulli
    decoder), reassembled into the whole image in row order (`reassemble`), and classified by
    `oracle`; the fraction of examples whose class is the true `label`. S = all parts is the
    paper's synergy, "Accuracy (both)"; S = one part its cross-coherence, "Accuracy (top
    half)" / "(bottom half)".

    Args:
        model: a `kmvae.models.MultimodalVAE` whose modalities include `parts`.
        dataset: batches holding every part and `label` (a `"mask"` is ignored).
        oracle: a Keras classifier of `(batch, height, width, 1)` whole images (logits or
            probabilities), e.g. from `train_whole_image_oracle`.
        parts: the part names from top to bottom, e.g. `("top", "bottom")` or
            `("top", "middle", "bottom")`: their order is the row order of the image.
        image_shape: `(height, width)`; rows no part covers are zero (see `reassemble`).
        label: the key of the true class ids.
        sample: decode a posterior sample (True, as the paper) or the posterior mean. Samples
            come from TensorFlow's global random state (`keras.utils.set_random_seed` makes
            them repeatable), or with `seed` from stateless draws.
        seed: None, or an int: batch `b` and subset `s` (in the order of `subsets`) then
            decode the stateless sample of seed `(seed, b * len(subsets) + s)`, so the same
            weights and data give the same accuracy (`SplitAccuracyLogger`'s criterion).
        max_examples: stop after this many examples.
        subsets: the subsets S to decode from, each a sequence of part names (default: every
            non-empty subset).

    Returns:
        dict `subset_label(S)` (e.g. `"top"`, `"bottom"`, `"top,bottom"`) -> accuracy in
        [0, 1], subsets by size then in the order of `parts`.

    Raises:
        ValueError: no parts, a part the model does not have, batches without `label`.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("split_reconstruction_accuracy needs at least one part; received none.")
    unknown = [p for p in parts if p not in model.modality_names]
    if unknown:
        raise ValueError(f"Unknown part(s) {unknown}; the model's modalities are "
                         f"{tuple(model.modality_names)}.")
    if subsets is None:
        subsets = [[parts[i] for i in s] for s in nonempty_subsets(len(parts))]
    else:
        subsets = [list(s) for s in subsets]
        wrong = [s for s in subsets if not s or any(p not in parts for p in s)]
        if wrong:
            raise ValueError(f"subsets {wrong} are not non-empty subsets of the parts "
                             f"{tuple(parts)}.")
    correct = {subset_label(s): 0 for s in subsets}
    seen = 0
    for index, batch in enumerate(dataset):
        if max_examples is not None and seen >= max_examples:
            break
        if label not in batch:
            raise ValueError(f"The batches hold {sorted(batch)}; the accuracy needs the true "
                             f"classes under {label!r}.")
        keep = None if max_examples is None else max_examples - seen
        truth = np.asarray(batch[label])[:keep]
        seen += len(truth)
        for number, s in enumerate(subsets):
            draw = None if seed is None else (int(seed), index * len(subsets) + number)
            generated = model.translate({p: batch[p][:keep] for p in s}, targets=parts,
                                        sample=sample, seed=draw)
            images = reassemble([generated[p] for p in parts], image_shape)
            predicted = np.argmax(np.asarray(oracle(images, training=False)), axis=-1)
            correct[subset_label(s)] += int(np.sum(predicted == truth))
    return {key: value / max(seen, 1) for key, value in correct.items()}
