"""Keras's `Conv2D` against `kmvae.layers.Conv2D` (im2col and one matrix product) under XLA on
CPU: ms per forward pass and per forward + backward pass of the convolutional encoders kmvae's
recipes use, and of a whole SVAE objective step, on random batches.

    python benchmarks/conv_step.py
    python benchmarks/conv_step.py --steps 20

Run it alone on the machine; it prints one JSON line per network and convolution.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kmvae.layers import Conv2D, ConvEncoder  # noqa: E402

CONVOLUTIONS = {"keras": keras.layers.Conv2D, "kmvae": Conv2D}


def svae_recipes():
    """The catalog's recipes/svae.py, whose `part_encoder` and `image_parts` take the
    convolution layer."""
    import kmvae
    return kmvae.recipes.paper("svae")


def svae_part_encoder(conv):
    """SVAE's Table F.7 encoder on a 14 x 28 part, as the recipes build it."""
    return svae_recipes().part_encoder(14, conv)


def dcgan_encoder(conv):
    """kmvae.layers.ConvEncoder (MVAE's DCGAN encoder) on 28 x 28 x 3 images, with `conv` as
    its convolutions."""
    encoder = ConvEncoder((28, 28, 3))
    encoder.convs = [conv.from_config(layer.get_config()) for layer in encoder.convs]
    return encoder


def time_steps(forward, variables, steps):
    """ms per call of the XLA-compiled `forward` and of its gradient with respect to
    `variables`."""
    @tf.function(jit_compile=True)
    def forward_only():
        return forward()

    @tf.function(jit_compile=True)
    def forward_backward():
        with tf.GradientTape() as tape:
            loss = forward()
        return tape.gradient(loss, variables)

    result = {}
    for label, step in (("forward_ms", forward_only), ("forward_backward_ms", forward_backward)):
        step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        result[label] = round((time.perf_counter() - start) / steps * 1000, 1)
    return result


def network_case(build, conv, inputs, steps):
    network = build(conv)
    network(inputs)
    return time_steps(lambda: tf.reduce_sum(tf.square(network(inputs))),
                      network.trainable_variables, steps)


def svae_case(conv, steps):
    """A whole SVAE (L_comb) objective on an MNIST-Split batch of 100: the recipe
    `svae_mnist_split_100`'s model and networks, with `conv` as the encoders' convolution."""
    import kmvae
    recipe = kmvae.recipes.load("svae_mnist_split_100")
    svae = svae_recipes()
    modalities = svae.image_parts(svae.LAYOUTS["mnist_split"], conv)()
    model = getattr(kmvae, recipe.model)(modalities, recipe.latent_dim, **recipe.model_options)
    rng = np.random.default_rng(0)
    batch = {m.name: tf.constant((rng.random((100, 392)) < 0.13).astype(np.float32))
             for m in modalities}
    x, mask = model.prepare_batch(batch)
    return time_steps(lambda: model.compute_objective(x, mask, training=True)[0],
                      model.trainable_variables, steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    part = tf.constant(rng.random((100, 14 * 28)).astype(np.float32))
    image = tf.constant(rng.random((256, 28 * 28 * 3)).astype(np.float32))
    for implementation, conv in CONVOLUTIONS.items():
        for name, build, inputs in (("svae_part_encoder, batch 100", svae_part_encoder, part),
                                    ("dcgan_encoder 28x28x3, batch 256", dcgan_encoder, image)):
            print(json.dumps({"network": name, "convolution": implementation,
                              **network_case(build, conv, inputs, args.steps)}), flush=True)
        print(json.dumps({"network": "svae_mnist_split_100 objective, batch 100",
                          "convolution": implementation, **svae_case(conv, args.steps)}),
              flush=True)


if __name__ == "__main__":
    main()
