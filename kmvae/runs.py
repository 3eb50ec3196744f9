"""Run directories: where `kmvae train` keeps a run, and which run a command means.

A recipe's runs are numbered like TF Serving's versions: `<out>/runs/<recipe>/<n>/`, n = 1, 2,
... A run directory holds

- `run.json`: the recipe and the settings the run was started with (`RUN_SETTINGS`); once
  trained also `train_seconds` and, for batches in blocks of one presence pattern each
  (`kmvae.datasets.pipeline.batch_layout`), `batch_layout` (`[[rows, pattern], ...]`), both
  copied into `metrics.json`;
- while training, `backup/` (`keras.callbacks.BackupAndRestore`: weights, optimizer state, seed
  state, the epoch reached; a model trained in stages keeps `backup/stage<k>/` and, for each
  finished stage, `stage<k>.weights.h5`);
- `history.csv` (`keras.callbacks.CSVLogger`: one row per epoch, an `epoch` column from 0) and
  `logs/` (TensorBoard);
- once trained, `model.keras`; once evaluated and exported, `metrics.json`, whose
  `"saved_model"` entry marks the run finished;
- `interim/` (`kmvae evaluate RECIPE --in-progress`): the metrics and figures of the model
  selected so far, while the run trains or after it was stopped.

A finished run is never written again by `kmvae train` (except with `--overwrite`); an
unfinished one is resumed by the same command.
"""

import json
import shutil
from pathlib import Path

from kmvae.errors import RunConflictError, RunNotFoundError

RUN_SETTINGS = ("epochs", "seed", "batch_size", "learning_rate", "mixed_precision",
                "distribute")
INTERIM = "interim"


def run_settings(recipe, epochs, seed=None, mixed_precision=None, distribute=None):
    """The settings `kmvae train` records in `run.json` (`RUN_SETTINGS`) and resumes a run
    only with: `epochs` and the recipe's batch size and learning rate (after any override,
    `recipe` a `kmvae.recipes.Recipe`), `seed`, `mixed_precision` and `distribute`."""
    return {"epochs": int(epochs), "seed": seed, "batch_size": recipe.batch_size,
            "learning_rate": recipe.learning_rate, "mixed_precision": mixed_precision,
            "distribute": distribute}


def versions(out, recipe):
    """The version numbers of `recipe`'s runs under `<out>/runs/<recipe>/`, ascending."""
    folder = Path(out) / "runs" / recipe
    return sorted(int(p.name) for p in folder.glob("*") if p.name.isdigit() and p.is_dir())


def is_finished(run_dir):
    """Whether a run was trained, evaluated (or told not to be) and exported."""
    path = Path(run_dir) / "metrics.json"
    return path.exists() and "saved_model" in json.loads(path.read_text())


def is_trained(run_dir):
    return (Path(run_dir) / "model.keras").exists()


def latest(out, recipe):
    """The newest trained run directory of `recipe`: `<out>/runs/<recipe>/<n>/`, or the
    unversioned `<out>/runs/<recipe>/` of kmvae before versioned runs.

    Raises:
        RunNotFoundError (a FileNotFoundError): when `recipe` has no trained run under `out`,
            naming the command that trains it.
    """
    folder = Path(out) / "runs" / recipe
    for n in reversed(versions(out, recipe)):
        if is_trained(folder / str(n)):
            return folder / str(n)
    if is_trained(folder):
        return folder
    raise RunNotFoundError(f"No trained run of {recipe!r} under {folder}; train it first with "
                           f"`kmvae train {recipe} --out {out}`.")


def settings_of(run_dir):
    path = Path(run_dir) / "run.json"
    return json.loads(path.read_text()) if path.exists() else None


def prepare(out, recipe, settings, overwrite=False):
    """The run directory `kmvae train` uses, and whether it resumes a run.

    - The newest run unfinished, started with the same `settings`: resumed.
    - The newest run unfinished with other settings: an error, unless `overwrite`.
    - Otherwise a new version, one above the newest; with `overwrite`, the newest run's
      directory is emptied and used instead.

    Args:
        out: the output directory (`<out>/runs/<recipe>/<n>/`).
        recipe: the recipe's name.
        settings: dict of `RUN_SETTINGS`, JSON-serialisable; written to `run.json`.
        overwrite: discard the newest run, finished or not.

    Returns:
        `(run_dir, resumed)`: a `pathlib.Path` that exists, and a bool.

    Raises:
        RunConflictError (a ValueError): the newest run is unfinished and was started with other
            settings; the message names them and the two ways out.
    """
    folder = Path(out) / "runs" / recipe
    numbers = versions(out, recipe)
    newest = folder / str(numbers[-1]) if numbers else None
    record = {"recipe": recipe, **settings}
    if newest is not None and overwrite:
        shutil.rmtree(newest)
        newest.mkdir(parents=True)
        (newest / "run.json").write_text(json.dumps(record, indent=2))
        return newest, False
    if newest is not None and not is_finished(newest):
        before = settings_of(newest)
        if before is not None:          # what the run was started with (run.json also holds
            before = {k: before.get(k) for k in record}    # train_seconds once trained)
        if before == record:
            return newest, True
        if before is not None:
            changed = ", ".join(f"{k}={before.get(k)!r} (now {record.get(k)!r})"
                                for k in sorted(set(before) | set(record))
                                if before.get(k) != record.get(k))
            raise RunConflictError(
                f"{newest} is an unfinished run of {recipe!r} started with {changed}; rerun "
                f"with its settings to resume it, or add --overwrite to discard it.")
    run_dir = folder / str(numbers[-1] + 1 if numbers else 1)
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps(record, indent=2))
    return run_dir, False
