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
        return dataclasses.replace(recipe, dataset_options={"validation": 0.2},
                                   batch_size=40) if name == "digits" else recipe

    monkeypatch.setattr(recipes, "load", changed)
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


def test_reproduce_command_errors(capsys):
    for argv in (["reproduce"], ["reproduce", "digits", "--all"], ["reproduce", "mvae_mnst"]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
