"""Multi-source neural variational inference (Kurle, Guennemann & van der Smagt, AAAI 2019):
individual beliefs per information source, their integration as a mixture or a product of
experts, and the conflict between them."""

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae.distribute import batch_mean
from kmvae.layers.heads import diagonal_normal
from kmvae.models.base import MultimodalVAE, fix_arguments
from kmvae.models.importance import (check_num_samples, masked_log_mean_exp,
                                     sample_log_likelihoods)

tfd = tfp.distributions

OBJECTIVES = ("ind", "moe", "poe", "hybrid")
INTEGRATIONS = ("poe", "moe")
BELIEFS = ("prior_times_encoder", "encoder")
FLOORS = ("hard", "smooth")
MIN_PRECISION = 1e-3
SMOOTH_FLOOR_START = 0.1


def msnvi_product_of_experts(locs, scales, mask, floor="hard"):
    """The integrated belief of MSNVI eq. 3 with a standard normal prior:
    `q(z | x_S) propto p(z) prod_{m in S} q_m(z | x_m) / p(z)`.

    For Gaussian beliefs the product is Gaussian with the raw precision
    `lambda = sum_{m in S} 1/sigma_m^2 - (|S| - 1)` (each belief's prior factor divided out) and
    mean `sum_m mu_m / sigma_m^2` divided by the precision used. Eq. 3 is improper where
    `lambda` falls below 0 (the beliefs less certain, summed, than `|S| - 1` priors); the
    precision is then floored at `MIN_PRECISION` = 1e-3 (a standard deviation of about 32):

    - `floor="hard"`: `max(lambda, MIN_PRECISION)`, exactly `lambda` where the floor does not
      bind, with a zero gradient where it does;
    - `floor="smooth"`: exactly `lambda` where `lambda >= t = SMOOTH_FLOOR_START` = 0.1 (a
      standard deviation of at most 3.2, three times the prior's), below it
      `MIN_PRECISION + (t - MIN_PRECISION) exp((lambda - t) / (t - MIN_PRECISION))`, which
      meets `lambda` at `t` with slope 1, tends to `MIN_PRECISION` as `lambda` falls and keeps
      a positive slope (1.5e-5 at `lambda = -1`), so a gradient reaches beliefs whose product
      is improper.

    Args:
        locs, scales: `(B, M, D)` float32, the beliefs `q_m(z | x_m)`.
        mask: `(B, M)` bool, the sources in S (at least one per example).
        floor: `"hard"` or `"smooth"`.

    Returns:
        `(loc, scale)`, each `(B, D)`.

    Raises:
        ValueError: unknown floor.
    """
    if floor not in FLOORS:
        raise ValueError(f"floor must be one of {FLOORS}; received {floor!r}.")
    present = tf.cast(mask, tf.float32)[..., None]
    precisions = present / tf.square(scales)
    count = tf.reduce_sum(present, axis=1)
    raw = tf.reduce_sum(precisions, axis=1) - (count - 1.0)
    if floor == "hard":
        precision = tf.maximum(raw, MIN_PRECISION)
    else:
        width = SMOOTH_FLOOR_START - MIN_PRECISION
        below = MIN_PRECISION + width * tf.exp((tf.minimum(raw, SMOOTH_FLOOR_START)
                                                - SMOOTH_FLOOR_START) / width)
        precision = tf.where(raw >= SMOOTH_FLOOR_START, raw, below)
    loc = tf.reduce_sum(precisions * locs, axis=1) / precision
    return loc, tf.math.rsqrt(precision)


def belief_parameters(factor):
    """A source's belief under `MSNVI(beliefs="prior_times_encoder")`, from its encoder's
    Gaussian output `r_m(z | x_m)` (a Normal with `loc` and `scale`, `(B, D)`):
    `q_m(z | x_m) propto p(z) r_m(z | x_m)`, precision `1 + 1 / scale^2`, mean
    `(loc / scale^2) / precision`.

    Every belief is then at least as certain as the prior, as exact posteriors of conditionally
    Gaussian sources are, and eq. 3's product `p(z) prod_m q_m / p(z) = p(z) prod_m r_m` is
    always proper: MSNVI's integrated PoE is the product of the factors with the prior expert
    (MVAE eq. 3).

    Returns:
        `(loc, scale)` of the belief, each `(B, D)` float32.
    """
    factor_precision = 1.0 / tf.square(factor.scale)
    precision = 1.0 + factor_precision
    return factor.loc * factor_precision / precision, tf.math.rsqrt(precision)


@keras.saving.register_keras_serializable(package="kmvae")
class MSNVI(MultimodalVAE):
    """Multi-source neural variational inference: one belief `q_m(z | x_m)` per information
    source, trained with importance-weighted bounds and integrated after training.

    Information sources are the modalities that are encoded, observations those the generative
    model `p(X | z) = prod_n p(x_n | z)` reconstructs; by default every modality is both, and
    MNIST-NO (section 5.2) has noisy sources and the clean image as the only observation. With
    K importance samples, per example (nats; S the present sources, X the present observations):

    - `"ind"`, L(ind) (eq. 1): `sum_{m in S} pi_m E[log (1/K) sum_k w_{m,k}]`, `pi_m = 1/|S|`,
      `w_{m,k} = p(X | z_k) p(z_k) / q_m(z_k | x_m)`, `z_k ~ q_m`;
    - `"moe"`, L(MoE) (section 3.3): the same with the denominator
      `sum_{m'} pi_{m'} q_{m'}(z_k | x_{m'})`;
    - `"poe"`, L(PoE) (eq. 4): the IWAE bound with the integrated belief of eq. 3 as proposal
      (`msnvi_product_of_experts`);
    - `"hybrid"`, L(hybrid) (eq. 5): `lambda_1 L(ind) + lambda_2 L(PoE)`, lambda = (1/2, 1/2)
      by default.

    After training, `bound` evaluates any model under any of the three bounds (the grid of
    Table 1), `encode` integrates any subset's beliefs as a PoE or a MoE without retraining,
    `conflict` computes eq. 2 and `impute` eq. 6.

    Args:
        modalities, latent_dim, likelihood_weights, rescale_likelihoods, seed: as
            `kmvae.models.MultimodalVAE`.
        objective: `"ind"`, `"moe"`, `"poe"` or `"hybrid"`.
        num_samples: K, the importance samples in training (the paper's 16).
        sources: names of the information sources (default all modalities).
        observations: names of the observations (default all modalities).
        hybrid_weights: `(lambda_1, lambda_2)` of L(hybrid).
        integration: `"poe"` (eq. 3) or `"moe"`: how `encode`, `translate` and `call`
            integrate the present sources' beliefs.
        beliefs: how a source's belief `q_m(z | x_m)` is formed from `r_m(z | x_m)`, the
            Gaussian its encoder outputs:
            - `"prior_times_encoder"` (default): `q_m propto p(z) r_m`, normalised
              (`belief_parameters`), precision `1 + 1/s_m^2`. Beliefs are never less certain
              than the prior, and eq. 3's product `p(z) prod_m q_m / p(z) = p(z) prod_m r_m`
              (precision `1 + sum_m 1/s_m^2 >= 1`) is always proper: MVAE's product with a
              prior expert. Not the paper's; it lets L(PoE) training leave sources
              uninformative (docs/experiments/msnvi_beliefs.py: 3 of 4 on MNIST-NO).
            - `"encoder"`: the paper's (section 3.3, eq. 3 as written): `q_m = r_m`, and eq. 3
              divides the prior out `|S| - 1` times, precision
              `lambda = sum_{m in S} 1/s_m^2 - (|S| - 1)`, improper where `lambda <= 0`. Where
              the paper's product is formed (`encode` / `posterior` with integration="poe",
              L(PoE), L(hybrid)) the precision is exactly `lambda` where `lambda >= 0.1`
              and floored smoothly towards 1e-3 below (`msnvi_product_of_experts(...,
              floor="smooth")`), so improper products still pass a gradient to the encoders.
              Where that precision nears 0 the integrated belief's mean and spread blow up:
              trained with L(PoE) or L(hybrid) on MNIST-NO, the recipes diverged after 8 and
              3 epochs (docs/experiments/msnvi_beliefs.py, part C).
            L(ind), L(MoE), the MoE integration, `belief`, `conflict` (eq. 2) and `impute`
            (eq. 6) use the beliefs as formed here.

    Networks of a modality that is no source (its encoder) or no observation (its decoder)
    exist but are unused and receive no gradient.

    Raises:
        ValueError: unknown objective, integration or beliefs, a name in sources /
            observations that is no modality, an empty sources or observations list, K < 1,
            negative weights, or a `fusion`, `prior_expert` or `beta` argument (fixed: see
            `FIXED_ARGUMENTS`).
        TypeError: `num_importance_samples=`, `num_samples`' former name.

    Example:
        >>> names = [f"source_{i}" for i in range(4)]
        >>> model = kmvae.MSNVI([kmvae.Modality(n, shape=(784,)) for n in names]
        ...                     + [kmvae.Modality("image", shape=(784,))], latent_dim=20,
        ...                     objective="hybrid", sources=names, observations=["image"])
    """

    FIXED_ARGUMENTS = {
        "fusion": ("poe", "the sources' beliefs are integrated by integration='poe' (eq. 3) "
                          "or 'moe'."),
        "prior_expert": (False, "each belief already holds the prior (eq. 3); there is no "
                                "prior expert to add."),
        "beta": (1.0, "an importance-weighted bound has no KL term to weight.")}
    RENAMED_ARGUMENTS = {"num_importance_samples": "num_samples"}

    def __init__(self, modalities, latent_dim, *, objective="ind", num_samples=16,
                 sources=None, observations=None, hybrid_weights=(0.5, 0.5), integration="poe",
                 beliefs="prior_times_encoder", **kwargs):
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}; received {objective!r}.")
        if integration not in INTEGRATIONS:
            raise ValueError(f"integration must be one of {INTEGRATIONS}; received "
                             f"{integration!r}.")
        if beliefs not in BELIEFS:
            raise ValueError(f"beliefs must be one of {BELIEFS}; received {beliefs!r}. Use "
                             f"'prior_times_encoder' (q_m = p(z) r_m, the default) or "
                             f"'encoder' (q_m = r_m, the paper's eq. 3).")
        hybrid_weights = tuple(float(w) for w in hybrid_weights)
        if len(hybrid_weights) != 2 or min(hybrid_weights) < 0:
            raise ValueError(f"hybrid_weights must be two numbers >= 0; received "
                             f"{hybrid_weights!r}.")
        self.objective = objective
        self.integration = integration
        self.beliefs = beliefs
        self.num_samples = check_num_samples(num_samples)
        self.hybrid_weights = hybrid_weights
        super().__init__(modalities, latent_dim,
                         **fix_arguments(self, kwargs, MSNVI.FIXED_ARGUMENTS))
        self.sources = self._check_names(sources, "sources")
        self.observations = self._check_names(observations, "observations")
        self._is_source = tf.constant([[n in self.sources for n in self.modality_names]])
        self._is_observation = tf.constant([[n in self.observations
                                             for n in self.modality_names]])

    def _check_names(self, names, key):
        if names is None:
            return self.modality_names
        names = tuple(names)
        unknown = sorted(set(names) - set(self.modality_names))
        if unknown or not names:
            raise ValueError(f"{key} must name modalities among {self.modality_names}; "
                             f"received {list(names)}.")
        return tuple(n for n in self.modality_names if n in names)

    def get_config(self):
        return {**super().get_config(), "objective": self.objective,
                "num_samples": self.num_samples,
                "sources": list(self.sources), "observations": list(self.observations),
                "hybrid_weights": list(self.hybrid_weights), "integration": self.integration,
                "beliefs": self.beliefs}

    def term_names(self):
        return ("loss", "bound")

    # ------------------------------------------------------------------------- beliefs
    def experts(self, x, training=False):
        """The sources' beliefs `(locs, scales)`, `(B, M, D)` (`_source_belief`); entries of
        modalities that are no source hold the prior's (0, 1) and are never used."""
        locs, scales = [], []
        for m, name in enumerate(self.modality_names):
            if name in self.sources:
                loc, scale = self._source_belief(m, x[m], training=training)
            else:
                loc = tf.zeros([tf.shape(x[m])[0], self.latent_dim])
                scale = loc + 1.0
            locs.append(loc)
            scales.append(scale)
        return tf.stack(locs, axis=1), tf.stack(scales, axis=1)

    def _source_belief(self, m, x_m, training=False):
        """Source `m`'s belief `(loc, scale)`, each `(B, D)`, from its encoder's Gaussian:
        that Gaussian itself for `beliefs="encoder"`, its product with the prior
        (`belief_parameters`) for `"prior_times_encoder"`. `experts` and `belief` call it (a
        subclass may change how a belief is formed, as docs/experiments/msnvi_beliefs.py
        does)."""
        factor = self.encoders[m](x_m, training=training).distribution
        if self.beliefs == "encoder":
            return factor.loc, factor.scale
        return belief_parameters(factor)

    def _product_of_beliefs(self, locs, scales, mask):
        """Eq. 3's integrated belief of the sources `mask` marks, `(loc, scale)` `(B, D)` each,
        from `experts`' `(B, M, D)`: `msnvi_product_of_experts` with the hard floor for
        `beliefs="prior_times_encoder"` (whose precision is >= 1: the floor never binds) and
        the smooth one for `"encoder"` (improper where the precisions sum below `|S| - 1`).
        `posterior` (integration="poe") and `poe_bound` form the product here."""
        floor = "smooth" if self.beliefs == "encoder" else "hard"
        return msnvi_product_of_experts(locs, scales, self.source_mask(mask), floor=floor)

    @property
    def conditioning_modalities(self):
        return self.sources

    @property
    def generated_modalities(self):
        return self.observations

    def source_mask(self, mask):
        """`mask` restricted to the information sources."""
        return tf.logical_and(mask, self._is_source)

    def posterior(self, locs, scales, mask, integration=None):
        """The integrated belief of the present sources: `"poe"` (eq. 3, a Normal,
        `_product_of_beliefs`) or `"moe"` (the uniform mixture of the beliefs); batch shape
        `(B,)`, event `(D,)`."""
        integration = self.integration if integration is None else integration
        if integration not in INTEGRATIONS:
            raise ValueError(f"integration must be one of {INTEGRATIONS}; received "
                             f"{integration!r}.")
        if integration == "poe":
            return diagonal_normal(*self._product_of_beliefs(locs, scales, mask))
        logits = tf.where(self.source_mask(mask), 0.0, -math.inf)
        return tfd.MixtureSameFamily(tfd.Categorical(logits=logits),
                                     diagonal_normal(locs, scales))

    def encode(self, inputs, training=False, integration=None):
        """The integrated belief of the sources present in `inputs` (`integration`: `"poe"`
        or `"moe"`, default the model's), without retraining. Raises ValueError on a
        malformed batch or an example without any source."""
        x, mask = self.prepare_batch(inputs, check=tf.executing_eagerly())
        self._check_sources(mask)
        locs, scales = self.experts(x, training=training)
        return self.posterior(locs, scales, mask, integration)

    def _check_sources(self, mask):
        if tf.executing_eagerly():
            empty = tf.reshape(tf.where(~tf.reduce_any(self.source_mask(mask), axis=1)), [-1])
            if tf.size(empty):
                raise ValueError(f"Rows {empty.numpy()[:20].tolist()} have no information "
                                 f"source present; the sources are {self.sources}.")

    def invalid_rows(self, tensors, mask):
        """The base's checks, and rows without an information source."""
        empty = tf.reshape(tf.where(~tf.reduce_any(self.source_mask(mask), axis=1)), [-1])
        return super().invalid_rows(tensors, mask) + [
            (f"Example(s) with no information source {self.sources} present at rows:", empty)]

    def log_weight_terms(self, x, mask, locs, scales, proposal_mask, num_samples):
        """As `MultimodalVAE.log_weight_terms`, with `log p(X, z)` over the present observations
        (`_log_joint`): an observation's term is its weighted `log p(x_m | z)`, a source's that
        is no observation 0."""
        q = self.posterior(locs, scales, proposal_mask)
        z = q.sample(num_samples)                                         # (K, B, D)
        log_lik = self._observation_log_likelihoods(x, mask, z[:, :, None])
        zeros = tf.zeros_like(z[..., 0])
        terms = [zeros if value is None else value[..., 0] for value in log_lik]
        return self.prior().log_prob(z) - q.log_prob(z), tf.stack(terms, axis=-1)

    def belief(self, inputs, name):
        """`q_m(z | x_m)` of source `name` as the model forms it (`beliefs`: the encoder's
        Gaussian, or its product with the prior): a Normal, batch `(B,)`, event `(D,)`."""
        if name not in self.sources:
            raise ValueError(f"{name!r} is not an information source; the sources are "
                             f"{self.sources}.")
        m = self.modality_names.index(name)
        x, _ = self.prepare_batch({name: inputs[name]}, check=tf.executing_eagerly())
        return diagonal_normal(*self._source_belief(m, x[m]))

    def conflict(self, inputs, m, m_prime):
        """The conflict measure of MSNVI eq. 2, per example:
        `c(m || m') = KL(q_m'(z | x_m') || q_m(z | x_m)) / KL(q_m'(z | x_m') || p(z))`.

        High when the belief of source m is much more certain than that of m' (or disagrees
        with it); 0 for identical beliefs. The beliefs are the model's (`belief`): with
        `beliefs="encoder"` the encoders' Gaussians, as in the paper; by default the prior times
        them.

        Args:
            inputs: a batch dict holding both sources; m, m_prime: source names.

        Returns:
            `(B,)` float32 (a ratio, unitless).

        Raises:
            ValueError: a name that is no source, or a malformed batch.
        """
        q_m, q_mp = self.belief(inputs, m), self.belief(inputs, m_prime)
        prior = self.prior()
        return tfd.kl_divergence(q_mp, q_m) / tfd.kl_divergence(q_mp, prior)

    def impute(self, inputs, target, num_samples=100, seed=None):
        """Imputation by MSNVI eq. 6, `p(x_m | x_S) = E_{z ~ q(z | x_S)}[p(x_m | z)]`: the mean of
        the predictive distribution, estimated from `num_samples` draws of the integrated belief
        of the sources in `inputs` (`encode`: the model's integration; with `beliefs="encoder"`
        and integration="poe" the smoothly floored eq. 3, broad where it is improper).

        Returns:
            `(B,) + shape` of `target` (class probabilities `(B,) + shape + (C,)` if categorical).
        """
        if target not in self.modality_names:
            raise ValueError(f"Unknown target modality {target!r}; expected one of "
                             f"{self.modality_names}.")
        z = self.encode(inputs).sample(int(num_samples), seed=seed)
        decoder = self.decoders[self.modality_names.index(target)]
        return tf.reduce_mean(decoder.mean(z), axis=0)

    # ------------------------------------------------------------------------- bounds
    def _log_joint(self, x, mask, z):
        """`log p(X, z)` over the present observations, z `(K, B, S, D)` -> `(K, B, S)`."""
        log_lik = self._observation_log_likelihoods(x, mask, z)
        return self.prior().log_prob(z) + sum(value for value in log_lik if value is not None)

    def _observation_log_likelihoods(self, x, mask, z):
        """Per modality, `(K, B, S)` weighted `log p(x_m | z)` of a present observation (0 where
        missing), None for a modality that is no observation; z `(K, B, S, D)`."""
        observed = tf.logical_and(mask, self._is_observation)
        indices = [self.modality_names.index(n) for n in self.observations]
        log_lik = sample_log_likelihoods(self.decoders, x, observed, z, indices)
        return [None if value is None else self.loss_weights[m] * value
                for m, value in enumerate(log_lik)]

    def _sample(self, loc, scale, num_samples):
        shape = tf.concat([[num_samples], tf.shape(loc)], 0)
        return loc + scale * keras.random.normal(shape, seed=self._seed_generator)

    def source_bound(self, x, mask, locs, scales, num_samples, mixture):
        """L(ind) (`mixture=False`, eq. 1) or L(MoE) (`mixture=True`) per example `(B,)`.

        Only the S information sources draw samples: a modality that is no source (MNIST-NO's
        clean image, or the other sources of the one-source IWAE baseline) is never decoded."""
        index = [self.modality_names.index(n) for n in self.sources]
        sources = tf.gather(self.source_mask(mask), index, axis=1)       # (B, S)
        locs, scales = tf.gather(locs, index, axis=1), tf.gather(scales, index, axis=1)
        z = self._sample(locs, scales, num_samples)                      # (K, B, S, D)
        beliefs = diagonal_normal(locs[:, None], scales[:, None])        # batch (B, 1, S)
        log_q_each = beliefs.log_prob(z[..., None, :])                   # (K, B, S, S)
        if mixture:
            log_q = masked_log_mean_exp(log_q_each, sources[:, None, :], axis=-1)
        else:
            log_q = tf.linalg.diag_part(log_q_each)                      # q_m at its samples
        log_w = self._log_joint(x, mask, z) - log_q
        per_source = masked_log_mean_exp(log_w, sources[None], axis=0)   # (B, S)
        present = tf.cast(sources, tf.float32)
        return (tf.reduce_sum(tf.where(sources, per_source, 0.0), axis=1)
                / tf.reduce_sum(present, axis=1))

    def poe_bound(self, x, mask, locs, scales, num_samples):
        """L(PoE) (eq. 4) per example `(B,)`: the IWAE bound with the eq. 3 proposal
        (`_product_of_beliefs`)."""
        loc, scale = self._product_of_beliefs(locs, scales, mask)
        z = self._sample(loc, scale, num_samples)[:, :, None]            # (K, B, 1, D)
        log_q = diagonal_normal(loc[:, None], scale[:, None]).log_prob(z)
        log_w = self._log_joint(x, mask, z) - log_q                      # (K, B, 1)
        return masked_log_mean_exp(log_w[..., 0], True, axis=0)

    def objective_bound(self, x, mask, locs, scales, objective, num_samples):
        """The bound of `objective` per example `(B,)`, nats."""
        if objective == "ind":
            return self.source_bound(x, mask, locs, scales, num_samples, mixture=False)
        if objective == "moe":
            return self.source_bound(x, mask, locs, scales, num_samples, mixture=True)
        if objective == "poe":
            return self.poe_bound(x, mask, locs, scales, num_samples)
        if objective == "hybrid":
            first, second = self.hybrid_weights
            return (first * self.source_bound(x, mask, locs, scales, num_samples, False)
                    + second * self.poe_bound(x, mask, locs, scales, num_samples))
        raise ValueError(f"objective must be one of {OBJECTIVES}; received {objective!r}.")

    def bound(self, batch, objective=None, num_samples=16):
        """Evaluates a (trained) model under any bound, as MSNVI Table 1 does (K = 16).

        Args:
            batch: a batch dict; objective: `"ind"`, `"moe"`, `"poe"` or `"hybrid"` (default
                the model's); num_samples: K.

        Returns:
            `(B,)` float32, the bound per example in nats (Table 1 reports its negation).

        Raises:
            ValueError: unknown objective, malformed batch, or an example without a source.
        """
        objective = self.objective if objective is None else objective
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}; received {objective!r}.")
        x, mask = self.prepare_batch(batch, check=True)
        self._check_sources(mask)
        locs, scales = self.experts(x)
        return self.objective_bound(x, mask, locs, scales, objective, int(num_samples))

    def compute_objective(self, x, mask, training=False):
        """The objective's negated bound, averaged over the batch; reports `bound`."""
        locs, scales = self.experts(x, training=training)
        bound = self.objective_bound(x, mask, locs, scales, self.objective,
                                     self.num_samples)
        return -batch_mean(bound), {"bound": (bound, tf.ones_like(bound))}
