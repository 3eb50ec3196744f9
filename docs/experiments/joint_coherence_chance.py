"""Joint coherence against its chance level for a trained run that predates
`coherence.joint_chance` in metrics.json (kmvae evaluates both since 2026-12-05):

    python docs/experiments/joint_coherence_chance.py RUN_DIR [--samples 1000] [--seed 0]

Loads RUN_DIR/model.keras and the recipe's cached coherence oracles (~/.kmvae/oracles, trained
by the run's evaluation), draws the evaluation's prior generations (the same number and seed as
`kmvae evaluate`) and prints the joint coherence, `kmvae.metrics.chance_agreement` and each
modality's class frequencies, as JSON.

Run on 2026-12-05 06:33 UTC on runs-paper/runs/mvae_polymnist/1 (300 epochs), at nice 19
beside the svae_mnist_split_100 training: joint coherence 0.105 (the archived 0.1050), by chance
0.0002; class frequencies per modality 0.9% to 30.4%. The mopoe_polymnist run directory is no
longer on this machine (its metrics are archived).
"""

import argparse
import json
from pathlib import Path

import keras
import numpy as np

from kmvae import datasets, metrics, recipes
from kmvae.metrics.suite import JOINT_SAMPLES


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--samples", type=int, default=JOINT_SAMPLES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--oracle-dir", default=str(Path("~/.kmvae/oracles").expanduser()))
    args = parser.parse_args()
    run = json.loads((Path(args.run_dir) / "run.json").read_text())
    recipe = recipes.load(run["recipe"])
    model = keras.saving.load_model(Path(args.run_dir) / "model.keras")
    _, data_name = datasets.oracle_training_data(recipe.dataset)
    oracles = {}
    for m in model.modalities:
        if m.is_categorical:
            continue
        found = sorted(Path(args.oracle_dir).glob(f"{data_name}-{m.name}-*.keras"))
        if not found:
            raise FileNotFoundError(f"No cached oracle for modality {m.name!r} in "
                                    f"{args.oracle_dir}; run `kmvae evaluate {args.run_dir}`.")
        oracles[m.name] = keras.saving.load_model(found[0])
    predictions = metrics.joint_predictions(model, oracles, args.samples, seed=args.seed)
    print(json.dumps({
        "run_dir": args.run_dir, "samples": args.samples, "seed": args.seed,
        "joint": metrics.coherence_score(predictions),
        "joint_chance": metrics.chance_agreement(predictions),
        "class_frequencies": {n: (np.bincount(p, minlength=10) / len(p)).round(3).tolist()
                              for n, p in predictions.items()}}, indent=1))


if __name__ == "__main__":
    main()
