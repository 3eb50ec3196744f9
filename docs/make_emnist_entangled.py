"""Builds e-MNIST / me-MNIST from the real MNIST and Fashion-MNIST, checks them, draws a figure.

    python docs/make_emnist_entangled.py [--data-dir DIR] [--out docs/images/emnist_entangled.png]

Trains (or loads from the cache) the two CVAEs with the default budget, generates both default
splits, and prints: each CVAE's training time and final negative ELBO; the accuracy of a
logistic-regression classifier trained on the real training images and applied to the real test
images and to the generated `a` (MNIST-like) and `b` (Fashion-MNIST-like) test images against
their shared class. The figure shows, per class (rows), z_1 swept linearly over [-2, 2] (z_2 = 0)
decoded by both CVAEs (a above b), then ten e-MNIST test pairs and the me-MNIST `b` of the same
examples.
"""

import argparse
import logging
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from kmvae.datasets import cvae, entangled, mnist  # noqa: E402


def _accuracies(dataset, generated, labels, data_dir, train_size=10000):
    images, targets = mnist.load_split(dataset, "train", "auto", data_dir)
    test, test_targets = mnist.load_split(dataset, "test", "auto", data_dir)
    classifier = LogisticRegression(max_iter=1000)
    classifier.fit(images[:train_size] / 255.0, targets[:train_size])
    return (classifier.score(test / 255.0, test_targets),
            classifier.score(generated / 255.0, labels))


def _tile(images, rows, cols):
    return images.reshape(rows, cols, 28, 28).transpose(0, 2, 1, 3).reshape(rows * 28, cols * 28)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="docs/images/emnist_entangled.png")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    models = {}
    for dataset in ("mnist", "fashion_mnist"):
        model, info = cvae.trained(dataset, data_dir=args.data_dir)
        models[dataset] = model
        print(f"{dataset} CVAE: {info.get('images')} images, {info.get('epochs')} epoch(s), "
              f"trained in {info.get('seconds')} s, final negative ELBO "
              f"{info.get('final_loss', float('nan')):.2f} nats per image ({info['path']})")
    start = time.perf_counter()
    made = {split: entangled.generate(split, data_dir=args.data_dir)
            for split in ("train", "test")}
    mixed = entangled.generate("test", mixed=True, data_dir=args.data_dir)
    print(f"generated {len(made['train']['label'])} / {len(made['test']['label'])} pairs in "
          f"{time.perf_counter() - start:.1f} s (or loaded them from the cache)")
    test = made["test"]
    for key, dataset in (("a", "mnist"), ("b", "fashion_mnist")):
        real, generated = _accuracies(dataset, test[key], test["label"], args.data_dir)
        print(f"logistic regression on real {dataset}: real test accuracy {real:.3f}, "
              f"generated '{key}' test accuracy vs the shared class {generated:.3f}")

    sweep = np.linspace(-2.0, 2.0, 10, dtype=np.float32)
    z = np.stack([np.tile(sweep, 10), np.zeros(100, np.float32)], axis=1)
    labels = np.repeat(np.arange(10), 10)
    pairs = entangled.entangle(models["mnist"], models["fashion_mnist"], z, labels)
    rows = []
    for label in range(10):
        chosen = labels == label
        rows += [_tile(pairs["a"][chosen], 1, 10), _tile(pairs["b"][chosen], 1, 10)]
    spacer = np.full((14, 280), 0.5)
    examples = [_tile(test[key][:10] / 255.0, 1, 10) for key in ("a", "b")]
    grid = np.concatenate(rows + [spacer] + examples + [_tile(mixed["b"][:10] / 255.0, 1, 10)])
    figure, axis = plt.subplots(figsize=(4.2, 9.5))
    axis.imshow(grid, cmap="gray", vmin=0, vmax=1)
    axis.set_title("Top: per class, a (MNIST CVAE) above b (Fashion-MNIST CVAE)\n"
                   "decoded from the same z, z1 from -2 to 2 (z2 = 0).\n"
                   "Bottom: 10 emnist_entangled test pairs (a, b),\n"
                   "then emnist_mixed's b for the same a.", fontsize=8)
    axis.axis("off")
    figure.tight_layout()
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
