"""M2VAE Table 1 (e-MNIST): why kmvae's ordering of the three models is JMVAE-Zero > tVAE >
M2VAE, the paper's reversed; a diagnostic behind REPRODUCTION.md's M2VAE section
(`python docs/experiments/m2vae_orderings.py`, from a checkout with kmvae installed).

Short runs (default 5 epochs, as the archived 5-epoch runs of commit faa043f) of the recipes
with one change each, then eq. 12 per encoder, split into its terms:
    L_S = E_q(z|S)[log p(a|z)] + E_q(z|S)[log p(b|z)] - KL(q(z|S) || N(0, I))
(nats per example; K = 100 samples, the first 1,000 test examples: the archived 5-epoch
protocol), the IWAE bound with the same proposal, the closed-form KL(q(z|a,b) || q(z|a)),
KL(q(z|a,b) || q(z|b)), KL(q(z|a) || q(z|b)) and the mean posterior scale of each encoder.

Configurations (`--configs`, default the first four; `all` for every one):
  m2vae              the recipe m2vae_emnist as is (betas a, b 3.92; a,b 7.84; alpha 0.01);
  m2vae_equal_beta   the same with beta 3.92 for the pair too;
  m2vae_alpha1       the recipe's betas, alpha = 1 (strong mutual-KL coupling);
  jmvae_zero_noaug   jmvae_zero_emnist without its single-modality copies (augment=False);
  jmvae_zero, tvae, m2vae_beta1, jmvae_zero_beta1, tvae_beta1   (not run yet).

Run on 2026-12-04 21:07-21:13 UTC (2 cores, nothing else running), the default core set, seed 0;
its output is docs/experiments/m2vae_orderings.json (written then to /work, its "out"). Eq. 12,
L_a,b / L_a / L_b:
- m2vae: -463.3 / -511.9 / -468.0 (the archived 5-epoch run: -463.6 / -517.9 / -464.6);
- m2vae_equal_beta: -458.6 / -512.1 / -466.4: the pair's beta of 7.84 costs about 5 nats of
  L_a,b (JMVAE-Zero at 5 epochs: -456.7);
- m2vae_alpha1: -462.9 / -494.4 / -463.5: the weak coupling costs about 18 nats of L_a (test
  mutual KL 2.4 against 8.6);
- jmvae_zero_noaug: -454.1 / -792.3 / -519.6: the paper's pattern, L_a far below L_a,b, so
  kmvae's JMVAE-Zero leads the unimodal columns because its copies train eq. 12 itself.
About 30-40 s of training per configuration at 5 epochs; if ~/.kmvae/data/cache holds no
e-MNIST CVAEs yet, the first load trains them (about 2 CPU minutes each, once; then cached).
"""

import argparse
import dataclasses
import json
import math
import time

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae import recipes

tfd = tfp.distributions
B = 0.01 * 784 / 2          # 3.92: the recipes' unimodal beta*

# name -> (recipe, model_options overrides)
CONFIGS = {
    # core
    "m2vae": ("m2vae_emnist", {}),                         # recipe: beta a, b 3.92; a,b 7.84
    "m2vae_equal_beta": ("m2vae_emnist", {"betas": {"a": B, "b": B, "a,b": B}}),
    "m2vae_alpha1": ("m2vae_emnist", {"alpha": 1.0}),      # recipe betas, strong coupling
    "jmvae_zero_noaug": ("jmvae_zero_emnist", {"augment": False}),
    # extra ("--configs all")
    "jmvae_zero": ("jmvae_zero_emnist", {}),
    "tvae": ("tvae_emnist", {}),
    "m2vae_beta1": ("m2vae_emnist", {"betas": {"a": 1.0, "b": 1.0, "a,b": 1.0}}),
    "jmvae_zero_beta1": ("jmvae_zero_emnist", {"beta": 1.0}),
    "tvae_beta1": ("tvae_emnist", {"beta": 1.0}),
}
CORE = ["m2vae", "m2vae_equal_beta", "m2vae_alpha1", "jmvae_zero_noaug"]

# Archived 5-epoch runs (faa043f; tVAE 6 epochs), same protocol (K = 100, 1,000 test
# examples): subset_elbo a,b / a / b, and M2VAE's test mutual_kl.
ARCHIVED_5_EPOCHS = {
    "m2vae": {"a,b": -463.59, "a": -517.94, "b": -464.61, "mutual_kl": 8.87},
    "jmvae_zero": {"a,b": -456.66, "a": -456.60, "b": -456.66},
    "tvae (6 epochs)": {"a,b": -465.13, "a": -513.95, "b": -467.82},
}


def eq12_terms(model, test, batches, k):
    """Per encoder S: eq. 12 (elbo), its terms and the IWAE value, nats per example."""
    out = {}
    for proposal in (["a", "b"], ["a"], ["b"]):
        sums = dict(kl=0.0, rec_a=0.0, rec_b=0.0, iwae=0.0)
        n = 0
        for batch in test.take(batches):
            log_prior_ratio, log_lik = model.log_importance_weight_terms(
                batch, num_samples=k, proposal=proposal)        # (K, B), (K, B, 2): a, b
            log_w = log_prior_ratio + tf.reduce_sum(log_lik, axis=-1)
            sums["kl"] -= float(tf.reduce_sum(tf.reduce_mean(log_prior_ratio, axis=0)))
            sums["rec_a"] += float(tf.reduce_sum(tf.reduce_mean(log_lik[..., 0], axis=0)))
            sums["rec_b"] += float(tf.reduce_sum(tf.reduce_mean(log_lik[..., 1], axis=0)))
            sums["iwae"] += float(tf.reduce_sum(tf.reduce_logsumexp(log_w, axis=0)
                                                - math.log(k)))
            n += int(log_w.shape[1])
        row = {key: value / n for key, value in sums.items()}
        row["elbo"] = row["rec_a"] + row["rec_b"] - row["kl"]
        out[",".join(proposal)] = row
    return out


def coherence_terms(model, test, batches):
    """Closed-form KL(q(z|a,b) || q(z|a)), KL(q(z|a,b) || q(z|b)), KL(q(z|a) || q(z|b)) and each
    encoder's mean posterior scale. Subset order of SubsetVAE: {a}, {b}, {a,b}."""
    sums = dict(kl_ab_a=0.0, kl_ab_b=0.0, kl_a_b=0.0, scale_a=0.0, scale_b=0.0, scale_ab=0.0)
    n = 0
    for batch in test.take(batches):
        x, _ = model.prepare_batch(batch)
        locs, scales = model.posterior_parameters(x)             # (B, 3, D)
        q = [tfd.MultivariateNormalDiag(locs[:, i], scales[:, i]) for i in range(3)]
        sums["kl_ab_a"] += float(tf.reduce_sum(tfd.kl_divergence(q[2], q[0])))
        sums["kl_ab_b"] += float(tf.reduce_sum(tfd.kl_divergence(q[2], q[1])))
        sums["kl_a_b"] += float(tf.reduce_sum(tfd.kl_divergence(q[0], q[1])))
        for i, name in enumerate(("scale_a", "scale_b", "scale_ab")):
            sums[name] += float(tf.reduce_sum(tf.reduce_mean(scales[:, i], axis=-1)))
        n += int(locs.shape[0])
    return {key: value / n for key, value in sums.items()}


def run(name, train, test, epochs, batches, k, seed):
    recipe_name, overrides = CONFIGS[name]
    recipe = recipes.load(recipe_name)
    recipe = dataclasses.replace(recipe,
                                 model_options={**recipe.model_options, **overrides})
    keras.utils.set_random_seed(seed)
    model = recipe.build_model(seed=seed)
    start = time.time()
    recipe.fit(model, train, epochs=epochs, verbose=2)
    seconds = time.time() - start
    terms = model.evaluate(test.take(batches), return_dict=True, verbose=0)
    result = {"config": name, "recipe": recipe_name, "overrides": overrides,
              "epochs": epochs, "train_seconds": round(seconds, 1),
              "subset_betas": (model.subset_betas.tolist()
                               if hasattr(model, "subset_betas") else float(model.beta)),
              "test_terms": {key: float(value) for key, value in terms.items()},
              "eq12": eq12_terms(model, test, batches, k),
              "coherence": coherence_terms(model, test, batches)}
    return result


def show(result):
    e, c = result["eq12"], result["coherence"]
    print(f"\n== {result['config']} ({result['train_seconds']} s, betas "
          f"{result['subset_betas']}, test terms {result['test_terms']})")
    print(f"   {'encoder':8s} {'L (eq.12)':>10s} {'rec_a':>9s} {'rec_b':>9s} {'KL':>7s} "
          f"{'IWAE':>9s}")
    for label in ("a,b", "a", "b"):
        r = e[label]
        print(f"   {label:8s} {r['elbo']:10.2f} {r['rec_a']:9.2f} {r['rec_b']:9.2f} "
              f"{r['kl']:7.2f} {r['iwae']:9.2f}")
    print("   KL(q_ab||q_a) {kl_ab_a:.2f}  KL(q_ab||q_b) {kl_ab_b:.2f}  KL(q_a||q_b) {kl_a_b:.2f}"
          "  mean scale a {scale_a:.3f} b {scale_b:.3f} ab {scale_ab:.3f}".format(**c))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", nargs="+", default=CORE,
                        help=f"names among {list(CONFIGS)}, or 'all'")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batches", type=int, default=10, help="test batches of 100")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="m2vae_orderings.json")
    args = parser.parse_args()
    names = list(CONFIGS) if args.configs == ["all"] else args.configs
    train, test = recipes.load("m2vae_emnist").load_data()   # the three recipes share it
    results = []
    for name in names:
        results.append(run(name, train, test, args.epochs, args.batches, args.k, args.seed))
        show(results[-1])
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "archived_5_epochs": ARCHIVED_5_EPOCHS,
                       "results": results}, f, indent=1)
    print("\nArchived 5-epoch references (same protocol):", json.dumps(ARCHIVED_5_EPOCHS))
    print(f"Written to {args.out}")


if __name__ == "__main__":
    main()
