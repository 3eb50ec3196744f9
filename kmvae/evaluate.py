"""Evaluation of a trained recipe: every metric of `kmvae.metrics` that applies, written to the
run directory's `metrics.json` with the figures as PNGs. `kmvae train` and `kmvae evaluate` both
call `compute_metrics`, so their `metrics.json` files have the same keys.

    kmvae evaluate mvae_mnist --num-samples 1000      # = runs/mvae_mnist/ under --out
    kmvae evaluate runs/digits                        # a run directory
"""

import json
import time
from pathlib import Path

import keras
import numpy as np

from kmvae import metrics, recipes, runs
from kmvae.errors import RunNotFoundError
from kmvae.models.msnvi import MSNVI
from kmvae.models.subsets import SubsetVAE
from kmvae.subsets import subset_label

PRIOR_SAMPLES = 5000        # MVAE section 5: 5000 prior draws for the second term of eq. 7
ORACLE_EPOCHS = 10
JOINT_SAMPLES = 1000
PROBE_EXAMPLES = 500        # MoPoE App. B
MSNVI_SAMPLES = 16          # MSNVI Table 1
SPLIT_DATASETS = ("mnist_split", "mnist_split3")   # SVAE section 4: whole-image accuracy
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


def resolve_run(run, out="."):
    """`(run_dir, recipe_name)` of a run directory or a recipe name (its newest trained run,
    `kmvae.runs.latest`).

    Raises:
        RunNotFoundError (a FileNotFoundError): when `run` is neither a directory holding
            `model.keras` nor a recipe name, or the recipe has no trained run under `out`.
    """
    path = Path(run)
    if path.is_dir() and (path / "model.keras").exists():
        name = path.name
        for record in ("metrics.json", "run.json"):
            if (path / record).exists():
                name = json.loads((path / record).read_text()).get("recipe", name)
                break
        return path, name
    if str(run) in recipes.list():
        return runs.latest(out, str(run)), str(run)
    raise RunNotFoundError(f"{run!r} is neither a run directory holding model.keras nor a "
                           f"recipe name; `kmvae recipes` lists the recipes, and "
                           f"`kmvae train RECIPE` writes runs/RECIPE/<n>/.")


def probe_training_data(recipe):
    """The training split as the metrics read it (the latent probe is fitted on it): in order,
    each example once, so without the recipe's `paired_per_batch` (which repeats the paired
    examples in every batch)."""
    return recipe.load_data("train", shuffle=False, paired_per_batch=None)


PARTS_FILE = "evaluation_parts.json"   # a run directory's finished metrics (`PartCache`)


class PartCache:
    """The metrics an evaluation finished, kept in a JSON file so that an interrupted evaluation
    resumes without redoing them (`compute_metrics(cache_path=...)`). The file is keyed by the
    evaluation's settings: under other settings it starts empty. `clear` removes it once the
    evaluation is written, so a later evaluation computes everything again.

    Args:
        path: the JSON file, or None (no caching).
        settings: JSON-serialisable dict of what the metrics depend on.
    """

    def __init__(self, path, settings):
        self.path = None if path is None else Path(path)
        self.settings = json.loads(json.dumps(settings))
        self.parts = {}
        if self.path is not None and self.path.exists():
            saved = json.loads(self.path.read_text())
            if saved.get("settings") == self.settings:
                self.parts = saved.get("parts", {})

    def restore(self, part, result):
        """Puts the cached entries of `part` into `result`; whether it had them."""
        if part not in self.parts:
            return False
        result.update(self.parts[part])
        return True

    def save(self, part, result, keys):
        """Caches `result`'s entries `keys` as `part`."""
        self.parts[part] = {k: result[k] for k in keys if k in result}
        if self.path is not None:
            self.path.write_text(json.dumps({"settings": self.settings, "parts": self.parts}))

    def clear(self):
        if self.path is not None and self.path.exists():
            self.path.unlink()


def compute_metrics(model, recipe, train, test, num_samples=None, eval_examples=None,
                    prior_samples=PRIOR_SAMPLES, oracle_epochs=ORACLE_EPOCHS, oracle_dir=None,
                    plots_dir=None, verbose=False, coherence_examples=None, cache_path=None):
    """Every metric that applies to `recipe`'s model.

    - log-likelihoods (MVAE Tables 2-3, eq. 5-7), K = `num_samples` importance samples over at
      most `eval_examples` test examples, with `q(z | source)` and `q(z | all)` as proposals:
      `log p(source)`, `log p(source, target)` and `log p(source | target)` (eq. 7, its second
      term over `prior_samples` prior draws), and the variance of the log importance weights of
      each (Tables 4-5; the conditional's equals the joint's, `log p(target)` being constant per
      example); skipped when the recipe's `source` or `target` is None (PolyMNIST);
    - MoPoE's log-likelihood of all modalities given each subset (Table 4, Figure 3 right),
      same K and examples, and its average over the subsets of each size
      (`subset_log_likelihood_by_size`); from the same draws the ELBO of all modalities under
      each subset's posterior (M2VAE eq. 12, Table 1's L_{a,b}, L_a, L_b; beta = 1):
      `subset_elbo`, nats per example;
    - cross-modal accuracy source -> target (categorical target);
    - coherence (MoPoE App. B) when the data hold `"label"`: oracles trained (and cached) for
      the non-categorical modalities (for a convolutional encoder a copy of it with a class
      layer, `metrics.coherence.encoder_oracle`, else `default_oracle`), conditional
      coherence of every subset -> every other modality and by subset size (Figure 3 centre)
      over the whole test set (at most `coherence_examples` examples), joint coherence of
      `JOINT_SAMPLES` prior draws;
    - linear-probe accuracy per subset (MoPoE Table 2, Figure 3 left), 500 training examples,
      tested on the whole test set, and by subset size (`latent_probe_by_size`);
    - on MNIST-Split and MNIST-Split-3 (`SPLIT_DATASETS`), SVAE's accuracy of the whole image
      reassembled from the parts generated given each subset of them (`split_accuracy`);
    - MSNVI's conflict c(m || m') between the modalities' beliefs, mean over test examples;
    - for an MSNVI model, instead of the MVAE log-likelihoods, MSNVI Table 1: the negative
      bounds L(ind), L(MoE), L(PoE) with K = 16 (`msnvi_bounds`);
    - with `plots_dir`, the PNG figures.

    The MoPoE-protocol metrics (subset log-likelihoods, conditional coherence, probe) condition
    on each subset X_k with the posterior the MoPoE paper uses (`metrics.subsets.
    paper_subset_model`: for MoPoE-VAE the product of X_k's experts); the probe represents a
    mixture posterior (MMVAE, MoEVAE) by one component's mean, as the authors' code
    (`probe_codes`). Both are recorded under `"subset_posterior"`. The MVAE-protocol estimates
    use the model's own posterior. `"eval_seconds_parts"` holds the seconds of each part.

    With `cache_path` (a JSON file, `PartCache`), each finished part is kept there and an
    evaluation rerun with the same settings after an interruption restores it instead of
    computing it again (a restored part has no entry in `"eval_seconds_parts"`).

    Returns:
        dict (JSON-serialisable).
    """
    started = time.time()
    num_samples = recipe.eval_num_samples if num_samples is None else int(num_samples)
    names = list(model.modality_names)
    source, target = recipe.source, recipe.target
    say = print if verbose else (lambda *a, **kw: None)
    result = {"num_samples": num_samples, "eval_examples": eval_examples,
              "prior_samples": prior_samples, "coherence_examples": coherence_examples}
    parts = {}
    clock = [time.time()]

    def lap(part):
        now = time.time()
        parts[part] = round(now - clock[0], 1)
        clock[0] = now
        say(f"  ({part}: {parts[part]} s)")

    evaluated = metrics.subsets.paper_subset_model(model)
    mixture = getattr(getattr(evaluated, "fusion", None), "method", None) == "moe"
    result["subset_posterior"] = {
        "fusion": getattr(getattr(evaluated, "fusion", None), "method", None),
        "prior_expert": getattr(evaluated, "prior_expert", None),
        "probe_codes": "component" if mixture else "mean"}

    cache = PartCache(cache_path, {"num_samples": num_samples, "eval_examples": eval_examples,
                                   "prior_samples": prior_samples,
                                   "coherence_examples": coherence_examples,
                                   "oracle_epochs": oracle_epochs})

    def cached(part, compute):
        """Runs `compute()` (which fills `result`) unless the cache has `part`."""
        if cache.restore(part, result):
            say(f"  ({part}: restored from {cache.path})")
            return
        before = {key: id(value) for key, value in result.items()}
        compute()
        cache.save(part, result, [key for key, value in result.items()
                                  if before.get(key) != id(value)])
        lap(part)

    estimates = {}

    def estimate(modalities, proposal, of=model):
        key = likelihood_key(modalities, proposal)
        if (key, id(of)) not in estimates:
            say(f"  importance sampling {key}, K = {num_samples}")
            estimates[key, id(of)] = metrics.importance_sampling(of, test, modalities, proposal,
                                                                 num_samples, eval_examples)
        return estimates[key, id(of)]

    def bounds():
        say(f"  MSNVI bounds, K = {MSNVI_SAMPLES}")
        result["msnvi_bounds"] = msnvi_bounds(model, test, eval_examples)
        if recipe.dataset == "pendulum" and recipe.dataset_options.get("failure_angle"):
            result["sensor_failure_conflict"] = sensor_failure_conflict(model, recipe)

    def subset_likelihoods():
        subsets = model.conditioning_subsets()
        result["subset_log_likelihood"] = {
            subset_label(s): float(np.mean(estimate(names, s, evaluated).log_likelihood))
            for s in subsets}
        result["subset_log_likelihood_by_size"] = metrics.subsets.by_size(
            result["subset_log_likelihood"])
        result["subset_elbo"] = {subset_label(s): float(np.mean(estimate(names, s,
                                                                         evaluated).elbo))
                                 for s in subsets}

    if isinstance(model, MSNVI):
        cached("msnvi_bounds", bounds)
    else:
        if source is not None and target is not None:
            cached("mvae_likelihoods", lambda: result.update(mvae_likelihoods(
                model, test, source, target, estimate, prior_samples, eval_examples)))
        cached("subset_log_likelihood", subset_likelihoods)

    categorical = {m.name for m in model.modalities if m.is_categorical}
    if target is not None and target in categorical:
        result[f"cross_modal_accuracy({source}->{target})"] = metrics.cross_modal_accuracy(
            model, test, source, target)
    has_label = "label" in test.element_spec

    def coherences():
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
            oracles[name] = metrics.train_oracle(recipe.dataset, name, architecture,
                                                 epochs=oracle_epochs, cache_dir=oracle_dir)
        result["oracle_accuracy"] = {n: metrics.oracle_accuracy(o, test, n)
                                     for n, o in oracles.items()}
        say("  coherence")
        conditional = metrics.conditional_coherence(evaluated, test, oracles,
                                                    max_examples=coherence_examples)
        result["coherence"] = {**conditional, "joint": metrics.joint_coherence(
            model, oracles, JOINT_SAMPLES)}

    def probe():
        say("  linear probe")
        result["latent_probe"] = metrics.latent_probe(
            evaluated, train, test, num_train=PROBE_EXAMPLES,
            representation=result["subset_posterior"]["probe_codes"])
        result["latent_probe_by_size"] = metrics.subsets.by_size(result["latent_probe"])

    coherence = None
    if has_label:
        cached("coherence", coherences)
        coherence = result["coherence"]
        cached("latent_probe", probe)
        if recipe.dataset in SPLIT_DATASETS:
            def split():
                say("  whole-image oracle, split accuracy")
                result.update(split_accuracy(model, recipe, test, oracle_epochs, oracle_dir))
            cached("split_accuracy", split)
    believers = list(model.sources) if isinstance(model, MSNVI) else names

    def conflict():
        conflicts = {}
        for batch in metrics.likelihoods.iterate_batches(test, believers, eval_examples):
            for key, value in metrics.pairwise_conflicts(model, batch).items():
                conflicts.setdefault(key, []).append(np.asarray(value))
        result["conflict"] = {key: float(np.mean(np.concatenate(v)))
                              for key, v in conflicts.items()}

    if len(believers) > 1:
        cached("conflict", conflict)
    if plots_dir is not None:
        result["plots"] = make_plots(model, test, plots_dir, coherence, has_label, recipe)
        lap("plots")
    result["eval_seconds_parts"] = parts
    result["eval_seconds"] = round(time.time() - started, 1)
    return result


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
        -> accuracy, and `"split_oracle_accuracy"`: the oracle's accuracy on the real
        reassembled test images (it bounds the former). Floats in [0, 1].
    """
    parts, options = metrics.split.split_parts_of(recipe.dataset, recipe.dataset_options)
    oracle = metrics.train_whole_image_oracle(recipe.dataset, parts, epochs=oracle_epochs,
                                              cache_dir=oracle_dir, **options)
    real = metrics.whole_images(test, parts)
    return {"split_oracle_accuracy": metrics.oracle_accuracy(oracle, real,
                                                             metrics.split.WHOLE_IMAGE),
            "split_accuracy": metrics.split_reconstruction_accuracy(model, test, oracle, parts)}


def msnvi_figures(model, test, plots_dir, recipe):
    """MSNVI Figure 2 (beliefs on the 2-D mixture) and Figure 5 (pendulum predictions and the
    conflict of camera 0 with camera 1 along the test sweep)."""
    from kmvae.datasets import mog, pendulum

    paths = {}
    if recipe.dataset == "mog2d_sources" and model.latent_dim == 2:
        points = mog.paper_test_points()
        inputs = {"x1": points[:, :1], "x2": points[:, 1:], "x": points}
        inputs = {n: v for n, v in inputs.items() if n in model.modality_names}
        paths["beliefs"] = metrics.plots.belief_ellipses(model, inputs,
                                                         plots_dir / "beliefs.png")
    if recipe.dataset == "pendulum":
        angles = pendulum.angles("test", **recipe.dataset_options)
        paths["conflict"] = metrics.plots.conflict_over_sweep(
            model, recipe.load_data("test"), angles, plots_dir / "conflict.png", "camera_0",
            "camera_1")
    return paths


def sensor_failure_conflict(model, recipe, m="camera_0", m_prime="camera_1"):
    """MSNVI section 5.3: the median conflict c(m || m') (eq. 2) over the pendulum's test sweep
    before and after camera 0 fails (`failure_angle`)."""
    from kmvae.datasets import pendulum

    angles = pendulum.angles("test", **recipe.dataset_options)
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
    images (not for MoG's 2-D points). With an MSNVI model on `mog2d_sources` also MSNVI
    Figure 2 (`beliefs.png`), on `pendulum` Figure 5 (`conflict.png`)."""
    plots, paths = metrics.plots, {}
    plots_dir = Path(plots_dir)
    if isinstance(model, MSNVI) and recipe is not None:
        paths.update(msnvi_figures(model, test, plots_dir, recipe))
    images = plots.image_modalities(model)
    labels = [m.name for m in model.modalities if m.is_categorical]
    if has_label:
        subsets = model.conditioning_subsets()
        width = len(model.conditioning_modalities)
        if width > 3:         # PolyMNIST's 31 subsets: each modality alone and all of them
            subsets = [s for s in subsets if len(s) in (1, width)]
        elbo_samples = LATENT_ELBO_SAMPLES if isinstance(model, SubsetVAE) else None
        paths["latent"] = plots.latent_scatter(model, test, plots_dir / "latent.png",
                                               subsets=subsets, elbo_samples=elbo_samples)
    if isinstance(model, SubsetVAE) and model.latent_dim == 2:
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


def evaluate(run, num_samples=None, eval_examples=None, out=".", oracle_dir=None,
             oracle_epochs=ORACLE_EPOCHS, plots=True, verbose=True, coherence_examples=None):
    """Loads a trained recipe, computes `compute_metrics` on its test split, merges the result
    into `<run_dir>/metrics.json` (the training entries stay) and writes the PNGs into the run
    directory.

    Args:
        run: a run directory (holding `model.keras`) or a recipe name (`<out>/runs/<recipe>/`).
        num_samples: K importance samples (default: the recipe's `eval_num_samples`).
        eval_examples: log-likelihoods and conflicts over at most this many test examples.
        coherence_examples: conditional coherence over at most this many (default: all).
        out: the output directory of `kmvae train` (for a recipe name).
        oracle_dir: cache of the coherence oracles (default `~/.kmvae/oracles`).
        oracle_epochs: training epochs of a new oracle (None: `ORACLE_EPOCHS`).
        plots: write the figures.

    Returns:
        dict: the content written to `metrics.json`.

    Raises:
        ValueError / FileNotFoundError: see `resolve_run`.
    """
    oracle_epochs = ORACLE_EPOCHS if oracle_epochs is None else int(oracle_epochs)
    run_dir, name, recipe, model = _load_run(run, out)
    train = probe_training_data(recipe)
    test = recipe.load_data("test")
    result = compute_metrics(model, recipe, train, test, num_samples, eval_examples,
                             oracle_epochs=oracle_epochs, oracle_dir=oracle_dir,
                             plots_dir=run_dir if plots else None, verbose=verbose,
                             coherence_examples=coherence_examples,
                             cache_path=Path(run_dir) / PARTS_FILE)
    merged = _merge_metrics(run_dir, name, result)
    (Path(run_dir) / PARTS_FILE).unlink(missing_ok=True)
    return merged


def evaluate_in_progress(run, num_samples=None, eval_examples=None, out=".", oracle_dir=None,
                         oracle_epochs=ORACLE_EPOCHS, plots=True, verbose=True,
                         coherence_examples=None):
    """Evaluates a run that is still training, or was stopped before its last epoch, without
    ending it: the model selected so far (`best.weights.h5` for a recipe with model selection,
    else the last backed-up epoch) gets every metric `evaluate` computes, written with the
    figures to `<run_dir>/interim/metrics.json`. `kmvae train` later resumes the run as
    usual; its final `metrics.json` supersedes the interim one.

    The interim `metrics.json` has the keys of a finished run's, with `"epochs"` the epochs
    trained so far, `"epochs_planned"` those the run was started for, `"interim": true` and
    `"kl_weight"` the KL warm-up's beta at the last trained epoch.

    Args:
        run: an unfinished run directory (holding `run.json`) or a recipe name (its newest
            run under `<out>/runs/<recipe>/`).
        Others: as `evaluate`.

    Returns:
        dict: the content written to `interim/metrics.json`.

    Raises:
        RunNotFoundError (a FileNotFoundError): no such run, or no epoch finished yet.
        UsageError (a ValueError): the run is already trained (use `evaluate`), or its recipe
            trains in stages (a stage's backup is not the model).
    """
    import warnings

    from kmvae.errors import UsageError
    from kmvae.train import BACKUP, BEST_WEIGHTS, _read_history, training_record

    run_dir, name = _unfinished_run(run, out)
    recipe = recipes.load(name)
    if recipe.stages:
        raise UsageError(f"{name!r} trains in stages {recipe.stages}; its runs can be "
                         f"evaluated once trained, not in progress.")
    settings = runs.settings_of(run_dir)
    history = _read_history(run_dir / "history.csv")
    trained = len(next(iter(history.values()), []))
    weights = run_dir / BEST_WEIGHTS if recipe.selection else run_dir / BACKUP / \
        "latest.weights.h5"
    if not trained or not weights.exists():
        raise RunNotFoundError(f"{run_dir} has no finished epoch yet; evaluate it after one.")
    model = recipe.build_model(seed=settings.get("seed"))
    with warnings.catch_warnings():      # the optimizer's state is not needed here
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(weights)
    interim = run_dir / runs.INTERIM
    interim.mkdir(exist_ok=True)
    test = recipe.load_data("test")
    num_samples = recipe.eval_num_samples if num_samples is None else int(num_samples)
    record = training_record(recipe, model, test, history, epochs=trained,
                             seed=settings.get("seed"),
                             mixed_precision=settings.get("mixed_precision"),
                             num_samples=num_samples)
    record.update({"interim": True, "epochs_planned": settings["epochs"],
                   "kl_weight": history.get("kl_weight", [None])[-1]})
    record.update(compute_metrics(model, recipe, probe_training_data(recipe), test,
                                  num_samples, eval_examples, oracle_epochs=oracle_epochs,
                                  oracle_dir=oracle_dir, plots_dir=interim if plots else None,
                                  verbose=verbose, coherence_examples=coherence_examples,
                                  cache_path=interim / PARTS_FILE))
    record["run_dir"] = str(run_dir)
    (interim / "metrics.json").write_text(json.dumps(record, indent=2))
    (interim / PARTS_FILE).unlink(missing_ok=True)
    return record


def _unfinished_run(run, out):
    """`(run_dir, recipe_name)` of an untrained run directory or of a recipe's newest run."""
    from kmvae.errors import UsageError

    path = Path(run)
    if path.is_dir() and (path / "run.json").exists():
        run_dir = path
    elif str(run) in recipes.list():
        numbers = runs.versions(out, str(run))
        if not numbers:
            raise RunNotFoundError(f"No run of {run!r} under {Path(out) / 'runs' / str(run)}; "
                                   f"start one with `kmvae train {run} --out {out}`.")
        run_dir = Path(out) / "runs" / str(run) / str(numbers[-1])
    else:
        raise RunNotFoundError(f"{run!r} is neither a run directory holding run.json nor a "
                               f"recipe name; `kmvae recipes` lists the recipes.")
    if runs.is_trained(run_dir):
        raise UsageError(f"{run_dir} is trained; evaluate it with `kmvae evaluate {run_dir}` "
                         f"(without --in-progress).")
    return run_dir, runs.settings_of(run_dir)["recipe"]


def _load_run(run, out):
    """`(run_dir, recipe_name, recipe, model)` of a trained run (`resolve_run`)."""
    run_dir, name = resolve_run(run, out)
    return run_dir, name, recipes.load(name), keras.saving.load_model(run_dir / "model.keras")


def _read_metrics(run_dir, name):
    path = Path(run_dir) / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else {"recipe": name}


def _merge_metrics(run_dir, name, entries):
    """Writes `entries` over those of `<run_dir>/metrics.json` (the others stay); returns the
    merged content."""
    merged = {**_read_metrics(run_dir, name), **entries, "recipe": name}
    (Path(run_dir) / "metrics.json").write_text(json.dumps(merged, indent=2))
    return merged


def redraw_plots(run, out="."):
    """Draws a trained recipe's figures again (`make_plots`, e.g. after kmvae adds one) without
    recomputing its metrics: the PNGs are rewritten in the run directory and only the `plots`
    entry of `metrics.json` changes. The coherence figure is drawn from the coherence already in
    `metrics.json`, if any.

    Args:
        run: a run directory (holding `model.keras`) or a recipe name (`<out>/runs/<recipe>/`).
        out: the output directory of `kmvae train` (for a recipe name).

    Returns:
        dict figure name -> PNG path.

    Raises:
        ValueError / FileNotFoundError: see `resolve_run`.
    """
    run_dir, name, recipe, model = _load_run(run, out)
    test = recipe.load_data("test")
    coherence = _read_metrics(run_dir, name).get("coherence")
    if not (isinstance(coherence, dict) and "by_size" in coherence):
        coherence = None
    paths = make_plots(model, test, run_dir, coherence, "label" in test.element_spec, recipe)
    _merge_metrics(run_dir, name, {"plots": paths})
    return paths


HEADLINE = ("test_log_p", "cross_modal_accuracy", "coherence", "latent_probe_by_size",
            "subset_log_likelihood_by_size", "msnvi_bounds", "split_accuracy")


def headline_table(result):
    """The headline metrics of a `kmvae train` result as a short text table (every metric is in
    `metrics.json`): the test log-likelihoods (nats), cross-modal accuracies, joint coherence,
    latent probes and subset log-likelihoods by number of inputs, MSNVI's bounds."""
    rows = [("epochs", str(result.get("epochs"))), ("train_seconds",
                                                     str(result.get("train_seconds")))]
    for key, value in result.items():
        if not key.startswith(HEADLINE):
            continue
        if key == "coherence" and isinstance(value, dict):
            value = {"joint": value.get("joint"),
                     **{f"given {k}": v for k, v in (value.get("by_size") or {}).items()}}
        if isinstance(value, dict):
            rows += [(f"{key} {k}", _number(v)) for k, v in value.items()
                     if isinstance(v, (int, float))]
        elif isinstance(value, (int, float)):
            rows.append((key, _number(value)))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _number(value):
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.3f}"


def format_table(result):
    """The metrics as a two-column text table."""
    rows = []

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix} {key}" if prefix else key, inner)
        elif isinstance(value, float):
            rows.append((prefix, f"{value:.4f}" if abs(value) < 10 else f"{value:.3f}"))
        elif isinstance(value, (int, str)) and not prefix.startswith(("plots", "model",
                                                                       "saved_model")):
            rows.append((prefix, str(value)))

    for key in ("recipe", "epochs", "num_samples", "eval_examples", "coherence_examples",
                "log_likelihood", "log_weight_variance", "subset_log_likelihood",
                "subset_log_likelihood_by_size", "subset_elbo", "oracle_accuracy", "coherence",
                "latent_probe", "latent_probe_by_size", "split_oracle_accuracy",
                "split_accuracy",
                "conflict", "msnvi_bounds", "sensor_failure_conflict"):
        if key in result:
            walk(key, result[key])
    for key, value in result.items():
        if key.startswith("cross_modal_accuracy"):
            walk(key, value)
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
