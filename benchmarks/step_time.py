"""Where a training step's time goes: the XLA-compiled forward + backward pass of the objective
alone, and the whole `train_step` (Adam update and metrics included), in ms per step (median)
on a random batch of any recipe's modalities, with the first call's tracing and compilation in
s. The difference to `throughput.py`'s per-step time is the Keras `fit` loop.

    python benchmarks/step_time.py                     # mopoe_mnist, mvae_mnist, moe_mnist
    python benchmarks/step_time.py svae_mnist_split_100 --batch-size 0 --steps 10

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


def random_batch(model, batch_size, seed=0):
    """A batch of random values for every modality of `model`: class ids for a categorical
    modality, uniform values in [0, 1) otherwise (grey values, Bernoulli parameters' range)."""
    rng = np.random.default_rng(seed)
    batch = {}
    for m in model.modalities:
        if m.likelihood == "categorical":
            batch[m.name] = tf.constant(rng.integers(0, m.num_classes, batch_size)
                                        .astype(np.int32))
        else:
            batch[m.name] = tf.constant(rng.uniform(size=(batch_size,) + tuple(m.shape))
                                        .astype(np.float32))
    return batch


def measure(recipe, steps, batch_size=None):
    """Times the XLA-compiled forward + backward pass of `recipe`'s objective and its whole
    `train_step` on a random batch (`batch_size`, default the recipe's): the first call
    (tracing and compilation) in s, then the median of `steps` calls in ms (robust to a busy
    moment)."""
    model = recipe.build_model()
    batch_size = recipe.batch_size if batch_size is None else batch_size
    batch = random_batch(model, batch_size)
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

    result = {"recipe": recipe.name, "batch_size": batch_size,
              "parameters": model.count_params()}
    for label, step in (("forward_backward_ms", forward_backward), ("train_step_ms", train_step)):
        start = time.perf_counter()
        step()                                              # tracing and XLA compilation
        result[label.replace("_ms", "_first_call_s")] = round(time.perf_counter() - start, 1)
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        result[label] = round(float(np.median(times)) * 1000, 1)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", default=["mopoe_mnist", "mvae_mnist", "moe_mnist"])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=100,
                        help="examples per step (0: each recipe's own batch size)")
    args = parser.parse_args()
    print(json.dumps({"load_average": [round(v, 2) for v in os.getloadavg()],
                      "cpus": os.cpu_count(), "tensorflow": tf.__version__,
                      "kmvae": os.path.dirname(kmvae.__file__)}), flush=True)
    for name in args.recipes:
        print(json.dumps(measure(kmvae.recipes.load(name), args.steps,
                                 args.batch_size or None)), flush=True)


if __name__ == "__main__":
    main()
