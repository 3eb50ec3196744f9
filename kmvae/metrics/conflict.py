"""MSNVI's conflict measure between the beliefs of two sources (Kurle, Guennemann & van der
Smagt 2019, section 3.2, eq. 2):

    c(m || m') = KL(q(z | x_m') || q(z | x_m)) / KL(q(z | x_m') || p(z)).

It is 0 when the two beliefs agree and large when the belief of source m is far from (and more
certain than) that of m', measured in units of the information m' gained over the prior; the
paper's decision criterion for a conflict is a ratio above 1.
"""

import tensorflow as tf
import tensorflow_probability as tfp

from kmvae.layers.heads import diagonal_normal

tfd = tfp.distributions


def _per_example_kl(p, q):
    kl = tfd.kl_divergence(p, q)
    if len(p.event_shape) == 0 and kl.shape.rank and kl.shape.rank > 1:
        kl = tf.reduce_sum(kl, axis=-1)       # a plain Normal (batch, D): sum the dimensions
    return kl


def conflict(belief_m, belief_m_prime, prior=None):
    """c(m || m') of MSNVI eq. 2, per example.

    Args:
        belief_m, belief_m_prime: the beliefs `q(z | x_m)` and `q(z | x_m')`, TFP distributions
            with a closed-form KL, batch shape `(batch,)` and event shape `(D,)` (or plain
            `Normal`s of batch shape `(batch, D)`, whose KL is summed over D).
        prior: `p(z)` (default `N(0, I)` of the beliefs' shape).

    Returns:
        `(batch,)` float32, a ratio of KL divergences (dimensionless), >= 0.
    """
    if prior is None:
        loc = tf.zeros_like(belief_m_prime.mean())
        prior = diagonal_normal(loc, tf.ones_like(loc)) if len(belief_m_prime.event_shape) \
            else tfd.Normal(loc, tf.ones_like(loc))
    return _per_example_kl(belief_m_prime, belief_m) / _per_example_kl(belief_m_prime, prior)


def beliefs(model, inputs):
    """The belief of each given modality alone, `q(z | x_m)`: the fused posterior of that single
    modality (for MVAE the product with the prior expert, eq. 3; for MoE / MoPoE the single
    expert; for a subset model such as M2VAE, JMVAE-Zero or tVAE the posterior of the subset
    {m}, its own encoder), a diagonal Normal with batch shape `(batch,)`.

    Args:
        model: a `kmvae.models.MultimodalVAE`.
        inputs: batch dict; every modality in it gets a belief (its `"mask"` is ignored).

    Returns:
        dict name -> `tfd.Independent(tfd.Normal)`.
    """
    names = [n for n in model.modality_names if n in inputs]
    if getattr(model, "is_subset_model", False):   # one posterior per subset, not per modality
        return {name: model.encode({name: inputs[name]}) for name in names}
    x, _ = model.prepare_batch({n: inputs[n] for n in names}, check=True)
    locs, scales = model.experts(x)
    result = {}
    for name in names:
        m = model.modality_names.index(name)
        only = tf.one_hot(tf.fill(tf.shape(locs)[:1], m), model.num_modalities) > 0.5
        loc, scale, log_weights = model.fusion.components(locs, scales, only)
        k = tf.argmax(log_weights, axis=-1, output_type=tf.int32)     # the one valid component
        result[name] = diagonal_normal(tf.gather(loc, k, axis=1, batch_dims=1),
                                       tf.gather(scale, k, axis=1, batch_dims=1))
    return result


def pairwise_conflicts(model, inputs):
    """`c(m || m')` for every ordered pair of the modalities in `inputs`.

    Returns:
        dict `"m||m'"` -> `(batch,)` float32.
    """
    belief = beliefs(model, inputs)
    return {f"{m}||{n}": conflict(belief[m], belief[n])
            for m in belief for n in belief if m != n}
