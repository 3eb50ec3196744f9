"""`kmvae reproduce`: trains a recipe at its settings, archives its metrics, regenerates the
report, and skips it when rerun."""

import dataclasses
import json

import pytest

from kmvae import cli, recipes
from kmvae.reproduction import load

reproduction = load()       # the checkout's reproduction/report.py


@pytest.fixture
def short_digits(monkeypatch):
    """The digits recipe at 2 epochs, standing in for a paper recipe's own length."""
    original = recipes.load

    def load(name):
        recipe = original(name)
        return dataclasses.replace(recipe, epochs=2) if name == "digits" else recipe

    monkeypatch.setattr(recipes, "load", load)


def test_reproduce_trains_archives_reports_then_skips(short_digits, tmp_path, monkeypatch):
    """A recipe is trained, archived and reported; rerun, it is skipped; once the recipe has
    changed (other data-set options or batches, as the SVAE recipes' batches changed), its
    finished run is not skipped but a new one is trained beside it."""
    out, archive, report = tmp_path / "runs", tmp_path / "archive", tmp_path / "REPORT.md"
    options = dict(num_samples=3, eval_examples=10, oracle_dir=str(tmp_path / "oracles"),
                   plots=False, verbose=0)
    lines = []
    done = reproduction.reproduce(["digits"], out=out, archive=archive, report=report,
                                  log=lines.append, **options)
    assert done == [("digits", str(out / "runs/digits/1"), "trained")]
    archived = json.loads((archive / "digits.json").read_text())
    assert archived["epochs"] == 2 and archived["saved_model"].endswith("saved_models/digits/1")
    assert archived["model_options"] == recipes.load("digits").model_options
    assert "`digits`" in report.read_text()
    before = (out / "runs/digits/1/metrics.json").read_bytes()
    again = reproduction.reproduce(["digits"], out=out, archive=archive, report=report,
                                   log=lines.append, **options)
    assert again == [("digits", str(out / "runs/digits/1"), "skipped")]
    assert not (out / "runs/digits/2").exists()
    assert (out / "runs/digits/1/metrics.json").read_bytes() == before
    assert any("skipped" in line for line in lines)

    short = recipes.load

    def changed(name):
        recipe = short(name)
        return dataclasses.replace(recipe, dataset_options={"validation": 0.2}, batch_size=40,
                                   selection="val_loss", selection_mode="min") \
            if name == "digits" else recipe

    monkeypatch.setattr(recipes, "load", changed)
    # As a Figure 4 recipe, whose section reads the last epoch's accuracy too.
    monkeypatch.setattr(reproduction, "LAST_EPOCH_RECIPES", ("digits",))
    lines.clear()
    done = reproduction.reproduce(["digits"], out=out, archive=archive, report=report,
                                  log=lines.append, **options)
    assert done == [("digits", str(out / "runs/digits/2"), "trained")]
    reason = next(line for line in lines if "other settings" in line)
    assert "batch_size 50 -> 40" in reason
    assert "dataset_options {} -> {'validation': 0.2}" in reason
    archived = json.loads((archive / "digits.json").read_text())
    assert archived["dataset_options"] == {"validation": 0.2} and archived["batch_size"] == 40
    assert (out / "runs/digits/1/metrics.json").read_bytes() == before
    # Its last epoch evaluated beside the selected one (`kmvae evaluate --last-epoch`), once.
    assert archived["last_epoch"]["epoch"] == 2
    assert 0 <= archived["last_epoch"]["cross_modal_accuracy(image->label)"] <= 1
    assert sum("last epoch's model" in line for line in lines) == 1
    reproduction.reproduce(["digits"], out=out, archive=archive, report=report,
                           log=lines.append, **options)
    assert sum("last epoch's model" in line for line in lines) == 1


def test_reproduce_command_errors(capsys):
    for argv in (["reproduce"], ["reproduce", "digits", "--all"], ["reproduce", "mvae_mnst"]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_dry_run_says_what_each_recipe_would_do_and_how_long(short_digits, tmp_path, capsys,
                                                             monkeypatch):
    """`plan` (`kmvae reproduce --dry-run`): train, resume at the next epoch, skip a finished
    run, stop on an unfinished run started otherwise; hours from the archived run's seconds per
    epoch times the epochs left plus its evaluation, or from a resumed run's own median epoch
    seconds; none from a run of other settings."""
    out, archive = tmp_path / "runs", tmp_path / "archive"
    archive.mkdir()
    archived = {"recipe": "digits", "epochs": 2, "batch_size": 50, "dataset_options": {},
                "train_seconds": 3600.0, "eval_seconds": 720.0,
                "hardware": {"cpus": 2, "gpus": []}}
    (archive / "digits.json").write_text(json.dumps(archived))

    def row():
        [planned] = reproduction.plan(["digits"], out=out, archive=archive)
        return planned

    fresh = row()
    assert (fresh["action"], fresh["epochs_left"]) == ("train", 2)
    assert fresh["hours"] == pytest.approx((1800 * 2 + 720) / 3600)
    assert fresh["basis"] == ("from the archived 2-epoch run: 1800.0 s per epoch and 12.0 min "
                              "of evaluation; machine 2 CPUs, no GPU")
    run_dir = out / "runs/digits/1"
    run_dir.mkdir(parents=True)
    settings = {"recipe": "digits", "epochs": 2, "seed": None, "batch_size": 50,
                "learning_rate": 0.001, "mixed_precision": None, "distribute": None}
    (run_dir / "run.json").write_text(json.dumps(settings))
    (run_dir / "history.csv").write_text("epoch,loss\n0,1.5\n")
    resumed = row()
    assert resumed["action"] == "resume" and "at epoch 2 of 2" in resumed["detail"]
    assert resumed["hours"] == pytest.approx((1800 + 720) / 3600)
    # Three epochs logged (a 60 s first epoch that compiled, then 20 s and 22 s) of a recipe
    # now of 5: the run's own median speed, not the archived run's, times the 2 epochs left.
    (run_dir / "history.csv").write_text("epoch,loss,epoch_seconds\n0,1.5,60\n1,1.4,20\n"
                                         "2,1.3,22\n")
    two_epochs = recipes.load
    monkeypatch.setattr(recipes, "load",
                        lambda name: dataclasses.replace(two_epochs(name), epochs=5))
    (run_dir / "run.json").write_text(json.dumps({**settings, "epochs": 5}))
    own = row()
    monkeypatch.setattr(recipes, "load", two_epochs)
    (run_dir / "run.json").write_text(json.dumps(settings))
    assert own["action"] == "resume" and "at epoch 4 of 5" in own["detail"]
    assert own["hours"] == pytest.approx((22 * 2 + 720) / 3600)
    assert own["basis"] == ("from this run's 3 epochs so far: median 22.0 s per epoch, and "
                            "12.0 min of evaluation from the archived run")
    (run_dir / "history.csv").write_text("epoch,loss\n0,1.5\n")
    (run_dir / "run.json").write_text(json.dumps({**settings, "batch_size": 40}))
    conflict = row()
    assert conflict["action"] == "conflict" and "batch_size 40 -> 50" in conflict["detail"]
    (run_dir / "run.json").write_text(json.dumps(settings))
    (run_dir / "metrics.json").write_text(json.dumps({"saved_model": "x", "epochs": 2}))
    assert (row()["action"], row()["hours"]) == ("skip", 0.0)
    (archive / "digits.json").write_text(json.dumps({**archived, "batch_size": 40}))
    (run_dir / "metrics.json").unlink()
    other = row()
    assert other["hours"] is None and "other batch_size" in other["basis"]

    assert cli.main(["reproduce", "--dry-run", "digits", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("digits: resume: ") and not (out / "runs/digits/2").exists()
    assert printed.rstrip().endswith("recipes, at the archived runs' speed (a run to resume: "
                                     "its own); one training at a time.")


def test_dry_run_reads_options_as_metrics_json_records_them(tmp_path, monkeypatch):
    """A recipe option that is a tuple (M2VAE's `joint_units=(64,)`) is recorded in
    `metrics.json` as a list: the finished run is still one of the recipe's settings (skipped,
    not trained again) and the archived run still times it; another value is not."""
    original = recipes.load
    options = {"joint_units": (64,)}
    monkeypatch.setattr(recipes, "load", lambda name: dataclasses.replace(
        original(name), epochs=2, model_options=options))
    out, archive = tmp_path / "runs", tmp_path / "archive"
    archive.mkdir()
    recorded = {"recipe": "digits", "epochs": 2, "batch_size": 50, "dataset_options": {},
                "model_options": {"joint_units": [64]}, "train_seconds": 60.0,
                "eval_seconds": 6.0, "hardware": {"cpus": 2, "gpus": []}}
    (archive / "digits.json").write_text(json.dumps(recorded))
    run_dir = out / "runs/digits/1"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({
        "recipe": "digits", "epochs": 2, "seed": None, "batch_size": 50, "learning_rate": 0.001,
        "mixed_precision": None, "distribute": None}))
    (run_dir / "metrics.json").write_text(json.dumps({**recorded, "saved_model": "x"}))
    [planned] = reproduction.plan(["digits"], out=out, archive=archive)
    assert planned["action"] == "skip"
    (run_dir / "metrics.json").unlink()
    [planned] = reproduction.plan(["digits"], out=out, archive=archive)
    assert planned["action"] == "resume"     # timed by the archived run: 2 x 30 s + 6 s
    assert planned["hours"] == pytest.approx((2 * 30.0 + 6.0) / 3600)
    options["joint_units"] = (32,)
    (run_dir / "metrics.json").write_text(json.dumps({**recorded, "saved_model": "x"}))
    [planned] = reproduction.plan(["digits"], out=out, archive=archive)
    assert planned["action"] == "train again"
    assert "model_options {'joint_units': [64]} -> {'joint_units': [32]}" in planned["detail"]
    assert "no estimate: the archived run was trained with other model_options" in (
        planned["basis"])
