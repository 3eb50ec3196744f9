"""The training step of an SVAE-family recipe at low supervision on one real batch, computed
whole (every subset's posterior and decoders on every row) and by blocks (each block of one
presence pattern from the subsets within it, `kmvae.models.PairedUnpairedVAE`), in ms per
step (median), with the first call's tracing and compilation in s.

    python benchmarks/view_blocks.py svae_mnist_split_0p1 vaevae_mnist_split_0p1 --steps 20

Run it alone on the machine.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

import kmvae  # noqa: E402
from step_time import timed  # noqa: E402


def measure(name, steps):
    """`{"recipe", "layout", "whole_ms", "blocks_ms", "speedup", ...}` for recipe `name`: its
    first training batch, each way, through the XLA-compiled `train_step`."""
    recipe = kmvae.recipes.load(name)
    train = recipe.load_data(split="train")
    layout = train.kmvae_batch_layout
    if layout is None:
        raise ValueError(f"Recipe {name!r}'s training batches have no layout of blocks.")
    batch = next(iter(train))
    result = {"recipe": name, "batch_size": int(batch["mask"].shape[0]),
              "layout": [[rows, list(pattern)] for rows, pattern in layout]}
    for label, blocks in (("whole", None), ("blocks", layout)):
        model = recipe.build_model()
        model.optimizer.build(model.trainable_variables)
        model._batch_layout = blocks
        step = tf.function(lambda model=model: model.train_step(batch), jit_compile=True)
        first_call_s, ms = timed(step, steps)
        result[f"{label}_first_call_s"] = round(first_call_s, 1)
        result[f"{label}_ms"] = round(ms, 1)
    result["speedup"] = round(result["whole_ms"] / result["blocks_ms"], 2)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", default=["svae_mnist_split_0p1"])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps({"load_average": [round(v, 2) for v in os.getloadavg()],
                      "cpus": os.cpu_count(), "tensorflow": tf.__version__,
                      "kmvae": os.path.dirname(kmvae.__file__)}), flush=True)
    for name in args.recipes:
        print(json.dumps(measure(name, args.steps)), flush=True)


if __name__ == "__main__":
    main()
