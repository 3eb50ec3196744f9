"""Missing-modality masks: weak supervision (MVAE, Wu & Goodman 2018, section 6.1) and
independent dropping with a keep probability.

Both return a bool `(num_examples, num_modalities)` array whose columns follow
`kmvae.datasets.modality_names(name)`; the data tensors themselves are never changed. Every row
keeps at least one modality.
"""

import math
import numbers

import numpy as np

from kmvae.subsets import random_proper_subsets


def _check_fraction(value, key, meaning):
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or not 0.0 < value <= 1.0):
        raise ValueError(f"{key} must be None or a number in (0, 1] ({meaning}); "
                         f"received {key}={value!r}.")
    return float(value)


def check_supervision(fraction):
    """Validates a supervision fraction: None, or a real number in (0, 1].

    Returns: `fraction` as a float, or None.
    Raises: ValueError: not a real number, or outside (0, 1].
    """
    return _check_fraction(fraction, "supervision",
                           "the fraction of training examples that keep all modalities")


def check_keep_probability(probability):
    """Validates a keep probability: None, or a real number in (0, 1].

    Returns: `probability` as a float, or None.
    Raises: ValueError: not a real number, or outside (0, 1].
    """
    return _check_fraction(probability, "keep_probability",
                           "the probability that each modality of an example is kept")


def _check_shape(num_examples, maskable):
    if isinstance(num_examples, bool) or not isinstance(num_examples, numbers.Integral) \
            or num_examples < 0:
        raise ValueError(f"num_examples must be an int >= 0; received {num_examples!r}.")
    maskable = np.asarray(maskable, dtype=bool)
    if maskable.ndim != 1 or maskable.size < 1:
        raise ValueError(f"maskable must be a non-empty 1-D list of bools, one per modality; "
                         f"received {maskable.tolist()!r}.")
    if maskable.sum() < 2:
        raise ValueError(f"Masks need at least two modalities that may go missing; "
                         f"received maskable={maskable.tolist()}.")
    return int(num_examples), maskable


def supervision_mask(num_examples, fraction, seed=0, maskable=(True, True)):
    """Which modalities each training example keeps under weak supervision.

    MVAE (Wu & Goodman 2018) section 6.1: a fraction f of the training examples is presented
    complete, the rest with modalities missing. Exactly `max(1, round(f * n))` examples keep all
    modalities. With two droppable modalities, half of the others (rounded down) keep only the
    first and the rest only the second, as in the paper's (image, label) experiments. With more,
    each of the others keeps a non-empty proper subset of the droppable modalities drawn
    uniformly. Modalities marked not `maskable` (e.g. a generated observation) are always kept.
    Which example gets which row is a seeded permutation, fixed once: the pipeline attaches the
    mask to the examples before shuffling, so it does not change between epochs.

    Args:
        num_examples: n, the number of training examples.
        fraction: f in (0, 1].
        seed: an int seeding `numpy.random.default_rng`.
        maskable: one bool per modality (M of them, at least two True): which may go missing.

    Returns:
        bool `(n, M)`; every row has at least one droppable modality True.

    Raises:
        ValueError: f outside (0, 1] or None, n < 0, or fewer than two maskable modalities.
    """
    fraction = check_supervision(fraction)
    if fraction is None:
        raise ValueError("supervision_mask needs a fraction in (0, 1]; received None.")
    num_examples, maskable = _check_shape(num_examples, maskable)
    rng = np.random.default_rng(seed)
    both = min(num_examples, max(1, round(fraction * num_examples)))
    rest = num_examples - both
    columns = np.flatnonzero(maskable)
    full = np.ones((num_examples, len(maskable)), dtype=bool)
    partial = np.ones((rest, len(columns)), dtype=bool)
    if len(columns) == 2:
        first = rest // 2
        partial[:first, 1] = False
        partial[first:, 0] = False
    else:
        partial = random_proper_subsets(rng, len(columns), rest)
    full[both:, columns] = partial
    return full[rng.permutation(num_examples)]


def keep_probability_mask(num_examples, probability, seed=0, maskable=(True, True)):
    """Each droppable modality of each example kept independently with probability p.

    The protocol of MVAE19 as described in MVAE (Wu & Goodman 2018) section 6.1, conditioned on
    at least one droppable modality being kept: rows that come out empty are drawn again until
    none is, which is sampling from the independent-Bernoulli distribution conditioned on a
    non-empty row. Modalities marked not `maskable` are always kept.

    Args:
        num_examples: n; probability: p in (0, 1]; seed: an int; maskable: as
            `supervision_mask`.

    Returns:
        bool `(n, M)`; the marginal keep rate of a droppable modality is p / (1 - (1 - p)^k)
        for k droppable modalities.

    Raises:
        ValueError: p outside (0, 1] or None, n < 0, or fewer than two maskable modalities.
    """
    probability = check_keep_probability(probability)
    if probability is None:
        raise ValueError("keep_probability_mask needs a probability in (0, 1]; received None.")
    num_examples, maskable = _check_shape(num_examples, maskable)
    rng = np.random.default_rng(seed)
    columns = np.flatnonzero(maskable)
    kept = rng.random((num_examples, len(columns))) < probability
    empty = ~kept.any(axis=1)
    while empty.any():
        kept[empty] = rng.random((int(empty.sum()), len(columns))) < probability
        empty = ~kept.any(axis=1)
    mask = np.ones((num_examples, len(maskable)), dtype=bool)
    mask[:, columns] = kept
    return mask
