"""One PolyMNIST training step with the MoPoE authors' networks (`kmvae.layers.PolyMNISTEncoder`
/ `PolyMNISTDecoder`, what the recipes use) against MVAE's miniature DCGAN (`ConvEncoder` /
`ConvDecoder` on 28x28x3, what they used before): median ms per XLA-compiled forward + backward
pass of the objective and per whole `train_step` (Adam update included), after compilation, on a
random batch of the recipe's size (256) for all five modalities.

    python benchmarks/polymnist_step.py                       # mopoe_polymnist, 10 steps
    python benchmarks/polymnist_step.py mvae_polymnist --steps 5

Run it alone on the machine, with this checkout's kmvae (`PYTHONPATH=.` when another one is
installed: the first line says which was imported); it prints the load average it saw and one
JSON line per network.
"""

import argparse
import dataclasses
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

import kmvae  # noqa: E402
import step_time  # noqa: E402  (benchmarks/step_time.py, beside this script)
from kmvae.layers import (ConvDecoder, ConvEncoder, PolyMNISTDecoder,  # noqa: E402
                          PolyMNISTEncoder)


NETWORKS = {
    "MoPoE authors' (PolyMNISTEncoder / PolyMNISTDecoder)": (PolyMNISTEncoder, PolyMNISTDecoder),
    "MVAE's miniature DCGAN (ConvEncoder / ConvDecoder)": (lambda: ConvEncoder((28, 28, 3)),
                                                           lambda: ConvDecoder((28, 28, 3))),
}


def modalities_with(recipe, encoder, decoder):
    """The recipe's modalities with `encoder()` and `decoder()` as their networks (explicit, so
    that an installed catalog with other networks cannot stand in for them)."""
    def build():
        return [kmvae.Modality(m.name, shape=m.shape, likelihood=m.likelihood, scale=m.scale,
                               encoder=encoder(), decoder=decoder())
                for m in recipe.modalities()]
    return build


def measure(recipe, networks, steps):
    return {"networks": networks, **step_time.measure(recipe, steps)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", nargs="?", default="mopoe_polymnist")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps({"load_average": [round(v, 2) for v in os.getloadavg()],
                      "cpus": os.cpu_count(), "tensorflow": tf.__version__,
                      "kmvae": os.path.dirname(kmvae.__file__)}), flush=True)
    recipe = kmvae.recipes.load(args.recipe)
    for networks, (encoder, decoder) in NETWORKS.items():
        variant = dataclasses.replace(recipe,
                                      modalities=modalities_with(recipe, encoder, decoder))
        print(json.dumps(measure(variant, networks, args.steps)), flush=True)


if __name__ == "__main__":
    main()
