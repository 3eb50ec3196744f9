"""Importance-sampled log-likelihoods of the papers' tables, on top of
`MultimodalVAE.log_importance_weights`.

Every estimator names its proposal (the fused posterior `q(z | X_proposal)` of a set of
modalities) and its number K of importance samples. All values are in nats per example; the log
weights are computed in chunks of samples, in float32, and reduced with log-sum-exp.

- `importance_sampling`: per-example IWAE `log p(X)` (MVAE eq. 5-6), the variance of the log
  importance weights (MVAE Tables 4-5) and the Monte Carlo ELBO (M2VAE eq. 12) from the same K
  draws; `importance_sampling_sets`, the same for several sets X with one proposal and one set
  of draws.
- `log_prior_predictive`: the second Monte Carlo term of MVAE eq. 7, `log E_{p(z)}[p(y | z)]`.
- `conditional_log_likelihood`: MVAE eq. 7, `log p(x | y) = log p(x, y) - log p(y)`.
- `subset_log_likelihoods`: MoPoE's protocol (Sutter et al. 2021, Table 4 and App. B), the
  log-likelihood of all modalities with the fused posterior of each subset as proposal.
"""

import collections
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from kmvae.subsets import nonempty_subsets, subset_label

ImportanceEstimate = collections.namedtuple(
    "ImportanceEstimate", ["log_likelihood", "log_weight_variance", "elbo"])
ImportanceEstimate.__doc__ = """Per-example results of `importance_sampling`, from the same K
    log importance weights `log w_k = log p(X, z_k) - log q(z_k | X_proposal)`.

    log_likelihood: `(N,)` float64, the IWAE bound `log (1/K) sum_k w_k`, nats.
    log_weight_variance: `(N,)` float64, the variance over the K samples of `log w_k`, nats^2.
    elbo: `(N,)` float64, the Monte Carlo ELBO `(1/K) sum_k log w_k`, an unbiased estimate of
        `E_{q(z|X_proposal)}[log p(X, z) / q(z | X_proposal)]` (M2VAE, Korthals et al. 2019,
        eq. 12, when X is all modalities), nats; never above `log_likelihood` (Jensen).
"""


def _check_names(model, names, what):
    names = list(names)
    unknown = [n for n in names if n not in model.modality_names]
    if unknown or not names:
        raise ValueError(f"{what} must name modalities among {model.modality_names}; received "
                         f"{names!r}.")
    return names


def iterate_batches(dataset, names, max_examples):
    """Yields the batches of `dataset` (an iterable of batch dicts, or one dict) as dicts holding
    `names` only (a `"mask"` is dropped), truncated to `max_examples`."""
    if max_examples is not None and max_examples < 1:
        raise ValueError(f"max_examples must be a positive int or None; received "
                         f"{max_examples!r}.")
    if isinstance(dataset, dict):
        dataset = [dataset]
    seen = 0
    for batch in dataset:
        if max_examples is not None and seen >= max_examples:
            return
        missing = [n for n in names if n not in batch]
        if missing:
            raise ValueError(f"The batches hold {sorted(batch)}; the estimate needs the "
                             f"modalities {missing} too.")
        inputs = {n: batch[n] for n in names}
        if max_examples is not None:
            inputs = {n: v[:max_examples - seen] for n, v in inputs.items()}
        seen += int(tf.shape(inputs[names[0]])[0])
        yield inputs


def importance_sampling(model, dataset, modalities=None, proposal=None, num_samples=1000,
                        max_examples=None, chunk_size=100, checkpoint=None,
                        checkpoint_seconds=60):
    """IWAE estimate of `log p(X)`, the variance of its log importance weights and the Monte
    Carlo ELBO, per example.

    `log p(X) ~= log (1/K) sum_k p(X | z_k) p(z_k) / q(z_k | X_proposal)`, `z_k ~ q(z |
    X_proposal)` (MVAE, Wu & Goodman 2018, eq. 5-6; Table 2 uses `proposal=["image"]`, Table 3
    all modalities). The variance is `var_k log w_k` over the same K draws, per example; its mean
    over the test set is MVAE Tables 4-5's "average variance of log importance weights". When
    the proposal is the exact posterior every `w_k = p(X)` and the variance is 0. The ELBO is
    the mean `(1/K) sum_k log w_k` over the same draws: M2VAE's eq. 12 (Table 1's `L_{M'}`,
    the ELBO of all modalities under the encoder of the subset `M' = proposal`); it equals
    `log p(X) - KL(q(z | X_proposal) || p(z | X))` in expectation.

    Args:
        model: a `kmvae.models.MultimodalVAE`.
        dataset: a `tf.data.Dataset` (or iterable) of batch dicts holding `modalities`, or one
            batch dict; a `"mask"` is ignored (every example has every modality).
        modalities: names of X (default: all the model's modalities).
        proposal: names whose fused posterior is the proposal (default: `modalities`).
        num_samples: K, importance samples per example.
        max_examples: stop after this many examples (None: all).
        chunk_size: samples per chunk of the computation (memory, not the result).
        checkpoint: None, or a `.npz` path where the per-example results computed so far are
            kept (written at most every `checkpoint_seconds` and at the end, atomically). A
            call that finds a checkpoint of the same estimate (modalities, proposal, K) goes on
            after the examples it holds, so an estimate interrupted after hours resumes
            instead of starting over (`kmvae.evaluate.compute_metrics(cache_path=...)` uses
            it). The examples must come in the same order (kmvae's test splits are never
            shuffled); the resumed examples get other draws than an uninterrupted run's. The
            checkpoint is the same estimate whatever `max_examples`: a call for more examples
            goes on after those it holds, one for fewer reads its first `max_examples`.
        checkpoint_seconds: the least seconds between two checkpoint writes.

    Returns:
        `ImportanceEstimate(log_likelihood, log_weight_variance, elbo)`, each `(N,)` float64,
        nats (the variance nats^2).

    A proposal may use modalities outside X (MVAE Table 3: `log p(x)` with `q(z | x, y)`); the
    weights are then `p(X | z) p(z) / q(z | X_proposal)` with only X's likelihoods.

    Raises:
        ValueError: unknown names, K < 1, or batches without the modalities.
    """
    modalities = _check_names(model, model.modality_names if modalities is None else modalities,
                              "modalities")
    return importance_sampling_sets(
        model, dataset, [modalities], modalities if proposal is None else proposal,
        num_samples, max_examples, chunk_size, checkpoint, checkpoint_seconds)[0]


def importance_sampling_sets(model, dataset, modality_sets, proposal, num_samples=1000,
                             max_examples=None, chunk_size=100, checkpoint=None,
                             checkpoint_seconds=60):
    """`importance_sampling` of several sets X of modalities with one proposal, from the same
    K draws `z_k ~ q(z | X_proposal)`: each modality is decoded once per draw and each set's
    log weights are `log p(z_k) - log q(z_k | X_proposal) + sum_{m in X} log p(x_m | z_k)`
    (`MultimodalVAE.log_importance_weight_terms`). MVAE's Tables 2-5 (Wu & Goodman 2018,
    eq. 5-6) estimate `log p(x)` and `log p(x, y)` with the same proposal; this draws once for
    both, where two `importance_sampling` calls decode the image twice. Each set's estimate is
    the same unbiased estimate as alone; only their errors are correlated.

    Args:
        modality_sets: a non-empty list of lists of modality names (the sets X).
        proposal: names whose fused posterior is the proposal.
        checkpoint: as `importance_sampling`, for all sets at once (the settings it checks are
            the sets, the proposal and K; not `max_examples`).
        Others as `importance_sampling`.

    Returns:
        A list of `ImportanceEstimate`, one per set, in the order of `modality_sets`.

    Raises:
        ValueError: an empty list of sets, unknown names, K < 1, or batches without the
            modalities.
    """
    if not modality_sets:
        raise ValueError("modality_sets must list at least one set of modalities; received "
                         f"{modality_sets!r}.")
    modality_sets = [_check_names(model, names, "modalities") for names in modality_sets]
    proposal = _check_names(model, proposal, "proposal")
    if int(num_samples) < 1:
        raise ValueError(f"num_samples (K) must be >= 1; received {num_samples!r}.")
    needed = [n for n in model.modality_names
              if n in proposal or any(n in names for names in modality_sets)]
    columns = [[model.modality_names.index(n) for n in names] for names in modality_sets]
    saved = _Checkpoint(checkpoint, {"modality_sets": modality_sets, "proposal": proposal,
                                     "num_samples": int(num_samples)},
                        checkpoint_seconds, len(modality_sets))
    skip, examples = saved.examples, 0
    for inputs in iterate_batches(dataset, needed, max_examples):
        size = int(tf.shape(inputs[needed[0]])[0])
        examples += size
        if skip:                               # examples a checkpoint already holds
            done = min(skip, size)
            skip -= done
            if done == size:
                continue
            inputs = {n: v[done:] for n, v in inputs.items()}
        log_prior_ratio, log_likelihoods = model.log_importance_weight_terms(
            inputs, num_samples=int(num_samples), proposal=proposal, chunk_size=chunk_size)
        for parts, index in zip(saved.parts, columns):
            log_w = log_prior_ratio + tf.reduce_sum(tf.gather(log_likelihoods, index, axis=-1),
                                                    axis=-1)             # (K, batch)
            parts["ll"].append((tf.reduce_logsumexp(log_w, axis=0)
                                - math.log(int(num_samples))).numpy())
            parts["variance"].append(tf.math.reduce_variance(log_w, axis=0).numpy())
            parts["elbo"].append(tf.reduce_mean(log_w, axis=0).numpy())
        saved.update()
    saved.update(force=True)
    return [ImportanceEstimate(*(np.concatenate(parts[key])[:examples].astype(np.float64)
                                 if parts[key] else np.zeros(0) for key in _Checkpoint.KEYS))
            for parts in saved.parts]     # a checkpoint of more examples: its first ones


class _Checkpoint:
    """`importance_sampling_sets`' per-example results so far in a `.npz` file (with the
    estimate's settings as JSON), one `ll_<i>`, `variance_<i>`, `elbo_<i>` per set i; a file of
    other settings is ignored (and replaced)."""

    KEYS = ("ll", "variance", "elbo")

    def __init__(self, path, settings, seconds, num_sets):
        self.path = None if path is None else Path(path)
        self.settings = json.dumps(settings, sort_keys=True)
        self.seconds = seconds
        self.written = time.time()
        self.parts = [{key: [] for key in self.KEYS} for _ in range(num_sets)]
        self.examples = 0
        if self.path is not None and self.path.exists():
            with np.load(self.path) as saved:
                if str(saved["settings"]) == self.settings:
                    self.parts = [{key: [saved[f"{key}_{i}"]] for key in self.KEYS}
                                  for i in range(num_sets)]
                    self.examples = len(saved["ll_0"])

    def update(self, force=False):
        if self.path is None or not self.parts[0]["ll"] or (
                not force and time.time() - self.written < self.seconds):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(temporary, settings=self.settings,
                 **{f"{key}_{i}": np.concatenate(parts[key])
                    for i, parts in enumerate(self.parts) for key in self.KEYS})
        os.replace(temporary, self.path)
        self.written = time.time()


def log_prior_predictive(model, batch, modalities, num_samples=5000, chunk_size=500, seed=None):
    """`log p(Y) ~= log (1/S) sum_s prod_{m in Y} p(y_m | z_s)`, `z_s ~ p(z)`: the second Monte
    Carlo term of MVAE eq. 7 (the paper uses S = 5000 on MNIST and FashionMNIST).

    The S prior draws are shared by the examples of the batch (each example's estimate is still
    unbiased in `p(Y)`; it saves a factor batch in decoding).

    Args:
        model: a `kmvae.models.MultimodalVAE`.
        batch: dict holding `modalities`, `(batch,) + shape` each.
        modalities: names of Y.
        num_samples: S.
        chunk_size: prior samples decoded at once.
        seed: seed of the prior draws (None: Keras' global seed state).

    Returns:
        `(batch,)` float32, nats.
    """
    import keras

    modalities = _check_names(model, modalities, "modalities")
    x, _ = model.prepare_batch({n: batch[n] for n in modalities}, check=True)
    index = [model.modality_names.index(n) for n in modalities]
    seeds = keras.random.SeedGenerator(seed)
    chunks = []
    for start in range(0, int(num_samples), int(chunk_size)):
        n = min(int(chunk_size), int(num_samples) - start)
        z = keras.random.normal((n, 1, model.latent_dim), seed=seeds)
        log_p = 0.0
        for m in index:
            log_p += model.decoders[m](z).log_prob(x[m])            # (n, batch)
        chunks.append(log_p)
    log_p = tf.concat(chunks, axis=0)
    return tf.reduce_logsumexp(log_p, axis=0) - math.log(int(num_samples))


def conditional_log_likelihood(model, dataset, target, given, proposal=None, num_samples=1000,
                               prior_samples=5000, max_examples=None, chunk_size=100):
    """`log p(x | y) = log p(x, y) - log p(y)` as MVAE eq. 7 (Wu & Goodman 2018, after Suzuki et
    al. 2016), per example: the first term the IWAE estimate of `log p(x, y)` with K =
    `num_samples` draws of the proposal (Table 2: `q(z | x)`; eq. 7 as printed: `q(z | y)`), the
    second `log_prior_predictive` with S = `prior_samples` draws of `p(z)`.

    Args:
        target, given: lists of modality names (x and y), disjoint.
        proposal: names of the proposal (default `target`, MVAE Table 2's `q(z | x)`).
        Others as `importance_sampling`.

    Returns:
        `(N,)` float64, nats per example.

    Raises:
        ValueError: unknown or overlapping names.
    """
    target = _check_names(model, target, "target")
    given = _check_names(model, given, "given")
    if set(target) & set(given):
        raise ValueError(f"target {target} and given {given} must be disjoint.")
    joint = target + given
    estimate = importance_sampling(model, dataset, joint, target if proposal is None else proposal,
                                   num_samples, max_examples, chunk_size)
    log_py = np.concatenate([log_prior_predictive(model, b, given, prior_samples).numpy()
                             for b in iterate_batches(dataset, given, max_examples)])
    return estimate.log_likelihood - log_py.astype(np.float64)


def subset_log_likelihoods(model, dataset, num_samples=15, max_examples=None, chunk_size=100):
    """MoPoE's "log-likelihood of all modalities given a subset" (Sutter et al. 2021, Table 4 and
    App. B): for every non-empty subset `X_k`, the IWAE estimate of `log p(X)` with the fused
    posterior `q(z | X_k)` as proposal, K = `num_samples` (the paper: 15), averaged over the
    examples. The proposal is `model`'s posterior given X_k; for the paper's, pass
    `kmvae.metrics.subsets.paper_subset_model(model)` (MoPoE-VAE: the product of X_k's experts).

    Returns:
        dict `subset_label(X_k)` -> float, nats per example, subsets ordered by size.
    """
    names = model.modality_names
    return {subset_label([names[i] for i in s]): float(np.mean(importance_sampling(
                model, dataset, names, [names[i] for i in s], num_samples, max_examples,
                chunk_size).log_likelihood))
            for s in nonempty_subsets(len(names))}
