"""The shared base of models with one posterior per subset of modalities (JMVAE, JMVAE-Zero,
tVAE, M2VAE, VAEVAE, SVAE): the subset posteriors, per-example selection by the mask, and the
ELBO pieces every subset contributes.

Subsets are indexed as `kmvae.subsets.nonempty_subsets(M)`: by size, then lexicographically, so
for modalities (a, b) the order is {a}, {b}, {a, b}. `K = 2^M - 1`.
"""

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae.distribute import global_sum
from kmvae.layers.heads import diagonal_normal
from kmvae.layers.subset import SubsetEncoder
from kmvae.models.base import MultimodalVAE, fix_arguments
from kmvae.subsets import (child_pairs, nonempty_subsets, subset_codes, subset_index_table,
                           subset_label, subset_matrix)

tfd = tfp.distributions


class SubsetVAE(MultimodalVAE):
    """Base class: a posterior `q(z | x_S)` for each non-empty subset S of the modalities (a
    network of its own, a product of experts, ...), chosen per example by the subset of present
    modalities.

    `subset_posteriors(x)` returns the parameters of every subset's posterior,
    `(batch, K, D)` (the base's `posterior_parameters`), and `posterior(locs, scales, mask)`
    picks, per example, the one of its present subset; so `encode`, `translate`, `call`,
    `log_likelihood` (with any `proposal`) and the SavedModel export work unchanged. The
    unimodal posteriors `q(z | x_m)` are the base's `encoders` (and `experts`).

    Extension points, besides the base's: `subset_posteriors` (every subclass),
    `create_networks` and `extra_networks` (the subclass's own networks), and `encodable`
    (which subsets have a posterior).

    Args:
        modalities, latent_dim, beta, likelihood_weights, rescale_likelihoods, seed: as
            `kmvae.models.MultimodalVAE` (at least two modalities; no `fusion` or
            `prior_expert`: the posterior is chosen, not fused).
        joint_units: widths of the dense layers after the concatenation in each joint
            (`SubsetEncoder`) network; default none.

    Raises:
        ValueError: fewer than two modalities, a `fusion` or `prior_expert` argument, or those
            of `MultimodalVAE`.
    """

    is_subset_model = True    # one posterior per subset (kmvae.metrics.suite.is_subset_model)

    FIXED_ARGUMENTS = {
        "fusion": ("poe", "each example's posterior is the one of its subset of present "
                          "modalities (`subset_posteriors`), not a fusion of experts."),
        "prior_expert": (False, "the subset posteriors are the class's own (networks or "
                                "products it defines); there is no fusion to add it to.")}

    def __init__(self, modalities, latent_dim, *, joint_units=(), **kwargs):
        kwargs = fix_arguments(self, kwargs, SubsetVAE.FIXED_ARGUMENTS)
        modalities = list(modalities or [])
        if len(modalities) < 2:
            raise ValueError(f"{type(self).__name__} needs at least two modalities; received "
                             f"{len(modalities)}.")
        M = len(modalities)
        self.joint_units = tuple(int(u) for u in joint_units)
        self.subsets = nonempty_subsets(M)
        self._inclusion = subset_matrix(self.subsets, M)                         # (K, M)
        self._sizes = self._inclusion.sum(axis=1).astype(np.float32)             # (K,)
        self._index_table = subset_index_table(self.subsets, M)                   # (2^M,)
        self._child_pairs = child_pairs(self.subsets)                            # (P, 2)
        self._networks_created = False
        super().__init__(modalities, latent_dim, **kwargs)

    # ----------------------------------------------------------------------------- structure
    def create_networks(self):
        """Creates the subclass's own networks (joint encoders, replacement experts) as
        attributes, so that Keras tracks them. Called once, from `build`. Extension point."""

    def extra_networks(self):
        """The networks `create_networks` made, a list of layers built with the model.
        Extension point (default none)."""
        return []

    def build(self, input_shape=None):
        if not self._networks_created:
            self._networks_created = True
            self.create_networks()
        for layer in self.extra_networks():
            layer.build()
        super().build(input_shape)

    def get_config(self):
        return {**super().get_config(), "joint_units": list(self.joint_units)}

    @property
    def num_subsets(self):
        """K = 2^M - 1."""
        return len(self.subsets)

    @property
    def subset_labels(self):
        """The `kmvae.subsets.subset_label` of every subset, in `subsets` order: `["a", "b",
        "a,b"]` for modalities (a, b)."""
        return [subset_label([self.modality_names[m] for m in s]) for s in self.subsets]

    def encodable(self):
        """(K,) bools: which subsets have a posterior (all, except in JMVAE with M > 2)."""
        return np.ones(self.num_subsets, bool)

    def conditioning_subsets(self):
        """The subsets that have a posterior (`encodable`), as lists of names, smallest first:
        what evaluations may condition on (JMVAE with M > 2 has no unimodal encoders)."""
        encodable = self.encodable()
        return [[self.modality_names[m] for m in s]
                for s, ok in zip(self.subsets, encodable) if ok]

    def check_proposal(self, proposal_mask, proposal):
        """Raises ValueError when a row's proposal subset has no posterior (`encodable`)."""
        encodable = self.encodable()
        if encodable.all():
            return
        rows = np.flatnonzero(~encodable[np.asarray(self.subset_index(proposal_mask))])
        if rows.size:
            sizes = sorted({len(s) for s, ok in zip(self.subsets, encodable) if ok})
            raise ValueError(f"{type(self).__name__} has posteriors for subsets of {sizes} "
                             f"modalities only; the proposal {tuple(proposal)} leaves rows "
                             f"{rows[:20].tolist()} with another number present.")

    def joint_encoder_for(self, subset, name=None):
        """A new `SubsetEncoder` over the modality indices `subset`."""
        names = [self.modality_names[m] for m in subset]
        return SubsetEncoder([self.modalities[m] for m in subset], self.latent_dim,
                             hidden_units=self.joint_units, dtype=self.dtype_policy,
                             name=name or "_and_".join(names) + "_encoder")

    # ----------------------------------------------------------------------------- posteriors
    def subset_posteriors(self, x, training=False):
        """`(locs, scales)`, each `(batch, K, D)` float32: every subset's posterior computed from
        the (zero-filled) batch, in `subsets` order (entries of subsets without a posterior,
        `encodable` False, hold placeholders never used). Subclasses implement it; those of
        `PairedUnpairedVAE` also take `subsets`, a list of indices into `subsets`, and then
        compute only those posteriors, `(batch, len(subsets), D)`, with only the networks they
        need."""
        raise NotImplementedError

    def posterior_parameters(self, x, training=False):
        """Every subset's posterior, `subset_posteriors` (not one expert per modality as in
        the base: these models pick a posterior rather than fuse experts)."""
        return self.subset_posteriors(x, training=training)

    def subset_index(self, mask):
        """`(batch,)` int32: index of the subset of present modalities of each example."""
        return tf.gather(tf.constant(self._index_table), subset_codes(mask))

    def contained(self, mask):
        """`(batch, K)` bool: subset S lies within the example's present modalities."""
        inside = tf.logical_or(tf.constant(self._inclusion < 0.5)[None],
                               tf.cast(mask, tf.bool)[:, None, :])
        return tf.reduce_all(inside, axis=-1)

    def posterior(self, locs, scales, mask):
        """`q(z | x_P)`, P each example's present (or, for `log_likelihood`, proposal)
        modalities: a Normal, batch `(batch,)`, event `(D,)`."""
        index = self.subset_index(mask)
        return diagonal_normal(tf.gather(locs, index, axis=1, batch_dims=1),
                               tf.gather(scales, index, axis=1, batch_dims=1))

    def invalid_rows(self, tensors, mask):
        """The base's checks, and rows whose subset of present modalities has no posterior."""
        problems = super().invalid_rows(tensors, mask)
        encodable = self.encodable()
        if encodable.all():
            return problems
        ok = tf.gather(tf.constant(encodable), self.subset_index(mask))
        rows = tf.reshape(tf.where(tf.logical_and(~ok, tf.reduce_any(mask, axis=1))), [-1])
        sizes = sorted({len(s) for s, e in zip(self.subsets, encodable) if e})
        return problems + [(f"{type(self).__name__} has encoders for subsets of {sizes} "
                            f"modalities only; rows with another number present:", rows)]

    # ----------------------------------------------------------------------------- objective pieces
    def subset_terms(self, x, mask, locs, scales, reconstruct="own", subsets=None):
        """The pieces of every subset's ELBO, one reparameterised draw `z_S ~ q(z | x_S)` each.

        Args:
            x, mask: from `prepare_batch`.
            locs, scales: `(batch, K, D)`, from `subset_posteriors`.
            reconstruct: `"own"`: subset S reconstructs its own modalities (a present modality
                outside S contributes nothing); `"all"`: every present modality.
            subsets: None (every subset), or with `reconstruct="own"` a list of indices into
                `subsets` that holds each of its subsets' children (the subsets one modality
                smaller): the pieces of those subsets only, from `locs, scales` of theirs,
                `(batch, len(subsets), D)`; a modality in none of them is not decoded.

        Returns:
            dict of `(batch, K)` float32 tensors, nats per example: `log_lik`
            (`sum_m lambda_m log p(x_m | z_S)`), `log_lik_raw` (the same with lambda = 1),
            `kl_prior` (`KL(q(z|x_S) || p(z))`) and `kl_children`
            (`sum_{m in S} KL(q(z|x_S) || q(z|x_{S \\ m}))`, 0 for single modalities). Absent
            modalities contribute nothing; terms of subsets not within the present modalities
            are finite values for the caller to mask.
        """
        chosen = [self.subsets[i] for i in (range(self.num_subsets) if subsets is None
                                            else subsets)]
        K = len(chosen)
        z = self.sample_normal(locs, scales)                                     # (B, K, D)
        log_lik = log_lik_raw = 0.0
        for m, (decoder, weight) in enumerate(zip(self.decoders, self.loss_weights)):
            terms = [k for k, s in enumerate(chosen) if m in s or reconstruct == "all"]
            if not terms:
                continue
            log_p = decoder(tf.gather(z, terms, axis=1)).log_prob(x[m][:, None])  # (B, n)
            log_p = tf.where(mask[:, m:m + 1], log_p, 0.0)
            log_p = tf.einsum("bn,nk->bk", log_p, tf.one_hot(terms, K))
            log_lik_raw += log_p
            log_lik += weight * log_p
        kl_prior = tfd.kl_divergence(diagonal_normal(locs, scales), self.prior())
        kl_children = tf.zeros_like(kl_prior)
        pairs = self._child_pairs
        if subsets is not None and len(pairs):    # the pairs among `subsets`, by position
            position = {i: k for k, i in enumerate(subsets)}
            pairs = np.array([(position[p], position[c]) for p, c in pairs
                              if p in position], np.int64).reshape(-1, 2)
        if len(pairs):
            parents, children = pairs[:, 0], pairs[:, 1]
            q_parent = diagonal_normal(tf.gather(locs, parents, axis=1),
                                       tf.gather(scales, parents, axis=1))
            q_child = diagonal_normal(tf.gather(locs, children, axis=1),
                                      tf.gather(scales, children, axis=1))
            kl = tfd.kl_divergence(q_parent, q_child)                            # (B, P)
            kl_children = tf.einsum("bp,pk->bk", kl, tf.one_hot(parents, K))
        return {"log_lik": log_lik, "log_lik_raw": log_lik_raw, "kl_prior": kl_prior,
                "kl_children": kl_children}

    def present_elbo(self, pieces, mask):
        """`(batch,)` ELBO of each example's present subset under its own posterior, lambda =
        beta = 1 (the reported `elbo`), nats."""
        index = self.subset_index(mask)[:, None]
        values = pieces["log_lik_raw"] - pieces["kl_prior"]
        return tf.gather(values, index, axis=1, batch_dims=1)[:, 0]

    def pattern_means(self, values, mask):
        """The sum over presence patterns of the mean of `values` `(batch,)` over the examples
        of that pattern (patterns absent from the batch contribute 0): SVAE eq. 10's
        `L + L_1 + L_2`, each expectation estimated on its own examples. Under a
        `tf.distribute` strategy the patterns' counts are those of the global batch (this
        replica's share, as `kmvae.distribute.batch_mean`)."""
        onehot = tf.one_hot(self.subset_index(mask), self.num_subsets)
        sums = tf.einsum("b,bk->k", values, onehot)
        counts = global_sum(tf.reduce_sum(onehot, axis=0))
        return tf.reduce_sum(tf.math.divide_no_nan(sums, counts))

    def subset_sizes(self):
        """`(K,)` float32 subset sizes."""
        return tf.constant(self._sizes)

    # ----------------------------------------------------------------------------- in-place fusion
    def reencode(self, z, steps=10, modalities=None):
        """Auto re-encoding (M2VAE section 5.2, in-place sensor fusion): `z -> decode -> encode`,
        `steps` times, each time decoding the means of `modalities` (default all; class
        probabilities are turned into the most likely class) and encoding them with the
        posterior of that subset, taking its mean.

        Args:
            z: `(batch, D)` latent codes (e.g. `model.encode(batch).mean()`).
            steps: number of iterations (>= 0).
            modalities: names of the modalities to decode and re-encode.

        Returns:
            `(steps + 1, batch, D)` float32, the trajectory, starting at `z`.

        Raises:
            ValueError: on a wrong `z` shape, a negative `steps` or unknown modality names.
        """
        z = tf.convert_to_tensor(z, tf.float32)
        if z.shape.rank != 2 or z.shape[-1] != self.latent_dim:
            raise ValueError(f"reencode needs z of shape (batch, {self.latent_dim}); received "
                             f"{tuple(z.shape)}.")
        if int(steps) < 0:
            raise ValueError(f"steps must be >= 0; received {steps!r}.")
        names = self.modality_names if modalities is None else tuple(modalities)
        unknown = sorted(set(names) - set(self.modality_names))
        if unknown or not names:
            raise ValueError(f"modalities must name modalities among {self.modality_names}; "
                             f"received {modalities!r}.")
        trajectory = [z]
        for _ in range(int(steps)):
            z = self.encode(self.decoded_inputs(z, names)).mean()
            trajectory.append(z)
        return tf.stack(trajectory, axis=0)

    def decoded_inputs(self, z, names=None):
        """A batch dict of the decoded means of `names` at `z`, as inputs (most likely class for
        categorical modalities)."""
        means = self.decoded_means(z, names)
        batch = {}
        for name, mean in means.items():
            modality = self.modalities[self.modality_names.index(name)]
            batch[name] = tf.argmax(mean, axis=-1, output_type=tf.int32) \
                if modality.is_categorical else mean
        return batch


def m2vae_coefficients(num_modalities):
    """`(M + 1, M + 1)` float32 table `c[p, s] = (p - s)! (s - 1)! / p!` for `1 <= s <= p`:
    the weight of a subset of size s in the M2VAE objective of a set of size p, unrolling the
    recursion of eq. 11 (each of the `(p - s)!` removal orders from P down to S carries
    `1/p * 1/(p-1) * ... * 1/s`). Rows sum, over the subsets of P, to the harmonic number H_p."""
    table = np.zeros((num_modalities + 1, num_modalities + 1), np.float32)
    for p in range(1, num_modalities + 1):
        for s in range(1, p + 1):
            table[p, s] = math.factorial(p - s) * math.factorial(s - 1) / math.factorial(p)
    return table
