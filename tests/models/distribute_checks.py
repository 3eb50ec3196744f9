"""The `tf.distribute` checks of `test_models_distribute.py`, run in processes of their own:
the two logical CPU devices a `MirroredStrategy` mirrors over must be configured before
TensorFlow initialises, which pytest's process has long done. Each mode prints one JSON object
on the last line of stdout:

    python tests/models/distribute_checks.py models    # every model class under a
                                                       # MirroredStrategy, then the digits

Two `MultiWorkerMirroredStrategy` workers are tested through the command line, killed and
resumed, in `tests/training/test_distribute_cli.py` (it takes `free_ports` from here).
"""

import contextlib
import json
import os
import socket
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.dirname(TESTS), TESTS]       # this checkout's kmvae, tests/conftest.py

import tensorflow as tf  # noqa: E402

if __name__ == "__main__":
    # Before anything initialises TensorFlow's devices.
    _cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kmvae  # noqa: E402

def _load_tests_conftest():
    """tests/conftest.py as its own module (`from conftest import` would find whichever
    conftest.py pytest imported first, e.g. tests/metrics/conftest.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("kmvae_tests_conftest",
                                                  os.path.join(TESTS, "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helpers = _load_tests_conftest()
random_batch, tiny_modalities = _helpers.random_batch, _helpers.tiny_modalities

BATCH = 9            # split 5 / 4 between the replicas: unequal shares
TRI, BI = ("bernoulli", "normal", "categorical"), ("bernoulli", "categorical")
MASKS = {
    # Complete rows 3 of 5 on replica 0 and 1 of 4 on replica 1: the masked means (JMVAE,
    # tVAE), the presence patterns (SVAE, VAEVAE) and the plain means all need global counts.
    2: [[1, 1], [1, 1], [1, 1], [1, 0], [0, 1], [1, 1], [1, 0], [0, 1], [0, 1]],
    3: [[1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 0, 0], [0, 1, 1], [1, 0, 1], [0, 0, 1],
        [0, 1, 0], [1, 1, 1]],
}
MODELS = {
    "MVAE": (TRI, {}), "MoPoEVAE": (TRI, {}), "MoEVAE": (TRI, {}),
    "MMVAE": (TRI, {"num_samples": 3}),
    "MSNVI": (TRI, {"num_samples": 3, "objective": "hybrid"}),
    "JMVAE": (BI, {}), "JMVAEZero": (BI, {}), "TVAE": (BI, {}), "M2VAE": (BI, {}),
    "SVAE": (BI, {}), "VAEVAE": (BI, {}), "VAEVAEStar": (BI, {}),
}
MIXED = ("MVAE", "SVAE")


@contextlib.contextmanager
def fixed_noise():
    """Every `keras.random` draw the models make becomes a function of its example alone
    (constant noise, the first most likely mixture component, the last subset), so that an
    example gets the same noise on any replica, and one device and two must agree exactly."""
    saved = {name: getattr(keras.random, name)
             for name in ("normal", "uniform", "categorical", "randint")}
    keras.random.normal = lambda shape, mean=0.0, stddev=1.0, dtype=None, seed=None: \
        tf.fill(shape, 0.5) * stddev + mean
    keras.random.uniform = lambda shape, minval=0.0, maxval=1.0, dtype=None, seed=None: \
        tf.fill(shape, 0.3)
    keras.random.categorical = lambda logits, num_samples, dtype="int32", seed=None: tf.tile(
        tf.argmax(logits, axis=-1, output_type=tf.int32)[:, None], [1, num_samples])
    keras.random.randint = lambda shape, minval, maxval, dtype="int32", seed=None: \
        tf.fill(shape, tf.cast(maxval, tf.int32) - 1)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(keras.random, name, function)


def masked_batch(modalities, seed=0):
    """A global batch dict of `BATCH` examples with the mask of `MASKS`, masked entries NaN
    (class ids -7)."""
    mask = np.array(MASKS[len(modalities)], bool)
    batch = random_batch(modalities, BATCH, seed=seed)
    for m, modality in enumerate(modalities):
        value = batch[modality.name]
        value[~mask[:, m]] = -7 if value.dtype.kind == "i" else np.nan
    batch["mask"] = mask
    return batch


def build(kind, strategy=None, compile=True):
    """A tiny model of class `kind` (latent 2, 16-unit networks), built and compiled with SGD
    under `strategy`'s scope if given."""
    kinds, options = MODELS[kind]
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = getattr(kmvae, kind)(tiny_modalities(kinds), 2, seed=1, **options)
        if compile:
            optimizer = keras.optimizers.SGD(0.05)
            if keras.mixed_precision.global_policy().name == "mixed_float16":
                # A small first loss scale: the default 2^15 overflows the float16 gradients
                # of one device's first step, which is then skipped, and not those of two
                # replicas, whose losses are halves.
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=64.0)
            model.compile(optimizer, jit_compile=False)
    return model


def compare_step(kind, strategy):
    """One SGD step on one global batch from the same weights, with fixed noise: on one device
    (the step `fit` takes, run eagerly: faster than tracing it) and with `fit` under the
    strategy. Returns the updates' norms and relative difference, and both steps' metrics."""
    single, distributed = build(kind), build(kind, strategy)
    weights = single.get_weights()
    distributed.set_weights(weights)
    batch = masked_batch(single.modalities)
    with fixed_noise():
        logs_1 = single.train_step({k: tf.constant(v) for k, v in batch.items()})
        history = distributed.fit(tf.data.Dataset.from_tensors(batch), epochs=1,
                                  verbose=0).history
    logs_1 = {k: float(v) for k, v in logs_1.items()}
    logs_2 = {k: float(v[-1]) for k, v in history.items()}
    update_1 = [w - w0 for w, w0 in zip(single.get_weights(), weights)]
    update_2 = [w - w0 for w, w0 in zip(distributed.get_weights(), weights)]
    norm_1 = np.sqrt(sum(np.sum(u ** 2) for u in update_1))
    norm_2 = np.sqrt(sum(np.sum(u ** 2) for u in update_2))
    difference = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(update_1, update_2)))
    return {"update_norm_single": float(norm_1), "update_norm_distributed": float(norm_2),
            "update_difference": float(difference / norm_1),
            "finite": bool(all(np.all(np.isfinite(u)) for u in update_2)),
            "logs_single": logs_1, "logs_distributed": logs_2,
            "jit_compile_distributed": bool(distributed.jit_compile)}


def replica_losses(kind, strategy):
    """The training loss of each replica for the same batch on both (real noise, then fixed
    noise as a control): it differs only if the replicas draw different noise."""
    model = build(kind, strategy, compile=False)
    batch = {k: tf.constant(v) for k, v in masked_batch(model.modalities).items()}

    def step(data):
        x, mask = model.prepare_batch(data)
        return model.compute_objective(x, mask, training=True)[0]

    def run():         # eagerly: MirroredStrategy runs the replicas in threads, no tracing
        return [float(v) for v in strategy.experimental_local_results(
            strategy.run(step, args=(batch,)))]

    real = run()
    with fixed_noise():
        fixed = run()
    return {"real_noise": real, "fixed_noise": fixed}


def replica_draws(strategy):
    """Each replica's draws from one model's seed generator: normal (reparameterisation),
    randint (MVAE's subsets) and categorical (MoPoE's components)."""
    model = build("MVAE", strategy, compile=False)

    @tf.function
    def draws():
        def step():
            seed = model._seed_generator
            return (keras.random.normal((8,), seed=seed),
                    tf.cast(keras.random.randint((8,), 0, 1000, seed=seed), tf.float32),
                    tf.cast(keras.random.categorical(tf.zeros((8, 50)), 1, seed=seed)[:, 0],
                            tf.float32))
        return [strategy.experimental_local_results(v) for v in strategy.run(step)]

    return {name: [v.numpy().tolist() for v in values]
            for name, values in zip(("normal", "randint", "categorical"), draws())}


def compare_evaluate(kind, strategy):
    """`evaluate` on one global batch with fixed noise, on one device (eagerly) and under the
    strategy: the metrics of each."""
    single, distributed = build(kind), build(kind, strategy)
    distributed.set_weights(single.get_weights())
    batch = masked_batch(single.modalities)
    with fixed_noise():
        logs_1 = single.test_step({k: tf.constant(v) for k, v in batch.items()})
        logs_2 = distributed.evaluate(tf.data.Dataset.from_tensors(batch), verbose=0,
                                      return_dict=True)
    return {"single": {k: float(v) for k, v in logs_1.items()},
            "distributed": {k: float(v) for k, v in logs_2.items()}}


def nan_check(strategy):
    """`fit` under the strategy on two batches, NaN in a present entry of the last one (an
    error a distributed dataset turns into the end of the data): the error message."""
    model = build("MVAE", strategy)
    batches = [masked_batch(model.modalities, seed=seed) for seed in (0, 1)]
    batches[1]["a"][8, 0] = np.nan       # a present entry on replica 1
    data = tf.data.Dataset.from_tensor_slices({k: np.stack([b[k] for b in batches])
                                               for k in batches[0]})
    try:
        model.fit(data, epochs=1, verbose=0)
    except Exception as error:  # noqa: BLE001  (the test reads the type and message)
        return f"{type(error).__name__}: {error}"
    return None


def check_models():
    """Every check under one `MirroredStrategy` over the two logical CPUs: per model class the
    step and the replicas' noise, then the seed generator's draws, `evaluate`, the NaN check,
    mixed precision and the digits recipe; with the seconds each part took."""
    # One strategy for every check: a second MirroredStrategy in the process reuses the
    # collective keys of the first, and its all-reduces then fail on the shapes cached for them.
    strategy = kmvae.distribute.get_strategy("mirrored")
    start = time.time()
    out = {"num_replicas": strategy.num_replicas_in_sync, "models": {}}
    for kind in MODELS:
        out["models"][kind] = {**compare_step(kind, strategy),
                               "replica_losses": replica_losses(kind, strategy)}
    out["seconds_models"] = time.time() - start
    out["replica_draws"] = replica_draws(strategy)
    out["evaluate"] = compare_evaluate("JMVAE", strategy)
    out["nan_error"] = nan_check(strategy)
    keras.mixed_precision.set_global_policy("mixed_float16")
    out["mixed_float16"] = {kind: compare_step(kind, strategy) for kind in MIXED}
    keras.mixed_precision.set_global_policy("float32")
    out["seconds_checks"] = time.time() - start - out["seconds_models"]
    start = time.time()
    out["digits"] = check_digits(strategy)
    out["seconds_digits"] = time.time() - start
    return out


def cross_modal_accuracy(model, test):
    """The fraction of `test`'s labels predicted from their images (`translate`)."""
    correct = total = 0
    for batch in test:
        probabilities = model.translate({"image": batch["image"]}, targets=["label"])["label"]
        correct += int(np.sum(np.argmax(probabilities, -1) == batch["label"].numpy()))
        total += len(batch["label"])
    return correct / total


def check_digits(strategy, epochs=3, learning_rate=3e-3):
    """The `digits` recipe's model and data (global batches of 50) trained `epochs` epochs
    under `strategy`, faster than the recipe: Adam at `learning_rate` and the KL warm-up over
    all the epochs (on one device that reaches about 0.7 image -> label accuracy after 3
    epochs; the one-device step itself is compared exactly in `compare_step`).
    Returns the test accuracy, the losses and the seconds."""
    recipe = kmvae.recipes.load("digits")
    train, test = recipe.load_data()
    keras.utils.set_random_seed(0)
    start = time.time()
    with strategy.scope():
        model = recipe.build_model(compile=False)
        model.compile(keras.optimizers.Adam(learning_rate))
    history = model.fit(train, epochs=epochs, verbose=0,
                        callbacks=[kmvae.callbacks.KLWarmup(epochs)]).history
    return {"accuracy": cross_modal_accuracy(model, test), "loss": history["loss"],
            "jit_compile": bool(model.jit_compile), "seconds": time.time() - start}


def free_ports(count):
    """`count` ports free on localhost now (the operating system's picks)."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


if __name__ == "__main__":
    print(json.dumps({"models": check_models}[sys.argv[1]]()))
