"""`kmvae evaluate RECIPE --in-progress`: a run stopped before its last epoch is evaluated at
the epoch selected so far, without ending it; the same `kmvae train` command then finishes it."""

import csv
import dataclasses
import json

import keras
import pytest

from kmvae import recipes
from kmvae.errors import RunNotFoundError, UsageError
from kmvae.evaluate import evaluate_in_progress
from kmvae.train import run


class _Stop(Exception):
    pass


class _StopAfter(keras.callbacks.Callback):
    """Raises at the end of epoch `epoch` (0-based) before that epoch is logged or backed up:
    epochs 0 .. `epoch` - 1 are finished, as when the process is killed."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise _Stop()


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """A 4-epoch digits run with model selection, stopped after 2 finished epochs."""
    out = tmp_path_factory.mktemp("in_progress")
    recipe = dataclasses.replace(recipes.load("digits"), epochs=4, selection="val_elbo",
                                 selection_mode="max", dataset_options={"validation": 0.2})
    callbacks = recipes.Recipe.callbacks
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(recipes.Recipe, "callbacks",
                      lambda self, epochs=None, validation=None:
                      callbacks(self, epochs, validation) + [_StopAfter(2)])
        with pytest.raises(_Stop):
            run(recipe, out=out, seed=1, evaluate=False, verbose=0, log=lambda *a: None)
    return out, recipe


def test_the_interim_model_is_the_epoch_selected_so_far(stopped, monkeypatch):
    out, recipe = stopped
    load = recipes.load
    monkeypatch.setattr(recipes, "load", lambda name: recipe if name == "digits" else load(name))
    run_dir = out / "runs/digits/1"
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    result = evaluate_in_progress("digits", out=out, eval_examples=20, num_samples=4,
                                  plots=False, verbose=False, coherence_examples=50,
                                  oracle_epochs=1)
    assert json.loads((run_dir / "interim/metrics.json").read_text()) == result
    assert result["interim"] is True
    assert (result["epochs"], result["epochs_planned"]) == (2, 4)
    assert result["kl_weight"] == pytest.approx(float(rows[-1]["kl_weight"]))
    values = [float(r["val_elbo"]) for r in rows]
    chosen = max(range(2), key=values.__getitem__)
    assert result["selection"]["selected_epoch"] == chosen + 1
    # The evaluated weights are those of the selected epoch: their validation ELBO (a one-sample
    # estimate, so up to its noise) is the one logged at that epoch, not the other epoch's.
    model = recipe.build_model()
    model.load_weights(run_dir / "best.weights.h5")
    elbo = model.evaluate(recipe.load_data("validation"), verbose=0, return_dict=True)["elbo"]
    assert abs(elbo - values[chosen]) < min(0.01 * abs(values[chosen]),
                                            abs(elbo - values[1 - chosen]))
    assert result["test"]["elbo"] == pytest.approx(
        model.evaluate(recipe.load_data("test"), verbose=0, return_dict=True)["elbo"], rel=1e-2)
    assert "test_log_p(image)" in result and not (run_dir / "metrics.json").exists()

    # The run is not ended: the same command resumes it and finishes all 4 epochs.
    finished = run(recipe, out=out, seed=1, evaluate=False, verbose=0, log=lambda *a: None)
    assert finished["run_dir"] == str(run_dir)
    with open(run_dir / "history.csv") as f:
        values = [float(r["val_elbo"]) for r in csv.DictReader(f)]
    assert len(values) == 4
    assert finished["selection"] == {
        "criterion": "highest val_elbo", "validation_split": 0.2,
        "selected_epoch": max(range(4), key=values.__getitem__) + 1, "last_epoch": 4,
        "selected_value": pytest.approx(max(values)), "last_value": pytest.approx(values[-1]),
        "gain_last_half": pytest.approx(max(values) - max(values[:2]))}
    with pytest.raises(UsageError, match="is trained; evaluate it with"):
        evaluate_in_progress("digits", out=out)


def test_an_unknown_run_or_a_run_without_a_finished_epoch_is_named(tmp_path):
    with pytest.raises(RunNotFoundError, match="No run of 'digits'"):
        evaluate_in_progress("digits", out=tmp_path)
    with pytest.raises(RunNotFoundError, match="neither a run directory"):
        evaluate_in_progress(tmp_path / "nowhere", out=tmp_path)
    run_dir = tmp_path / "runs/digits/1"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"recipe": "digits", "epochs": 4}))
    with pytest.raises(RunNotFoundError, match="no finished epoch yet"):
        evaluate_in_progress("digits", out=tmp_path)
