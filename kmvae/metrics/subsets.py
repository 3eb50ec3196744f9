"""The subsets of input modalities that MoPoE's protocol evaluates (Sutter et al. 2021, App. B,
Figure 3, Tables 2 and 4): the posterior of each subset as the paper defines it, every subset's
posterior from one pass of the encoders, and the averages over the subsets of each size.

- `paper_subset_model`: the model whose `encode(X_k)` is the posterior the paper evaluates a
  subset X_k with (for MoPoE-VAE the product of X_k's experts, not the mixture over X_k's own
  subsets);
- `subset_posteriors`: `q(z | X_k)` of several subsets of one batch, the posterior parameters
  (the unimodal experts, or a subset model's subset posteriors) computed once;
- `by_size`: the average over the subsets of each size of per-subset values (MoPoE Figure 3,
  "averaged over all subsets of the respective size").
"""

import numpy as np
import tensorflow as tf

from kmvae.subsets import parse_subset_label


def by_size(per_subset):
    """Averages per number of input modalities (MoPoE Figure 3).

    Args:
        per_subset: dict `kmvae.subsets.subset_label(X_k)` (names joined by `","`) -> float.

    Returns:
        dict `"k"` (str, the subset size) -> the unweighted mean of the values of the subsets of
        size k, sizes in increasing order.
    """
    groups = {}
    for label, value in per_subset.items():
        groups.setdefault(len(parse_subset_label(label)), []).append(float(value))
    return {str(k): float(np.mean(groups[k])) for k in sorted(groups)}


def paper_subset_model(model):
    """The model whose subset posteriors are those MoPoE's evaluation uses.

    MoPoE-VAE (Definition 1) evaluates a subset X_k with `q~(z | X_k) = prod_{x_j in X_k}
    q(z | x_j)`, the product of the subset's experts (Figure 3, Tables 2 and 4, "the variational
    posterior of subsets of modalities"; the authors' code reads it from `latents['subsets']`),
    whereas a `MoPoEVAE`'s `encode(X_k)` is its joint posterior given X_k, the mixture over all
    non-empty subsets of X_k. For a `MoPoEVAE` with `fusion="mopoe"` this returns a
    `MoPoEVAE(fusion="poe")` with the model's `prior_expert` holding copies of its weights: its
    `encode`, `translate` and `log_importance_weights(proposal=X_k)` use that product. Any other
    model (MVAE: the product with the prior expert, MVAE eq. 3; MMVAE and MoEVAE: the mixture of
    X_k's experts) is returned as it is.

    The model says which (`model.subset_evaluation_model()`); an object without that method
    (duck-typed) is returned as it is.

    Returns:
        a `kmvae.models.MultimodalVAE` (or `model` itself).
    """
    method = getattr(model, "subset_evaluation_model", None)
    return model if method is None else method()


def subset_posteriors(model, batch, subsets):
    """`q(z | X_k)` of each subset for one batch, the modalities encoded once.

    For a `kmvae.models.MultimodalVAE` the parameters `model.posterior_parameters(x)` are
    computed once and each subset's posterior is `model.posterior(locs, scales, mask & X_k)`,
    as `encode` would build it from the subset alone (an expert, or a subset's posterior,
    depends on its own modalities only); another object (duck-typed) gets one `model.encode`
    call per subset.

    Args:
        model: a `kmvae.models.MultimodalVAE`, or an object with `encode(inputs)`.
        batch: dict holding every modality of the subsets (other entries are ignored).
        subsets: lists of modality names.

    Returns:
        list of `(subset, distribution)`, batch shape `(batch,)`, event shape `(latent_dim,)`.

    Raises:
        ValueError: on a name missing from the batch.
    """
    from kmvae.models.base import MultimodalVAE

    if not subsets:
        return []
    needed = [n for n in model.modality_names if any(n in s for s in subsets)]
    missing = [n for n in needed if n not in batch]
    if missing:
        raise ValueError(f"The batch holds {sorted(batch)}; the subsets need {missing} too.")
    if not isinstance(model, MultimodalVAE):
        return [(s, model.encode({n: batch[n] for n in s})) for s in subsets]
    x, mask = model.prepare_batch({n: batch[n] for n in needed}, check=True)
    locs, scales = model.posterior_parameters(x)
    result = []
    for s in subsets:
        chosen = tf.constant([[n in s for n in model.modality_names]])
        result.append((s, model.posterior(locs, scales, tf.logical_and(mask, chosen))))
    return result
