"""Whether a subset model's encoders share one latent space (Korthals et al. 2019, M2VAE,
section 5.1.2, Figure 5) and whether auto re-encoding keeps a code in its class's attractor
(section 5.2, in-place sensor fusion, eq. 13, Figure 6): the figures' claims as numbers.

- `cross_encoder_probe`: a linear probe fit on the codes of the encoder of every modality,
  E[z | M], classifies the codes E[z | M'] of each subset's own encoder. An encoder that puts a
  class where the joint encoder puts it is read right; one that embeds the class anew (the
  paper's JMVAE-Zero q(z | b) for classes 1 and 2) is not. A class that modality M' cannot tell
  from another is misread by any probe: compare with `latent_probe`, each subset's own probe.
- `reencoding_attractors`: from each test example's code E[z | M], auto re-encoding through the
  modalities of M' (`SubsetVAE.reencode`: decode them, encode them with q(z | M')); whether
  the trajectory settles at a fixed point, and whether the point it reaches is still read as
  the example's class by the same probe (the paper: "every seed converges to a fixed-point";
  JMVAE-Zero's and tVAE's "seeds may be attracted by wrong attractors").

Both read codes with the same probe, `joint_probe`: fit it once and pass it as `probe=`.
"""

import numpy as np

from kmvae.metrics.probe import fit_probe, subset_encodings
from kmvae.subsets import subset_label

REENCODING_STEPS = 200     # 50 left up to a fifth of the MoG runs' codes moving (2026-12-06)
REENCODING_TOLERANCE = 1e-2


def joint_probe(model, train, label="label", num_train=500):
    """The probe `cross_encoder_probe` and `reencoding_attractors` read codes with: a logistic
    regression (`fit_probe`) fit on the posterior means E[z | M] of the largest subset that has
    a posterior (every modality) for the first `num_train` training examples. Fit it once and
    pass it to both as `probe=` to score a model with both (`EncoderCoherence` does).

    Args:
        model: a subset model (`kmvae.models.SubsetVAE`).
        train: batches holding every modality and `label` (`(batch,)` class ids).
        label: key of the class ids.
        num_train: training examples of the probe (as `latent_probe`: 500).

    Returns:
        A fitted `sklearn.linear_model.LogisticRegression` over codes `(n, latent_dim)`.

    Raises:
        ValueError: when the training labels hold fewer than two classes.
    """
    joint = _joint_subset(model)
    return fit_probe(*subset_encodings(model, train, [joint], label, num_train)[
        subset_label(joint)])


def _joint_subset(model):
    """The largest subset of `model` that has a posterior."""
    return max(model.conditioning_subsets(), key=len)


def cross_encoder_probe(model, train, test, label="label", num_train=500,
                        max_test_examples=None, probe=None):
    """M2VAE Figure 5's coherence of the encoders: a logistic regression fit on the posterior
    means E[z | M] of the largest subset that has a posterior (every modality) for the first
    `num_train` training examples, its accuracy on the posterior means E[z | M'] of each
    subset's own posterior over the test set.

    Args:
        model: a subset model (`kmvae.models.SubsetVAE`: M2VAE, JMVAE, JMVAE-Zero, tVAE, SVAE).
        train, test: batches holding every modality and `label` (`(batch,)` class ids).
        label: key of the class ids.
        num_train: training examples of the probe (as `latent_probe`: 500).
        max_test_examples: test on at most this many examples (None: all).
        probe: a probe from `joint_probe` (then `train` and `num_train` are not read);
            None: fit one.

    Returns:
        dict `subset_label(M')` -> accuracy in [0, 1] (for M' = M, `latent_probe`'s).

    Raises:
        ValueError: when the probe's training labels hold fewer than two classes.
    """
    if probe is None:
        probe = joint_probe(model, train, label, num_train)
    tested = subset_encodings(model, test, model.conditioning_subsets(), label,
                              max_test_examples)
    return {key: float(probe.score(z.astype(np.float64), y)) for key, (z, y) in tested.items()}


def reencoding_attractors(model, train, test, label="label", num_seeds=500, num_train=500,
                          steps=REENCODING_STEPS, tolerance=REENCODING_TOLERANCE, probe=None):
    """M2VAE Figure 6: auto re-encoding (section 5.2, eq. 13) from the posterior means
    z_0 = E[z | M] of the first `num_seeds` test examples (M every modality), through each
    subset M' that has a posterior: z_{t+1} = E[z | the decoded means of M' at z_t]
    (`model.reencode`), `steps` times.

    Args:
        model: a subset model with `reencode` (`kmvae.models.SubsetVAE`).
        train, test: batches holding every modality and `label`.
        label: key of the class ids.
        num_seeds: test examples re-encoded (the first ones).
        num_train: training examples of the probe that reads the class of a code (fit on
            E[z | M], as `cross_encoder_probe`).
        steps: re-encoding steps (>= 1).
        tolerance: a trajectory has converged when its last step is at most `tolerance` times
            the root-mean-square norm of the seeds z_0.
        probe: a probe from `joint_probe` (then `train` and `num_train` are not read);
            None: fit one.

    Returns:
        dict with `"steps"`, `"tolerance"`, `"seeds"` (the number re-encoded) and
        `"subsets"`: `subset_label(M')` -> dict of fractions of the seeds in [0, 1]:
        `"converged"`; `"class_kept"`, the probe reads the end point z_steps as the example's
        class; `"class_at_start"`, it reads z_0 so (the same for every M').

    Raises:
        ValueError: `steps` < 1, or as `model.reencode`.
    """
    if int(steps) < 1:
        raise ValueError(f"reencoding_attractors needs steps >= 1; received {steps!r}.")
    if probe is None:
        probe = joint_probe(model, train, label, num_train)
    joint = _joint_subset(model)
    seeds, y = subset_encodings(model, test, [joint], label, num_seeds)[subset_label(joint)]
    scale = float(np.sqrt(np.mean(np.sum(np.square(seeds), axis=1))))
    start = probe.predict(seeds.astype(np.float64)) == y
    result = {}
    for subset in model.conditioning_subsets():
        path = np.asarray(model.reencode(seeds, steps=steps, modalities=subset))
        last_step = np.linalg.norm(path[-1] - path[-2], axis=1)
        result[subset_label(subset)] = {
            "converged": float(np.mean(last_step <= tolerance * scale)),
            "class_kept": float(np.mean(probe.predict(path[-1].astype(np.float64)) == y)),
            "class_at_start": float(np.mean(start))}
    return {"steps": int(steps), "tolerance": float(tolerance), "seeds": int(len(y)),
            "subsets": result}
