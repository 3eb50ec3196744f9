"""`kmvae train --distribute`: two MultiWorkerMirroredStrategy workers on localhost, killed
and restarted, train the digits recipe to the end with identical weights; only the chief
writes the run and the export."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np

from kmvae import cli


def _free_ports(count):
    """`tests/models/distribute_checks.py`'s `free_ports`."""
    path = Path(__file__).parents[1] / "models" / "distribute_checks.py"
    spec = importlib.util.spec_from_file_location("distribute_checks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.free_ports(count)


def _start_workers(cluster, out, epochs):
    command = [sys.executable, "-c", "import sys; from kmvae.cli import main; sys.exit(main())",
               "train", "digits", "--distribute", "multi_worker", "--epochs", str(epochs),
               "--seed", "1", "--no-evaluate", "--out", str(out)]
    return [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                                                 TF_CONFIG=json.dumps({"cluster": cluster,
                                                                       "task": {"type": "worker",
                                                                                "index": i}})))
            for i in range(2)]


def _wait(workers, timeout=400):
    try:
        return [w.communicate(timeout=timeout)[0] for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()


def test_two_workers_killed_resume_and_the_chief_alone_writes(tmp_path):
    """Both workers are killed (SIGKILL, as a pre-empted job) after the first epoch's backup
    and started again with the same commands: they resume, end with identical weights, and
    the chief alone writes the run and one export."""
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    epochs = 3
    workers = _start_workers(cluster, tmp_path, epochs)
    metadata = tmp_path / "runs/digits/1/backup/training_metadata.json"
    deadline = time.time() + 300
    while time.time() < deadline and not metadata.exists() and all(
            w.poll() is None for w in workers):
        time.sleep(0.05)
    for w in workers:
        w.send_signal(signal.SIGKILL)
    killed = _wait(workers)
    assert metadata.exists(), "\n".join(o[-2000:] for o in killed)
    assert not (tmp_path / "runs/digits/1/model.keras").exists()
    # Worker 1 killed before its own first backup: it must resume from the chief's, or the
    # two workers would run different numbers of steps and their collectives would fail.
    shutil.rmtree(tmp_path / ".workers/digits/worker-1/backup", ignore_errors=True)

    workers = _start_workers(cluster, tmp_path, epochs)
    outputs = _wait(workers)
    assert [w.returncode for w in workers] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    assert "resuming at epoch" in outputs[0] and "resuming at epoch" in outputs[1]
    assert "the chief writes the run directory" in outputs[1]
    assert "resuming from the chief's backup" in outputs[1]
    # One run and one export, written by the chief (worker 0).
    assert sorted(p.name for p in (tmp_path / "runs/digits").iterdir()) == ["1"]
    assert sorted(p.name for p in (tmp_path / "saved_models/digits").iterdir()) == ["1"]
    run = json.loads((tmp_path / "runs/digits/1/run.json").read_text())
    assert run["distribute"] == "multi_worker"
    with open(tmp_path / "runs/digits/1/history.csv") as f:
        assert [line.split(",")[0] for line in f.read().splitlines()[1:]] == ["0", "1", "2"]
    # The other worker kept its backups apart and ended with the chief's weights.
    worker = tmp_path / ".workers/digits/worker-1"
    assert (worker / "history.csv").exists() and not (worker / "model.keras").exists()
    chief = keras.saving.load_model(tmp_path / "runs/digits/1/model.keras")
    other = keras.saving.load_model(tmp_path / "runs/digits/1/model.keras")
    other.load_weights(worker / "final.weights.h5")
    for a, b in zip(chief.weights, other.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)


def test_mirrored_on_this_machine(tmp_path):
    """`--distribute mirrored` over this machine's devices (one CPU device here) trains,
    evaluates on one device and exports."""
    assert cli.main(["train", "digits", "--distribute", "mirrored", "--epochs", "1", "--quiet",
                     "--out", str(tmp_path), "--num-samples", "3", "--eval-examples", "10",
                     "--oracle-dir", str(tmp_path / "oracles"), "--oracle-epochs", "1"]) == 0
    metrics = json.loads((tmp_path / "runs/digits/1/metrics.json").read_text())
    assert np.isfinite(metrics["test_log_p(image)"])
    assert (tmp_path / "saved_models/digits/1/saved_model.pb").exists()
