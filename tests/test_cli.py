"""The command line and the main job: train, evaluate, save and export a recipe."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kmvae import cli


def test_recipes_command_lists_recipes(capsys):
    assert cli.main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "mvae_mnist" in out and "digits" in out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert cli.main(["train", "digits", "--epochs", "3", "--out", str(out),
                     "--num-samples", "20", "--quiet"]) == 0
    return out


def test_train_writes_model_metrics_and_export(trained):
    metrics = json.loads((trained / "runs/digits/metrics.json").read_text())
    assert metrics["epochs"] == 3
    assert np.isfinite(metrics["test_log_p(image)"]) and metrics["test_log_p(image)"] < 0
    assert metrics["test_log_p(image,label)"] < metrics["test_log_p(image)"]
    assert 0.0 <= metrics["cross_modal_accuracy(image->label)"] <= 1.0
    assert (trained / "saved_models/digits/1/saved_model.pb").exists()
    assert metrics["saved_model"].endswith("saved_models/digits/1")


def test_saved_keras_model_and_export_agree(trained):
    model = keras.saving.load_model(trained / "runs/digits/model.keras")
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


def test_second_run_exports_a_new_version(trained):
    assert cli.main(["train", "digits", "--epochs", "1", "--out", str(trained),
                     "--num-samples", "5", "--eval-examples", "10", "--quiet"]) == 0
    assert (trained / "saved_models/digits/1/saved_model.pb").exists()
    assert (trained / "saved_models/digits/2/saved_model.pb").exists()


def test_unknown_recipe_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="Unknown recipe"):
        cli.main(["train", "no_such_recipe", "--out", str(tmp_path)])
