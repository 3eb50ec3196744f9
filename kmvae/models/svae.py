"""SVAE and VAEVAE (Kutuzova et al., ICLR 2021 submission, "Multimodal VAEs for
Semi-Supervised Learning: In Defense of Product-of-Experts"): product-of-experts posteriors
with extra experts or joint networks, trained on paired and unpaired examples in one batch."""

import keras
import numpy as np
import tensorflow as tf

from kmvae.datasets.pipeline import checked_layout
from kmvae.layers.fusion import product_of_experts
from kmvae.layers.modality import ModalityEncoder
from kmvae.models.base import fix_arguments
from kmvae.models.subsets import SubsetVAE

OBJECTIVES = ("elbo", "comb")
VARIANTS = ("a", "b")


class PairedUnpairedVAE(SubsetVAE):
    """Shared objective of SVAE and VAEVAE, from every subset's term
    `U(S) = E_{q(z|x_S)}[sum_{m in S} lambda_m log p(x_m | z)]
    - beta sum_{m in S} KL(q(z|x_S) || q(z|x_{S \\ m}))`, with `q(z|x_{})` = p(z): a single
    modality's term is its VAE ELBO (eq. 8, 9), a pair's the joint ELBO with the single
    modalities' posteriors as priors (eq. 7, first line).

    Per example with present modalities P (nats):

    - `objective="elbo"` (VAEVAE's own loss, Wu & Goodman 2019): `U(P)`;
    - `objective="comb"` (L_comb, eq. 7-10 and Algorithm 1; Appendix D eq. D.28-D.31 for more
      modalities): `sum_{S subset of P} U(S)`: a paired example contributes the joint term and
      both unimodal ELBOs (eq. 7), an unpaired one its unimodal ELBO (eq. 8, 9).

    Paired and unpaired examples share the batch and the mask says which is which. As eq. 10
    sums expectations over the paired and the unpaired data, the loss is minus the sum, over the
    presence patterns found in the batch, of the mean of that value over the examples of the
    pattern (so a few paired examples among many unpaired ones keep the weight of their
    expectation, as Algorithm 1's one paired and one unpaired example per step). At low
    supervision, load the data with `kmvae.datasets.load(..., paired_per_batch=k)`, so that
    every batch holds k paired examples, as Algorithm 1's every step does: plain batches of 100
    at 1% paired hold one on average, and that estimate's noise kept the MNIST-Split recipes'
    decoders near the mean image.
    """

    def __init__(self, modalities, latent_dim, *, objective="comb", **kwargs):
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}; received {objective!r}.")
        self.objective = objective
        self._batch_layout = None
        super().__init__(modalities, latent_dim, **kwargs)

    def get_config(self):
        return {**super().get_config(), "objective": self.objective}

    def term_names(self):
        return ("loss", "elbo", "bound")

    def per_example(self, pieces, mask):
        """`(batch,)` the objective's value of each example (before the pattern means)."""
        terms = self._subset_values(pieces, range(self.num_subsets))            # U(S), (B, K)
        if self.objective == "elbo":
            index = self.subset_index(mask)[:, None]
            return tf.gather(terms, index, axis=1, batch_dims=1)[:, 0]
        return tf.reduce_sum(tf.where(self.contained(mask), terms, 0.0), axis=1)

    def _subset_values(self, pieces, subsets):
        """`(batch, len(subsets))` U(S) of each subset (indices into `subsets`) from the
        `subset_terms` pieces of those subsets: the weighted log-likelihood minus beta times
        the KL to the prior (single modalities) or to the children (eq. 7-9)."""
        singles = tf.constant([len(self.subsets[i]) == 1 for i in subsets])[None]
        kl = tf.where(singles, pieces["kl_prior"], pieces["kl_children"])
        return pieces["log_lik"] - self.kl_weight * kl

    def compute_objective(self, x, mask, training=False):
        """The loss and reported terms (see the class). Inside `fit` on a dataset whose
        batches come in blocks of one presence pattern each (`kmvae.datasets.load(...,
        paired_per_batch=k)` with single views; `fit` checks each batch against the layout),
        the training steps compute each block's terms from the subsets within its pattern
        alone (`_blocked_objective`): the same values, about a third less computation on
        SVAE's MNIST-Split batches."""
        if training and self._batch_layout is not None:
            return self._blocked_objective(x, mask, self._batch_layout, training)
        return self._objective(x, mask, training)

    def _objective(self, x, mask, training):
        locs, scales = self.subset_posteriors(x, training=training)
        pieces = self.subset_terms(x, mask, locs, scales)
        value = self.per_example(pieces, mask)
        return self._loss_and_terms(value, self.present_elbo(pieces, mask), mask)

    def _loss_and_terms(self, value, elbo, mask):
        ones = tf.ones_like(value)
        return -self.pattern_means(value, mask), {"elbo": (elbo, ones), "bound": (value, ones)}

    def _blocked_objective(self, x, mask, layout, training):
        """`compute_objective` on a batch whose rows follow `layout`
        (`kmvae.datasets.pipeline.batch_layout`), block by block."""
        paired, views, rows = layout[0][0], len(layout) - 1, mask.shape[0]
        if rows is not None and (rows < paired + views or (rows - paired) % views):
            raise ValueError(f"A batch of {rows} rows cannot follow the layout of blocks "
                             f"(rows, presence pattern) {layout}: it needs {paired} complete "
                             f"rows and as many rows of each of the {views} others.")
        per_view = (tf.shape(mask)[0] - paired) // views
        values, elbos = [], []
        for b, (_, pattern) in enumerate(layout):
            start = 0 if b == 0 else paired + (b - 1) * per_view
            size = paired if b == 0 else per_view
            value, elbo = self._block_values([t[start:start + size] for t in x], pattern,
                                             training)
            values.append(value)
            elbos.append(elbo)
        return self._loss_and_terms(tf.concat(values, 0), tf.concat(elbos, 0), mask)

    def _block_values(self, x, pattern, training):
        """`(value, elbo)`, each `(rows,)`: `per_example` and `present_elbo` for rows that all
        have the presence pattern `pattern` (M bools), from the subsets within it alone."""
        present = tuple(m for m, p in enumerate(pattern) if p)
        subsets = [i for i, s in enumerate(self.subsets) if set(s) <= set(present)]
        locs, scales = self.subset_posteriors(x, training=training, subsets=subsets)
        mask = tf.broadcast_to(tf.constant(pattern)[None], [tf.shape(x[0])[0], len(pattern)])
        pieces = self.subset_terms(x, mask, locs, scales, subsets=subsets)
        terms = self._subset_values(pieces, subsets)                            # U(S)
        own = subsets.index(self.subsets.index(present))
        value = tf.reduce_sum(terms, axis=1) if self.objective == "comb" else terms[:, own]
        return value, pieces["log_lik_raw"][:, own] - pieces["kl_prior"][:, own]

    def fit(self, x=None, *args, **kwargs):
        """`kmvae.models.MultimodalVAE.fit`. On a dataset whose batches come in blocks of one
        presence pattern each (the layout `kmvae.datasets.load` records as the dataset's
        `kmvae_batch_layout`, `kmvae.datasets.pipeline.batch_layout`), the training steps
        compute each block's terms alone (`compute_objective`), and each batch is checked
        against the layout in the input pipeline: one that does not follow it stops `fit`
        with an InvalidArgumentError naming the layout. Not under a `tf.distribute` strategy,
        which splits the batch among replicas."""
        layout = getattr(x, "kmvae_batch_layout", None)
        if self._distribute_strategy is not None or not self._layout_fits(layout):
            return super().fit(x, *args, **kwargs)
        x = x.map(lambda batch: checked_layout(batch, layout),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        self._batch_layout, self.train_function = layout, None   # traced with the blocks
        try:
            return super().fit(x, *args, **kwargs)
        finally:
            self._batch_layout, self.train_function = None, None

    def _layout_fits(self, layout):
        """Whether `layout` is one this model can compute by blocks: complete rows first,
        then distinct incomplete, non-empty patterns of this model's modalities."""
        if not layout or len(layout) < 2:
            return False
        patterns = [tuple(bool(p) for p in pattern) for _, pattern in layout]
        complete = (True,) * self.num_modalities
        return (all(len(p) == self.num_modalities for p in patterns)
                and patterns[0] == complete and len(set(patterns)) == len(patterns)
                and all(any(p) for p in patterns) and layout[0][0] > 0)


def weighted_product(locs, scales, weights):
    """Product of Gaussian experts raised to powers: precision `sum_e w_e / sigma_e^2`, mean
    `sum_e w_e mu_e / sigma_e^2` over that precision.

    Args:
        locs, scales: `(batch, E, D)`; weights: `(K, E)` float32, >= 0, each row non-zero.

    Returns:
        `(loc, scale)`, each `(batch, K, D)`.
    """
    precisions = tf.math.reciprocal(tf.square(scales))
    precision = tf.einsum("ke,bed->bkd", weights, precisions)
    loc = tf.einsum("ke,bed->bkd", weights, precisions * locs) / precision
    return loc, tf.math.rsqrt(precision)


@keras.saving.register_keras_serializable(package="kmvae")
class SVAE(PairedUnpairedVAE):
    """SVAE (eq. 3-6): `q(z | x_1, x_2) ∝ q_1(z | x_1) q_2(z | x_2)`, and for a missing modality
    a replacement expert computed from the present one: `q(z | x_1) = q_1(z | x_1) q_2*(z | x_1)`,
    `q(z | x_2) = q_2(z | x_2) q_1*(z | x_2)`; no prior expert.

    With M modalities (Appendix D) there are M^2 networks `q_kj(z | x_j)`: `q_jj` is the expert
    of modality j (the base's `encoders`), `q_kj` (k != j) stands in for a missing k, computed
    from x_j (`replacement_encoders`). The posterior of the present modalities P is
    `prod_{m in P} q_mm(z | x_m) prod_{k not in P} (prod_{j in P} q_kj(z | x_j))^{1/|P|}`:
    for |P| = 1 or M it is eq. D.36 / D.32; in between, Appendix D has one product per j
    (eq. D.34, D.35: the missing experts all from x_j) and sums the loss over them, while here
    the |P| versions are merged into their normalised geometric mean, one Gaussian (so that
    `encode` has one posterior).

    Objective: `objective="comb"` (default, L_comb, eq. 10) or `"elbo"` (SVAE*, with VAEVAE's
    loss); see `PairedUnpairedVAE`.

    Args:
        modalities, latent_dim, beta, likelihood_weights, rescale_likelihoods, seed: as
            `kmvae.models.MultimodalVAE` (at least two modalities).
        objective: `"comb"` or `"elbo"`.

    Reported terms (nats, per example): `elbo` (of the present subset under its posterior,
    lambda = beta = 1) and `bound` (the objective's value).

    Raises:
        ValueError: fewer than two modalities, an unknown objective, or a `joint_units`,
            `fusion` or `prior_expert` argument.

    Example:
        >>> model = kmvae.SVAE([kmvae.Modality("top", shape=(392,)),
        ...                     kmvae.Modality("bottom", shape=(392,))], latent_dim=64)
        >>> train, test = kmvae.datasets.load("mnist_split", supervision=0.1)
        >>> model.compile(keras.optimizers.Adam(2e-4)); model.fit(train, epochs=200)
    """

    FIXED_ARGUMENTS = {
        "joint_units": ((), "SVAE has no joint networks: its posteriors are products of "
                            "experts (eq. 3-6); VAEVAE(variant='b', joint_units=...) has them.")}

    def __init__(self, modalities, latent_dim, *, objective="comb", **kwargs):
        super().__init__(modalities, latent_dim, objective=objective,
                         **fix_arguments(self, kwargs, SVAE.FIXED_ARGUMENTS))

    def get_config(self):
        return self.without_fixed_arguments(super().get_config())

    @property
    def replacement_pairs(self):
        """`(k, j)` pairs, k != j: `replacement_encoders[i]` is `q_kj(z | x_j)`."""
        M = self.num_modalities
        return [(k, j) for k in range(M) for j in range(M) if k != j]

    def create_networks(self):
        names = self.modality_names
        self.replacement_encoders = [
            ModalityEncoder(self.modalities[j], self.latent_dim, dtype=self.dtype_policy,
                            name=f"{names[k]}_from_{names[j]}_encoder")
            for k, j in self.replacement_pairs]

    def extra_networks(self):
        return list(self.replacement_encoders)

    def expert_weights(self):
        """`(K, M + M(M-1))` float32: the power of each expert (the M own experts, then the
        replacement ones in `replacement_pairs` order) in each subset's product."""
        M = self.num_modalities
        weights = np.zeros((self.num_subsets, M + len(self.replacement_pairs)), np.float32)
        for s, subset in enumerate(self.subsets):
            weights[s, list(subset)] = 1.0
            for e, (k, j) in enumerate(self.replacement_pairs):
                if k not in subset and j in subset:
                    weights[s, M + e] = 1.0 / len(subset)
        return weights

    def subset_posteriors(self, x, training=False, subsets=None):
        weights = self.expert_weights()
        if subsets is not None:
            weights = weights[list(subsets)]
        used = np.flatnonzero(weights.any(axis=0))          # only the experts the products use
        encoders = self.encoders + list(self.replacement_encoders)
        inputs = list(x) + [x[j] for _, j in self.replacement_pairs]
        experts = [encoders[e](inputs[e], training=training).distribution for e in used]
        locs = tf.stack([q.loc for q in experts], axis=1)
        scales = tf.stack([q.scale for q in experts], axis=1)
        return weighted_product(locs, scales, tf.constant(weights[:, used]))


@keras.saving.register_keras_serializable(package="kmvae")
class VAEVAE(PairedUnpairedVAE):
    """VAEVAE (Wu & Goodman 2019) as SVAE section 3 describes it.

    - `variant="a"`: SVAE without the replacement experts, `q(z | x_S) ∝ prod_{m in S} q_m(z | x_m)`
      (no prior expert);
    - `variant="b"` (default, the one the paper benchmarks): a joint network
      (`kmvae.layers.SubsetEncoder`) for each subset of two or more modalities (Appendix D:
      2^M - 1 networks in all), the unimodal encoders for single modalities.

    Objective: `objective="elbo"` (default: VAEVAE's loss; the joint terms use the unimodal
    posteriors as priors) or `"comb"` (L_comb, which makes it VAEVAE*: see `VAEVAEStar`); see
    `PairedUnpairedVAE`. A joint network is trained by paired examples only. With three or
    more modalities, `"elbo"` on a complete example ties `q(z | x_1..x_M)` to the encoders of
    the subsets one modality smaller only, so the single-modality encoders learn from
    incomplete examples alone; SVAE's Appendix D trains the three-modality VAEVAE with the sum
    over all subsets (eq. D.28-D.31), `"comb"`.

    With every example paired, `"elbo"` has no term in the prior p(z) = N(0, I): only KLs
    between posteriors, which do not change when the whole latent space is moved or stretched
    (the encoders' and decoders' first dense layers absorb it). Nothing then keeps the
    posteriors near N(0, I): the 200-epoch `vaevae_mnist_split_100` run ended with
    KL(q(z | top, bottom) || p(z)) of about 430 nats, so its samples from the prior and its
    log-likelihoods under p(z) say little about the model, while its reconstructions from
    the posteriors are good. Unpaired examples, or `"comb"`, add ELBOs under p(z).

    Args:
        modalities, latent_dim, beta, likelihood_weights, rescale_likelihoods, seed,
            joint_units: as `kmvae.models.SubsetVAE`.
        variant: `"a"` or `"b"`.
        objective: `"elbo"` or `"comb"`.

    Reported terms: as `SVAE`.

    Raises:
        ValueError: fewer than two modalities, an unknown variant or objective.

    Example:
        >>> model = kmvae.VAEVAE(modalities, latent_dim=64, variant="b")
    """

    def __init__(self, modalities, latent_dim, *, variant="b", objective="elbo", **kwargs):
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}; received {variant!r}.")
        self.variant = variant
        super().__init__(modalities, latent_dim, objective=objective, **kwargs)

    def get_config(self):
        return {**super().get_config(), "variant": self.variant}

    def create_networks(self):
        self.joint_encoders = [self.joint_encoder_for(s) for s in self.subsets
                               if len(s) > 1] if self.variant == "b" else []

    def extra_networks(self):
        return list(self.joint_encoders)

    def subset_posteriors(self, x, training=False, subsets=None):
        subsets = range(self.num_subsets) if subsets is None else list(subsets)
        inclusion = self._inclusion[subsets]                                     # (k, M)
        needed = inclusion.any(axis=0) if self.variant == "a" else np.array(
            [any(self.subsets[i] == (m,) for i in subsets) for m in range(self.num_modalities)])
        experts = [encoder(x_m, training=training).distribution if use else None
                   for encoder, x_m, use in zip(self.encoders, x, needed)]
        if self.variant == "a":
            used = np.flatnonzero(needed)
            inclusion = tf.broadcast_to(tf.constant(inclusion[:, used])[None],
                                        [tf.shape(x[0])[0], len(subsets), len(used)])
            return product_of_experts(tf.stack([experts[m].loc for m in used], axis=1),
                                      tf.stack([experts[m].scale for m in used], axis=1),
                                      inclusion, prior_expert=False)
        joint = {s: network for s, network in zip([s for s in self.subsets if len(s) > 1],
                                                  self.joint_encoders)}
        locs, scales = [], []
        for i in subsets:
            subset = self.subsets[i]
            q = experts[subset[0]] if len(subset) == 1 else \
                joint[subset]([x[m] for m in subset], training=training).distribution
            locs.append(q.loc)
            scales.append(q.scale)
        return tf.stack(locs, axis=1), tf.stack(scales, axis=1)


@keras.saving.register_keras_serializable(package="kmvae")
class VAEVAEStar(VAEVAE):
    """VAEVAE*: VAEVAE's model trained with SVAE's L_comb (Kutuzova et al., section 4).

    Args:
        modalities, latent_dim, variant, beta, likelihood_weights, rescale_likelihoods, seed,
            joint_units: as `VAEVAE`.

    Raises:
        ValueError: an `objective` argument, or those of `VAEVAE`.

    Example:
        >>> model = kmvae.VAEVAEStar(modalities, latent_dim=64)
    """

    FIXED_ARGUMENTS = {
        "objective": ("comb", "VAEVAE* is VAEVAE trained with L_comb; VAEVAE(objective=...) "
                              "chooses the objective.")}

    def __init__(self, modalities, latent_dim, **kwargs):
        super().__init__(modalities, latent_dim,
                         **fix_arguments(self, kwargs, VAEVAEStar.FIXED_ARGUMENTS))

    def get_config(self):
        return self.without_fixed_arguments(super().get_config())
