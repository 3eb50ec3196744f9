"""The metrics `kmvae.evaluate.compute_metrics` computes, one `kmvae.metrics.Metric` per
family, in the order they run (`default_metrics`), and the keys of `metrics.json` each owns
(`METRICS_JSON_KEYS`).

Adding a metric: subclass `Metric` here (or in a module of its own), give it a `name` (its part)
and its `keys`, implement `applies` and `compute` (and draw its figure there when
`context.plots_dir` is set), and add an instance to `default_metrics`.
"""

from pathlib import Path

import numpy as np

from kmvae import datasets, metrics
from kmvae.metrics.base import Metric
from kmvae.subsets import subset_label

PRIOR_SAMPLES = 5000        # MVAE section 5: 5000 prior draws for the second term of eq. 7
ORACLE_EPOCHS = 10
JOINT_SAMPLES = 1000
PROBE_EXAMPLES = 500        # MoPoE App. B
MSNVI_SAMPLES = 16          # MSNVI Table 1
LATENT_ELBO_SAMPLES = 10    # M2VAE Fig. 4-5: the per-example ELBO colouring the embeddings


def likelihood_key(modalities, proposal, given=None):
    """The key of an importance-sampled estimate in `metrics.json`: `log p(modalities | given)`
    with `q(z | proposal)` as proposal, each set of modalities written as its
    `kmvae.subsets.subset_label`, e.g. `"log p(image|label) | q(z|image,label)"`. Archived
    `metrics.json` files (`docs/reproduction/`) are read by these keys: keep the format.

    Raises:
        ValueError: an empty `modalities` or `proposal` (see `kmvae.subsets.subset_label`).
    """
    what = subset_label(modalities) + ("" if not given else "|" + subset_label(given))
    return f"log p({what}) | q(z|{subset_label(proposal)})"


def mvae_likelihoods(model, test, source, target, estimate, prior_samples, eval_examples):
    """MVAE Tables 2-5 for the pair (source, target): `log p(source)`, `log p(source, target)`
    and `log p(source | target)` with `q(z | source)` and `q(z | source, target)` as proposals
    (`estimate(modalities, proposal)` returns the `ImportanceEstimate`), and the variances of
    their log importance weights; nats (nats^2) per example.

    Returns:
        dict with `"log_likelihood"`, `"log_weight_variance"` and the keys `kmvae train` always
        wrote, `"test_log_p(<source>)"` and `"test_log_p(<source>,<target>)"`.
    """
    names = list(model.modality_names)
    lls, variances = {}, {}
    pair = [source, target]
    log_py = None
    if target in names and source != target:
        log_py = np.concatenate([
            metrics.log_prior_predictive(model, b, [target], prior_samples).numpy()
            for b in metrics.likelihoods.iterate_batches(test, [target], eval_examples)])
    for proposal in ([source], pair):
        for modalities in ([source], pair):
            e = estimate(modalities, proposal)
            key = likelihood_key(modalities, proposal)
            lls[key], variances[key] = float(np.mean(e.log_likelihood)), \
                float(np.mean(e.log_weight_variance))
        if log_py is not None:
            joint = estimate(pair, proposal)
            key = likelihood_key([source], proposal, given=[target])
            lls[key] = float(np.mean(joint.log_likelihood - log_py))
            variances[key] = float(np.mean(joint.log_weight_variance))
    return {"log_likelihood": lls, "log_weight_variance": variances,
            f"test_log_p({source})": lls[likelihood_key([source], [source])],
            f"test_log_p({subset_label(pair)})": lls[likelihood_key(pair, [source])]}


def split_accuracy(model, recipe, test, oracle_epochs=ORACLE_EPOCHS, oracle_dir=None):
    """SVAE (Kutuzova et al. 2021) section 4, Table 1 and Figures 4 and 6: the oracle accuracy
    of the whole image reassembled from all parts generated given each subset of the parts
    (`kmvae.metrics.split_reconstruction_accuracy`, posterior samples), with the oracle trained
    (and cached) on the data set's reassembled real training images
    (`kmvae.metrics.train_whole_image_oracle`, `oracle_epochs` epochs).

    Returns:
        dict with `"split_accuracy"`: subset label (`"top"`, `"bottom"`, `"top,bottom"`, ...)
        -> accuracy, `"split_accuracy_mean"`: the same decoded from the posterior means (the
        paper's figures decode a sample, as the authors' code; the means tell the posterior's
        location from its spread), and `"split_oracle_accuracy"`: the oracle's accuracy on the
        real reassembled test images (it bounds the others). Floats in [0, 1].
    """
    parts = datasets.part_names(recipe.dataset, recipe.dataset_options)
    train, name = datasets.oracle_training_data(recipe.dataset, recipe.dataset_options)
    oracle = metrics.train_whole_image_oracle(train, parts, name=name, epochs=oracle_epochs,
                                              cache_dir=oracle_dir)
    real = metrics.whole_images(test, parts)
    return {"split_oracle_accuracy": metrics.oracle_accuracy(oracle, real,
                                                             metrics.split.WHOLE_IMAGE),
            "split_accuracy": metrics.split_reconstruction_accuracy(model, test, oracle, parts),
            "split_accuracy_mean": metrics.split_reconstruction_accuracy(
                model, test, oracle, parts, sample=False)}


def msnvi_figures(model, test, plots_dir, recipe):
    """MSNVI Figure 2 (beliefs at the data set's `belief_points`, the 2-D mixture's) and
    Figure 5 (on a data set with `sweep_angles`, the pendulum: predictions and the conflict of
    camera 0 with camera 1 along the test sweep); see `kmvae.datasets.registry.Entry`'s
    `evaluation`."""
    evaluation = dataset_evaluation(recipe)
    paths = {}
    if "belief_points" in evaluation and model.latent_dim == 2:
        points = evaluation["belief_points"]()
        inputs = {"x1": points[:, :1], "x2": points[:, 1:], "x": points}
        inputs = {n: v for n, v in inputs.items() if n in model.modality_names}
        paths["beliefs"] = metrics.plots.belief_ellipses(model, inputs,
                                                         plots_dir / "beliefs.png")
    if "sweep_angles" in evaluation:
        angles = evaluation["sweep_angles"]("test", **recipe.dataset_options)
        paths["conflict"] = metrics.plots.conflict_over_sweep(
            model, recipe.load_data("test"), angles, plots_dir / "conflict.png", "camera_0",
            "camera_1")
    return paths


def sensor_failure_conflict(model, recipe, m="camera_0", m_prime="camera_1"):
    """MSNVI section 5.3: the median conflict c(m || m') (eq. 2) over the pendulum's test sweep
    before and after camera 0 fails (`failure_angle`), the test angles from the data set's
    `sweep_angles`."""
    angles = dataset_evaluation(recipe)["sweep_angles"]("test", **recipe.dataset_options)
    values = np.concatenate([np.asarray(model.conflict(batch, m, m_prime))
                             for batch in recipe.load_data("test")])
    failed = angles >= recipe.dataset_options["failure_angle"]
    return {"pair": f"{m}||{m_prime}", "median_before": float(np.median(values[~failed])),
            "median_after": float(np.median(values[failed]))}


def msnvi_bounds(model, test, eval_examples=None, num_samples=None):
    """MSNVI Table 1: the model's negative bounds L(ind), L(MoE), L(PoE) on the test set with
    K = 16 importance samples, nats per example (lower is better), over at most
    `eval_examples` examples."""
    num_samples = MSNVI_SAMPLES if num_samples is None else int(num_samples)
    values = {objective: [] for objective in ("ind", "moe", "poe")}
    for batch in metrics.likelihoods.iterate_batches(test, model.modality_names, eval_examples):
        for objective, parts in values.items():
            parts.append(-model.bound(batch, objective, num_samples=num_samples).numpy())
    return {f"-L({objective})": float(np.mean(np.concatenate(parts)))
            for objective, parts in values.items()}


def make_plots(model, test, plots_dir, coherence=None, has_label=True, recipe=None):
    """The PNG figures that apply; returns dict figure name -> path.

    `latent.png` (with class labels) has one panel per conditioning subset, each the posterior
    means of that subset's own posterior: for a subset model (M2VAE, JMVAE, JMVAE-Zero, tVAE)
    the embedding of every encoder coloured by class and by the ELBO (eq. 12, K =
    `LATENT_ELBO_SAMPLES`), M2VAE Fig. 4-5; with more than three conditioning
    modalities each modality alone and all of them together, not every subset. A subset model
    with a 2-D latent space also gets M2VAE Fig. 6 (`reencoding.png`, auto re-encoding of the
    first test batch) and, with image modalities, Fig. 7's decoded latent grid
    (`manifold.png`). Reconstructions and generations are drawn for modalities that are
    images (not for MoG's 2-D points). With an MSNVI model also `msnvi_figures`: on
    `mog2d_sources` Figure 2 (`beliefs.png`), on `pendulum` Figure 5 (`conflict.png`)."""
    plots, paths = metrics.plots, {}
    plots_dir = Path(plots_dir)
    if has_bounds(model) and recipe is not None:
        paths.update(msnvi_figures(model, test, plots_dir, recipe))
    images = plots.image_modalities(model)
    labels = [m.name for m in model.modalities if m.is_categorical]
    if has_label:
        subsets = model.conditioning_subsets()
        width = len(model.conditioning_modalities)
        if width > 3:         # PolyMNIST's 31 subsets: each modality alone and all of them
            subsets = [s for s in subsets if len(s) in (1, width)]
        elbo_samples = LATENT_ELBO_SAMPLES if is_subset_model(model) else None
        paths["latent"] = plots.latent_scatter(model, test, plots_dir / "latent.png",
                                               subsets=subsets, elbo_samples=elbo_samples)
    if is_subset_model(model) and model.latent_dim == 2:
        paths["reencoding"] = plots.reencoding(model, next(iter(test)),
                                               plots_dir / "reencoding.png")
        if images:
            paths["manifold"] = plots.latent_manifold(model, plots_dir / "manifold.png", images)
    if images:
        batch = next(iter(test))
        paths["reconstructions"] = plots.reconstructions(model, batch, plots_dir /
                                                         "reconstructions.png", images[0])
        paths["joint_generations"] = plots.joint_generations(
            model, plots_dir / "joint_generations.png", images[0],
            labels[0] if labels else None)
        if labels:
            paths["cross_modal"] = plots.cross_modal_generations(
                model, plots_dir / "cross_modal.png", labels[0], images[0])
    if coherence is not None:
        paths["coherence"] = plots.coherence_by_size({"kmvae": coherence["by_size"]},
                                                     plots_dir / "coherence.png")
    return paths


def dataset_evaluation(recipe):
    """What the recipe's data set offers the metrics (`kmvae.datasets.registry.Entry`'s
    `evaluation`; `{}` for a data set that is not registered)."""
    from kmvae.datasets.registry import evaluation

    return evaluation(recipe.dataset)


def has_bounds(model):
    """Whether `model` has MSNVI's bounds (`model.bound(batch, objective)`): it is evaluated by
    them (`MSNVIBounds`) instead of the MVAE and MoPoE log-likelihoods."""
    return callable(getattr(model, "bound", None))


def is_subset_model(model):
    """Whether `model` has one posterior per subset of its modalities (`kmvae.models.SubsetVAE`:
    M2VAE, JMVAE, SVAE, ...), `model.is_subset_model`."""
    return bool(getattr(model, "is_subset_model", False))


def believers(model):
    """The modalities whose beliefs `Conflict` compares: MSNVI's information sources, else
    every modality."""
    sources = getattr(model, "sources", None)
    return list(sources) if has_bounds(model) and sources is not None else \
        list(model.modality_names)


class MSNVIBounds(Metric):
    """MSNVI Table 1: the negative bounds L(ind), L(MoE), L(PoE) with K = `MSNVI_SAMPLES`
    (`msnvi_bounds`), and on the pendulum with a sensor failure section 5.3's conflict before
    and after it (`sensor_failure_conflict`). For a model with bounds (`has_bounds`).

    Keys: `"msnvi_bounds"` (`{"-L(ind)", "-L(moe)", "-L(poe)"}`, nats per example),
    `"sensor_failure_conflict"` (`{"pair", "median_before", "median_after"}`)."""

    name = "msnvi_bounds"
    keys = ("msnvi_bounds", "sensor_failure_conflict")

    def applies(self, model, context):
        return has_bounds(model)

    def compute(self, model, context):
        recipe = context.recipe
        context.say(f"  MSNVI bounds, K = {MSNVI_SAMPLES}")
        result = {"msnvi_bounds": msnvi_bounds(model, context.test, context.eval_examples)}
        if "sweep_angles" in dataset_evaluation(recipe) and \
                recipe.dataset_options.get("failure_angle"):
            result["sensor_failure_conflict"] = sensor_failure_conflict(model, recipe)
        return result


class MVAELikelihoods(Metric):
    """MVAE Tables 2-5 for the recipe's pair (source, target) (`mvae_likelihoods`); for a model
    without MSNVI's bounds and a recipe with both a `source` and a `target`.

    Keys: `"log_likelihood"` and `"log_weight_variance"` (`likelihood_key` -> nats, nats^2),
    `"test_log_p(<source>)"`, `"test_log_p(<source>,<target>)"` (nats per example)."""

    name = "mvae_likelihoods"
    keys = ("log_likelihood", "log_weight_variance", "test_log_p(<source>)",
            "test_log_p(<source>,<target>)")

    def applies(self, model, context):
        recipe = context.recipe
        return not has_bounds(model) and recipe.source is not None and \
            recipe.target is not None

    def compute(self, model, context):
        return mvae_likelihoods(model, context.test, context.recipe.source,
                                context.recipe.target, context.estimate,
                                context.prior_samples, context.eval_examples)


class SubsetLikelihoods(Metric):
    """MoPoE Table 4 / Figure 3 right: the log-likelihood of all modalities given each
    conditioning subset, with the paper's subset posterior as proposal, and from the same draws
    the ELBO (M2VAE eq. 12, Table 1); for a model without MSNVI's bounds.

    Keys: `"subset_log_likelihood"`, `"subset_elbo"` (subset label -> nats per example),
    `"subset_log_likelihood_by_size"` (number of inputs -> mean)."""

    name = "subset_log_likelihood"
    keys = ("subset_log_likelihood", "subset_log_likelihood_by_size", "subset_elbo")

    def applies(self, model, context):
        return not has_bounds(model)

    def compute(self, model, context):
        names, evaluated = list(model.modality_names), context.evaluated
        subsets = model.conditioning_subsets()
        result = {"subset_log_likelihood": {
            subset_label(s): float(np.mean(context.estimate(names, s, evaluated).log_likelihood))
            for s in subsets}}
        result["subset_log_likelihood_by_size"] = metrics.subsets.by_size(
            result["subset_log_likelihood"])
        result["subset_elbo"] = {subset_label(s): float(np.mean(
            context.estimate(names, s, evaluated).elbo)) for s in subsets}
        return result


class CrossModalAccuracy(Metric):
    """MVAE section 6.1: accuracy of the recipe's categorical `target` predicted from its
    `source` (`kmvae.metrics.cross_modal_accuracy`). Not cached (it is fast).

    Key: `"cross_modal_accuracy(<source>-><target>)"`, in [0, 1]."""

    name = None
    keys = ("cross_modal_accuracy(<source>-><target>)",)

    def applies(self, model, context):
        target = context.recipe.target
        return target is not None and target in {m.name for m in model.modalities
                                                 if m.is_categorical}

    def compute(self, model, context):
        source, target = context.recipe.source, context.recipe.target
        return {f"cross_modal_accuracy({source}->{target})": metrics.cross_modal_accuracy(
            model, context.test, source, target)}


def token_sequences(recipe):
    """The texts of the recipe's data set: modality name -> `{"start": id, "stop": id}`, the
    data set's `evaluation["token_sequences"]` (`{}` when it has none)."""
    return dict(dataset_evaluation(recipe).get("token_sequences", {}))


class CharacterAccuracy(Metric):
    """MVAE Figure 4(c): the text `target` predicted from `source`, the argmax token of each
    position decoded at the mean of `q(z | source)`, scored on the characters of the true text
    (`kmvae.metrics.text_accuracy`: the tokens between START and STOP, each right or wrong;
    START, STOP and PAD not scored, an empty canvas contributing no character) and as whole
    texts; for a recipe whose `target` is a text of its data set (the registry entry's
    `evaluation["token_sequences"]` gives its START and STOP ids: MultiMNIST's `"text"`). Not
    cached (it is fast).

    Keys, in [0, 1]:
    - `"character_accuracy(<source>-><target>)"`: the fraction of the characters of all test
      texts predicted right (nan when they have none);
    - `"sequence_accuracy(<source>-><target>)"`: the fraction of the test texts predicted
      exactly from START through STOP."""

    name = None
    keys = ("character_accuracy(<source>-><target>)", "sequence_accuracy(<source>-><target>)")

    def applies(self, model, context):
        recipe = context.recipe
        return recipe.source is not None and recipe.target in token_sequences(recipe) and \
            recipe.target in model.modality_names

    def compute(self, model, context):
        source, target = context.recipe.source, context.recipe.target
        ids = token_sequences(context.recipe)[target]
        result = metrics.text_accuracy(model, context.test, source, target,
                                       start=ids["start"], stop=ids["stop"])
        return {f"character_accuracy({source}->{target})": result.character,
                f"sequence_accuracy({source}->{target})": result.sequence}


class Coherence(Metric):
    """MoPoE App. B: oracles for the non-categorical modalities (a copy of a convolutional
    encoder with a class layer, `metrics.coherence.encoder_oracle`, else `default_oracle`,
    trained for `oracle_epochs` and cached in `oracle_dir`), the conditional coherence of every
    subset -> every other modality and by subset size over at most `coherence_examples` test
    examples, and the joint coherence of `JOINT_SAMPLES` prior draws; when the data hold
    `"label"` and the model has at least two modalities.

    Keys: `"oracle_accuracy"` (modality -> accuracy), `"coherence"` (`"<subset> -> <modality>"`
    entries, `"by_size"`, `"joint"`, and `"joint_chance"`, the joint coherence the same
    generations would have if their modalities' classes were independent,
    `metrics.chance_agreement`)."""

    name = "coherence"
    keys = ("oracle_accuracy", "coherence")

    def applies(self, model, context):
        # One modality (an IWAE, `iwae_mnist`): nothing is generated from another modality,
        # and every joint generation trivially agrees with itself.
        return context.has_label and len(model.modality_names) > 1

    def compute(self, model, context):
        names, test, say = list(model.modality_names), context.test, context.say
        categorical = {m.name for m in model.modalities if m.is_categorical}
        oracles = {}
        num_classes = None
        for name in names:
            if name in categorical:
                continue
            say(f"  oracle for {name!r}")
            architecture = None
            if isinstance(model.encoders[names.index(name)].backbone,
                          metrics.coherence.copyable_encoders()):
                if num_classes is None:
                    num_classes = 1 + max(int(np.max(b["label"])) for b in test)
                architecture = metrics.coherence.encoder_oracle(model, name, num_classes)
            train, data_name = datasets.oracle_training_data(context.recipe.dataset)
            oracles[name] = metrics.train_oracle(train, name, architecture, name=data_name,
                                                 epochs=context.oracle_epochs,
                                                 cache_dir=context.oracle_dir)
        result = {"oracle_accuracy": {n: metrics.oracle_accuracy(o, test, n)
                                      for n, o in oracles.items()}}
        say("  coherence")
        conditional = metrics.conditional_coherence(context.evaluated, test, oracles,
                                                    max_examples=context.coherence_examples)
        joint = metrics.joint_predictions(model, oracles, JOINT_SAMPLES)
        result["coherence"] = {**conditional, "joint": metrics.coherence_score(joint),
                               "joint_chance": metrics.chance_agreement(joint)}
        return result


class LatentProbe(Metric):
    """MoPoE Table 2 / Figure 3 left: linear-probe accuracy of each subset's latent codes,
    fitted on `PROBE_EXAMPLES` training examples, tested on the test set; when the data hold
    `"label"`.

    Keys: `"latent_probe"` (subset label -> accuracy), `"latent_probe_by_size"`."""

    name = "latent_probe"
    keys = ("latent_probe", "latent_probe_by_size")

    def applies(self, model, context):
        return context.has_label

    def compute(self, model, context):
        context.say("  linear probe")
        probe = metrics.latent_probe(
            context.evaluated, context.train, context.test, num_train=PROBE_EXAMPLES,
            representation=context.result["subset_posterior"]["probe_codes"])
        return {"latent_probe": probe, "latent_probe_by_size": metrics.subsets.by_size(probe)}


class EncoderCoherence(Metric):
    """M2VAE Figures 5 and 6 (Korthals et al. 2019, sections 5.1.2 and 5.2) as numbers, for a
    subset model (one posterior per subset: M2VAE, JMVAE, JMVAE-Zero, tVAE, SVAE) when the data
    hold `"label"`: a probe fit on the all-modality encoder's codes read on each subset's codes
    (`metrics.cross_encoder_probe`), and, with a 2-D latent space (where `make_plots` draws
    Figure 6), auto re-encoding of `PROBE_EXAMPLES` test codes through each subset
    (`metrics.reencoding_attractors`; on MNIST-Split's convolutional SVAE it would take many
    minutes).

    Keys: `"cross_encoder_probe"` (subset label -> accuracy), `"reencoding"` (`steps`,
    `tolerance`, `seeds`, `subsets`: subset label -> fractions `converged`, `class_kept`,
    `class_at_start`; 2-D latent spaces only)."""

    name = "encoder_coherence"
    keys = ("cross_encoder_probe", "reencoding")

    def applies(self, model, context):
        return context.has_label and is_subset_model(model) and hasattr(model, "reencode")

    def compute(self, model, context):
        context.say("  encoders' shared latent space" + (
            ", auto re-encoding" if model.latent_dim == 2 else ""))
        probe = metrics.joint_probe(model, context.train, num_train=PROBE_EXAMPLES)
        result = {"cross_encoder_probe": metrics.cross_encoder_probe(
            model, context.train, context.test, probe=probe)}
        if model.latent_dim == 2:
            result["reencoding"] = metrics.reencoding_attractors(
                model, context.train, context.test, num_seeds=PROBE_EXAMPLES, probe=probe)
        return result


class SplitAccuracy(Metric):
    """SVAE section 4: the whole-image accuracy given each subset of the parts
    (`split_accuracy`); on a data set whose `evaluation` has `"whole_image"` (MNIST-Split and
    MNIST-Split-3).

    Keys: `"split_accuracy"` (subset label -> accuracy), `"split_accuracy_mean"` (from the
    posterior means), `"split_oracle_accuracy"`."""

    name = "split_accuracy"
    keys = ("split_accuracy", "split_accuracy_mean", "split_oracle_accuracy")

    def applies(self, model, context):
        return context.has_label and dataset_evaluation(context.recipe).get("whole_image", False)

    def compute(self, model, context):
        context.say("  whole-image oracle, split accuracy")
        return split_accuracy(model, context.recipe, context.test, context.oracle_epochs,
                              context.oracle_dir)


class Conflict(Metric):
    """MSNVI eq. 2: the conflict c(m || m') between every ordered pair of `believers`, mean
    over at most `eval_examples` test examples; with at least two believers.

    Key: `"conflict"` (`"c(m||m')"` -> nats)."""

    name = "conflict"
    keys = ("conflict",)

    def applies(self, model, context):
        return len(believers(model)) > 1

    def compute(self, model, context):
        conflicts = {}
        for batch in metrics.likelihoods.iterate_batches(context.test, believers(model),
                                                         context.eval_examples):
            for key, value in metrics.pairwise_conflicts(model, batch).items():
                conflicts.setdefault(key, []).append(np.asarray(value))
        return {"conflict": {key: float(np.mean(np.concatenate(v)))
                             for key, v in conflicts.items()}}


class Figures(Metric):
    """The PNG figures that apply (`make_plots`), written into `context.plots_dir`; drawn
    every time (not cached).

    Key: `"plots"` (figure name -> PNG path)."""

    name = "plots"
    keys = ("plots",)
    cached = False

    def applies(self, model, context):
        return context.plots_dir is not None

    def compute(self, model, context):
        return {"plots": make_plots(model, context.test, context.plots_dir,
                                    context.result.get("coherence"), context.has_label,
                                    context.recipe)}


METRICS = {cls.__name__: cls for cls in (
    MSNVIBounds, MVAELikelihoods, SubsetLikelihoods, CrossModalAccuracy, CharacterAccuracy,
    Coherence, LatentProbe, EncoderCoherence, SplitAccuracy, Conflict, Figures)}
"""Metric class name -> class: the names a recipe's `metrics` lists, in the default order."""


def default_metrics():
    """The metrics `compute_metrics` runs for a recipe that does not list its own, in order;
    each computes only where it `applies` (which is how the defaults differ per kind of
    model)."""
    return [cls() for cls in METRICS.values()]


def metrics_of(recipe):
    """The metrics of `recipe`: those its `metrics` names, in its order, or `default_metrics()`
    (a recipe without a `metrics` attribute, or None)."""
    names = getattr(recipe, "metrics", None)
    if names is None:
        return default_metrics()
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ValueError(f"Unknown metrics {unknown}; expected names of {tuple(METRICS)}.")
    return [METRICS[name]() for name in names]


EVALUATION_KEYS = {
    "num_samples": "K importance samples of the log-likelihoods",
    "eval_examples": "the log-likelihoods and conflicts are over at most this many test "
                     "examples (None: all)",
    "prior_samples": "prior draws of the second term of MVAE eq. 7",
    "coherence_examples": "conditional coherence over at most this many examples (None: all)",
    "subset_posterior": "the posterior the MoPoE-protocol metrics condition with: `fusion`, "
                        "`prior_expert`, `probe_codes` (`component` or `mean`)",
    "eval_seconds_parts": "part (a metric's `name`) -> seconds; a part restored from the "
                          "`PartCache` has none",
    "eval_seconds": "seconds of the whole evaluation",
}
"""The keys `compute_metrics` writes itself, besides the metrics' own."""


RUN_KEYS = {
    "recipe": "the recipe's name (kmvae.train.training_record; kmvae evaluate keeps it)",
    "epochs": "the epochs the run was started for",
    "mixed_precision": "None, 'float16' or 'bfloat16'",
    "seed": "the run's seed",
    "batch_size": "the recipe's batch size",
    "learning_rate": "the recipe's learning rate",
    "dataset_options": "the recipe's data-set options",
    "model_options": "the recipe's model options (the model's own arguments, such as an "
                     "objective or a variant)",
    "parameters": "the number of the model's weights (model.count_params()): tells runs of "
                  "a recipe's earlier networks from its current ones",
    "train_seconds": "seconds of training: the sum of history.csv's epoch_seconds, over every "
                     "session of a resumed run",
    "batch_layout": "for training batches in blocks of one presence pattern each (the SVAE "
                    "family's single views, kmvae.datasets.pipeline.batch_layout): [[rows, "
                    "pattern], ...], as the run's run.json records it once trained; absent for "
                    "other batches and for runs trained before 2026-12-06",
    "hardware": "the machine that wrote the training record (kmvae.train.hardware: cpus, "
                "gpus), the last session's for a run resumed elsewhere",
    "test": "the compiled objective on the test split (model.evaluate): name -> value",
    "final_train": "the last epoch's logs (history.csv): name -> value",
    "selection": "for a recipe with model selection (kmvae.train.model_selection): "
                 "criterion, validation_split, selected_epoch, last_epoch, selected_value, "
                 "last_value, gain_last_half (how far the best value moved over the second "
                 "half of the epochs)",
    "last_epoch": "for a recipe with model selection, after `kmvae evaluate RUN --last-epoch` "
                  "(kmvae.evaluate.evaluate): the metrics of the last epoch's model "
                  "(last.keras), their keys as the selected model's, and 'epoch' (1-based)",
    "run_dir": "the run directory (kmvae.train.run; kmvae.evaluate.evaluate_in_progress)",
    "model": "the saved model.keras (kmvae.train.run)",
    "saved_model": "the exported SavedModel; its presence marks the run finished",
    "interim": "true in interim/metrics.json (kmvae.evaluate.evaluate_in_progress)",
    "epochs_planned": "interim: the epochs the run was started for ('epochs': trained so far)",
    "kl_weight": "interim: the KL warm-up's beta at the last trained epoch",
    "archived_from": "an archived copy (docs/reproduction/) only: where its numbers come from, "
                     "written by hand; the report shows it",
    "note": "an archived copy only: a remark the report prints under the run's table",
}
"""The keys of `metrics.json` written by the training run, not by a metric."""


def metrics_json_keys(metric_list=None):
    """Every key of `metrics.json`, the one place they are documented: key -> who writes it,
    the `Metric` class that owns it, `"compute_metrics"` (`EVALUATION_KEYS`) or `"run"`
    (`RUN_KEYS`: `kmvae.train.run`'s training record and paths). A `<source>` / `<target>` in
    a key stands for the recipe's modality names."""
    keys = dict.fromkeys(RUN_KEYS, "run")
    keys.update(dict.fromkeys(EVALUATION_KEYS, "compute_metrics"))
    for metric in default_metrics() if metric_list is None else metric_list:
        keys.update(dict.fromkeys(metric.keys, type(metric).__name__))
    return keys
