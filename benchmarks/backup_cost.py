"""What resumable training costs per epoch: the seconds of one `keras.callbacks.BackupAndRestore`
backup (weights, optimizer state and seed state to `latest.weights.h5`, the previous backup kept,
the metadata JSON) for a recipe's model, against the seconds of one training epoch.

    python benchmarks/backup_cost.py mvae_mnist mopoe_polymnist
    python benchmarks/backup_cost.py mvae_mnist --repeats 20

Run it alone on the machine. It prints one JSON line per recipe: the backup's median and
maximum seconds over `--repeats` backups, the backup's size in MB, the training step's median
seconds (after compilation, `--steps` steps of the recipe's batch size on its own data) and
the steps per epoch, so the backup's share of an epoch.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kmvae  # noqa: E402


def measure(name, repeats, steps):
    recipe = kmvae.recipes.load(name)
    model = recipe.build_model()
    train = recipe.load_data("train")
    batches = iter(train.repeat())
    model.train_on_batch(next(batches))                       # compile, build the optimizer
    step_seconds = []
    for _ in range(steps):
        batch = next(batches)
        start = time.perf_counter()
        model.train_on_batch(batch)
        step_seconds.append(time.perf_counter() - start)
    callback = keras.callbacks.BackupAndRestore(tempfile.mkdtemp())
    callback.set_model(model)
    backup_seconds = []
    for epoch in range(repeats):
        start = time.perf_counter()
        callback.on_epoch_end(epoch)
        backup_seconds.append(time.perf_counter() - start)
    size = sum(p.stat().st_size for p in Path(callback.backup_dir).glob("*weights.h5"))
    steps_per_epoch = int(train.cardinality())
    epoch_seconds = float(np.median(step_seconds)) * steps_per_epoch
    return {"recipe": name, "backup_s_median": round(float(np.median(backup_seconds)), 3),
            "backup_s_max": round(max(backup_seconds), 3),
            "backup_mb": round(size / 2 ** 20 / 2, 1),               # latest and previous
            "step_s_median": round(float(np.median(step_seconds)), 4),
            "steps_per_epoch": steps_per_epoch,
            "backup_share_of_epoch": round(float(np.median(backup_seconds)) / epoch_seconds, 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="+")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    for name in args.recipes:
        print(json.dumps(measure(name, args.repeats, args.steps)), flush=True)


if __name__ == "__main__":
    main()
