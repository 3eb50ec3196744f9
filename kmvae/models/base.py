"""The shared base of kmvae's multimodal VAEs: batches, encoding, fusion, decoding, estimators.

A subclass adds its objective (`compute_objective`) and little else.

Batch contract: a dict with one tensor per modality name, shape `(batch,) + modality.shape`
(float for bernoulli / normal / laplace, integer class ids for categorical), plus an optional
`"mask"`, bool `(batch, num_modalities)` in the order of `model.modality_names`. A missing
`"mask"` means all present; a modality left out of the dict is missing for the whole batch.
Missing entries may hold anything (zeros, NaN): they are replaced by zeros with `where` before any
network sees them and every term of every objective is masked, so they never change an output.
A `"label"` entry of a model without a `"label"` modality is ignored: `kmvae.datasets` keeps the
class in batches of data sets whose label is only for evaluation (e.g. MNIST-Split).
"""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae import distribute
from kmvae.layers.fusion import PosteriorFusion
from kmvae.layers.heads import diagonal_normal
from kmvae.layers.modality import ModalityDecoder, ModalityEncoder
from kmvae.modalities import Modality
from kmvae.subsets import nonempty_subsets

tfd = tfp.distributions
EVALUATION_LABEL = "label"
SEED_STATE = "seed_generator_state"  # its key among the saved variables


class MultimodalVAE(keras.Model):
    """Base class: M modality encoders `q(z | x_m)`, a posterior fusion, M decoders `p(x_m | z)`
    and the prior `p(z) = N(0, I)`.

    Args:
        modalities: list of `kmvae.Modality`, names unique.
        latent_dim: size of the latent space `D`.
        fusion: `"poe"`, `"moe"` or `"mopoe"` (see `kmvae.layers.PosteriorFusion`).
        prior_expert: include the prior expert in products of experts (MVAE eq. 3).
        beta: weight of the KL term (MVAE eq. 1); `KLWarmup` anneals the model's `kl_weight`
            towards it.
        likelihood_weights: dict modality name -> lambda_m, weight of its log-likelihood
            (MVAE eq. 2); default 1 for each.
        rescale_likelihoods: multiply lambda_m by `max_j D_j / D_m`, the ratio of data
            dimensions, so that the largest modality has weight 1 (MoPoE App. B).
        seed: seed of the sampling noise used in training (importance samples and `generate`
            take their own). Under a `tf.distribute` strategy each replica draws its own
            noise from it (`kmvae.distribute.ReplicaSeedGenerator`).

    Built and compiled under a `tf.distribute` strategy's `scope()`, a model trains with `fit`
    on global batches: each replica's loss is its share of the global batch's objective, so
    the summed gradients are those of one device (see `kmvae.distribute`).

    Extension points: a new model (a paper's objective) subclasses this class and overrides
    public methods only, and calls `super()` where it adds to them:

    - `compute_objective(x, mask, training)` and `term_names()`: the objective and the values
      it reports (every subclass);
    - `posterior_parameters(x, training)` and `posterior(locs, scales, mask)`: the inference
      model, which `encode`, `translate`, `call`, `log_importance_weights` and the SavedModel
      export use (default: the unimodal `experts`, fused by `fusion`; e.g. MMVAE's mixture,
      MSNVI's integrated beliefs, `kmvae.models.SubsetVAE`'s one posterior per subset);
    - `prior(batch_shape)` and `prior_from_standard_normal(noise)`: another prior (MMVAE);
    - `invalid_rows(tensors, mask)`: a constraint on batches beyond the base's (a subset model
      without some subsets' posteriors, MSNVI's information sources);
    - `check_proposal(proposal_mask, proposal)` and `log_weight_terms(...)`: the proposals a
      model has, and its importance weights where `log p(X, z)` is not the base's (MSNVI);
    - `conditioning_modalities`, `generated_modalities` and `conditioning_subsets()`: what
      evaluations may condition on and generate (MSNVI's sources and observations).

    A subclass that fixes one of these arguments (MVAE's product of experts with the prior
    expert, MMVAE's mixture, ...) lists it in `FIXED_ARGUMENTS` and passes its keywords
    through `fix_arguments`: giving such an argument is a ValueError, never silently ignored.

    Raises:
        ValueError / TypeError: on an empty or duplicated modality list, a non-positive
            latent_dim, a negative beta or weight, or a weight for an unknown modality;
            TypeError on an argument under a name of `RENAMED_ARGUMENTS`.
    """

    is_subset_model = False   # True for a SubsetVAE: one posterior per subset of modalities

    #: The arguments of a parent's `__init__` that this class fixes: name -> (the value it
    #: uses, what to do instead). Each class lists only its own; `fixed_arguments()` gathers
    #: those of the class and its parents. `get_config` leaves them out and `from_config`
    #: accepts them with exactly the fixed value (files saved before they were fixed).
    FIXED_ARGUMENTS = {}
    #: Constructor arguments that earlier kmvae versions named otherwise: old name -> name.
    #: `from_config` reads saved configs under the old name; the constructor rejects it.
    RENAMED_ARGUMENTS = {}

    def __init__(self, modalities, latent_dim, *, fusion="poe", prior_expert=True, beta=1.0,
                 likelihood_weights=None, rescale_likelihoods=False, seed=None, **kwargs):
        for old, new in self.RENAMED_ARGUMENTS.items():
            if old in kwargs:
                raise TypeError(f"{type(self).__name__} takes {new}= (formerly {old}=); "
                                f"received {old}={kwargs[old]!r}.")
        super().__init__(**kwargs)
        self.modalities = _check_modalities(modalities)
        if not isinstance(latent_dim, (int, np.integer)) or latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive int; received {latent_dim!r}.")
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0; received {beta!r}.")
        self.latent_dim = int(latent_dim)
        self.beta = float(beta)
        self.prior_expert = bool(prior_expert)
        self.rescale_likelihoods = bool(rescale_likelihoods)
        self.likelihood_weights = self._check_weights(likelihood_weights)
        self.seed = seed
        policy = self.dtype_policy
        self.encoders = [ModalityEncoder(m, self.latent_dim, dtype=policy, name=f"{m.name}_encoder")
                         for m in self.modalities]
        self.decoders = [ModalityDecoder(m, self.latent_dim, dtype=policy, name=f"{m.name}_decoder")
                         for m in self.modalities]
        self.fusion = PosteriorFusion(len(self.modalities), fusion, prior_expert, name="fusion")
        self.kl_weight = keras.Variable(self.beta, trainable=False, dtype="float32",
                                        name="kl_weight")
        self._seed_generator = distribute.ReplicaSeedGenerator(seed, name="seed_generator")
        self._trackers = {name: keras.metrics.Mean(name=name) for name in self.term_names()}
        self._log_weight_terms_fn = None
        self.build()

    # ----------------------------------------------------------------------------- structure
    @property
    def modality_names(self):
        """Modality names, in the order of the `"mask"` columns."""
        return tuple(m.name for m in self.modalities)

    @property
    def num_modalities(self):
        return len(self.modalities)

    @property
    def conditioning_modalities(self):
        """The modalities a posterior can be conditioned on: all of them (MSNVI: its
        information sources)."""
        return self.modality_names

    @property
    def generated_modalities(self):
        """The modalities the generative model reconstructs: all of them (MSNVI: its
        observations)."""
        return self.modality_names

    def conditioning_subsets(self):
        """Every non-empty subset of `conditioning_modalities`, as lists of names, smallest
        first (the subsets evaluations condition on)."""
        names = self.conditioning_modalities
        return [[names[i] for i in s] for s in nonempty_subsets(len(names))]

    def subset_evaluation_model(self):
        """The model whose `encode(X_k)` is the posterior of a conditioning subset X_k as the
        model's paper evaluates it (the MoPoE-protocol metrics, `kmvae.metrics.subsets.
        paper_subset_model`): the model itself, unless a subclass says otherwise
        (`MoPoEVAE`: the product of X_k's experts)."""
        return self

    @property
    def loss_weights(self):
        """The effective lambda_m, one float per modality (after rescaling)."""
        dims = [m.data_dimension for m in self.modalities]
        scale = [max(dims) / d if self.rescale_likelihoods else 1.0 for d in dims]
        return tuple(self.likelihood_weights[m.name] * s for m, s in zip(self.modalities, scale))

    def build(self, input_shape=None):
        for layer in self.encoders + self.decoders:
            layer.build()
        self.built = True

    def term_names(self):
        """Names of the values `compute_objective` reports (the metrics of `fit`/`evaluate`)."""
        return ("loss",)

    @property
    def metrics(self):
        return list(self._trackers.values())

    def compile(self, optimizer="adam", *, jit_compile=True, **kwargs):
        """`keras.Model.compile`, with XLA on by default: Keras' `"auto"` turns XLA off on CPU
        machines, where it speeds training up about 1.3x here. Pass `jit_compile=False` to
        debug.

        A model built under a `tf.distribute` strategy (other than the default one) trains
        without XLA whatever `jit_compile` says, as Keras' `"auto"` does: Keras compiles the
        whole distributed step, `strategy.run` and the replicas' variables on their devices
        included, which XLA cannot place in one cluster ("Trying to access resource ...
        located in device CPU:1 from device CPU:0")."""
        if jit_compile and (self._distribute_strategy is not None
                            or tf.distribute.has_strategy()):
            jit_compile = False
        super().compile(optimizer=optimizer, jit_compile=jit_compile, **kwargs)

    def compile_from_config(self, config):
        """Restores `compile` (optimizer and its state included) when a `.keras` file loads."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def get_config(self):
        config = super().get_config()
        config.update({
            "modalities": [keras.saving.serialize_keras_object(m) for m in self.modalities],
            "latent_dim": self.latent_dim, "beta": self.beta,
            "likelihood_weights": dict(self.likelihood_weights),
            "rescale_likelihoods": self.rescale_likelihoods, "seed": self.seed})
        return self.without_fixed_arguments(config)

    @classmethod
    def without_fixed_arguments(cls, config):
        """`config` without the arguments the class fixes: what `get_config` returns (a class
        that fixes an argument its parent's `get_config` writes returns
        `self.without_fixed_arguments(super().get_config())`)."""
        fixed = cls.fixed_arguments()
        return {name: value for name, value in config.items() if name not in fixed}

    @classmethod
    def from_config(cls, config):
        """The model of `get_config`'s `config`. Configs saved by earlier kmvae versions load
        too: an argument under its old name (`RENAMED_ARGUMENTS`) is renamed, and a fixed
        argument (`FIXED_ARGUMENTS`) holding exactly the class's value is dropped (another
        value raises the constructor's ValueError)."""
        config = dict(config)
        for old, new in cls.RENAMED_ARGUMENTS.items():
            if old in config and new not in config:
                config[new] = config.pop(old)
        for name, (value, _) in cls.fixed_arguments().items():
            saved = list(value) if isinstance(value, tuple) else value     # as JSON holds it
            if name in config and (config[name] == value or config[name] == saved):
                del config[name]
        config["modalities"] = [keras.saving.deserialize_keras_object(m)
                                for m in config["modalities"]]
        return cls(**config)

    @classmethod
    def fixed_arguments(cls):
        """The arguments the class fixes, its own `FIXED_ARGUMENTS` and its parents': name ->
        (value, what to do instead)."""
        fixed = {}
        for klass in reversed(cls.__mro__):
            fixed.update(vars(klass).get("FIXED_ARGUMENTS", {}))
        return fixed

    # ----------------------------------------------------------------------------- batches
    def prepare_batch(self, data, check=False):
        """Validates a batch and returns `(x, mask)`.

        `x` is a list, in modality order, of tensors `(batch,) + shape` (float32, or int32 for
        categorical) with every missing entry replaced by zeros; `mask` is `(batch, M)` bool.
        Static problems (unknown keys, wrong rank, shape or dtype) are checked always; with
        `check=True` (eager callers) also the values: rows with no modality present, NaN or
        infinite values and class ids out of range in present entries.

        Raises:
            ValueError: naming the modality, what was received and what was expected.
            TypeError: when `data` is not a dict.
        """
        tensors, mask = self._parse(data)
        batch = tf.shape(mask)[0]
        x = []
        for m, modality in enumerate(self.modalities):
            zeros = tf.zeros(tf.concat([[batch], tf.constant(modality.shape, tf.int32)], 0),
                             modality.dtype)
            if modality.name not in tensors:
                x.append(zeros)
                continue
            keep = tf.reshape(mask[:, m], [-1] + [1] * len(modality.shape))
            x.append(tf.where(keep, tensors[modality.name], zeros))
        if check:
            self._check_values(tensors, mask)
        return x, mask

    def check_batch(self, data):
        """The batch, unchanged, after graph-mode assertions on its values (rows with no
        modality, NaN / infinite values, class ids out of range, in present entries). `fit`,
        `evaluate` and `predict` map it over a `tf.data.Dataset`; the XLA-compiled train step
        itself cannot assert (under a `tf.distribute` strategy, without XLA, each replica's
        step checks its share of the batch instead)."""
        tensors, mask = self._parse(data)
        inner = data[0] if isinstance(data, (tuple, list)) else data
        sizes = [(name, tf.shape(t)[0]) for name, t in tensors.items()]
        if "mask" in inner:
            sizes.append(("mask", tf.shape(inner["mask"])[0]))
        asserts = [tf.debugging.Assert(tf.equal(size, sizes[0][1]), [
            f"{name!r} and {sizes[0][0]!r} have different batch sizes:", size, sizes[0][1]])
            for name, size in sizes[1:]]
        asserts += [tf.debugging.Assert(tf.size(rows) == 0, [message, rows], summarize=20)
                    for message, rows in self.invalid_rows(tensors, mask)]
        with tf.control_dependencies(asserts):
            return tf.nest.map_structure(tf.identity, data)

    def _parse(self, data):
        """Static checks; returns (dict name -> tensor of the modalities given, mask)."""
        if isinstance(data, (tuple, list)):
            data = data[0]
        if not isinstance(data, dict):
            raise TypeError(f"A batch must be a dict of modality tensors (keys "
                            f"{self.modality_names} and optionally 'mask'); received "
                            f"{type(data).__name__}.")
        # "label" may ride along for evaluation (kmvae.datasets keeps it in batches of data
        # sets whose label is not a modality); any other unknown key is a mistake.
        unknown = sorted(set(data) - set(self.modality_names) - {"mask", EVALUATION_LABEL})
        if unknown:
            raise ValueError(f"Unknown key(s) {unknown} in the batch; this model's modalities "
                             f"are {self.modality_names} (plus an optional 'mask', and "
                             f"'label' which is ignored unless it is a modality).")
        tensors = {m.name: self._check_tensor(m, data[m.name])
                   for m in self.modalities if m.name in data}
        if not tensors:
            raise ValueError(f"The batch holds none of the modalities {self.modality_names}.")
        rows = self._static_batch_size(tensors)
        batch = tf.shape(next(iter(tensors.values())))[0]
        mask = self._check_mask(data.get("mask"), batch, rows)
        given = tf.constant([[name in tensors for name in self.modality_names]])
        return tensors, tf.logical_and(mask, given)

    def _check_tensor(self, modality, value):
        value = tf.convert_to_tensor(value)
        expected = (None,) + modality.shape
        if value.shape.rank != len(expected) or not all(
                e is None or s is None or e == s for e, s in zip(expected, value.shape)):
            hint = " (class ids, not one-hot vectors)" if modality.is_categorical else ""
            raise ValueError(f"Modality {modality.name!r} has shape {tuple(value.shape)} but the "
                             f"model was built for {expected}{hint}.")
        if modality.is_categorical:
            if not value.dtype.is_integer:
                raise ValueError(f"Modality {modality.name!r} is categorical and needs integer "
                                 f"class ids; received dtype {value.dtype.name}.")
            return tf.cast(value, tf.int32)
        if not value.dtype.is_floating:
            raise ValueError(f"Modality {modality.name!r} ({modality.likelihood}) needs floating "
                             f"values; received dtype {value.dtype.name} (scale integer images "
                             f"to [0, 1] floats first).")
        return tf.cast(value, tf.float32)

    @staticmethod
    def _static_batch_size(tensors):
        """The batch size when the shapes tell it (None otherwise); ValueError if the modalities
        disagree."""
        known = [(name, t.shape[0]) for name, t in tensors.items() if t.shape[0] is not None]
        for name, size in known[1:]:
            if size != known[0][1]:
                raise ValueError(f"Modality {name!r} has shape {tuple(tensors[name].shape)} but "
                                 f"modality {known[0][0]!r} has {known[0][1]} examples; every "
                                 f"modality and the 'mask' need the same batch size.")
        return known[0][1] if known else None

    def _check_mask(self, mask, batch, rows=None):
        if mask is None:
            return tf.ones((batch, self.num_modalities), tf.bool)
        mask = tf.convert_to_tensor(mask)
        if mask.shape.rank != 2 or mask.shape[1] not in (None, self.num_modalities) or (
                rows is not None and mask.shape[0] not in (None, rows)):
            known = "" if rows is None else f" with batch = {rows}"
            raise ValueError(f"'mask' has shape {tuple(mask.shape)}; expected (batch, "
                             f"{self.num_modalities}){known}, one row per example and one column "
                             f"per modality in the order {self.modality_names}.")
        if not (mask.dtype == tf.bool or mask.dtype.is_integer):
            raise ValueError(f"'mask' must be bool (or 0/1 integers); received dtype "
                             f"{mask.dtype.name}.")
        return tf.cast(mask, tf.bool)

    def invalid_rows(self, tensors, mask):
        """The value checks of a batch, as `(message, rows)` pairs: `rows` an int64 tensor
        `(n,)` of the offending rows (empty when none), `message` what is wrong with them.
        `check_batch` asserts in graph mode, and `prepare_batch(check=True)` raises a ValueError
        on, every pair with rows. Extension point: a subclass with further constraints returns
        `super().invalid_rows(tensors, mask) + [its pairs]`.

        Args:
            tensors: dict name -> tensor `(batch,) + shape` of the modalities the batch holds.
            mask: `(batch, M)` bool, the presence mask in `modality_names` order.

        Returns:
            list of `(str, tensor)`: here rows with no modality present, NaN or infinite
            values and class ids out of range in present entries.
        """
        empty = tf.reshape(tf.where(tf.logical_not(tf.reduce_any(mask, axis=1))), [-1])
        problems = [("Example(s) with no modality present at rows:", empty)]
        for m, modality in enumerate(self.modalities):
            if modality.name not in tensors:
                continue
            value = tensors[modality.name]
            axes = list(range(1, value.shape.rank))
            if modality.is_categorical:
                bad = tf.logical_or(value < 0, value >= modality.num_classes)
                what = f"Modality {modality.name!r}: class ids outside [0, {modality.num_classes})"
            else:
                bad = tf.logical_not(tf.math.is_finite(value))
                what = f"Modality {modality.name!r}: NaN or infinite values"
            if axes:
                bad = tf.reduce_any(bad, axis=axes)
            rows = tf.reshape(tf.where(tf.logical_and(bad, mask[:, m])), [-1])
            problems.append((f"{what} in present entries at rows:", rows))
        return problems

    def _check_values(self, tensors, mask):
        for message, rows in self.invalid_rows(tensors, mask):
            rows = np.asarray(rows)
            if rows.size:
                shown = rows[:20].tolist()
                raise ValueError(f"{message} {shown}{' ...' if rows.size > 20 else ''}. Mark a "
                                 f"missing modality False in 'mask' (every example needs at "
                                 f"least one present modality).")

    # ----------------------------------------------------------------------------- inference
    def experts(self, x, training=False):
        """The unimodal posteriors' (experts') parameters `(locs, scales)`, each
        `(batch, M, D)` float32: `q(z | x_m)` from each modality's encoder (the zero-filled
        entries of missing modalities give values that `posterior` masks out)."""
        posteriors = [encoder(x_m, training=training) for encoder, x_m in zip(self.encoders, x)]
        locs = tf.stack([q.distribution.loc for q in posteriors], axis=1)
        scales = tf.stack([q.distribution.scale for q in posteriors], axis=1)
        return locs, scales

    def prior(self, batch_shape=()):
        """`p(z) = N(0, I)`, batch shape `batch_shape`, event shape `(D,)`."""
        shape = tuple(batch_shape) + (self.latent_dim,)
        return diagonal_normal(tf.zeros(shape), tf.ones(shape))

    def encode(self, inputs, training=False):
        """The fused posterior `q(z | X)` of the modalities given (per-example masks respected).

        Args:
            inputs: a batch dict (see the module docstring); modalities left out are missing.

        Returns:
            A TFP distribution, batch shape `(batch,)`, event shape `(latent_dim,)`: a Normal
            for `"poe"` fusion, a `MixtureSameFamily` for `"moe"` / `"mopoe"`.

        Raises:
            ValueError: on a malformed batch or a row with no modality present.
        """
        x, mask = self.prepare_batch(inputs, check=tf.executing_eagerly())
        locs, scales = self.posterior_parameters(x, training=training)
        return self.posterior(locs, scales, mask)

    def posterior_parameters(self, x, training=False):
        """The parameters `(locs, scales)` that `posterior` turns into `q(z | X)`, computed once
        per batch (for `log_importance_weights`, once for every proposal): here the
        unimodal `experts`, `(batch, M, D)` each. Extension point, with `posterior`: a model
        whose posterior is not fused from unimodal experts returns its own (e.g.
        `kmvae.models.SubsetVAE`: every subset's posterior, `(batch, K, D)`).

        Args:
            x: the zero-filled batch of `prepare_batch`, M tensors `(batch,) + shape_m`.
            training: passed to the encoders.
        """
        return self.experts(x, training=training)

    def posterior(self, locs, scales, mask):
        """The joint posterior `q(z | X)` of the modalities `mask` marks, from
        `posterior_parameters` and the mask `(batch, M)` bool: the fusion layer's (a subclass
        with another posterior family overrides it). Batch shape `(batch,)`, event shape
        `(D,)`."""
        return self.fusion(locs, scales, mask)

    def decode(self, z):
        """`p(x_m | z)` for every modality: dict name -> distribution with batch shape
        `z.shape[:-1]`."""
        return {m.name: decoder(z) for m, decoder in zip(self.modalities, self.decoders)}

    def translate(self, inputs, targets=None, sample=False, seed=None):
        """Cross-modal generation: decoded means of `targets` given the modalities in `inputs`.

        Args:
            inputs: batch dict of the conditioning modalities.
            targets: modality names to generate (default all).
            sample: decode a sample of `q(z | inputs)` instead of its mean.
            seed: with `sample`, None to draw from TensorFlow's global random state, or a
                stateless seed, an int32 pair `(a, b)`: the same seed, inputs and weights give
                the same sample.

        Returns:
            dict name -> `(batch,) + shape` decoded mean (Bernoulli probabilities, locations, or
            class probabilities `(batch,) + shape + (num_classes,)`).
        """
        q = self.encode(inputs)
        if sample and seed is not None:
            z = q.sample(seed=tf.constant(seed, tf.int32, shape=(2,)))
        else:
            z = q.sample() if sample else q.mean()
        return self.decoded_means(z, targets)

    def generate(self, num_samples, seed=None, targets=None):
        """Joint generation: decoded means for `num_samples` draws `z ~ p(z)`.

        Returns:
            dict name -> `(num_samples,) + shape` decoded mean (as `translate`).
        """
        return self.decoded_means(self.sample_prior(int(num_samples), seed), targets)

    def sample_prior(self, num_samples, seed=None):
        """`(num_samples, D)` draws from the prior (`seed`: an int, a `keras.random.SeedGenerator`
        or None)."""
        noise = keras.random.normal((num_samples, self.latent_dim), seed=seed)
        return self.prior_from_standard_normal(noise)

    def prior_from_standard_normal(self, noise):
        """Maps `N(0, I)` noise `(..., D)` to prior draws of the same shape (identity for the
        standard normal prior; a subclass with another prior overrides it). Exported
        `generate` signatures use it, so they follow the model's prior."""
        return noise

    def decoded_means(self, z, targets=None):
        """The decoders' means at `z` `(..., D)`: dict name -> `z.shape[:-1] + shape` (class
        probabilities `z.shape[:-1] + shape + (num_classes,)`), for `targets` (modality names,
        default `generated_modalities`).

        Raises:
            ValueError: a target that is no modality.
        """
        targets = self.generated_modalities if targets is None else tuple(targets)
        for name in targets:
            if name not in self.modality_names:
                raise ValueError(f"Unknown target modality {name!r}; expected one of "
                                 f"{self.modality_names}.")
        return {name: self.decoders[self.modality_names.index(name)].mean(z) for name in targets}

    def call(self, inputs, training=False):
        """Fused posterior and reconstructions: dict with `"loc"`, `"scale"` `(batch, D)`, the
        fused posterior's mean and standard deviation, and each modality's decoded mean at
        `z = loc`."""
        q = self.encode(inputs, training=training)
        loc = q.mean()
        return {"loc": loc, "scale": q.stddev(), **self.decoded_means(loc)}

    # ----------------------------------------------------------------------------- estimators
    def log_importance_weights(self, batch, num_samples=1000, proposal=None, chunk_size=100):
        """Log importance weights `log p(X, z_k) - log q(z_k | X_proposal)`, `z_k ~ q`.

        `X` are the modalities present in each example; the proposal is the fused posterior of
        `proposal` (modality names, default all present ones), e.g. `q(z | x)` or `q(z | x, y)`
        as in MVAE Tables 2-5. Computed in chunks of `chunk_size` samples, float32; the sum of
        `log_importance_weight_terms`.

        Returns:
            `(num_samples, batch)` float32, in nats.

        Raises:
            ValueError: on a malformed batch, unknown proposal names, or an example none of whose
                proposal modalities is present.
        """
        log_prior_ratio, log_likelihoods = self.log_importance_weight_terms(
            batch, num_samples, proposal, chunk_size)
        return log_prior_ratio + tf.reduce_sum(log_likelihoods, axis=-1)

    def log_importance_weight_terms(self, batch, num_samples=1000, proposal=None,
                                    chunk_size=100):
        """The terms of the log importance weights, per modality, from one set of draws
        `z_k ~ q(z | X_proposal)`: `log w_k(X') = log_prior_ratio[k] + sum_{m in X'}
        log_likelihoods[k, :, m]` for any set X' of the batch's modalities (MVAE eq. 5-6), so
        the estimates of several sets X' with one proposal (MVAE Tables 2 and 3: `log p(x)` and
        `log p(x, y)`) decode each modality once (`kmvae.metrics.importance_sampling_sets`).

        Args:
            batch: dict modality name -> `(batch,) + shape`, optionally `"mask"`.
            num_samples: K.
            proposal: modality names of the proposal (default: all present ones).
            chunk_size: samples per chunk (memory, not the result).

        Returns:
            `(log_prior_ratio, log_likelihoods)`: `(K, batch)` float32 `log p(z_k) - log q(z_k |
            X_proposal)` and `(K, batch, M)` float32 `log p(x_m | z_k)` in the model's modality
            order, 0 where modality m is missing; nats.

        Raises:
            ValueError: as `log_importance_weights`.
        """
        x, mask = self.prepare_batch(batch, check=True)
        proposal_mask = mask
        if proposal is not None:
            unknown = sorted(set(proposal) - set(self.modality_names))
            if unknown or not proposal:
                raise ValueError(f"proposal must name modalities among {self.modality_names}; "
                                 f"received {proposal!r}.")
            chosen = tf.constant([[n in proposal for n in self.modality_names]])
            proposal_mask = tf.logical_and(mask, chosen)
            empty = np.flatnonzero(~np.asarray(tf.reduce_any(proposal_mask, axis=1)))
            if empty.size:
                raise ValueError(f"Rows {empty[:20].tolist()} have none of the proposal's "
                                 f"modalities {tuple(proposal)} present.")
            self.check_proposal(proposal_mask, proposal)
        if self._log_weight_terms_fn is None:
            self._log_weight_terms_fn = tf.function(self.log_weight_terms, reduce_retracing=True)
        locs, scales = self.posterior_parameters(x)    # once: the same for every chunk
        chunks = []
        for start in range(0, int(num_samples), int(chunk_size)):
            n = min(int(chunk_size), int(num_samples) - start)
            chunks.append(self._log_weight_terms_fn(x, mask, locs, scales, proposal_mask,
                                                    tf.constant(n)))
        return tuple(tf.concat(parts, axis=0) for parts in zip(*chunks))

    def check_proposal(self, proposal_mask, proposal):
        """Checks that the model has a posterior for every row's proposal subset, before
        `log_importance_weights` samples from it. Every subset has one here. Extension point:
        a model with posteriors for some subsets only (`kmvae.models.SubsetVAE`) overrides it.

        Args:
            proposal_mask: `(batch, M)` bool, each row's proposal modalities (present and
                named in `proposal`; at least one per row).
            proposal: the modality names asked for.

        Raises:
            ValueError: naming the rows whose proposal subset has no posterior.
        """

    def log_weight_terms(self, x, mask, locs, scales, proposal_mask, num_samples):
        """One chunk of `log_importance_weight_terms`: `num_samples` draws `z_k ~ q(z |
        X_proposal)`, their `log p(z_k) - log q(z_k | X_proposal)` and each present modality's
        `log p(x_m | z_k)` (MVAE eq. 5-6; the log weight of X is their sum over X). Traced once
        as a `tf.function`. Extension point: a model whose joint `log p(X, z)` differs (MSNVI:
        observations only, weighted) overrides it.

        Args:
            x, mask: from `prepare_batch`.
            locs, scales: from `posterior_parameters`.
            proposal_mask: `(batch, M)` bool, the proposal's modalities.
            num_samples: K, a scalar int32 tensor.

        Returns:
            `(log_prior_ratio, log_likelihoods)`: `(num_samples, batch)` and `(num_samples,
            batch, M)` float32, nats, 0 where a modality is missing.
        """
        q = self.posterior(locs, scales, proposal_mask)
        z = q.sample(num_samples)
        log_likelihoods = [tf.where(mask[:, m], decoder(z).log_prob(x[m]), 0.0)
                           for m, decoder in enumerate(self.decoders)]
        return self.prior().log_prob(z) - q.log_prob(z), tf.stack(log_likelihoods, axis=-1)

    def log_likelihood(self, batch, num_samples=1000, proposal=None, chunk_size=100):
        """IWAE estimate of `log p(X)`, X the modalities present in each example (MVAE eq. 5-6):
        `log (1/K) sum_k p(X, z_k) / q(z_k | X_proposal)`, `z_k ~ q`, K = `num_samples`.

        Returns:
            `(batch,)` float32, nats per example.
        """
        log_w = self.log_importance_weights(batch, num_samples, proposal, chunk_size)
        return tf.reduce_logsumexp(log_w, axis=0) - math.log(log_w.shape[0])

    # ----------------------------------------------------------------------------- training
    def compute_objective(self, x, mask, training=False):
        """Returns `(loss, terms)`: the scalar loss to minimise and a dict name ->
        `(values (batch,), weights (batch,))` of the reported terms. Subclasses implement it.

        The loss averages over the batch with `kmvae.distribute.batch_mean` (or sums such
        means): on one device the batch mean, and in a replica of a `tf.distribute` strategy
        that replica's share of the global batch's mean, so that the replicas' losses and
        gradients add up to the global batch's."""
        raise NotImplementedError

    def sample_normal(self, loc, scale):
        """Reparameterised draw `loc + scale * eps`, `eps ~ N(0, I)` (training noise)."""
        eps = keras.random.normal(tf.shape(loc), seed=self._seed_generator)
        return loc + scale * eps

    def train_step(self, data):
        x, mask = self.prepare_batch(self._replica_checked(data))
        with tf.GradientTape() as tape:
            loss, terms = self.compute_objective(x, mask, training=True)
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        # Networks an objective does not use (e.g. MSNVI's encoder of an observation that is no
        # information source) have no gradient: zeros leave them unchanged under Adam / SGD and
        # keep the optimizer's state aligned with every variable, so `.keras` files reload it.
        gradients = [tf.zeros_like(v) if g is None else g for g, v in zip(gradients, variables)]
        # Under a strategy Keras sums the replicas' gradients, which the shares of the loss
        # are made for.
        self.optimizer.apply(gradients, variables)
        return self._update_trackers(loss, terms)

    def test_step(self, data):
        x, mask = self.prepare_batch(self._replica_checked(data))
        loss, terms = self.compute_objective(x, mask, training=False)
        return self._update_trackers(loss, terms)

    def predict_step(self, data):
        return self(self._replica_checked(data), training=False)

    def _replica_checked(self, data):
        """`check_batch` inside the step of a model built under a `tf.distribute` strategy
        (no XLA there) rather than in its input pipeline: a distributed dataset can turn an
        error of its last batch into the end of the data, and `fit` would stop without a
        word. The rows named are those of the replica's share of the global batch."""
        return data if self._distribute_strategy is None else self.check_batch(data)

    def _update_trackers(self, loss, terms):
        # A replica's loss is its share of the global batch's: scaled by the number of
        # replicas, its mean over the replicas (the metric's reduction) is the global loss.
        self._trackers["loss"].update_state(loss * distribute.num_replicas())
        for name, (values, weights) in terms.items():
            self._trackers[name].update_state(values, sample_weight=weights)
        logs = {name: tracker.result() for name, tracker in self._trackers.items()}
        if distribute.is_multi_worker(self.distribute_strategy):
            # Keras (3.10) reduces a step's logs over several workers with a mean along axis
            # 0, which a scalar lacks ("Invalid reduction dimension 0 for input with 0
            # dimensions", tensorflow/tensorflow#72388): give it one; the mean is a scalar.
            logs = {name: value[None] for name, value in logs.items()}
        return logs

    def fit(self, x=None, y=None, *args, validation_data=None, callbacks=None, **kwargs):
        """`keras.Model.fit` with the batches' value checks; with a `tf.data.Dataset`, a fit
        resumed at epoch N (`keras.callbacks.BackupAndRestore`, or `initial_epoch=N` in a new
        process) sees epoch N's shuffle and random draws, as the uninterrupted run did
        (`kmvae.callbacks.ReplayDataOrder`; not with `steps_per_epoch`)."""
        from kmvae.callbacks import ReplayDataOrder
        x = self._checked(x)
        callbacks = list(callbacks or [])
        if isinstance(x, tf.data.Dataset) and kwargs.get("steps_per_epoch") is None:
            callbacks.append(ReplayDataOrder.for_fit(x))
        return super().fit(x, y, *args, validation_data=self._checked(validation_data),
                           callbacks=callbacks, **kwargs)

    def save_own_variables(self, store):
        """Keras's variables, plus the state of the training noise's seed generator: a `.keras`
        file or a `keras.callbacks.BackupAndRestore` backup continues the same draws."""
        super().save_own_variables(store)
        store[SEED_STATE] = self._seed_generator.state

    def load_own_variables(self, store):
        """Restores `save_own_variables`' state (files saved without the seed state load too,
        keeping the current one)."""
        keys = [k for k in store.keys() if k != SEED_STATE]
        super().load_own_variables({k: store[k] for k in keys})
        if SEED_STATE in store.keys():
            self._seed_generator.state.assign(np.asarray(store[SEED_STATE]))

    def evaluate(self, x=None, y=None, *args, **kwargs):
        # Inside `fit`, Keras evaluates the validation data through an iterator it built once
        # from `fit`'s (already checked) `validation_data` and ignores `x`: wrapping `x` again
        # would trace `check_batch` anew every epoch for nothing (tens of seconds an epoch on
        # the SVAE networks).
        if not kwargs.get("_use_cached_eval_dataset", False):
            x = self._checked(x)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        return super().predict(self._checked(x), *args, **kwargs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Under a `tf.distribute` strategy Keras (3.10) builds the model from the first batch
        averaged over the replicas, which fails when they hold different numbers of examples
        (the average adds their tensors) and turns class ids into floats. These models are
        built at construction: only the optimizer is left to build, without the batch."""
        unbuilt = (not all(layer.built for layer in self._flatten_layers())
                   or self._compile_metrics is not None or self._compile_loss is not None)
        if self._distribute_strategy is None or unbuilt:
            return super()._maybe_symbolic_build(iterator, data_batch)
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=())

    def _checked(self, data):
        """Adds value checks to a dataset (graph assertions) or runs them on in-memory data.
        Under a `tf.distribute` strategy the steps check the batches instead
        (`_replica_checked`)."""
        if isinstance(data, tf.data.Dataset) and self._distribute_strategy is None:
            return data.map(self.check_batch, num_parallel_calls=tf.data.AUTOTUNE,
                            deterministic=True).prefetch(tf.data.AUTOTUNE)
        if isinstance(data, dict):
            self.prepare_batch(data, check=True)
        return data

    # ----------------------------------------------------------------------------- helpers
    def _check_weights(self, weights):
        weights = dict(weights or {})
        unknown = sorted(set(weights) - set(self.modality_names))
        if unknown:
            raise ValueError(f"likelihood_weights names unknown modalities {unknown}; expected "
                             f"names among {self.modality_names}.")
        for name, w in weights.items():
            if not w >= 0:
                raise ValueError(f"likelihood_weights[{name!r}] must be >= 0; received {w!r}.")
        return {name: float(weights.get(name, 1.0)) for name in self.modality_names}


def fix_arguments(model, kwargs, fixed):
    """`kwargs` with the arguments `fixed` set to their values, for a model's `__init__` to pass
    on to its parent's.

    Args:
        model: the model being built (its class names the error).
        kwargs: the keyword arguments it received.
        fixed: its class's own `FIXED_ARGUMENTS`, name -> (value, what to do instead).

    Raises:
        ValueError: when `kwargs` gives one of them, naming the class, the argument, the value
            received, the value the class uses and what to do instead.
    """
    cls = type(model).__name__
    for name, (value, instead) in fixed.items():
        if name in kwargs:
            raise ValueError(f"{cls} does not take {name}=; received {name}={kwargs[name]!r}. "
                             f"{cls} uses {name}={value!r}: {instead}")
    return {**kwargs, **{name: value for name, (value, _) in fixed.items()}}


def _check_modalities(modalities):
    modalities = list(modalities or [])
    if not modalities:
        raise ValueError("A multimodal VAE needs at least one Modality; received none.")
    for m in modalities:
        if not isinstance(m, Modality):
            raise TypeError(f"modalities must be kmvae.Modality objects; received "
                            f"{type(m).__name__}.")
    names = [m.name for m in modalities]
    if len(set(names)) != len(names):
        raise ValueError(f"Modality names must be unique; received {names}.")
    return modalities
