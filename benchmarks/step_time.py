"""Where a training step's time goes: the XLA-compiled forward + backward pass of the objective
alone, and the whole `train_step` (Adam update and metrics included), in ms per step (median)
on a random batch of any recipe's modalities, with the first call's tracing and compilation in
s. The difference to `throughput.py`'s per-step time is the Keras `fit` loop.

The FLOP estimate of a step is the forward + backward graph's floating-point operations
(TensorFlow's graph profiler: matrix products, convolutions and element-wise ops, counted before
XLA fuses them) divided by the machine's rate on one large float32 matrix product (its practical
peak, measured here); `forward_backward_vs_flop_estimate` is the measured time over that
estimate (1 would be the peak).

    python benchmarks/step_time.py                     # mopoe_mnist, mvae_mnist, moe_mnist
    python benchmarks/step_time.py svae_mnist_split_100 --batch-size 0 --steps 10
    python benchmarks/step_time.py svae_mnist_split_100 --batch-size 0 --networks   # and each
                                                  # encoder and decoder backbone alone

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
    modality (one per example, or a sequence of the modality's shape: a text), uniform values
    in [0, 1) otherwise (grey values, Bernoulli parameters' range)."""
    rng = np.random.default_rng(seed)
    batch = {}
    for m in model.modalities:
        if m.likelihood == "categorical":
            batch[m.name] = tf.constant(rng.integers(0, m.num_classes, (batch_size,)
                                                     + tuple(m.shape or ())).astype(np.int32))
        else:
            batch[m.name] = tf.constant(rng.uniform(size=(batch_size,) + tuple(m.shape))
                                        .astype(np.float32))
    return batch


def timed(function, steps):
    """`(first call in s, median of the next `steps` calls in ms)` of `function()`: the first
    call traces and compiles, the median is robust to a busy moment."""
    start = time.perf_counter()
    function()
    first_call = time.perf_counter() - start
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return first_call, float(np.median(times)) * 1000


def measure(recipe, steps, batch_size=None, peak_gflops=None):
    """Times the XLA-compiled forward + backward pass of `recipe`'s objective and its whole
    `train_step` on a random batch (`batch_size`, default the recipe's): the first call
    (tracing and compilation) in s, then the median of `steps` calls in ms (robust to a busy
    moment). With `peak_gflops` (`matmul_gflops()`), the step's FLOP estimate and the ratio of
    the measured time to it."""
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
              "parameters": model.count_params(),
              "forward_backward_gflop": round(graph_flops(forward_backward) / 1e9, 2)}
    for label, step in (("forward_backward_ms", forward_backward), ("train_step_ms", train_step)):
        first_call_s, ms = timed(step, steps)
        result[label.replace("_ms", "_first_call_s")] = round(first_call_s, 1)
        result[label] = round(ms, 1)
    if peak_gflops:
        estimate_ms = result["forward_backward_gflop"] / peak_gflops * 1000
        result["flop_estimate_ms"] = round(estimate_ms, 1)
        result["forward_backward_vs_flop_estimate"] = round(
            result["forward_backward_ms"] / estimate_ms, 2)
    return result


def measure_networks(recipe, steps, batch_size, peak_gflops):
    """Each modality's encoder and decoder backbone alone: the XLA-compiled forward + backward
    pass (the gradient of the sum of squared outputs with respect to the backbone's weights)
    on a random batch of `batch_size`, median ms over `steps` calls, its GFLOP and the ratio to
    the FLOP estimate, as for the whole objective."""
    model = recipe.build_model()
    batch = random_batch(model, batch_size)
    z = tf.random.normal((batch_size, recipe.latent_dim), seed=0)
    result = {"recipe": recipe.name, "batch_size": batch_size}
    for m, encoder, decoder in zip(model.modalities, model.encoders, model.decoders):
        for role, network, inputs in (("encoder", encoder.backbone, batch[m.name]),
                                      ("decoder", decoder.backbone, z)):
            network(inputs)                                         # build

            @tf.function(jit_compile=True)
            def forward_backward(network=network, inputs=inputs):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_sum(tf.square(tf.cast(network(inputs), tf.float32)))
                return tape.gradient(loss, network.trainable_variables)

            ms = timed(forward_backward, steps)[1]
            gflop = graph_flops(forward_backward) / 1e9
            result[f"{m.name}_{role}"] = {
                "forward_backward_ms": round(ms, 1), "gflop": round(gflop, 2),
                "vs_flop_estimate": round(ms / (gflop / peak_gflops * 1000), 2)}
    return result


def _einsum_flops(graph, node):
    """The profiler's FLOP count of an `Einsum` node, which TensorFlow does not register
    (kmvae's convolutions, `kmvae.layers.Conv2D`, and the fusion use it): 2 x the product of
    every index's size when an index is summed over (a multiply and an add each), else the
    product."""
    from tensorflow.python.framework import graph_util, ops
    equation = node.attr["equation"].s.decode()
    inputs, output = equation.replace(" ", "").split("->")
    sizes = {}
    for term, name in zip(inputs.split(","), node.input):
        shape = graph_util.tensor_shape_from_node_def_name(graph, name)
        shape.assert_is_fully_defined()
        dims = shape.as_list()
        if "..." in term:         # broadcast dimensions: named by their position from the end
            head, tail = term.split("...")
            middle = dims[len(head):len(dims) - len(tail)]
            term = head + "".join(f"<{i}>" for i in range(len(middle))) + tail
            letters = list(head) + [f"<{i}>" for i in range(len(middle))] + list(tail)
        else:
            letters = list(term)
        sizes.update(zip(letters, dims))
    total = int(np.prod(list(sizes.values()), dtype=np.float64))
    summed = set(sizes) - set(output.replace("...", ""))
    return ops.OpStats("flops", 2 * total if summed else total)


def graph_flops(function):
    """Floating-point operations of one call of the `tf.function` `function` (no arguments),
    from TensorFlow's graph profiler (with `Einsum` counted by `_einsum_flops`)."""
    from tensorflow.python.framework import ops
    try:
        ops.RegisterStatistics("Einsum", "flops")(_einsum_flops)
    except KeyError:                           # registered by an earlier call
        pass
    graph = function.get_concrete_function().graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops


def matmul_gflops(size=2048, repeats=10):
    """The machine's float32 rate on one `size` x `size` matrix product (XLA), GFLOP/s: the
    median of `repeats` products after a warm-up."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    product = tf.function(lambda: tf.reduce_sum(a @ b), jit_compile=True)
    product()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product().numpy()
        times.append(time.perf_counter() - start)
    return 2 * size ** 3 / float(np.median(times)) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", default=["mopoe_mnist", "mvae_mnist", "moe_mnist"])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=100,
                        help="examples per step (0: each recipe's own batch size)")
    parser.add_argument("--networks", action="store_true",
                        help="also time each modality's encoder and decoder backbone alone")
    args = parser.parse_args()
    peak = matmul_gflops()
    print(json.dumps({"load_average": [round(v, 2) for v in os.getloadavg()],
                      "cpus": os.cpu_count(), "tensorflow": tf.__version__,
                      "kmvae": os.path.dirname(kmvae.__file__),
                      "matmul_gflops": round(peak, 1)}), flush=True)
    for name in args.recipes:
        recipe = kmvae.recipes.load(name)
        print(json.dumps(measure(recipe, args.steps, args.batch_size or None, peak)), flush=True)
        if args.networks:
            print(json.dumps(measure_networks(recipe, args.steps,
                                              args.batch_size or recipe.batch_size, peak)),
                  flush=True)


if __name__ == "__main__":
    main()
