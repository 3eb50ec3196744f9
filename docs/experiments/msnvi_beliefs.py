"""Why the L(PoE)-trained MSNVI on MNIST-NO has -L(ind) = 194.4 in kmvae (paper: 101.2): a
diagnostic behind REPRODUCTION.md's MSNVI section (`python docs/experiments/msnvi_beliefs.py`,
from a checkout with kmvae installed; part A needs the trained `msnvi_mnist_no_poe` and
`msnvi_mnist_no_hybrid` runs under /work/runs-paper/runs, or --runs-dir).

Part A loads the trained model(s) and prints per source: KL(q_m || p), the mean belief
log-precision, the factor precision rho_m = 1/s_m^2, the per-source -L(ind) (K = 16) with rho_m
rescaled by c in (1, 2, 4), and the K = 16 bound with the prior as proposal.

Part B retrains msnvi_mnist_no_poe for a few epochs with three belief parameterisations and
prints each source's KL(q_m || p) every epoch:
  kmvae       kmvae as is (q_m = p * r_m, eq. 3's product = p * prod r_m);
  paper_soft  the paper's, `MSNVI(..., beliefs="encoder")`: q_m is the encoder's Gaussian
              itself, eq. 3 divides the prior out |S| - 1 times, with a smooth precision
              floor (`msnvi_product_of_experts(..., floor="smooth")`);
  shared      kmvae's parameterisation with one encoder shared by the four noisy sources (a
              symmetric control).

Run on 2026-12-04 (2 cores, nothing else running), `--part AB --epochs 8 --seeds 0 1`:
- A: the archived 100-epoch model's source_1 and source_2 have KL(q_m || p) 0.006 / 0.004 and a
  per-source -L(ind) of 285.5 / 284.9, the prior-proposal bound (287.6 / 287.8), whatever the
  rescaling; source_0 and source_3 105.6 / 111.1.
- B, after 8 epochs: kmvae's beliefs leave one source informative (seed 0: KL per source
  9.3, 0.1, 0.0, 0.0; seed 1: 0.2, 0.0, 10.3, 0.1; -L(ind) 176.1 / 177.3 against -L(PoE)
  132.5 / 130.4); the paper's keep all four (4.3, 6.3, 4.8, 4.1 and 5.7, 6.0, 5.9, 6.1) but
  train L(PoE) slower (-L(ind) 177.4 / 180.6, -L(PoE) 156.9 / 165.7); one shared encoder
  3.7 each, -L(ind) 139.8 against -L(PoE) 131.7 (seed 0), the even-split cost.
  (paper_soft was then a subclass of MSNVI in this script with the same beliefs, its precision
  floored as 1e-3 + softplus(10 lambda) / 10 in L(PoE) only, and its "-L(ind) rho x1" row
  formed kmvae's beliefs p * r_m from the encoder's Gaussian; it is now the library's
  `beliefs="encoder"` (eq. 3 exact where its precision is at least 0.1, floored smoothly
  below) and that row its own beliefs. Not rerun since.)

Part C trains a recipe as `kmvae train` does, with the paper's beliefs. Run on 2026-12-04
21:48-22:02 UTC (2 cores, alone; the kmvae training beside it was stopped with SIGSTOP),
`--part C --runs msnvi_mnist_no_poe msnvi_mnist_no_hybrid`:
- msnvi_mnist_no_poe, 100 epochs (484 s): L(PoE) training diverges. The validation bound
  improves to -163.7 at epoch 8, then falls to -1161.6 at epoch 9, and the training bound
  reaches -930,001 at epoch 15; by epoch 100 the validation bound is -527.8. Selected epoch 8:
  -L(ind) 195.4, -L(MoE) 193.5, -L(PoE) 159.0 (the recipe's kmvae beliefs at 100 epochs:
  194.4, 193.3, 100.6), every source informative (linear probe 0.585-0.640 against kmvae's
  0.819, 0.161, 0.125, 0.777). Its metrics.json and history.csv are
  docs/experiments/msnvi_beliefs_part_c_no_poe{.json,_history.csv}.
- msnvi_mnist_no_hybrid: diverged from epoch 4 (training bound -318, -222, -206, then -300,
  -605, -864, -16,392 and -663,710 at epoch 10; validation -200.5 at epoch 3, then
  -3,158 at epoch 5); stopped at epoch 16 (training bound -5,045).
Eq. 3 as written has the precision sum_m 1/s_m^2 - (|S| - 1): where it nears 0, the
integrated belief's mean sum_m mu_m / s_m^2 / precision and spread blow up, and with them the
importance weights. kmvae's beliefs keep that precision at least 1.
"""

import argparse
import time

import numpy as np
import keras
import tensorflow as tf

import kmvae  # noqa: F401  (registers the Keras classes)
from kmvae import recipes
from kmvae.models.msnvi import MSNVI, belief_parameters
from kmvae.layers.heads import diagonal_normal

RUNS = "/work/runs-paper/runs"      # default of --runs-dir
SCALES = (1.0, 2.0, 4.0)


# ----------------------------------------------------------------------------- helpers
def test_batches(recipe, names, max_examples, split="test"):
    """Batches (dicts restricted to `names`) of the recipe's test split, at most max_examples."""
    data = recipe.load_data(split)
    out, seen = [], 0
    for batch in data:
        if seen >= max_examples:
            break
        take = min(max_examples - seen, int(tf.shape(batch[names[0]])[0]))
        out.append({n: batch[n][:take] for n in names})
        seen += take
    return out


def source_index(model):
    return [model.modality_names.index(n) for n in model.sources]


def factors(model, x):
    """Per source, the encoder's raw Gaussian (loc, scale) -- r_m in kmvae's parameterisation,
    the belief itself in the paper's (`beliefs="encoder"`)."""
    out = []
    for m in source_index(model):
        encoder = shared_encoder(model, m)
        f = encoder(x[m]).distribution
        out.append((f.loc, f.scale))
    return out


def shared_encoder(model, m):
    if isinstance(model, SharedMSNVI):
        return model.encoders[model.modality_names.index(model.sources[0])]
    return model.encoders[m]


def belief_from_factor(model, loc, scale):
    """The belief (loc, scale) `model` forms from an encoder Gaussian N(loc, scale^2)."""
    if model.beliefs == "encoder":
        return loc, scale
    return belief_parameters(diagonal_normal(loc, scale).distribution)


def only_source(model, mask, m):
    """The mask with source m as the only source present (observations untouched)."""
    one = tf.one_hot(m, model.num_modalities) > 0.5
    keep = tf.logical_or(one[None, :], model._is_observation)
    return tf.logical_and(mask, keep)


def kl_to_prior(loc, scale):
    return 0.5 * tf.reduce_sum(tf.square(loc) + tf.square(scale) - 1.0
                               - 2.0 * tf.math.log(scale), axis=-1)


def diagnose(model, batches, num_samples=16, rescale=True, label=""):
    """Per-source diagnostics; with `rescale`, also -L(ind) of each source alone with its
    encoder's precision rho_m multiplied by c in SCALES (the belief formed from it as the model
    forms its beliefs)."""
    idx = source_index(model)
    acc = {}

    def add(key, value):
        acc.setdefault(key, []).append(np.asarray(value))

    for batch in batches:
        x, mask = model.prepare_batch(batch)
        locs, scales = model.experts(x)
        add("L(ind) all", -model.source_bound(x, mask, locs, scales, num_samples, False))
        add("L(moe) all", -model.source_bound(x, mask, locs, scales, num_samples, True))
        add("L(poe)", -model.poe_bound(x, mask, locs, scales, num_samples))
        prior_locs, prior_scales = tf.zeros_like(locs), tf.ones_like(scales)
        for j, (m, (r_loc, r_scale)) in enumerate(zip(idx, factors(model, x))):
            name = model.modality_names[m]
            mask_m = only_source(model, mask, m)
            add(f"{name} KL(q||p)", kl_to_prior(locs[:, m], scales[:, m]))
            add(f"{name} mean log-precision", tf.reduce_mean(-2 * tf.math.log(scales[:, m]), -1))
            add(f"{name} median rho=1/s^2", tf.reduce_mean(1.0 / tf.square(r_scale), -1))
            add(f"{name} -L(ind) prior proposal",
                -model.source_bound(x, mask_m, prior_locs, prior_scales, num_samples, False))
            factor_scales = SCALES if rescale else (1.0,)
            for c in factor_scales:
                rho = c / tf.square(r_scale)
                new_loc, new_scale = belief_from_factor(model, r_loc, tf.math.rsqrt(rho))
                l2 = tf.tensor_scatter_nd_update(
                    tf.transpose(locs, [1, 0, 2]), [[m]], new_loc[None])
                s2 = tf.tensor_scatter_nd_update(
                    tf.transpose(scales, [1, 0, 2]), [[m]], new_scale[None])
                l2, s2 = tf.transpose(l2, [1, 0, 2]), tf.transpose(s2, [1, 0, 2])
                add(f"{name} -L(ind) rho x{c:g}",
                    -model.source_bound(x, mask_m, l2, s2, num_samples, False))
    print(f"\n=== {label}")
    for key, parts in acc.items():
        values = np.concatenate([np.ravel(p) for p in parts])
        stat = np.median(values) if "median" in key else np.mean(values)
        print(f"  {key:40s} {stat:10.3f}")


# ----------------------------------------------------------------------------- variants
class SharedMSNVI(MSNVI):
    """kmvae's parameterisation, one encoder (source_0's) for every noisy source."""

    def _source_belief(self, m, x_m, training=False):
        return super()._source_belief(self.modality_names.index(self.sources[0]), x_m,
                                      training)


# name -> (class, options added to the recipe's)
VARIANTS = {"kmvae": (MSNVI, {}), "paper_soft": (MSNVI, {"beliefs": "encoder"}),
            "shared": (SharedMSNVI, {})}


class SourceProbe(keras.callbacks.Callback):
    def __init__(self, batch):
        super().__init__()
        self.batch = batch

    def on_epoch_end(self, epoch, logs=None):
        x, mask = self.model.prepare_batch(self.batch)
        locs, scales = self.model.experts(x)
        kls = [float(tf.reduce_mean(kl_to_prior(locs[:, m], scales[:, m])))
               for m in source_index(self.model)]
        logp = [float(tf.reduce_mean(-2 * tf.math.log(scales[:, m])))
                for m in source_index(self.model)]
        print(f"    epoch {epoch + 1}: bound {logs.get('bound', float('nan')):.2f}  "
              f"KL(q_m||p) per source {[round(v, 1) for v in kls]}  "
              f"mean log-precision {[round(v, 2) for v in logp]}", flush=True)


def part_b(epochs, seeds, variants, examples):
    recipe = recipes.load("msnvi_mnist_no_poe")
    for variant in variants:
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            cls, extra = VARIANTS[variant]
            options = {**recipe.model_options, **extra}
            model = cls(recipe.modalities(), recipe.latent_dim, seed=seed, **options)
            model.compile(optimizer=recipe.make_optimizer())
            train = recipe.load_data("train", seed=seed)
            probe = test_batches(recipe, model.modality_names, 500, split="validation")
            probe = {n: tf.concat([b[n] for b in probe], 0) for n in model.modality_names}
            print(f"\n--- {variant}, seed {seed}, {epochs} epochs", flush=True)
            start = time.time()
            model.fit(train, epochs=epochs, callbacks=[SourceProbe(probe)], verbose=0)
            print(f"    trained in {time.time() - start:.0f} s")
            batches = test_batches(recipe, model.modality_names, examples)
            diagnose(model, batches, rescale=(variant != "paper_soft"),
                     label=f"{variant}, seed {seed}, after {epochs} epochs "
                           f"(rho rescaling {'skipped' if variant == 'paper_soft' else 'on'})")


def part_a(runs, examples, runs_dir=RUNS):
    for run in runs:
        path = f"{runs_dir}/{run}/1/model.keras"
        model = keras.saving.load_model(path)
        recipe = recipes.load(run)
        batches = test_batches(recipe, list(model.modality_names), examples)
        diagnose(model, batches, label=f"archived {run} ({examples} test examples)")


def part_c(runs, out, epochs=None):
    """Each recipe of `runs` trained, evaluated and saved as `kmvae train` would
    (`kmvae.train.run`, under `out`), with the paper's beliefs (`beliefs="encoder"`), then
    Table 1's three bounds and each source's linear-probe accuracy beside the archived run's."""
    import dataclasses
    import json
    from pathlib import Path

    from kmvae.train import run as train_run
    archive = Path(__file__).resolve().parents[1] / "reproduction"
    for name in runs:
        recipe = recipes.load(name)
        recipe = dataclasses.replace(
            recipe, model_options={**recipe.model_options, "beliefs": "encoder"})
        metrics = train_run(recipe, out=out, epochs=epochs)
        archived = json.loads((archive / f"{name}.json").read_text())
        print(f"\n== {name}, beliefs='encoder', {metrics['epochs']} epochs, "
              f"train {metrics['train_seconds']:.0f} s (archived: {archived['epochs']} epochs, "
              f"kmvae's beliefs)")
        for key in ("msnvi_bounds", "latent_probe"):
            for cell, value in metrics[key].items():
                if key == "latent_probe" and "," in cell:
                    continue
                print(f"  {cell:12s} {value:9.3f}   archived {archived[key][cell]:9.3f}")
        selection = metrics.get("selection", {})
        print(f"  selected epoch {selection.get('selected_epoch')}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=("A", "B", "AB", "C"), default="A")
    parser.add_argument("--runs", nargs="+", default=None,
                        help="recipes; part A's default msnvi_mnist_no_poe and "
                             "msnvi_mnist_no_hybrid, part C's msnvi_mnist_no_poe")
    parser.add_argument("--runs-dir", default=RUNS, help="the runs/ folder of `kmvae train --out`")
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=None,
                        help="part B: epochs per variant (default 8); part C: override the "
                             "recipe's")
    parser.add_argument("--out", default="/work/runs-experiments",
                        help="part C: the output folder of the runs (as `kmvae train --out`)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    args = parser.parse_args()
    if "A" in args.part:
        part_a(args.runs or ["msnvi_mnist_no_poe", "msnvi_mnist_no_hybrid"], args.examples,
               args.runs_dir)
    if "B" in args.part:
        part_b(args.epochs or 8, args.seeds, args.variants, min(args.examples, 500))
    if args.part == "C":
        part_c(args.runs or ["msnvi_mnist_no_poe"], args.out, args.epochs)


if __name__ == "__main__":
    main()
