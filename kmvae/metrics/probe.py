"""Latent representation quality: a linear probe on the encodings (MoPoE-VAE, Sutter et al.
2021, Table 2 and App. B).

A scikit-learn logistic regression is trained on the encodings (posterior means) of the first
500 training examples and tested on the whole test set, once per subset of input modalities.
"""

import numpy as np

from kmvae.metrics.likelihoods import subset_label


def encodings(model, dataset, names, label="label", max_examples=None):
    """Posterior means `E[z | X_names]` and labels of a data set.

    Returns:
        `(z, y)`: `(N, latent_dim)` float32 and `(N,)` int.
    """
    zs, ys, seen = [], [], 0
    for batch in dataset:
        if max_examples is not None and seen >= max_examples:
            break
        keep = None if max_examples is None else max_examples - seen
        zs.append(np.asarray(model.encode({n: batch[n][:keep] for n in names}).mean()))
        ys.append(np.asarray(batch[label])[:keep])
        seen += len(ys[-1])
    return np.concatenate(zs), np.concatenate(ys)


def probe_accuracy(train_z, train_y, test_z, test_y, max_iter=1000):
    """Test accuracy of `sklearn.linear_model.LogisticRegression` fit on `(train_z, train_y)`.

    Args:
        train_z, test_z: `(N, D)` features; train_y, test_y: `(N,)` class ids.

    Returns:
        float in [0, 1].

    Raises:
        ValueError: when the training labels hold fewer than two classes.
    """
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(train_y)) < 2:
        raise ValueError(f"The probe needs at least two classes in its training labels; "
                         f"received only {np.unique(train_y).tolist()}.")
    classifier = LogisticRegression(max_iter=max_iter)
    classifier.fit(np.asarray(train_z, np.float64), np.asarray(train_y))
    return float(classifier.score(np.asarray(test_z, np.float64), np.asarray(test_y)))


def latent_probe(model, train, test, label="label", num_train=500, subsets=None,
                 max_test_examples=None):
    """Linear-probe accuracy per subset of input modalities (MoPoE Table 2): logistic regression
    on the posterior means `E[z | X_k]` of the first `num_train` training examples, accuracy on
    the test set.

    Args:
        model: a `kmvae.models.MultimodalVAE`.
        train, test: batches holding the modalities and `label` (a training `"mask"` is
            ignored: the first `num_train` examples are used with every modality).
        label: key of the class ids.
        num_train: training examples of the probe (the paper: 500).
        subsets: lists of modality names (default: every non-empty subset).
        max_test_examples: test on at most this many examples (None: all).

    Returns:
        dict `subset_label(X_k)` -> accuracy in [0, 1].
    """
    names = model.modality_names
    if subsets is None:
        subsets = model.conditioning_subsets()
    result = {}
    for subset in subsets:
        unknown = [n for n in subset if n not in names]
        if unknown:
            raise ValueError(f"Unknown modality {unknown} in the probe's subsets; the model has "
                             f"{names}.")
        z_train, y_train = encodings(model, train, subset, label, num_train)
        z_test, y_test = encodings(model, test, subset, label, max_test_examples)
        result[subset_label(subset)] = probe_accuracy(z_train, y_train, z_test, y_test)
    return result
