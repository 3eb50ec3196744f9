"""Where a training step's time goes: the XLA-compiled forward + backward pass of the objective
alone, and the whole `train_step` (Adam update and metrics included), in ms per step of 100
random MNIST-sized examples. The difference to `throughput.py`'s per-step time is the Keras
`fit` loop.

    python benchmarks/step_time.py                     # mopoe_mnist, mvae_mnist, moe_mnist

Run it alone on the machine.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kmvae  # noqa: E402


def measure(name, steps):
    model = kmvae.recipes.load(name).build_model()
    rng = np.random.default_rng(0)
    batch = {"image": tf.constant((rng.random((100, 784)) < 0.13).astype(np.float32)),
             "label": tf.constant(rng.integers(0, 10, 100).astype(np.int32))}
    x, mask = model.prepare_batch(batch)
    model.optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=True)
    def forward_backward():
        with tf.GradientTape() as tape:
            loss, _ = model.compute_objective(x, mask, training=True)
        return tape.gradient(loss, model.trainable_variables)

    @tf.function(jit_compile=True)
    def train_step():
        return model.train_step(batch)

    result = {"recipe": name}
    for label, step in (("forward_backward_ms", forward_backward), ("train_step_ms", train_step)):
        step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        result[label] = round((time.perf_counter() - start) / steps * 1000, 2)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", default=["mopoe_mnist", "mvae_mnist", "moe_mnist"])
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    for name in args.recipes:
        print(json.dumps(measure(name, args.steps)), flush=True)


if __name__ == "__main__":
    main()
