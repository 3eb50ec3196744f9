"""Evaluation of a trained recipe: every metric of `kmvae.metrics` that applies, written to the
run directory's `metrics.json` with the figures as PNGs. `kmvae train` and `kmvae evaluate` both
call `compute_metrics`, so their `metrics.json` files have the same keys.

    kmvae evaluate mvae_mnist --num-samples 1000      # = runs/mvae_mnist/ under --out
    kmvae evaluate runs/digits                        # a run directory
"""

import hashlib
import json
import shutil
import time
from pathlib import Path

import keras

from kmvae import metrics, recipes, runs
from kmvae.errors import RunNotFoundError
from kmvae.metrics.base import Context
from kmvae.metrics.suite import (  # noqa: F401  (re-exported: the metrics' own helpers)
    JOINT_SAMPLES, LATENT_ELBO_SAMPLES, MSNVI_SAMPLES, ORACLE_EPOCHS, PRIOR_SAMPLES,
    PROBE_EXAMPLES, default_metrics, metrics_of, likelihood_key, make_plots,
    msnvi_bounds, msnvi_figures, mvae_likelihoods, sensor_failure_conflict, split_accuracy)

# SVAE section 4's whole-image accuracy: the data sets whose `evaluation` has "whole_image".
SPLIT_DATASETS = ("mnist_split", "mnist_split3")


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
    examples in every batch) and its `unpaired_from` (what fills the rest of such batches)."""
    return recipe.load_data("train", shuffle=False, paired_per_batch=None,
                            unpaired_from="incomplete")


PARTS_FILE = "evaluation_parts.json"   # a run directory's finished metrics (`PartCache`)


class PartCache:
    """The metrics an evaluation finished, kept in a JSON file so that an interrupted evaluation
    resumes without redoing them (`compute_metrics(cache_path=...)`), and the importance-sampling
    estimates it has under way, by example (`estimate_checkpoint`), so that a K = 1000 estimate
    over a whole test set resumes after the examples it had done. The file is keyed by the
    evaluation's settings: under other settings it starts empty and the estimates under way are
    dropped. `clear` removes both once the evaluation is written, so a later evaluation computes
    everything again.

    Args:
        path: the JSON file, or None (no caching).
        settings: JSON-serialisable dict of what the metrics depend on.
    """

    def __init__(self, path, settings):
        self.path = None if path is None else Path(path)
        self.settings = json.loads(json.dumps(settings))
        self.parts = {}
        if self.path is None:
            return
        saved = json.loads(self.path.read_text()) if self.path.exists() else {}
        if saved.get("settings") == self.settings:
            self.parts = saved.get("parts", {})
        else:                  # another evaluation's estimates in progress: start over
            self.clear()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"settings": self.settings, "parts": {}}))

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

    def estimate_checkpoint(self, key):
        """Where the importance-sampling estimate `key` keeps its examples done so far
        (`metrics.importance_sampling(checkpoint=...)`): `<path stem>.estimates/<key>.npz`,
        or None without a path."""
        if self.path is None:
            return None
        name = "".join(c if c.isalnum() or c in "-_," else "_" for c in key)
        digest = hashlib.sha1(key.encode()).hexdigest()[:8]      # the key, not its spelling
        return _estimates_dir(self.path) / f"{name}-{digest}.npz"

    def clear(self):
        """Removes the file and the estimates under way."""
        if self.path is not None:
            clear_evaluation_cache(self.path)


def _estimates_dir(path):
    """The folder of a `PartCache` file's estimates under way: `<path stem>.estimates/`."""
    return path.with_name(path.stem + ".estimates")


def clear_evaluation_cache(path):
    """Removes a finished evaluation's `PartCache` file `path` and its estimates under way."""
    path = Path(path)
    path.unlink(missing_ok=True)
    shutil.rmtree(_estimates_dir(path), ignore_errors=True)


def compute_metrics(model, recipe, train, test, num_samples=None, eval_examples=None,
                    prior_samples=PRIOR_SAMPLES, oracle_epochs=ORACLE_EPOCHS, oracle_dir=None,
                    plots_dir=None, verbose=False, coherence_examples=None, cache_path=None,
                    cache_key=None, only=None):
    """Every metric that applies to `recipe`'s model: a loop over the recipe's metrics
    (`kmvae.metrics.suite.metrics_of`: by default `default_metrics()`), each a
    `kmvae.metrics.Metric` that decides whether it `applies` and owns its keys of
    `metrics.json` (all of them: `kmvae.metrics.suite.metrics_json_keys()`); each metric is one
    part of the `PartCache` and of `"eval_seconds_parts"`. The default metrics:

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
    - for a target that is a text of its data set (MultiMNIST's), the character and sequence
      accuracies of the text predicted from the source (MVAE Figure 4(c));
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
    computing it again (a restored part has no entry in `"eval_seconds_parts"`); an
    importance-sampling estimate interrupted midway goes on after the test examples it had done.
    `cache_key` (JSON-serialisable) is what else the cache depends on besides the settings, e.g.
    the epoch of a run still training, whose weights change. `oracle_epochs` are the training
    epochs of an oracle not cached yet; None means `ORACLE_EPOCHS` (the CLI's default).
    `only` (names of metrics, `Metric.name`) computes those metrics alone.

    Returns:
        dict (JSON-serialisable).
    """
    oracle_epochs = ORACLE_EPOCHS if oracle_epochs is None else int(oracle_epochs)
    started = time.time()
    num_samples = recipe.eval_num_samples if num_samples is None else int(num_samples)
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
                                   "oracle_epochs": oracle_epochs, "key": cache_key})
    estimates = {}
    tested = [n for n in model.modality_names if n in test.element_spec]

    def estimate(modalities, proposal, of=model):
        # One set of draws of the proposal gives log p(modalities) and log p(all the test
        # split's modalities): MVAE Tables 2-5 and the subset log-likelihoods ask for both.
        key = likelihood_key(modalities, proposal)
        if (key, id(of)) not in estimates:
            sets = [list(modalities)]
            if set(tested) > set(modalities):
                sets.append(tested)
            say(f"  importance sampling {key}" + (
                f" and {likelihood_key(tested, proposal)}" if len(sets) > 1 else "")
                + f", K = {num_samples}")
            checkpoint = cache.estimate_checkpoint(
                f"{key}-{'model' if of is model else 'evaluated'}")
            for names, result in zip(sets, metrics.importance_sampling_sets(
                    of, test, sets, proposal, num_samples, eval_examples,
                    checkpoint=checkpoint)):
                estimates[likelihood_key(names, proposal), id(of)] = result
        return estimates[key, id(of)]

    context = Context(recipe=recipe, train=train, test=test, evaluated=evaluated,
                      has_label="label" in test.element_spec, plots_dir=plots_dir,
                      num_samples=num_samples, eval_examples=eval_examples,
                      prior_samples=prior_samples, coherence_examples=coherence_examples,
                      oracle_epochs=oracle_epochs, oracle_dir=oracle_dir, result=result,
                      estimate=estimate, say=say)
    for metric in metrics_of(recipe):
        if only is not None and metric.name not in only:
            continue
        if not metric.applies(model, context):
            continue
        if metric.cached and metric.name is not None and cache.restore(metric.name, result):
            say(f"  ({metric.name}: restored from {cache.path})")
            continue
        entries = metric.compute(model, context)
        result.update(entries)
        if metric.cached and metric.name is not None:
            cache.save(metric.name, result, list(entries))
        if metric.name is not None:
            lap(metric.name)
    result["eval_seconds_parts"] = parts
    result["eval_seconds"] = round(time.time() - started, 1)
    return result


def evaluate(run, num_samples=None, eval_examples=None, out=".", oracle_dir=None,
             oracle_epochs=ORACLE_EPOCHS, plots=True, verbose=True, coherence_examples=None,
             only=None, last_epoch=False):
    """Loads a trained recipe, computes `compute_metrics` on its test split, merges the result
    into `<run_dir>/metrics.json` (the training entries stay) and writes the PNGs into the run
    directory.

    With `only` (names of `kmvae.metrics.suite` metrics, their `Metric.name`: e.g.
    `["coherence"]`), only those are computed again, e.g. after kmvae adds a number to one,
    with the evaluation settings `metrics.json` records (`num_samples`, `eval_examples`,
    `coherence_examples`) unless given; only their keys and their parts' seconds in
    `"eval_seconds_parts"` change (`"eval_seconds"` stays the whole evaluation's), and the
    figures are drawn only if `"plots"` is named.

    With `last_epoch`, the model evaluated is the last epoch's (`last.keras`, which a recipe
    with model selection keeps beside the selected `model.keras`) and its metrics go under the
    key `"last_epoch"` of `metrics.json`, with `"epoch"` (1-based); the selected model's stay
    as they are, and no figures are drawn. It tells what the selection criterion changed: e.g.
    MVAE Figure 4's accuracy of the selected epoch against the last one's.

    Args:
        run: a run directory (holding `model.keras`) or a recipe name (`<out>/runs/<recipe>/`).
        num_samples: K importance samples (default: the recipe's `eval_num_samples`).
        eval_examples: log-likelihoods and conflicts over at most this many test examples.
        coherence_examples: conditional coherence over at most this many (default: all).
        out: the output directory of `kmvae train` (for a recipe name).
        oracle_dir: cache of the coherence oracles (default `~/.kmvae/oracles`).
        oracle_epochs: training epochs of a new oracle (None: `ORACLE_EPOCHS`).
        plots: write the figures.
        only: None (every metric) or the names of the metrics to compute again.
        last_epoch: evaluate the last epoch's model instead of the selected one.

    Returns:
        dict: the content written to `metrics.json`.

    Raises:
        ValueError / FileNotFoundError: see `resolve_run`.
        UsageError (a ValueError): `only` names a metric the recipe does not have (the
            message lists those it has), or `last_epoch` for a run without `last.keras`.
    """
    if last_epoch:
        run_dir, name = resolve_run(run, out)
        recipe, last = recipes.load(name), Path(run_dir) / "last.keras"
        if not last.exists():
            from kmvae.errors import UsageError
            raise UsageError(
                f"{run_dir} has no last.keras: "
                + (f"{name!r} selects no epoch, so model.keras is the last epoch's; evaluate it "
                   f"without --last-epoch." if not recipe.selection else
                   "it was trained before kmvae kept the last epoch's model beside the "
                   "selected one."))
        model, plots = keras.saving.load_model(last), False
    else:
        run_dir, name, recipe, model = _load_run(run, out)
    if only is not None:
        known = [metric.name for metric in metrics_of(recipe) if metric.name is not None]
        if not only or any(m not in known for m in only):
            from kmvae.errors import UsageError
            raise UsageError(f"metrics {list(only)}: {name!r} has the metrics {known}; "
                             f"name one or more of them.")
        recorded = _read_metrics(run_dir, name)
        num_samples = recorded.get("num_samples") if num_samples is None else num_samples
        eval_examples = recorded.get("eval_examples") if eval_examples is None else \
            eval_examples
        coherence_examples = (recorded.get("coherence_examples") if coherence_examples is None
                              else coherence_examples)
        plots = plots and "plots" in only
    train = probe_training_data(recipe)
    test = recipe.load_data("test")
    parts = ("last_epoch_" if last_epoch else "") + PARTS_FILE    # never the other model's
    result = compute_metrics(model, recipe, train, test, num_samples, eval_examples,
                             oracle_epochs=oracle_epochs, oracle_dir=oracle_dir,
                             plots_dir=run_dir if plots else None, verbose=verbose,
                             coherence_examples=coherence_examples,
                             cache_path=Path(run_dir) / parts,
                             only=None if only is None else set(only))
    if only is not None:
        owned = {key for metric in metrics_of(recipe) if metric.name in only
                 for key in metric.keys}
        # The entries this evaluation keeps: the last epoch's own, or the selected model's.
        earlier = recorded.get("last_epoch", {}) if last_epoch else recorded
        result = {**{key: value for key, value in result.items() if key in owned},
                  "eval_seconds_parts": {**earlier.get("eval_seconds_parts", {}),
                                         **result["eval_seconds_parts"]}}
    if last_epoch:
        from kmvae.train import _read_history
        history = _read_history(Path(run_dir) / "history.csv")
        epochs = len(next(iter(history.values()), [])) or None
        result = {"last_epoch": {**(earlier if only is not None else {}), **result,
                                 "epoch": epochs}}
    merged = _merge_metrics(run_dir, name, result)
    clear_evaluation_cache(Path(run_dir) / parts)
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
                                  cache_path=interim / PARTS_FILE,
                                  cache_key={"epochs": trained, "weights": weights.name}))
    record["run_dir"] = str(run_dir)
    (interim / "metrics.json").write_text(json.dumps(record, indent=2))
    clear_evaluation_cache(interim / PARTS_FILE)
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


HEADLINE = ("test_log_p", "cross_modal_accuracy", "character_accuracy", "sequence_accuracy",
            "coherence", "latent_probe_by_size", "subset_log_likelihood_by_size",
            "msnvi_bounds", "split_accuracy")


def headline_table(result):
    """The headline metrics of a `kmvae train` result as a short text table (every metric is in
    `metrics.json`): the test log-likelihoods (nats), cross-modal accuracies (and a text's
    character and sequence accuracies), joint coherence, latent probes and subset
    log-likelihoods by number of inputs, MSNVI's bounds."""
    rows = [("epochs", str(result.get("epochs"))),
            ("train_seconds", str(result.get("train_seconds")))]
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
        elif (isinstance(value, (int, str))
              and not prefix.startswith(("plots", "model", "saved_model"))):
            rows.append((prefix, str(value)))

    for key in ("recipe", "epochs", "num_samples", "eval_examples", "coherence_examples",
                "log_likelihood", "log_weight_variance", "subset_log_likelihood",
                "subset_log_likelihood_by_size", "subset_elbo", "oracle_accuracy", "coherence",
                "latent_probe", "latent_probe_by_size", "split_oracle_accuracy",
                "split_accuracy", "split_accuracy_mean",
                "conflict", "msnvi_bounds", "sensor_failure_conflict"):
        if key in result:
            walk(key, result[key])
    for key, value in result.items():
        if key.startswith(("cross_modal_accuracy", "character_accuracy", "sequence_accuracy")):
            walk(key, value)
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
