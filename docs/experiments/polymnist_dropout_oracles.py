"""Joint coherence of PolyMNIST runs scored as the MoPoE authors' code scores it: with their
smaller classifier, and with its dropout active, against the same classifier in inference
mode and against kmvae's oracles (`metrics.json`):

    python docs/experiments/polymnist_dropout_oracles.py RUN_DIR [RUN_DIR ...] \
        [--epochs 10] [--repeats 10] [--samples 1000] [--seed 0] [--output FILE.json [--append]]

Why: kmvae's joint coherences on PolyMNIST are above the paper's Figure 3 (MVAE 0.105 against
0.036 +- 0.015, MoPoE 0.236 against 0.121 +- 0.016). The authors' code (thomassutter/MoPoE)
decodes prior draws to their Laplace means and counts a draw coherent when all five
classifiers agree, as kmvae does, but its classifiers (`ClfImg`,
mmnist/networks/ConvNetworkImgClfCMNIST.py: two stride-2 convolutions of 10 and 20 channels,
a dense layer of 128, each followed by dropout of 0.5, then 10 logits) are loaded in
mmnist/experiment.py `set_clfs` and never put in evaluation mode: `mm_vae.eval()` does not
reach them, so every class they give is a draw of a noisy classifier. Five noisy classes agree
less often than five steady ones.

What it does: trains that classifier's structure (rebuilt in Keras from the description
above; PyTorch's `Dropout2d` is Keras's `SpatialDropout2D`) per modality on the recipe's
training split, for `--epochs` epochs with `kmvae.metrics.train_oracle` (cached beside
kmvae's own oracles under its own name), then draws the evaluation's prior generations (the
same number and seed as `kmvae evaluate`) and scores them with the classifiers in inference
mode and, `--repeats` times, with dropout active. It prints (and writes with `--output`) each
classifier's test accuracy both ways, and the joint coherences.

Run on 2026-12-05 at 14:27 UTC, at nice 19 beside the mvae_fashion_mnist_sup_1 training (13 s;
the classifiers from the cache of a first run at 13:01, 3 min 16 s), on
runs-paper/runs/mvae_polymnist/1 and runs-paper/runs/mmvae_polymnist/1 (300 epochs each), with
`--output docs/experiments/polymnist_dropout_oracles.json`: the classifiers' test accuracy
0.90-0.92 in inference mode, 0.78-0.86 with dropout active; joint coherence with kmvae's
oracles / the authors' classifier in inference mode / with its dropout active: MVAE 0.105 /
0.133 / 0.070 +- 0.006 (paper 0.036 +- 0.015), MMVAE 0.261 / 0.319 / 0.188 +- 0.008 (paper
0.200 +- 0.019). REPRODUCTION.md's MoPoE section reads that file.

mopoe_polymnist, whose run directory was lost with an earlier machine, was trained again
(300 epochs, 2026-12-06) and scored on 2026-12-06 at 02:08 UTC beside a CI check at nice 19
(36 s; the classifiers from the cache, retrained from the seed at 00:06 with the same
inference-mode accuracies), on runs-paper/runs/mopoe_polymnist/1 with `--output
docs/experiments/polymnist_dropout_oracles.json --append`: MoPoE 0.231 / 0.247 / 0.162 +-
0.006 (paper 0.121 +- 0.016).
"""

import argparse
import json
from pathlib import Path

import keras
import numpy as np

from kmvae import datasets, metrics, recipes
from kmvae.metrics.suite import JOINT_SAMPLES


IMAGE = (28, 28, 3)                                 # a PolyMNIST image: 28 x 28, RGB


def authors_classifier(shape, num_classes=10):
    """The structure of the MoPoE authors' PolyMNIST digit classifier `ClfImg`: convolutions
    of 10 and 20 channels (kernel 4, stride 2), a dense layer of 128 and the logits, with
    dropout of 0.5 (per channel after the convolutions) before each ReLU."""
    inputs = keras.Input(shape)
    x = keras.layers.Reshape(IMAGE)(inputs)         # the modality's images come flattened
    for channels in (10, 20):
        x = keras.layers.Conv2D(channels, 4, strides=2, padding="same")(x)
        x = keras.layers.SpatialDropout2D(0.5)(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128)(x)
    x = keras.layers.Dropout(0.5)(x)
    x = keras.layers.ReLU()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x), name="mopoe_clf_img")


class DropoutActive:
    """A classifier called as `kmvae.metrics.classify` calls an oracle, but with its dropout
    active (`training=True`), as a PyTorch module left in training mode."""

    def __init__(self, classifier):
        self.classifier = classifier

    def __call__(self, values, training=False):
        return self.classifier(values, training=True)


def accuracy_on(classifier, test, name, training):
    """The classifier's accuracy on the batches `test` of modality `name` and their labels."""
    right = total = 0
    for batch in test:
        logits = classifier(batch[name], training=training)
        right += int(np.sum(np.argmax(np.asarray(logits), -1) == np.asarray(batch["label"])))
        total += len(batch["label"])
    return right / total


def _check_same_classifiers(earlier, retrained):
    """Raises a `SystemExit` unless the retrained classifiers have the inference-mode test
    accuracies of those that scored the runs of `earlier` (so they are the same networks: the
    training is seeded); their accuracies with dropout active depend on the random state and are
    not compared."""
    before = {name: c["inference"] for name, c in earlier.items()}
    now = {name: c["inference"] for name, c in retrained.items()}
    if before != now:
        raise SystemExit(f"--append: the retrained classifiers' test accuracies {now} are not "
                         f"those that scored the earlier runs, {before}; score every run again "
                         "without --append")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dirs", nargs="+")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--samples", type=int, default=JOINT_SAMPLES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output")
    parser.add_argument("--append", action="store_true",
                        help="add the runs to --output's, scored with the same classifiers")
    args = parser.parse_args()
    results = {"epochs": args.epochs, "repeats": args.repeats, "samples": args.samples,
               "seed": args.seed, "classifiers": {}, "runs": {}}
    earlier = None
    if args.append:
        if not args.output or not Path(args.output).exists():
            parser.error("--append needs an existing --output file")
        earlier = json.loads(Path(args.output).read_text())
        settings = {k: earlier[k] for k in ("epochs", "repeats", "samples", "seed")}
        if settings != {k: results[k] for k in settings}:
            parser.error(f"--append: {args.output} was scored with {settings}; "
                         "give the same --epochs, --repeats, --samples and --seed")
    classifiers = {}
    for run_dir in args.run_dirs:
        run = json.loads((Path(run_dir) / "run.json").read_text())
        recipe = recipes.load(run["recipe"])
        model = keras.saving.load_model(Path(run_dir) / "model.keras")
        images = [m for m in model.modalities if not m.is_categorical]
        if not classifiers:
            keras.utils.set_random_seed(args.seed)
            load_train, data_name = datasets.oracle_training_data(recipe.dataset,
                                                                  recipe.dataset_options)
            test = recipe.load_data("test")
            for m in images:
                classifiers[m.name] = metrics.train_oracle(
                    load_train, m.name, authors_classifier(m.shape), name=data_name,
                    epochs=args.epochs)
                results["classifiers"][m.name] = {
                    "inference": accuracy_on(classifiers[m.name], test, m.name, False),
                    "dropout_active": accuracy_on(classifiers[m.name], test, m.name, True)}
            if earlier is not None:
                _check_same_classifiers(earlier["classifiers"], results["classifiers"])
                results = {**earlier, "runs": dict(earlier["runs"])}
        generated = model.generate(args.samples, seed=args.seed)

        def joint(oracles):
            return metrics.coherence_score(
                {n: metrics.classify(model, oracles, n, v) for n, v in generated.items()})

        noisy = [joint({n: DropoutActive(c) for n, c in classifiers.items()})
                 for _ in range(args.repeats)]
        recorded = json.loads((Path(run_dir) / "metrics.json").read_text())
        results["runs"][run["recipe"]] = {
            "run_dir": str(run_dir),
            "kmvae_oracles": recorded.get("coherence", {}).get("joint"),
            "authors_classifier_inference": joint(classifiers),
            "authors_classifier_dropout_active": float(np.mean(noisy)),
            "dropout_active_std": float(np.std(noisy))}
    text = json.dumps(results, indent=1)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
