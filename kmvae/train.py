"""The main job: train a recipe, evaluate it, save it and export it."""

import json
import time
from pathlib import Path

import keras

from kmvae import recipes

MIXED_PRECISION = {"float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


def next_version(directory):
    """The next integer version under `directory` (1 if none): TF Serving's layout."""
    versions = [int(p.name) for p in Path(directory).glob("*") if p.name.isdigit()]
    return max(versions, default=0) + 1


def run(recipe, epochs=None, mixed_precision=None, out=".", eval_examples=None,
        num_samples=None, oracle_dir=None, plots=True, evaluate=True, verbose=2,
        coherence_examples=None, oracle_epochs=None):
    """Trains `recipe` with `model.fit`, saves it, evaluates it and exports it.

    Writes `<out>/runs/<recipe>/model.keras` (saved right after training, before anything else
    can fail), `<out>/runs/<recipe>/metrics.json` (`kmvae.evaluate.compute_metrics`, the same
    keys as `kmvae evaluate`) with the figures as PNGs beside it, and the SavedModel
    `<out>/saved_models/<recipe>/<version>/`, version one more than the highest there (an
    earlier export is never overwritten).

    Args:
        recipe: a `kmvae.recipes.Recipe` or its name.
        epochs: override the recipe's number of epochs (the KL warm-up keeps its share).
        mixed_precision: None, `"float16"` or `"bfloat16"` (Keras mixed-precision policy).
        out: output directory.
        eval_examples: evaluate the log-likelihoods on at most this many test examples.
        coherence_examples: conditional coherence on at most this many (default: all).
        oracle_epochs: training epochs of a coherence oracle not cached yet (default
            `kmvae.evaluate.ORACLE_EPOCHS`).
        num_samples: K importance samples for the log-likelihoods (default the recipe's).
        oracle_dir: cache of the coherence oracles (default `~/.kmvae/oracles`).
        plots: write the figures.
        evaluate: compute the metrics (`compute_metrics`); False leaves them to a later
            `kmvae evaluate`, which merges them into the same `metrics.json`.
        verbose: `model.fit` verbosity.

    Returns:
        dict with the metrics and the paths written.

    Raises:
        ValueError: on an unknown recipe or mixed-precision name.
    """
    from kmvae.evaluate import ORACLE_EPOCHS, compute_metrics, probe_training_data
    from kmvae.export import export_saved_model

    recipe = recipes.load(recipe) if isinstance(recipe, str) else recipe
    if mixed_precision is not None:
        if mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"mixed_precision must be one of {tuple(MIXED_PRECISION)} or None; "
                             f"received {mixed_precision!r}.")
        keras.mixed_precision.set_global_policy(MIXED_PRECISION[mixed_precision])
    epochs = recipe.epochs if epochs is None else int(epochs)
    num_samples = recipe.eval_num_samples if num_samples is None else int(num_samples)
    run_dir = Path(out) / "runs" / recipe.name
    run_dir.mkdir(parents=True, exist_ok=True)

    train, test = recipe.load_data()
    model = recipe.build_model()
    start = time.time()
    history = recipe.fit(model, train, test, epochs=epochs, verbose=verbose)
    train_seconds = time.time() - start
    model_path = run_dir / "model.keras"
    model.save(model_path)

    result = {
        "recipe": recipe.name, "epochs": epochs, "mixed_precision": mixed_precision,
        "dataset_options": recipe.dataset_options,
        "train_seconds": round(train_seconds, 1), "num_samples": num_samples,
        "test": {k: float(v) for k, v in model.evaluate(test, verbose=0, return_dict=True).items()},
        "final_train": {k: float(v[-1]) for k, v in history.items()},
    }
    if evaluate:
        probe_train = probe_training_data(recipe)
        result.update(compute_metrics(model, recipe, probe_train, test, num_samples,
                                      eval_examples, oracle_dir=oracle_dir,
                                      plots_dir=run_dir if plots else None,
                                      coherence_examples=coherence_examples,
                                      oracle_epochs=ORACLE_EPOCHS if oracle_epochs is None
                                      else int(oracle_epochs)))
    export_dir = Path(out) / "saved_models" / recipe.name
    export_path = export_dir / str(next_version(export_dir))
    export_saved_model(model, str(export_path))
    result.update({"model": str(model_path), "saved_model": str(export_path)})
    (run_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    return result
