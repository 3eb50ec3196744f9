"""Training throughput (examples/s) of the recipes' networks with `model.fit`.

The first epoch (tracing and XLA compilation included) and the steady state (the median epoch
after it) are reported apart. The data are random binary 784-pixel images and labels held in
memory: the networks and the objective are measured, not the input pipeline.

    python benchmarks/throughput.py                      # mvae_mnist, mopoe_mnist, moe_mnist
    python benchmarks/throughput.py mvae_mnist --epochs 5 --examples 10000 --no-xla
    python benchmarks/throughput.py mvae_mnist --devices 2   # MirroredStrategy, 2 logical CPUs

Run it alone on the machine: anything else running makes the figures wrong.
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kmvae  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def measure(name, examples, epochs, xla, mixed_precision, steps_per_execution=1, devices=0):
    keras.mixed_precision.set_global_policy(
        {"none": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}[
            mixed_precision])
    recipe = kmvae.recipes.load(name)
    rng = np.random.default_rng(0)
    data = {"image": (rng.random((examples, 784)) < 0.13).astype(np.float32),
            "label": rng.integers(0, 10, examples).astype(np.int32)}
    dataset = tf.data.Dataset.from_tensor_slices(data).batch(
        recipe.batch_size, drop_remainder=True).cache().prefetch(tf.data.AUTOTUNE)
    strategy = kmvae.distribute.get_strategy("mirrored" if devices else None)
    with strategy.scope():
        model = recipe.build_model(compile=False)
        model.compile(keras.optimizers.Adam(recipe.learning_rate), jit_compile=xla,
                      steps_per_execution=steps_per_execution)
    timer = EpochTimer()
    model.fit(dataset, epochs=epochs, verbose=0, callbacks=[timer])
    per_epoch = examples // recipe.batch_size * recipe.batch_size
    steady = per_epoch / np.median(timer.seconds[1:])  # median: robust to a stray slow epoch
    return {"recipe": name, "model": recipe.model, "batch_size": recipe.batch_size,
            "xla": model.jit_compile, "mixed_precision": mixed_precision,
            "replicas": strategy.num_replicas_in_sync,
            "steps_per_execution": steps_per_execution,
            "first_epoch_examples_per_s": round(per_epoch / timer.seconds[0]),
            "steady_examples_per_s": round(steady),
            "steady_epoch_seconds": [round(s, 2) for s in timer.seconds[1:]]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", default=["mvae_mnist", "mopoe_mnist", "moe_mnist"])
    parser.add_argument("--examples", type=int, default=10000, help="examples per epoch")
    parser.add_argument("--epochs", type=int, default=4, help="epochs (>= 2)")
    parser.add_argument("--no-xla", action="store_true")
    parser.add_argument("--mixed-precision", choices=("none", "float16", "bfloat16"),
                        default="none")
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="Keras compile(steps_per_execution=...): steps per graph call")
    parser.add_argument("--devices", type=int, default=0,
                        help="train under MirroredStrategy over this many logical CPU devices "
                             "(0: no strategy)")
    args = parser.parse_args()
    if args.devices:      # before anything initialises TensorFlow's devices
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.devices)
    print(json.dumps({"machine": platform.processor() or platform.machine(),
                      "cpus": os.cpu_count(), "tensorflow": tf.__version__,
                      "keras": keras.__version__}))
    for name in args.recipes:
        print(json.dumps(measure(name, args.examples, max(args.epochs, 2), not args.no_xla,
                                 args.mixed_precision, args.steps_per_execution,
                                 args.devices)),
              flush=True)


if __name__ == "__main__":
    main()
