"""What `kmvae.evaluate.compute_metrics` costs on PolyMNIST (MoPoE Figure 3's recipes): each
piece timed on a few test examples of a freshly built (untrained: the cost does not depend on the
weights) recipe model, in seconds per example, and extrapolated to the whole test split and to
`--eval-examples N`.

    python benchmarks/polymnist_eval.py mopoe_polymnist --examples 32 --eval-examples 100

Pieces: the MVAE Tables 2-5 estimates for a pair (m0, m1) (`log p(m1)` over 5,000 prior draws
and four K-sample estimates; skipped for the PolyMNIST recipes now), MoPoE's 31 subset
log-likelihoods (K = the recipe's `eval_num_samples`), conditional coherence and the probe's
encodings (the encoders run once per batch for all subsets; "per subset" is the former one
`encode` per subset), the 31 logistic regressions of the probe, one oracle epoch, joint
coherence. Run it alone on the machine for figures that mean anything; it prints the load
average it saw.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kmvae import datasets, metrics, recipes  # noqa: E402
from kmvae.subsets import nonempty_subsets  # noqa: E402
from kmvae.metrics.subsets import paper_subset_model, subset_posteriors  # noqa: E402


def timed(function, repeats=1):
    function()                                   # tracing, first-call costs
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("recipe", nargs="?", default="mopoe_polymnist")
    parser.add_argument("--examples", type=int, default=32, help="test examples timed")
    parser.add_argument("--eval-examples", type=int, default=100)
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()}")
    recipe = recipes.load(args.recipe)
    model = recipe.build_model()
    evaluated = paper_subset_model(model)
    names = list(model.modality_names)
    k = recipe.eval_num_samples
    test_size = datasets.num_examples(recipe.dataset, "test")
    n = args.examples
    batch = next(iter(datasets.load(recipe.dataset, "test", batch_size=n,
                                    **recipe.dataset_options)))
    subsets = [[names[i] for i in s] for s in nonempty_subsets(len(names))]
    rows = []

    def row(piece, seconds, examples):
        per = seconds / n
        rows.append((piece, per, examples, per * examples))
        print(f"{piece:<48s} {per:8.4f} s/example x {examples:>5} = {per * examples:8.1f} s",
              flush=True)

    row("MVAE pair: log p(m1), 5000 prior draws", timed(lambda: metrics.log_prior_predictive(
        model, batch, ["m1"], 5000).numpy()), test_size)
    row(f"MVAE pair: 4 estimates, K = {k}", timed(lambda: [
        metrics.importance_sampling(model, batch, m, q, k)
        for q in (["m0"], ["m0", "m1"]) for m in (["m0"], ["m0", "m1"])]), test_size)
    subset_ll = timed(lambda: [metrics.importance_sampling(evaluated, batch, names, s, k)
                               for s in subsets])
    row(f"31 subset log-likelihoods, K = {k}", subset_ll, test_size)
    row(f"31 subset log-likelihoods, --eval-examples", subset_ll, min(args.eval_examples,
                                                                        test_size))
    targets = {tuple(s): [t for t in names if t not in s] for s in subsets if len(s) < 5}
    row("coherence generations, encode per subset", timed(lambda: [
        evaluated.translate({m: batch[m] for m in s}, targets=list(t), sample=True)
        for s, t in targets.items()]), test_size)

    def shared():
        for s, q in subset_posteriors(evaluated, batch, [list(s) for s in targets]):
            z = q.sample()
            for t in targets[tuple(s)]:
                evaluated.decoders[names.index(t)].mean(z).numpy()
    row("coherence generations, shared experts", timed(shared), test_size)
    oracle = metrics.coherence.encoder_oracle(model, names[0], 10)     # compute_metrics' oracle
    row("oracle labels of the generations (75 per ex.)", timed(
        lambda: [oracle(batch[names[0]]).numpy() for _ in range(75)]), test_size)
    row("probe codes, encode per subset", timed(lambda: [
        evaluated.encode({m: batch[m] for m in s}).mean().numpy() for s in subsets]),
        test_size + 500)
    row("probe codes, shared experts", timed(lambda: [
        q.mean().numpy() for _, q in subset_posteriors(evaluated, batch, subsets)]),
        test_size + 500)
    rng = np.random.default_rng(0)
    z_train, y_train = rng.normal(size=(500, model.latent_dim)), rng.integers(0, 10, 500)
    z_test, y_test = rng.normal(size=(test_size, model.latent_dim)), rng.integers(0, 10, test_size)
    start = time.perf_counter()
    metrics.probe_accuracy(z_train, y_train, z_test, y_test)
    fit = time.perf_counter() - start
    print(f"{'31 logistic regressions (500 x 512)':<48s} {31 * fit:8.1f} s", flush=True)
    train = datasets.load(recipe.dataset, "train", batch_size=100, **recipe.dataset_options)
    pairs = train.map(lambda b: (b[names[0]], b["label"]))
    oracle.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    start = time.perf_counter()
    oracle.fit(pairs, epochs=1, verbose=0)
    epoch = time.perf_counter() - start
    print(f"{'oracle: 1 epoch; x 10 epochs x 5 modalities':<48s} {epoch:8.1f} s  "
          f"{50 * epoch:8.1f} s (cached afterwards)", flush=True)
    start = time.perf_counter()
    model.generate(1000)
    print(f"{'joint coherence: 1000 prior draws decoded':<48s} "
          f"{time.perf_counter() - start:8.1f} s", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
