"""Evaluation metrics computed over data sets: cross-modal accuracy and test log-likelihoods."""

import numpy as np
import tensorflow as tf


def cross_modal_accuracy(model, dataset, source="image", target="label"):
    """Accuracy of predicting the categorical modality `target` from `source` through the
    latent space: `argmax_c p(target = c | z)` at `z` the mean of `q(z | source)` (MVAE section
    6.1's predictive task p(y | x)).

    Args:
        model: a trained `kmvae.models.MultimodalVAE`.
        dataset: batches holding `source` and `target` (a `"mask"` is ignored: every example
            is used).
        source, target: modality names; `target` must be categorical.

    Returns:
        float in [0, 1], over all examples of `dataset`.

    Raises:
        ValueError: if a name is unknown or `target` is not categorical.
    """
    names = model.modality_names
    for name in (source, target):
        if name not in names:
            raise ValueError(f"Unknown modality {name!r}; the model has {names}.")
    if not model.modalities[names.index(target)].is_categorical:
        raise ValueError(f"cross_modal_accuracy needs a categorical target; {target!r} is "
                         f"{model.modalities[names.index(target)].likelihood}.")
    correct = total = 0
    for batch in dataset:
        probs = model.translate({source: batch[source]}, targets=[target])[target]
        predicted = tf.argmax(probs, axis=-1, output_type=tf.int32)
        correct += int(tf.reduce_sum(tf.cast(predicted == tf.cast(batch[target], tf.int32),
                                             tf.int32)))
        total += int(tf.size(predicted))
    return correct / max(total, 1)


def test_log_likelihood(model, dataset, modalities=None, proposal=None, num_samples=1000,
                        max_examples=None):
    """Average IWAE estimate of `log p(modalities)` over a data set (MVAE eq. 5-6, Tables 2-3).

    Args:
        model: a trained `kmvae.models.MultimodalVAE`.
        dataset: batches of dicts (a `"mask"` is ignored: the named modalities are used).
        modalities: names whose joint log-likelihood is estimated (default all).
        proposal: names whose fused posterior is the importance distribution (default
            `modalities`), e.g. `["image"]` for MVAE's "using q(z|x)".
        num_samples: K importance samples per example.
        max_examples: stop after this many examples (None: the whole data set).

    Returns:
        float, nats per example (mean over examples).
    """
    modalities = list(model.modality_names if modalities is None else modalities)
    values, seen = [], 0
    for batch in dataset:
        if max_examples is not None and seen >= max_examples:
            break
        inputs = {name: batch[name] for name in modalities}
        if max_examples is not None:
            inputs = {k: v[:max_examples - seen] for k, v in inputs.items()}
        values.append(model.log_likelihood(inputs, num_samples=num_samples, proposal=proposal))
        seen += int(values[-1].shape[0])
    return float(np.mean(np.concatenate(values)))
