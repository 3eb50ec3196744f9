"""The main job: train a recipe, evaluate it, save it and export it; resumable.

A killed `kmvae train RECIPE` resumes from its last finished epoch when rerun (see
`kmvae.runs` for the run directory's files).
"""

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import keras
import tensorflow as tf

from kmvae import recipes, runs
from kmvae.errors import UsageError

MIXED_PRECISION = {"float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}
BACKUP = "backup"
BEST_WEIGHTS = "best.weights.h5"  # the selected epoch's weights (recipes with `selection`)


def next_version(directory):
    """The next integer version under `directory` (1 if none): TF Serving's layout."""
    versions = [int(p.name) for p in Path(directory).glob("*") if p.name.isdigit()]
    return max(versions, default=0) + 1


def run(recipe, epochs=None, mixed_precision=None, out=".", eval_examples=None,
        num_samples=None, oracle_dir=None, plots=True, evaluate=True, verbose=2,
        coherence_examples=None, oracle_epochs=None, seed=None, batch_size=None,
        learning_rate=None, overwrite=False, distribute=None, log=print):
    """Trains `recipe` with `model.fit`, saves it, evaluates it and exports it; resumes an
    interrupted run of the same settings.

    The run directory is `<out>/runs/<recipe>/<n>/` (`kmvae.runs.prepare`): a new version when
    the newest run is finished (a finished run is never overwritten unless `overwrite`), the
    newest one when it is unfinished and was started with the same settings. Training backs up
    at the end of every epoch (`keras.callbacks.BackupAndRestore`: weights, optimizer state,
    the KL warm-up's position, the training noise's seed state, the epoch) and a rerun resumes
    from the last finished epoch; a run whose model was saved but whose evaluation or export
    did not finish resumes there, keeping the metrics already computed
    (`evaluation_parts.json`, `kmvae.evaluate.PartCache`).

    It writes `history.csv` (`keras.callbacks.CSVLogger`, one row per epoch, appended on
    resume), TensorBoard logs in `logs/`, `model.keras` right after training (for a recipe
    with `selection`, the selected epoch's model, fit on the training split less the
    validation split and validated on it; the last epoch's is `last.keras`), `metrics.json`
    (`kmvae.evaluate.compute_metrics`, the same keys as `kmvae evaluate`) with the figures
    beside it, and the SavedModel `<out>/saved_models/<recipe>/<version>/`, one above the
    highest there.

    Args:
        recipe: a `kmvae.recipes.Recipe` or its name.
        epochs: override the recipe's number of epochs (>= 1; the KL warm-up keeps its share).
        mixed_precision: None, `"float16"` or `"bfloat16"` (Keras mixed-precision policy).
        out: output directory.
        eval_examples: evaluate the log-likelihoods on at most this many test examples.
        num_samples: K importance samples for the log-likelihoods (default the recipe's).
        oracle_dir: cache of the coherence oracles (default `~/.kmvae/oracles`).
        plots: write the figures.
        evaluate: compute the metrics (`compute_metrics`); False leaves them to a later
            `kmvae evaluate`, which merges them into the same `metrics.json`.
        verbose: `model.fit` verbosity (1: progress bar, 2: one line per epoch, 0: none).
        coherence_examples: conditional coherence on at most this many (default: all).
        oracle_epochs: training epochs of a coherence oracle not cached yet (default
            `kmvae.evaluate.ORACLE_EPOCHS`).
        seed: seeds Keras, TensorFlow, NumPy and Python (`keras.utils.set_random_seed`), the
            model's training noise and the data's shuffle; None: the recipe's (unseeded).
        batch_size, learning_rate: override the recipe's.
        overwrite: train again in the newest run's directory, discarding it.
        distribute: None (one device), `"mirrored"` (`tf.distribute.MirroredStrategy`: the
            GPUs of this machine, else its logical CPU devices) or `"multi_worker"`
            (`tf.distribute.MultiWorkerMirroredStrategy`, the cluster in `TF_CONFIG`). The
            global batch is the recipe's batch size. Under `"multi_worker"` only the chief
            writes the run directory, the metrics and the export; every other worker keeps its
            own backup in `<out>/.workers/<recipe>/<task>/` (to recover when it is killed) and
            stops after training. The evaluation runs on the chief alone, on one device.
        log: where progress lines go (`print`).

    Returns:
        dict with the metrics and the paths written.

    Raises:
        UnknownRecipeError: an unknown recipe name.
        RunConflictError: the newest run is unfinished and was started with other settings.
        UsageError: `epochs`, `batch_size`, `learning_rate` or `seed` out of range, or an
            unknown mixed-precision name.
    """
    from kmvae.evaluate import (PARTS_FILE, clear_evaluation_cache, compute_metrics,
                                probe_training_data)
    from kmvae.export import export_saved_model

    recipe = recipes.load(recipe) if isinstance(recipe, str) else recipe
    recipe = _overridden(recipe, batch_size, learning_rate, seed)
    if mixed_precision is not None:
        if mixed_precision not in MIXED_PRECISION:
            raise UsageError(f"mixed_precision must be one of {tuple(MIXED_PRECISION)} or None; "
                             f"received {mixed_precision!r}.")
        keras.mixed_precision.set_global_policy(MIXED_PRECISION[mixed_precision])
    epochs = recipe.epochs if epochs is None else epochs
    _check_int("epochs", epochs, 1)
    if seed is not None:
        _check_int("seed", seed, 0)
        keras.utils.set_random_seed(int(seed))
    num_samples = recipe.eval_num_samples if num_samples is None else int(num_samples)
    from kmvae import distribute as distribution
    try:
        strategy = distribution.get_strategy(distribute)
    except ValueError as error:
        raise UsageError(str(error)) from None
    settings = runs.run_settings(recipe, epochs, seed, mixed_precision, distribute)
    if not distribution.is_chief(strategy):
        worker_dir = Path(out) / ".workers" / recipe.name / distribution.task_name(strategy)
        worker_dir.mkdir(parents=True, exist_ok=True)
        log(f"worker {distribution.task_name(strategy)}: backups in {worker_dir}")
        if _adopt_chief_backup(out, recipe.name, settings, worker_dir):
            log("worker: resuming from the chief's backup")
        train, validation = recipe.load_data(("train", recipe.validation_split))
        with strategy.scope():
            model = recipe.build_model(seed=seed)
        fit_resumable(recipe, model, train, validation, int(epochs), worker_dir,
                      verbose=0, log=log)
        model.save_weights(worker_dir / "final.weights.h5")    # the chief's, in sync
        return {"recipe": recipe.name, "worker": distribution.task_name(strategy)}
    run_dir, resumed = runs.prepare(out, recipe.name, settings, overwrite=overwrite)
    log(f"run directory: {run_dir}")
    model_path = run_dir / "model.keras"

    if recipe.validation_split == "test":
        train, test = recipe.load_data()
        validation = test
    else:
        train, validation, test = recipe.load_data(("train", "validation", "test"))
    if runs.is_trained(run_dir):
        log(f"{run_dir} is trained; resuming its evaluation and export")
        model = keras.saving.load_model(model_path)
        history = _read_history(run_dir / "history.csv")
        train_seconds = runs.settings_of(run_dir).get("train_seconds")
    else:
        with strategy.scope():
            model = recipe.build_model(seed=seed)
        start = time.time()
        history = fit_resumable(recipe, model, train, validation, int(epochs), run_dir,
                                verbose=verbose, log=log)
        # Every epoch's seconds, over all the sessions of a resumed run; the seconds of this
        # session for a history logged without them.
        train_seconds = round(sum(history["epoch_seconds"]) if len(
            history.get("epoch_seconds", [])) == int(epochs) else time.time() - start, 1)
        if recipe.selection:
            model.save(run_dir / "last.keras")
            model.load_weights(run_dir / BEST_WEIGHTS)
        model.save(model_path)
        if distribute is not None:        # evaluate and export on one device
            model = keras.saving.load_model(model_path)
        record = {**runs.settings_of(run_dir), "train_seconds": train_seconds}
        layout = getattr(train, "kmvae_batch_layout", None)
        if layout is not None:           # the batches' blocks (SVAE family's single views)
            record["batch_layout"] = [[rows, list(pattern)] for rows, pattern in layout]
        (run_dir / "run.json").write_text(json.dumps(record, indent=2))

    result = training_record(recipe, model, test, history, epochs=int(epochs), seed=seed,
                             mixed_precision=mixed_precision, train_seconds=train_seconds,
                             num_samples=num_samples)
    layout = runs.settings_of(run_dir).get("batch_layout")
    if layout is not None:
        result["batch_layout"] = layout
    if evaluate:
        probe_train = probe_training_data(recipe)
        result.update(compute_metrics(model, recipe, probe_train, test, num_samples,
                                      eval_examples, oracle_dir=oracle_dir,
                                      plots_dir=run_dir if plots else None,
                                      coherence_examples=coherence_examples,
                                      oracle_epochs=oracle_epochs,
                                      cache_path=run_dir / PARTS_FILE))
    export_dir = Path(out) / "saved_models" / recipe.name
    export_path = export_dir / str(next_version(export_dir))
    export_saved_model(model, str(export_path))
    result.update({"run_dir": str(run_dir), "model": str(model_path),
                   "saved_model": str(export_path)})
    (run_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    clear_evaluation_cache(run_dir / PARTS_FILE)
    return result


def hardware():
    """The machine of this process, as a run's `metrics.json` records it beside
    `train_seconds`: `{"cpus": os.cpu_count(), "gpus": [GPU names]}` (the names TensorFlow
    reports, `[]` on a machine without one)."""
    gpus = [tf.config.experimental.get_device_details(device).get("device_name", device.name)
            for device in tf.config.list_physical_devices("GPU")]
    return {"cpus": os.cpu_count(), "gpus": gpus}


def training_record(recipe, model, test, history, epochs, seed=None, mixed_precision=None,
                    train_seconds=None, num_samples=None):
    """The training entries of a run's `metrics.json`: the settings, the objective on the test
    split (`model.evaluate`), the last epoch's training and validation terms, and, for a
    recipe with model selection, the selected epoch (1-based) against the last one.

    Args:
        recipe: the run's `kmvae.recipes.Recipe`.
        model: the trained model (the selected epoch's weights).
        test: the test split, a `tf.data.Dataset` of batches.
        history: dict metric name -> per-epoch values (`history.csv`).
        epochs: the epochs the run was started for.

    Returns:
        dict, JSON-serialisable.
    """
    record = {
        "recipe": recipe.name, "epochs": int(epochs), "mixed_precision": mixed_precision,
        "seed": seed, "batch_size": recipe.batch_size, "learning_rate": recipe.learning_rate,
        "dataset_options": recipe.dataset_options, "model_options": dict(recipe.model_options),
        "parameters": int(model.count_params()),
        "train_seconds": train_seconds, "hardware": hardware(), "num_samples": num_samples,
        "test": {k: float(v) for k, v in model.evaluate(test, verbose=0, return_dict=True).items()},
        "final_train": {k: float(v[-1]) for k, v in history.items() if v},
    }
    if recipe.selection:
        record["selection"] = model_selection(recipe, history)
    return record


def model_selection(recipe, history):
    """The model selection of a run with a `recipe.selection` criterion: the best epoch of the
    criterion's per-epoch values, against the last epoch, and how much the best value improved
    over the second half of training (whether the criterion was still improving when training
    stopped).

    Args:
        recipe: a `kmvae.recipes.Recipe` with `selection` (a validation metric of `history`)
            and `selection_mode` ("max" or "min").
        history: dict metric name -> per-epoch values (`history.csv`), at least one epoch.

    Returns:
        dict: `criterion` ("highest val_bound"), `validation_split`, `selected_epoch`
        (1-based), `last_epoch`, `selected_value`, `last_value`, and `gain_last_half`: how far
        the best value moved in the criterion's favour over the second half of the n epochs
        (the best of all against the best of the first floor(n / 2)), in the criterion's units
        (nats for a bound, a fraction for an accuracy); 0.0 when the best epoch came in the
        first half, None for a run of a single epoch.
    """
    values = history[recipe.selection]
    best = max if recipe.selection_mode == "max" else min
    selected = best(range(len(values)), key=values.__getitem__)
    head = values[:len(values) // 2]
    gain = abs(values[selected] - best(head)) if head else None
    return {"criterion": f"{'highest' if best is max else 'lowest'} {recipe.selection}",
            "validation_split": recipe.dataset_options["validation"],
            "selected_epoch": selected + 1, "last_epoch": len(values),
            "selected_value": values[selected], "last_value": values[-1],
            "gain_last_half": gain}


def _adopt_chief_backup(out, recipe_name, settings, worker_dir):
    """Replaces a non-chief worker's backup by the chief's, when the chief's unfinished run
    with the same settings is readable here (a shared `--out`).

    Workers killed together may be killed between the chief's end-of-epoch backup and their
    own, so their own backups can be an epoch apart; resumed from them, the workers would
    run different numbers of steps and the collective ops would fail. The chief's backup is
    the one both resume from. Without a shared `--out` a worker resumes from its own backup.

    Returns:
        Whether the chief's backup was adopted.
    """
    numbers = runs.versions(out, recipe_name)
    if not numbers:
        return False
    newest = Path(out) / "runs" / recipe_name / str(numbers[-1])
    chief_backup = newest / BACKUP
    if (runs.is_finished(newest) or not chief_backup.is_dir()
            or runs.settings_of(newest) != {"recipe": recipe_name, **settings}):
        return False
    shutil.rmtree(worker_dir / BACKUP, ignore_errors=True)
    shutil.copytree(chief_backup, worker_dir / BACKUP)
    for stage in newest.glob("stage*.weights.npz"):
        shutil.copy2(stage, worker_dir / stage.name)
    return True


def fit_resumable(recipe, model, train, test, epochs, run_dir, verbose=2, log=print):
    """`recipe.fit`, backed up at the end of every epoch in `<run_dir>/backup/` and resumed
    from there: trains `model` for `epochs` (split over the recipe's stages, each stage its own
    backup and, once finished, `stage<k>.weights.h5`), logging `history.csv` and TensorBoard,
    each epoch with its learning rate and wall seconds (`epoch_seconds`).

    Returns:
        dict metric name -> list of per-epoch values, read back from `history.csv` (so a
        resumed run returns every epoch's values, not only those of this process).
    """
    run_dir = Path(run_dir)
    stages = recipes.split_epochs(epochs, recipe.stages) if recipe.stages else [epochs]
    if len(stages) > 1 and not hasattr(model, "set_stage"):
        raise ValueError(f"Recipe {recipe.name!r} has stages {recipe.stages} but "
                         f"{type(model).__name__} has no set_stage.")
    history_path = run_dir / "history.csv"
    done = 0
    for stage, stage_epochs in enumerate(stages, start=1):
        staged = len(stages) > 1
        finished = run_dir / f"stage{stage}.weights.npz"
        backup = run_dir / BACKUP / (f"stage{stage}" if staged else "")
        if staged:
            model.set_stage(stage)
            model.compile(optimizer=recipe.make_optimizer())
        if finished.exists():
            done += stage_epochs
            continue
        if staged and stage > 1 and not (backup / "latest.weights.h5").exists():
            _load_stage_weights(model, run_dir / f"stage{stage - 1}.weights.npz")
        initial = _backed_up_epoch(backup)
        if initial:
            log(f"resuming at epoch {done + initial + 1} of {epochs}")
        _truncate_history(history_path, done + initial)
        callbacks = recipe.callbacks(stage_epochs if staged else epochs, test) + [
            LearningRateLogger(), EpochTimeLogger(),
            _OffsetCSVLogger(str(history_path), append=True, offset=done)]
        if recipe.selection:
            if staged:
                raise ValueError(f"Recipe {recipe.name!r}: model selection is not supported "
                                 f"for models trained in stages.")
            best = keras.callbacks.ModelCheckpoint(
                str(run_dir / BEST_WEIGHTS), monitor=recipe.selection,
                mode=recipe.selection_mode, save_best_only=True, save_weights_only=True)
            earlier = _read_history(history_path).get(recipe.selection)
            if earlier:                        # the best epoch before the resumed one
                best.best = (max if recipe.selection_mode == "max" else min)(earlier)
            callbacks.append(best)
        callbacks += [keras.callbacks.BackupAndRestore(str(backup)),
                      keras.callbacks.TensorBoard(str(run_dir / "logs"), write_graph=False)]
        model.fit(train, epochs=stage_epochs, validation_data=test, callbacks=callbacks,
                  verbose=verbose)
        if staged:
            _save_stage_weights(model, finished)
        done += stage_epochs
    backups = run_dir / BACKUP       # each stage's backup is deleted once it ends; so is theirs
    if len(stages) > 1 and backups.is_dir() and not any(backups.iterdir()):
        backups.rmdir()
    return _read_history(history_path)


def _save_stage_weights(model, path):
    """The model's weights after a training stage, by variable path (a stage's freezing
    reorders `model.weights`); the next stage starts from them with a fresh optimizer."""
    import numpy as np
    np.savez(path, **{v.path: np.asarray(v) for v in model.weights})


def _load_stage_weights(model, path):
    import numpy as np
    with np.load(path) as saved:
        for v in model.weights:
            v.assign(saved[v.path])


def _backed_up_epoch(backup):
    """The number of epochs finished in a `BackupAndRestore` directory (0 if none)."""
    path = Path(backup) / "training_metadata.json"
    return int(json.loads(path.read_text())["epoch"]) if path.exists() else 0


def _truncate_history(path, epochs):
    """Keeps the header and the rows of epochs 0 .. `epochs` - 1 of a `history.csv`: an epoch
    logged after the last backup is trained and logged again on resume."""
    path = Path(path)
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    if not lines:
        return
    column = lines[0].rstrip("\r\n").split(",").index("epoch")
    kept = [line for line in lines[1:] if int(line.split(",")[column]) < epochs]
    path.write_text("".join(lines[:1] + kept))


def _read_history(path):
    """`history.csv` as dict column -> list of floats (the `epoch` column left out)."""
    import csv
    path = Path(path)
    if not path.exists():
        return {}
    with path.open() as f:
        rows = list(csv.DictReader(f))
    keys = [k for k in (rows[0] if rows else {}) if k != "epoch"]
    return {k: [float(r[k]) for r in rows if r.get(k) not in (None, "")] for k in keys}


def _check_int(name, value, low):
    """Raises UsageError unless `value` is an integer >= `low` (a bool is not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= low or (
            int(value) != value):
        raise UsageError(f"{name} must be an integer >= {low}; received {value!r}.")


def _overridden(recipe, batch_size, learning_rate, seed):
    """The recipe with the command line's batch size, learning rate and data seed."""
    changes = {}
    if batch_size is not None:
        _check_int("batch_size", batch_size, 1)
        changes["batch_size"] = int(batch_size)
    if learning_rate is not None:
        if isinstance(learning_rate, bool) or not 0 < learning_rate < float("inf"):
            raise UsageError(f"learning_rate must be > 0; received {learning_rate!r}.")
        changes["learning_rate"] = float(learning_rate)
    if seed is not None:
        changes["dataset_options"] = {**recipe.dataset_options, "seed": int(seed)}
    return dataclasses.replace(recipe, **changes) if changes else recipe


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's learning rate to each epoch's logs (`learning_rate`), so
    `history.csv` and TensorBoard show it."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate))


class EpochTimeLogger(keras.callbacks.Callback):
    """Adds each epoch's wall seconds, its validation included, to the epoch's logs
    (`epoch_seconds`), so `history.csv` keeps them across the sessions of a resumed run and
    `train_seconds` is their sum."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class _OffsetCSVLogger(keras.callbacks.CSVLogger):
    """`CSVLogger` whose `epoch` column counts from `offset` (the epochs of earlier stages).

    Appending to a `history.csv` whose header was written by an earlier session, it keeps the
    rows in line with that header: `CSVLogger` takes its columns from the first epoch's logs,
    so a resumed run whose logs gained a column (a callback of a later kmvae) or lost one would
    write rows that the header mislabels. A new column is added to the header, the earlier
    rows left blank in it; a column the logs lack is left blank in the new rows."""

    def __init__(self, filename, append=True, offset=0):
        super().__init__(filename, append=append)
        self.offset = offset

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.keys is None and self.append:
            self._follow_header(logs)
        if self.keys is not None:
            logs = {**{key: "" for key in self.keys}, **logs}
        super().on_epoch_end(epoch + self.offset, logs)

    def _follow_header(self, logs):
        import csv
        with open(self.filename, newline="") as f:
            rows = list(csv.reader(f))
        if not rows:
            return
        header = [key for key in rows[0] if key != "epoch"]
        added = sorted(set(logs) - set(header))
        self.keys = header + added
        if added:
            self.csv_file.close()
            with open(self.filename, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(rows[0] + added)
                writer.writerows(row + [""] * len(added) for row in rows[1:])
            self.csv_file = open(self.filename, "a")
