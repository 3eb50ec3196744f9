"""Resumable training: `kmvae train` killed with SIGKILL resumes from its last backup and ends
with the weights of an uninterrupted run; a run whose evaluation failed resumes there; a
finished run is never overwritten; a run trained with `--no-evaluate` is evaluated later."""

import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from kmvae import cli, recipes, runs
from kmvae.train import run

EPOCHS = 4
TRAIN = ["train", "digits", "--epochs", str(EPOCHS), "--seed", "3", "--no-evaluate"]


def _command(out):
    # The same interpreter's `kmvae` entry point; op determinism makes the two runs' kernels
    # pick the same reduction orders, so their weights can be compared exactly.
    return [sys.executable, "-c", "import sys; from kmvae.cli import main; sys.exit(main())",
            *TRAIN, "--out", str(out)]


def _env():
    return {**os.environ, "TF_DETERMINISTIC_OPS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _weights(run_dir):
    model = keras.saving.load_model(Path(run_dir) / "model.keras")
    return [np.asarray(v) for v in model.weights], model


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    subprocess.run(_command(out), env=_env(), check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """A run killed with SIGKILL right after its second backup, then the same command again."""
    out = tmp_path_factory.mktemp("resumed")
    process = subprocess.Popen(_command(out), env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    metadata = out / "runs/digits/1/backup/training_metadata.json"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if metadata.exists():
            try:
                if json.loads(metadata.read_text())["epoch"] >= 2:
                    break
            except (ValueError, KeyError):  # being written
                pass
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before its second backup:\n" + \
        process.communicate()[0]
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = json.loads(metadata.read_text())["epoch"]
    assert 2 <= killed_at < EPOCHS and not (out / "runs/digits/1/model.keras").exists()
    second = subprocess.run(_command(out), env=_env(), check=True, capture_output=True,
                            text=True)
    return out, killed_at, second.stdout


def test_the_rerun_says_where_it_resumes(resumed):
    _, killed_at, stdout = resumed
    assert f"resuming at epoch {killed_at + 1} of {EPOCHS}" in stdout
    assert "run directory: " in stdout and "runs/digits/1" in stdout


def test_history_has_each_epoch_once(resumed, uninterrupted):
    out, _, _ = resumed
    with open(out / "runs/digits/1/history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == list(range(EPOCHS))
    with open(uninterrupted / "runs/digits/1/history.csv") as f:
        expected = list(csv.DictReader(f))
    # The same epochs' losses as the uninterrupted run, and the KL warm-up's position.
    for got, want in zip(rows, expected):
        assert float(got["loss"]) == pytest.approx(float(want["loss"]), rel=1e-6)
        assert float(got["kl_weight"]) == pytest.approx(float(want["kl_weight"]))
    # The training time counts the epochs of both sessions, each logged once.
    seconds = [float(r["epoch_seconds"]) for r in rows]
    assert all(0 < s < 300 for s in seconds)
    recorded = json.loads((out / "runs/digits/1/run.json").read_text())["train_seconds"]
    assert recorded == pytest.approx(sum(seconds), abs=0.051)


def test_resumed_weights_equal_the_uninterrupted_run(resumed, uninterrupted):
    out, _, _ = resumed
    got, model = _weights(out / "runs/digits/1")
    want, reference = _weights(uninterrupted / "runs/digits/1")
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(a, b, err_msg=model.weights[i].path)
    assert int(model.optimizer.iterations) == int(reference.optimizer.iterations)
    np.testing.assert_array_equal(np.asarray(model._seed_generator.state),
                                  np.asarray(reference._seed_generator.state))
    assert not (out / "runs/digits/1/backup").exists()       # deleted once training ended


def test_tensorboard_logs_every_term_the_kl_weight_and_the_learning_rate(uninterrupted):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    logs = uninterrupted / "runs/digits/1/logs"
    train = EventAccumulator(str(logs / "train"), size_guidance={"tensors": 0}).Reload()
    tags = set(train.Tags()["tensors"])
    assert {"epoch_loss", "epoch_elbo", "epoch_kl", "epoch_kl_weight",
            "epoch_learning_rate"} <= tags, tags
    assert len(train.Tensors("epoch_loss")) == EPOCHS
    validation = EventAccumulator(str(logs / "validation"), size_guidance={"tensors": 0}).Reload()
    assert "epoch_loss" in validation.Tags()["tensors"]


def test_a_second_run_leaves_the_first_untouched(uninterrupted, tmp_path):
    """A second `kmvae train` of the same recipe writes run 2 and export version 2; run 1 and
    its export stay byte for byte."""
    first = [uninterrupted / "runs/digits/1", uninterrupted / "saved_models/digits/1"]
    before = {p: p.read_bytes() for d in first for p in d.rglob("*") if p.is_file()}
    assert any(p.name == "saved_model.pb" for p in before)
    assert cli.main(["train", "digits", "--epochs", "1", "--out", str(uninterrupted),
                     "--no-evaluate", "--quiet"]) == 0
    assert {p: p.read_bytes() for d in first for p in d.rglob("*") if p.is_file()} == before
    assert runs.latest(uninterrupted, "digits") == uninterrupted / "runs/digits/2"
    assert (uninterrupted / "saved_models/digits/2/saved_model.pb").exists()


def test_evaluate_adds_the_metrics_to_a_run_trained_without_evaluation(uninterrupted):
    """`--no-evaluate` trains, saves and exports; `kmvae evaluate RUN_DIR` then adds the metrics
    to the same metrics.json, keeping the training entries."""
    run_dir = uninterrupted / "runs/digits/1"
    path = run_dir / "metrics.json"
    trained_only = json.loads(path.read_text())
    assert trained_only["epochs"] == EPOCHS and "test" in trained_only
    assert "log_likelihood" not in trained_only and "coherence" not in trained_only
    assert (uninterrupted / "saved_models/digits/1/saved_model.pb").exists()
    assert cli.main(["evaluate", str(run_dir), "--num-samples", "3", "--eval-examples", "10",
                     "--oracle-dir", str(uninterrupted / "oracles"), "--oracle-epochs", "1",
                     "--quiet", "--no-plots"]) == 0
    evaluated = json.loads(path.read_text())
    assert evaluated["epochs"] == EPOCHS and evaluated["test"] == trained_only["test"]
    assert evaluated["train_seconds"] == trained_only["train_seconds"]
    assert np.isfinite(evaluated["log_likelihood"]["log p(image) | q(z|image)"])


def test_a_run_whose_evaluation_failed_resumes_at_its_evaluation(tmp_path, monkeypatch):
    """Trained and saved, then failing in its evaluation (as `svae_mnist_split_100` did when
    the training data could not be reloaded): the same command resumes that run, not a new
    one, without training again, and finishes its record and export."""
    from kmvae import evaluate

    recipe = dataclasses.replace(recipes.load("digits"), epochs=1)

    def failing(recipe):
        raise RuntimeError("evaluation failed")
    monkeypatch.setattr(evaluate, "probe_training_data", failing)
    with pytest.raises(RuntimeError, match="evaluation failed"):
        run(recipe, out=tmp_path, seed=1, verbose=0, log=lambda *a: None)
    run_dir = tmp_path / "runs/digits/1"
    trained = json.loads((run_dir / "run.json").read_text())
    assert trained["train_seconds"] > 0 and (run_dir / "model.keras").exists()
    assert not (run_dir / "metrics.json").exists()

    said = []
    result = run(recipe, out=tmp_path, seed=1, evaluate=False, verbose=0, log=said.append)
    assert f"{run_dir} is trained; resuming its evaluation and export" in said
    assert result["run_dir"] == str(run_dir) and not (tmp_path / "runs/digits/2").exists()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["train_seconds"] == trained["train_seconds"] and metrics["epochs"] == 1
    assert (tmp_path / "saved_models/digits/1/saved_model.pb").exists()


def test_a_resumed_history_keeps_its_rows_in_line_when_the_logs_gain_or_lose_a_column(
        tmp_path):
    """A run resumed by a kmvae whose logs hold a column the earlier session's did not (a new
    callback's) widens the header and leaves the earlier rows blank in it; a column the logs
    no longer hold is left blank in the new rows. Every value stays under its own name."""
    from kmvae.train import _OffsetCSVLogger, _read_history

    path = tmp_path / "history.csv"
    path.write_text("epoch,elbo,loss\n0,-3.0,3.0\n1,-2.0,2.0\n")
    logger = _OffsetCSVLogger(str(path), append=True)
    logger.on_train_begin()
    logger.on_epoch_end(2, {"loss": 1.0, "elbo": -1.0, "val_accuracy(image->label)": 0.25})
    logger.on_epoch_end(3, {"val_accuracy(image->label)": 0.5, "elbo": -0.5})
    logger.on_train_end()
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "elbo", "loss", "val_accuracy(image->label)"]
    assert rows[1:] == [["0", "-3.0", "3.0", ""], ["1", "-2.0", "2.0", ""],
                        ["2", "-1.0", "1.0", "0.25"], ["3", "-0.5", "", "0.5"]]
    assert _read_history(path) == {"elbo": [-3.0, -2.0, -1.0, -0.5], "loss": [3.0, 2.0, 1.0],
                                   "val_accuracy(image->label)": [0.25, 0.5]}
    # A new history (no earlier header) takes the first epoch's columns, as CSVLogger does.
    fresh = tmp_path / "fresh.csv"
    logger = _OffsetCSVLogger(str(fresh), append=True, offset=5)
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    logger.on_epoch_end(1, {"loss": 0.5})
    logger.on_train_end()
    assert fresh.read_text().splitlines() == ["epoch,loss,val_loss", "5,1.0,2.0", "6,0.5,"]
