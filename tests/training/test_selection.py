"""Model selection: a recipe with `selection` validates on a split held out of the training data
and keeps its best epoch."""

import csv
import dataclasses
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kmvae import recipes
from kmvae.train import model_selection, run


def test_selected_epoch_is_the_best_validation_epoch(tmp_path):
    """The lowest validation loss. (The highest validation ELBO, `selection_mode="max"`:
    `tests/training/test_in_progress.py`, on a run stopped and resumed.)"""
    criterion, mode = "val_loss", "min"
    recipe = dataclasses.replace(recipes.load("digits"), epochs=4, selection=criterion,
                                 selection_mode=mode, dataset_options={"validation": 0.2})
    result = run(recipe, out=tmp_path, seed=1, evaluate=False, verbose=0, log=lambda *a: None)
    run_dir = tmp_path / "runs/digits/1"
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    losses = [float(r["val_loss"]) for r in rows]
    criteria = [float(r[criterion]) for r in rows]
    assert len(losses) == 4
    selection = json.loads((run_dir / "metrics.json").read_text())["selection"]
    assert selection == result["selection"]
    chosen = int(np.argmin(criteria) if mode == "min" else np.argmax(criteria))
    assert selection["selected_epoch"] == chosen + 1
    assert selection["last_epoch"] == 4
    # How much lower the best loss of all 4 epochs is than the best of the first 2.
    assert selection["gain_last_half"] == pytest.approx(min(criteria[:2]) - min(criteria))
    # model.keras holds the selected epoch: its validation loss is the one logged then.
    model = keras.saving.load_model(run_dir / "model.keras")
    last = keras.saving.load_model(run_dir / "last.keras")
    assert result["parameters"] == model.count_params() == recipe.build_model().count_params()
    # The machine beside train_seconds: this one's cores and GPUs.
    assert result["hardware"]["cpus"] == os.cpu_count()
    assert len(result["hardware"]["gpus"]) == len(tf.config.list_physical_devices("GPU"))
    validation = recipe.load_data("validation")
    selected_loss = model.evaluate(validation, verbose=0, return_dict=True)["loss"]
    last_loss = last.evaluate(validation, verbose=0, return_dict=True)["loss"]
    assert abs(selected_loss - losses[chosen]) < 1e-3 * abs(losses[chosen])
    assert abs(last_loss - losses[-1]) < 1e-3 * abs(losses[-1])


def test_selection_needs_a_validation_split():
    with pytest.raises(ValueError, match="needs a validation split"):
        dataclasses.replace(recipes.load("digits"), selection="val_loss")


def test_gain_over_the_second_half_says_whether_the_criterion_was_still_improving():
    """`gain_last_half`: the best value of all epochs against the best of the first half, in
    the criterion's favour; 0 when the best came in the first half."""
    recipe = dataclasses.replace(recipes.load("digits"), selection="val_bound",
                                 selection_mode="max", dataset_options={"validation": 0.2})
    rising = [-120.0 + epoch for epoch in range(18)] + [-101.5, -101.75]
    selection = model_selection(recipe, {"val_bound": rising})
    assert (selection["selected_epoch"], selection["last_epoch"]) == (19, 20)
    assert selection["selected_value"] == -101.5 and selection["last_value"] == -101.75
    assert selection["gain_last_half"] == pytest.approx(-101.5 - -111.0)   # epoch 10's
    assert model_selection(recipe, {"val_bound": [-90.0] + rising[1:]})["gain_last_half"] == 0.0
    assert model_selection(recipe, {"val_bound": [-99.0]})["gain_last_half"] is None
    lowest = dataclasses.replace(recipe, selection="val_loss", selection_mode="min")
    selection = model_selection(lowest, {"val_loss": [5.0, 4.0, 4.5, 3.0, 3.5, 3.25, 3.1,
                                                      3.2, 3.3, 2.5, 2.75]})
    assert selection["criterion"] == "lowest val_loss" and selection["selected_epoch"] == 10
    assert selection["gain_last_half"] == pytest.approx(0.5)    # the first 5 epochs' best: 3.0


def test_evaluate_last_epoch_scores_last_keras_beside_the_selected_model(tmp_path,
                                                                         capsys):
    """`kmvae evaluate RUN --last-epoch` evaluates `last.keras`, not the selected
    `model.keras`, and writes its metrics under `"last_epoch"`, leaving the selected model's
    as they were; a run without `last.keras` is an error saying why."""
    from kmvae import cli, metrics
    from kmvae.errors import UsageError
    from kmvae.evaluate import evaluate

    recipe = dataclasses.replace(recipes.load("digits"), epochs=2, selection="val_loss",
                                 selection_mode="min", dataset_options={"validation": 0.2})
    run(recipe, out=tmp_path, seed=1, evaluate=False, verbose=0, log=lambda *a: None)
    run_dir = tmp_path / "runs/digits/1"
    # A stand-in last epoch that differs from the selected one for sure: an untrained model.
    stand_in = recipes.load("digits").build_model(seed=7)
    stand_in.save(run_dir / "last.keras")
    before = json.loads((run_dir / "metrics.json").read_text())
    assert cli.main(["evaluate", str(run_dir), "--last-epoch", "--num-samples", "5",
                     "--eval-examples", "20", "--oracle-dir", str(tmp_path / "oracles"),
                     "--quiet"]) == 0
    printed = capsys.readouterr().out
    after = json.loads((run_dir / "metrics.json").read_text())
    last = after.pop("last_epoch")
    assert after == before                              # the selected model's entries stay
    test = recipes.load("digits").load_data("test")
    key = "cross_modal_accuracy(image->label)"
    assert last[key] == pytest.approx(metrics.cross_modal_accuracy(stand_in, test))
    assert printed.startswith("digits: the last epoch's model (epoch 2, last.keras)\n")
    assert [key, f"{last[key]:.4f}"] in [line.split() for line in printed.splitlines()]
    selected = keras.saving.load_model(run_dir / "model.keras")
    assert last[key] != pytest.approx(metrics.cross_modal_accuracy(selected, test))
    assert last["epoch"] == 2 and "plots" not in last and not (run_dir / "latent.png").exists()
    assert not list(run_dir.glob("last_epoch_*"))       # its evaluation cache is cleared
    (run_dir / "last.keras").unlink()
    # The registered digits recipe selects no epoch (this test's stand-in does).
    with pytest.raises(UsageError, match="has no last.keras: 'digits' selects no epoch, so "
                                         "model.keras is the last epoch's"):
        evaluate(run_dir, last_epoch=True)
    assert cli.main(["evaluate", str(run_dir), "--last-epoch", "--in-progress"]) == 2
