"""Subsets of modalities: enumeration, inclusion matrices, index lookups, random draws and
labels, for every model, metric and data set that works subset by subset.

Conventions used across kmvae:

- A subset is a tuple of modality indices in increasing order, e.g. `(0, 2)`; M is the number
  of modalities.
- `nonempty_subsets(M)` lists the `K = 2^M - 1` non-empty subsets by size, then
  lexicographically: for modalities (a, b, c) `{a}, {b}, {c}, {a, b}, {a, c}, {b, c},
  {a, b, c}`. Per-subset tensors (MoPoE-VAE's mixture components, Definition 1; the posteriors
  of `kmvae.models.SubsetVAE`; M2VAE's encoders) have their K axis in this order.
- A subset of named modalities is labelled `subset_label(names)`: the names joined by `","` in
  the order given, e.g. `"image,label"`; `parse_subset_label` inverts it. This is the one label
  format of kmvae: the keys of per-subset values in `metrics.json` (`subset_log_likelihood`,
  `subset_elbo`, the probe's and coherence's per-subset entries, `"a,b->c"` for a conditional
  coherence, `"log p(a,b) | q(z|a)"` for an importance-sampled estimate), the subset keys of
  M2VAE's `betas`, and the titles of figures. Archived `metrics.json` files
  (`docs/reproduction/`) use it, so it must not change.
"""

import itertools

import keras
import numpy as np
import tensorflow as tf

SEPARATOR = ","


def nonempty_subsets(num_modalities, min_size=1, max_size=None):
    """The subsets of `range(num_modalities)` with `min_size <= size <= max_size`.

    Args:
        num_modalities: M >= 0.
        min_size: smallest size, >= 1.
        max_size: largest size (default M); a range with `max_size < min_size` is empty.

    Returns:
        list of tuples of indices, by size then lexicographically; `2^M - 1` of them with the
        default sizes (the K subsets of MVAE eq. 3's subset posteriors and MoPoE Definition 1).

    Raises:
        ValueError: a negative M or a min_size below 1.
    """
    if isinstance(num_modalities, bool) or not isinstance(num_modalities, (int, np.integer)) \
            or num_modalities < 0:
        raise ValueError(f"num_modalities must be an int >= 0; received {num_modalities!r}.")
    if min_size < 1:
        raise ValueError(f"min_size must be >= 1 (the subsets are non-empty); received "
                         f"{min_size!r}.")
    max_size = num_modalities if max_size is None else max_size
    return [s for size in range(min_size, max_size + 1)
            for s in itertools.combinations(range(num_modalities), size)]


def subset_matrix(subsets, num_modalities):
    """The inclusion matrix of `subsets`: float32 `(len(subsets), num_modalities)`, 1 where row
    k's subset holds the modality, else 0 (the `inclusion` of
    `kmvae.layers.fusion.product_of_experts`)."""
    matrix = np.zeros((len(subsets), num_modalities), np.float32)
    for k, subset in enumerate(subsets):
        matrix[k, list(subset)] = 1.0
    return matrix


def subset_index_table(subsets, num_modalities):
    """Lookup from a presence pattern to its subset's position in `subsets`.

    A pattern is coded as the integer `sum_m 2^m` over its present modalities m (`subset_codes`).

    Returns:
        int32 `(2^num_modalities,)`: `table[code(S)] = k` for the k-th subset S of `subsets`;
        0 at codes of no listed subset (the empty pattern among them).
    """
    table = np.zeros(2 ** num_modalities, np.int32)
    for k, subset in enumerate(subsets):
        table[sum(1 << m for m in subset)] = k
    return table


def subset_codes(mask):
    """The integer code `sum_m 2^m mask[:, m]` of each row of a presence mask.

    Args:
        mask: `(batch, M)` bool (or 0/1) tensor.

    Returns:
        `(batch,)` int32, indices into `subset_index_table`.
    """
    mask = tf.cast(mask, tf.int32)
    num_modalities = mask.shape[-1] if mask.shape[-1] is not None else tf.shape(mask)[-1]
    return tf.reduce_sum(mask * (2 ** tf.range(num_modalities)), axis=1)


def child_pairs(subsets):
    """The pairs (S, S minus one of its members) among `subsets`, by position.

    They are the terms `KL(q(z | x_S) || q(z | x_{S \\ m}))` of JMVAE's eq. 3 (as M2VAE writes
    it), M2VAE eq. 11 and SVAE's `U(S)` (eq. 7). `subsets` must hold every S minus m it pairs.

    Returns:
        int32 `(P, 2)`: `(index of S, index of S \\ m)` for each S of two or more members and
        each m in S, in the order of `subsets` then of m.

    Raises:
        ValueError: when some S minus m is not in `subsets`.
    """
    position = {tuple(s): k for k, s in enumerate(subsets)}
    pairs = []
    for k, subset in enumerate(subsets):
        if len(subset) < 2:
            continue
        for m in subset:
            child = tuple(i for i in subset if i != m)
            if child not in position:
                raise ValueError(f"Subset {child} (subset {tuple(subset)} without {m}) is not "
                                 f"among the subsets given.")
            pairs.append((k, position[child]))
    return np.array(pairs, np.int32).reshape(-1, 2)


def draw_subsets(matrix, num_draws, seed):
    """Rows of an inclusion matrix drawn uniformly, with replacement, inside a compiled step
    (MVAE section 2.4's random subsets, drawn once per training step).

    Args:
        matrix: `(K, M)` float32 inclusion matrix (`subset_matrix`), K >= 1.
        num_draws: how many rows to draw.
        seed: a `keras.random.SeedGenerator` (or an int).

    Returns:
        `(num_draws, M)` float32 tensor.
    """
    matrix = tf.constant(matrix)
    picks = keras.random.randint((num_draws,), 0, matrix.shape[0], seed=seed)
    return tf.gather(matrix, picks)


def random_proper_subsets(rng, num_modalities, size):
    """Presence patterns of non-empty proper subsets drawn uniformly (MVAE section 6.1's
    weakly supervised examples; `kmvae.datasets.masks.supervision_mask`).

    Args:
        rng: a `numpy.random.Generator`.
        num_modalities: M >= 2.
        size: number of patterns.

    Returns:
        bool `(size, M)`, every row with at least one and at most M - 1 True entries, each of
        the `2^M - 2` patterns equally likely.
    """
    codes = rng.integers(1, 2 ** num_modalities - 1, size=size)
    return (codes[:, None] >> np.arange(num_modalities)) & 1 == 1


def subset_label(names):
    """The label of a subset of modalities: its names joined by `","`, e.g. `"image,label"`.

    Args:
        names: the modality names, in the order to show (kmvae passes model order).

    Returns:
        str.

    Raises:
        ValueError: no names, or a name that is not a non-empty string free of `","`.
    """
    names = list(names)
    if not names:
        raise ValueError("A subset label needs at least one modality name; received none.")
    for name in names:
        if not isinstance(name, str) or not name or SEPARATOR in name:
            raise ValueError(f"Subset labels join modality names with {SEPARATOR!r}, so a name "
                             f"must be a non-empty string without it; received {name!r}.")
    return SEPARATOR.join(names)


def parse_subset_label(label):
    """The names of a `subset_label`, in order: `"image,label"` -> `("image", "label")`.

    Raises:
        ValueError: an empty label or an empty name in it.
    """
    names = tuple(str(label).split(SEPARATOR))
    if not all(names):
        raise ValueError(f"{label!r} is no subset label: expected modality names joined by "
                         f"{SEPARATOR!r}, e.g. 'image,label'.")
    return names
