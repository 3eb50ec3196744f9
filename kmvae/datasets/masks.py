"""Weak supervision masks (MVAE, Wu & Goodman 2018, section 6.1)."""

import math
import numbers

import numpy as np


def check_supervision(fraction):
    """Validates a supervision fraction: None, or a real number in (0, 1].

    Returns:
        `fraction` as a float, or None.

    Raises:
        ValueError: not a real number, or outside (0, 1].
    """
    if fraction is None:
        return None
    if (isinstance(fraction, bool) or not isinstance(fraction, numbers.Real)
            or not math.isfinite(fraction) or not 0.0 < fraction <= 1.0):
        raise ValueError(f"supervision must be None or a fraction in (0, 1] of training "
                         f"examples that keep both modalities; received {fraction!r}.")
    return float(fraction)


def supervision_mask(num_examples, fraction, seed=0):
    """Which modalities each training example keeps under weak supervision.

    MVAE (Wu & Goodman 2018) section 6.1: a fraction f of the training examples is presented as
    complete (image, label) pairs, the rest as unpaired single modalities. Here exactly
    `max(1, round(f * n))` examples keep both; of the others, half (rounded down) keep only the
    image and the rest only the label. Which example gets which is a seeded permutation: the
    same for a seed, and fixed once (the pipeline zips it to the examples before shuffling, so it
    does not change between epochs).

    Args:
        num_examples: n, the number of training examples.
        fraction: f in (0, 1].
        seed: an int seeding `numpy.random.default_rng`.

    Returns:
        bool `(n, 2)`: columns (image present, label present); every row has at least one True.

    Raises:
        ValueError: f outside (0, 1] (see `check_supervision`), or n < 0.
    """
    fraction = check_supervision(fraction)
    if fraction is None:
        raise ValueError("supervision_mask needs a fraction in (0, 1]; received None.")
    if num_examples < 0:
        raise ValueError(f"num_examples must be >= 0; received {num_examples}.")
    both = min(num_examples, max(1, round(fraction * num_examples)))
    image_only = (num_examples - both) // 2
    label_only = num_examples - both - image_only
    rows = np.repeat(np.array([[True, True], [True, False], [False, True]]),
                     [both, image_only, label_only], axis=0)
    return rows[np.random.default_rng(seed).permutation(num_examples)]
