"""Evaluation metrics, each computed as its paper defines it.

- `likelihoods`: importance-sampled log-likelihoods (MVAE eq. 5-7, Tables 2-5; MoPoE Table 4).
- `coherence`: oracle classifiers and conditional / joint coherence (MoPoE App. B, MMVAE, SVAE).
- `split`: accuracy of whole images reassembled from the parts generated given a subset of
  them (SVAE section 4, MNIST-Split: Table 1, Figures 4 and 6).
- `probe`: linear-probe accuracy of the latent representation (MoPoE Table 2).
- `fusion`: whether a subset model's encoders share one latent space and where auto
  re-encoding leads (M2VAE Figures 5 and 6).
- `text`: character and sequence accuracy of a text predicted from another modality (MVAE
  Figure 4(c), MultiMNIST).
- `subsets`: the subsets of input modalities of MoPoE's protocol: their posteriors as the paper
  defines them and the averages by subset size (MoPoE Figure 3).
- `conflict`: MSNVI's conflict measure c(m || m') (Kurle et al. 2019, eq. 2).
- `plots`: latent scatter, reconstructions, cross-modal and joint generations, coherence curves.

- `base`: `Metric`, the interface of every metric (`applies`, `compute`, the `metrics.json`
  keys it owns), and the `Context` it is computed in.
- `suite`: one `Metric` per family, in the order `kmvae.evaluate.compute_metrics` runs them
  (`suite.default_metrics`), and every key of `metrics.json` (`suite.metrics_json_keys`).

`kmvae.evaluate.evaluate` runs what applies to a trained recipe; `kmvae evaluate` on the command
line.
"""

import numpy as np
import tensorflow as tf

from kmvae.metrics import plots, subsets
from kmvae.metrics.base import Context, Metric
from kmvae.metrics.coherence import (chance_agreement, classify, coherence_score,
                                     conditional_coherence, default_oracle, joint_coherence,
                                     joint_predictions, oracle_accuracy, train_oracle)
from kmvae.metrics.conflict import beliefs, conflict, pairwise_conflicts
from kmvae.metrics.likelihoods import (ImportanceEstimate, conditional_log_likelihood,
                                       importance_sampling, importance_sampling_sets,
                                       log_prior_predictive, subset_log_likelihoods)
from kmvae.metrics.fusion import cross_encoder_probe, joint_probe, reencoding_attractors
from kmvae.metrics.probe import (encodings, fit_probe, latent_probe, probe_accuracy,
                                 subset_encodings)
from kmvae.metrics.split import (reassemble, split_reconstruction_accuracy,
                                 train_whole_image_oracle, whole_images)
from kmvae.metrics.text import TextAccuracy, score_texts, text_accuracy

__all__ = [
    "Metric", "Context",
    "cross_modal_accuracy", "test_log_likelihood", "log_weight_variance", "importance_sampling",
    "importance_sampling_sets", "ImportanceEstimate", "log_prior_predictive",
    "conditional_log_likelihood",
    "subset_log_likelihoods", "train_oracle", "default_oracle",
    "oracle_accuracy", "classify", "coherence_score", "conditional_coherence",
    "joint_coherence", "joint_predictions", "chance_agreement", "encodings", "probe_accuracy",
    "fit_probe", "latent_probe", "cross_encoder_probe", "joint_probe", "reencoding_attractors",
    "conflict", "beliefs",
    "pairwise_conflicts", "reassemble", "whole_images", "train_whole_image_oracle",
    "split_reconstruction_accuracy", "plots", "subsets", "subset_encodings", "text_accuracy",
    "TextAccuracy", "score_texts"]


def cross_modal_accuracy(model, dataset, source="image", target="label"):
    """Accuracy of predicting the categorical modality `target` from `source` through the
    latent space: `argmax_c p(target = c | z)` at `z` the mean of `q(z | source)` (MVAE section
    6.1's predictive task p(y | x)).

    Args:
        model: a trained `kmvae.models.MultimodalVAE`.
        dataset: batches holding `source` and `target` (a `"mask"` is ignored: every example
            is used).
        source, target: modality names; `target` must be categorical (of any shape: every
            token of a text counts; `text_accuracy` scores a text's characters).

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
                        max_examples=None, chunk_size=100):
    """Average IWAE estimate of `log p(modalities)` over a data set (MVAE eq. 5-6, Tables 2-3),
    the mean of `importance_sampling(...).log_likelihood`.

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
    return float(np.mean(importance_sampling(model, dataset, modalities, proposal, num_samples,
                                             max_examples, chunk_size).log_likelihood))


def log_weight_variance(model, dataset, modalities=None, proposal=None, num_samples=1000,
                        max_examples=None, chunk_size=100):
    """MVAE Tables 4-5's "average variance of log importance weights": for each example the
    variance over K = `num_samples` draws `z_k ~ q(z | X_proposal)` of
    `log p(X, z_k) / q(z_k | X_proposal)`, averaged over the examples (nats^2). 0 when the
    proposal is the exact posterior. Arguments as `test_log_likelihood`."""
    return float(np.mean(importance_sampling(model, dataset, modalities, proposal, num_samples,
                                             max_examples, chunk_size).log_weight_variance))
