"""Latent representation quality: a linear probe on the encodings (MoPoE-VAE, Sutter et al.
2021, Table 2, Figure 3 left and App. B).

A scikit-learn logistic regression is trained on the encodings (posterior means) of the first
500 training examples and tested on the whole test set, once per subset of input modalities.
"""

import numpy as np
import tensorflow_probability as tfp

from kmvae.metrics.subsets import subset_posteriors
from kmvae.subsets import subset_label

REPRESENTATIONS = ("mean", "component")


def _codes(q, representation, rng):
    """`(batch, D)` codes of a posterior: its mean, or for `"component"` and a mixture the mean of
    one component per example, drawn with the mixture's weights."""
    if representation == "component" and isinstance(q, tfp.distributions.MixtureSameFamily):
        probs = np.asarray(q.mixture_distribution.probs_parameter())            # (B, K)
        means = np.asarray(q.components_distribution.mean())                   # (B, K, D)
        u = rng.random((probs.shape[0], 1))
        k = np.minimum(np.sum(np.cumsum(probs, axis=1) < u, axis=1), probs.shape[1] - 1)
        return means[np.arange(len(k)), k]
    return np.asarray(q.mean())


def subset_encodings(model, dataset, subsets, label="label", max_examples=None,
                     representation="mean", seed=0):
    """Codes and labels of a data set for several subsets of input modalities, in one pass
    (the experts of a batch are computed once, `kmvae.metrics.subsets.subset_posteriors`).

    Args:
        model: a `kmvae.models.MultimodalVAE` (or an object with `encode`).
        dataset: batches holding the subsets' modalities and `label`.
        subsets: lists of modality names.
        label: key of the class ids.
        max_examples: the first this many examples (None: all).
        representation: `"mean"`, the posterior mean `E[z | X_k]`; or `"component"`: for a
            mixture posterior (MMVAE, MoEVAE) the mean of one of its components per example,
            drawn with the mixture weights (seeded by `seed`), as the MoPoE authors' code
            represents a subset of an MMVAE (`mixture_component_selection`); a Normal posterior
            gives its mean either way.

    Returns:
        dict `subset_label(X_k)` -> `(z, y)`: `(N, latent_dim)` float32 and `(N,)` int.

    Raises:
        ValueError: on an unknown representation.
    """
    if representation not in REPRESENTATIONS:
        raise ValueError(f"representation must be one of {REPRESENTATIONS}; received "
                         f"{representation!r}.")
    rng = np.random.default_rng(seed)
    codes = {subset_label(s): [] for s in subsets}
    ys, seen = [], 0
    for batch in dataset:
        if max_examples is not None and seen >= max_examples:
            break
        keep = None if max_examples is None else max_examples - seen
        ys.append(np.asarray(batch[label])[:keep])
        seen += len(ys[-1])
        inputs = {n: batch[n][:keep] for n in model.modality_names if n in batch}
        for subset, q in subset_posteriors(model, inputs, subsets):
            codes[subset_label(subset)].append(_codes(q, representation, rng))
    y = np.concatenate(ys)
    return {key: (np.concatenate(z), y) for key, z in codes.items()}


def encodings(model, dataset, names, label="label", max_examples=None):
    """Posterior means `E[z | X_names]` and labels of a data set.

    Returns:
        `(z, y)`: `(N, latent_dim)` float32 and `(N,)` int.
    """
    return subset_encodings(model, dataset, [list(names)], label,
                            max_examples)[subset_label(names)]


def fit_probe(train_z, train_y, max_iter=1000):
    """`sklearn.linear_model.LogisticRegression` fit on `(train_z, train_y)`.

    Args:
        train_z: `(N, D)` features; train_y: `(N,)` class ids.

    Returns:
        the fitted classifier (`predict`, `score` take float64 features).

    Raises:
        ValueError: when the training labels hold fewer than two classes.
    """
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(train_y)) < 2:
        raise ValueError(f"The probe needs at least two classes in its training labels; "
                         f"received only {np.unique(train_y).tolist()}.")
    classifier = LogisticRegression(max_iter=max_iter)
    return classifier.fit(np.asarray(train_z, np.float64), np.asarray(train_y))


def probe_accuracy(train_z, train_y, test_z, test_y, max_iter=1000):
    """Test accuracy of `fit_probe(train_z, train_y)` on `(test_z, test_y)`.

    Args:
        train_z, test_z: `(N, D)` features; train_y, test_y: `(N,)` class ids.

    Returns:
        float in [0, 1].

    Raises:
        ValueError: when the training labels hold fewer than two classes.
    """
    classifier = fit_probe(train_z, train_y, max_iter)
    return float(classifier.score(np.asarray(test_z, np.float64), np.asarray(test_y)))


def latent_probe(model, train, test, label="label", num_train=500, subsets=None,
                 max_test_examples=None, representation="mean", seed=0):
    """Linear-probe accuracy per subset of input modalities (MoPoE Table 2, Figure 3 left):
    logistic regression on the codes `E[z | X_k]` of the first `num_train` training examples,
    accuracy on the test set.

    Args:
        model: a `kmvae.models.MultimodalVAE`.
        train, test: batches holding the modalities and `label` (a training `"mask"` is
            ignored: the first `num_train` examples are used with every modality).
        label: key of the class ids.
        num_train: training examples of the probe (the paper: 500).
        subsets: lists of modality names (default: every non-empty subset).
        max_test_examples: test on at most this many examples (None: all).
        representation, seed: the codes, see `subset_encodings` (`"component"`: the authors'
            code's representation of a mixture posterior).

    Returns:
        dict `subset_label(X_k)` -> accuracy in [0, 1].

    Raises:
        ValueError: on an unknown modality or representation.
    """
    names = model.modality_names
    if subsets is None:
        subsets = model.conditioning_subsets()
    for subset in subsets:
        unknown = [n for n in subset if n not in names]
        if unknown:
            raise ValueError(f"Unknown modality {unknown} in the probe's subsets; the model has "
                             f"{names}.")
    fitted = subset_encodings(model, train, subsets, label, num_train, representation, seed)
    tested = subset_encodings(model, test, subsets, label, max_test_examples, representation,
                              seed + 1)
    return {key: probe_accuracy(*fitted[key], *tested[key]) for key in fitted}
