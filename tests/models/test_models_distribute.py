"""Every model class trains under `tf.distribute`: with a `MirroredStrategy` over two logical CPU
devices, one `fit` step on a global batch is the one-device step (same weights, fixed noise),
replicas draw different noise for identical examples, metrics are those of the global batch,
and the digits recipe learns under the strategy. (Two `MultiWorkerMirroredStrategy` workers,
killed and resumed through the command line, end with identical weights:
`tests/training/test_distribute_cli.py`.)

The logical devices must exist before TensorFlow initialises, so the checks run in a process of
their own (`distribute_checks.py models`, started once for the module); the tests read
their results. `kmvae.distribute`'s helpers are tested here directly.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import kmvae
from distribute_checks import MIXED, MODELS
from kmvae import distribute

CHECKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distribute_checks.py")


@pytest.fixture(scope="module")
def results():
    """The JSON of `distribute_checks.py models`."""
    process = subprocess.run([sys.executable, CHECKS, "models"], capture_output=True, text=True,
                             timeout=900)
    assert process.returncode == 0, process.stderr[-5000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


def close(a, b, tolerance):
    return abs(a - b) <= tolerance * max(1.0, abs(a))


@pytest.mark.parametrize("kind", list(MODELS))
def test_one_fit_step_under_mirrored_strategy_is_the_one_device_step(results, kind):
    """The same SGD update on the global batch (9 examples split 5 / 4, masked entries NaN,
    complete rows 3 vs 1 on the two replicas): losses are shares of the global mean, the
    counts behind masked means and pattern means are global, and the metrics are reduced."""
    assert results["num_replicas"] == 2
    step = results["models"][kind]
    assert step["finite"]
    assert step["update_norm_single"] > 0
    assert step["update_difference"] < 1e-4, step
    single, distributed = step["logs_single"], step["logs_distributed"]
    assert set(single) == set(distributed) == set(_model_stub(kind).term_names())
    for name in single:
        assert close(single[name], distributed[name], 1e-4), (name, single, distributed)
    assert step["jit_compile_distributed"] is False       # XLA falls back under a strategy


def _model_stub(kind):
    """A model of class `kind` as the checks build it (for its term names), on one device."""
    from distribute_checks import tiny_modalities
    kinds, options = MODELS[kind]
    return getattr(kmvae, kind)(tiny_modalities(kinds), 2, seed=1, **options)


@pytest.mark.parametrize("kind", list(MODELS))
def test_replicas_draw_different_noise_for_identical_examples(results, kind):
    """Both replicas compute the training loss of the same batch: different with the models'
    noise, equal when every draw is fixed (the control: only the noise differs)."""
    losses = results["models"][kind]["replica_losses"]
    assert losses["fixed_noise"][0] == losses["fixed_noise"][1], losses
    assert abs(losses["real_noise"][0] - losses["real_noise"][1]) > 1e-4, losses


def test_replicas_draw_independent_normals_subsets_and_components(results):
    draws = results["replica_draws"]
    for name in ("normal", "randint", "categorical"):
        first, second = (np.array(d) for d in draws[name])
        assert np.mean(first == second) < 0.5, (name, first, second)
    assert abs(np.corrcoef(*draws["normal"])[0, 1]) < 0.9


def test_evaluate_under_mirrored_strategy_reports_the_global_metrics(results):
    single, distributed = results["evaluate"]["single"], results["evaluate"]["distributed"]
    assert set(single) == set(distributed)
    for name in single:
        assert close(single[name], distributed[name], 1e-4), (name, single, distributed)


@pytest.mark.parametrize("kind", MIXED)
def test_mixed_float16_step_under_mirrored_strategy(results, kind):
    step = results["mixed_float16"][kind]
    assert step["finite"] and step["update_norm_single"] > 0
    assert step["update_difference"] < 1e-2, step


def test_nan_in_a_present_entry_fails_under_mirrored_strategy(results):
    error = results["nan_error"]
    assert error is not None and error.startswith("InvalidArgumentError"), error
    # Row 8 of the global batch, row 3 of replica 1's share (rows 5-8).
    assert re.search(r"Modality \\*'a\\*': NaN or infinite values in present entries at "
                     r"rows:\] \[3\]", error), error


def test_digits_recipe_learns_under_mirrored_strategy(results):
    """The digits recipe's model and data, 3 epochs on two replicas: the loss falls and the
    image -> label accuracy is far above chance (0.1) and within 0.15 of one device's (about
    0.7 measured; `test_models_training.py` checks the one-device learning)."""
    digits = results["digits"]
    assert not digits["jit_compile"]
    assert all(np.isfinite(digits["loss"])) and digits["loss"][-1] < digits["loss"][0]
    assert digits["accuracy"] > 0.55, digits


# ------------------------------------------------------------------------------ helpers
def test_get_strategy_names():
    assert distribute.get_strategy(None) is tf.distribute.get_strategy()
    mirrored = distribute.get_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync == len(tf.config.list_logical_devices("CPU"))
    with pytest.raises(ValueError, match="'mirored'.*None.*'mirrored', 'multi_worker'"):
        distribute.get_strategy("mirored")
    with pytest.raises(ValueError, match="devices.*'mirrored' strategy only"):
        distribute.get_strategy(None, devices=["/cpu:0"])


def test_batch_mean_and_global_sum_on_one_device():
    values = tf.constant([1.0, 2.0, np.nan, 4.0])
    weights = tf.constant([1.0, 3.0, 0.0, 0.0])
    assert float(distribute.batch_mean(values, weights)) == pytest.approx(7.0 / 4.0)
    assert float(distribute.batch_mean(values[:2])) == pytest.approx(1.5)
    assert float(distribute.batch_mean(values, tf.zeros(4))) == 0.0
    assert float(distribute.global_sum(tf.constant(3.0))) == 3.0
    assert distribute.num_replicas() == 1


def test_compile_keeps_xla_on_one_device(tiny):
    model = tiny.model("MVAE")
    model.compile("sgd")
    assert model.jit_compile
