"""The command line and the main job: train, evaluate, save and export a recipe."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kmvae import cli, runs


def test_recipes_command_lists_recipes(capsys):
    assert cli.main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "mvae_mnist" in out and "digits" in out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert cli.main(["train", "digits", "--epochs", "3", "--out", str(out),
                     "--num-samples", "20", "--quiet", "--oracle-dir", str(out / "oracles")]) == 0
    return out


def test_train_writes_model_metrics_and_export(trained):
    metrics = json.loads((trained / "runs/digits/1/metrics.json").read_text())
    assert metrics["epochs"] == 3
    assert np.isfinite(metrics["test_log_p(image)"]) and metrics["test_log_p(image)"] < 0
    assert metrics["test_log_p(image,label)"] < metrics["test_log_p(image)"]
    assert 0.0 <= metrics["cross_modal_accuracy(image->label)"] <= 1.0
    assert (trained / "saved_models/digits/1/saved_model.pb").exists()
    assert metrics["saved_model"].endswith("saved_models/digits/1")


def test_saved_keras_model_and_export_agree(trained):
    model = keras.saving.load_model(trained / "runs/digits/1/model.keras")
    exported = tf.saved_model.load(str(trained / "saved_models/digits/1"))
    rng = np.random.default_rng(0)
    batch = {"image": rng.random((5, 64)).astype(np.float32),
             "label": rng.integers(0, 10, 5).astype(np.int32),
             "mask": np.array([[True, True], [True, False], [False, True]] + [[True, True]] * 2)}
    expected = model(batch)
    served = exported.signatures["serving_default"](
        image=tf.constant(batch["image"]), label=tf.constant(batch["label"]),
        mask=tf.constant(batch["mask"]))
    for key in ("loc", "scale", "image", "label"):
        np.testing.assert_allclose(served[key], expected[key], atol=1e-5)


def _error_line(capsys, argv):
    """Runs `kmvae argv` and returns its stderr, asserting exit status 2 and one line."""
    capsys.readouterr()
    try:
        status = cli.main(argv)
    except SystemExit as stop:       # argparse's errors
        status = stop.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_user_errors_exit_2_with_one_line_naming_the_fix(tmp_path, capsys, monkeypatch):
    assert "did you mean mvae_mnist or" in _error_line(capsys, ["train", "mvae_mnst"])
    assert "kmvae recipes" in _error_line(capsys, ["train", "no_such_recipe"])
    for bad in ("0", "-1", "two"):
        assert "--epochs" in _error_line(capsys, ["train", "digits", "--epochs", bad])
    assert "--learning-rate" in _error_line(capsys, ["train", "digits", "--learning-rate", "0"])
    assert "kmvae recipes" in _error_line(capsys, ["evaluate", "no_such_run"])
    assert f"kmvae train digits --out {tmp_path}" in _error_line(
        capsys, ["evaluate", "digits", "--out", str(tmp_path)])
    assert "kmvae train digits" in _error_line(capsys, ["export", "digits", "--out",
                                                        str(tmp_path)])
    # Missing data names the fetch command.
    monkeypatch.setenv("KMVAE_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "empty"))
    assert "kmvae data fetch fashion_mnist" in _error_line(
        capsys, ["train", "mvae_fashion_mnist", "--out", str(tmp_path), "--epochs", "1"])


def test_an_unfinished_run_with_other_settings_is_an_error(tmp_path, capsys):
    run_dir = tmp_path / "runs/digits/1"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"recipe": "digits", "epochs": 7}))
    err = _error_line(capsys, ["train", "digits", "--epochs", "2", "--out", str(tmp_path)])
    assert "unfinished run" in err and "--overwrite" in err and "epochs=7" in err


def test_export_writes_the_next_version(trained, capsys):
    capsys.readouterr()
    assert cli.main(["export", "digits", "--out", str(trained)]) == 0
    path = capsys.readouterr().out.strip()
    versions = sorted(int(p.name) for p in (trained / "saved_models/digits").iterdir())
    assert path.endswith(f"saved_models/digits/{versions[-1]}") and versions[-1] >= 2


EVALUATION_KEYS = {"log_likelihood", "log_weight_variance", "subset_log_likelihood",
                   "oracle_accuracy", "coherence", "latent_probe", "conflict", "plots",
                   "cross_modal_accuracy(image->label)", "test_log_p(image)",
                   "test_log_p(image,label)"}


def test_train_writes_every_evaluation_metric_and_the_figures(trained):
    metrics = json.loads((trained / "runs/digits/1/metrics.json").read_text())
    assert EVALUATION_KEYS <= set(metrics)
    lls = metrics["log_likelihood"]
    assert set(lls) == {f"log p({x}) | q(z|{q})" for x in ("image", "image,label", "image|label")
                        for q in ("image", "image,label")}
    assert lls["log p(image,label) | q(z|image)"] == metrics["test_log_p(image,label)"]
    assert lls["log p(image|label) | q(z|image)"] > lls["log p(image,label) | q(z|image)"]
    assert all(v >= 0 for v in metrics["log_weight_variance"].values())
    assert set(metrics["subset_log_likelihood"]) == {"image", "label", "image,label"}
    assert metrics["oracle_accuracy"]["image"] > 0.8          # digits are easy to classify
    coherence = metrics["coherence"]
    assert set(coherence["pairs"]) == {"image->label", "label->image"}
    assert coherence["pairs"]["image->label"] >= 0 and 0 <= coherence["joint"] <= 1
    assert set(metrics["latent_probe"]) == {"image", "label", "image,label"}
    assert set(metrics["conflict"]) == {"image||label", "label||image"}
    for path in metrics["plots"].values():
        assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert (trained / "oracles/digits_label-image-default.keras").exists()


def test_evaluate_a_run_dir_and_a_recipe_name(trained, capsys):
    run_dir = runs.latest(trained, "digits")
    before = json.loads((run_dir / "metrics.json").read_text())
    capsys.readouterr()
    assert cli.main(["evaluate", str(run_dir), "--num-samples", "7", "--eval-examples", "30",
                     "--oracle-dir", str(trained / "oracles"), "--quiet", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "log_likelihood log p(image) | q(z|image)" in out and "coherence joint" in out
    after = json.loads((run_dir / "metrics.json").read_text())
    assert after["num_samples"] == 7 and after["eval_examples"] == 30
    assert after["epochs"] == before["epochs"] and after["saved_model"] == before["saved_model"]
    assert set(before) - {"plots"} <= set(after)
    # The oracle and the probe do not depend on K: the same cached oracle, the same probe.
    assert after["oracle_accuracy"] == before["oracle_accuracy"]
    assert after["latent_probe"] == before["latent_probe"]
    assert cli.main(["evaluate", "digits", "--out", str(trained), "--num-samples", "3",
                     "--eval-examples", "10", "--oracle-dir", str(trained / "oracles"),
                     "--quiet"]) == 0
    assert json.loads((run_dir / "metrics.json").read_text())["num_samples"] == 3


def test_evaluate_plots_only_redraws_the_figures_and_keeps_the_metrics(trained, capsys):
    run_dir = runs.latest(trained, "digits")
    before = json.loads((run_dir / "metrics.json").read_text())
    (run_dir / "latent.png").unlink()
    capsys.readouterr()
    assert cli.main(["evaluate", "digits", "--out", str(trained), "--plots-only"]) == 0
    paths = json.loads(capsys.readouterr().out)
    after = json.loads((run_dir / "metrics.json").read_text())
    assert {k: v for k, v in after.items() if k != "plots"} == \
        {k: v for k, v in before.items() if k != "plots"}
    assert after["plots"] == paths and {"latent", "coherence"} <= set(paths)
    for path in paths.values():
        assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["evaluate", "digits", "--out", str(trained), "--plots-only",
                     "--no-plots"]) == 2


def test_evaluate_metrics_computes_only_those_again_and_keeps_the_rest(trained, capsys):
    """`kmvae evaluate RUN --metrics coherence`: the coherence is computed again with the
    settings metrics.json records; every other entry, the whole evaluation's seconds and the
    figures stay; an unknown metric is an error naming the recipe's."""
    run_dir = runs.latest(trained, "digits")
    metrics_path = run_dir / "metrics.json"
    before = json.loads(metrics_path.read_text())
    marked = {**before, "coherence": {"joint": -1.0}, "latent_probe": {"image": -1.0}}
    metrics_path.write_text(json.dumps(marked))
    png = (run_dir / "latent.png").stat().st_mtime_ns
    capsys.readouterr()
    assert cli.main(["evaluate", str(run_dir), "--metrics", "coherence", "--oracle-dir",
                     str(trained / "oracles"), "--quiet"]) == 0
    after = json.loads(metrics_path.read_text())
    assert after["coherence"]["joint"] >= 0 and 0 <= after["coherence"]["joint_chance"] <= 1
    assert after["latent_probe"] == {"image": -1.0}                   # not computed again
    unchanged = set(before) - {"coherence", "oracle_accuracy", "eval_seconds_parts"}
    assert {k: after[k] for k in unchanged} == {k: marked[k] for k in unchanged}
    assert after["eval_seconds_parts"].keys() == before["eval_seconds_parts"].keys()
    assert (run_dir / "latent.png").stat().st_mtime_ns == png          # no figures drawn
    assert cli.main(["evaluate", str(run_dir), "--metrics", "fid"]) == 2
    assert "'digits' has the metrics" in capsys.readouterr().err
    assert cli.main(["evaluate", str(run_dir), "--metrics", "coherence", "--in-progress"]) == 2
    metrics_path.write_text(json.dumps(before))


def test_evaluate_errors(tmp_path):
    from kmvae.evaluate import resolve_run
    with pytest.raises(FileNotFoundError, match="neither a run directory"):
        resolve_run(str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match="kmvae train digits"):
        resolve_run("digits", out=str(tmp_path))
