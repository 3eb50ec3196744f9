"""What the importance-sampling part of `kmvae.evaluate.compute_metrics` costs for an MVAE
recipe with a (source, target) pair, MVAE Tables 2-5 (e.g. `mvae_fashion_mnist`: image, label):
timed on a few test examples of a freshly built (untrained: the cost does not depend on the
weights) recipe model, in seconds per example, and extrapolated to the whole test split.

    python benchmarks/mvae_eval.py mvae_fashion_mnist --examples 50

The estimates the evaluation needs: `log p(x)` and `log p(x, y)` with the proposals `q(z | x)`
and `q(z | x, y)` (Tables 2-5), and the subset log-likelihoods `log p(x, y)` with `q(z | x)`,
`q(z | y)` and `q(z | x, y)`; K = the recipe's `eval_num_samples`.

- "one pass per estimate": five `importance_sampling` calls, one per distinct estimate (what
  `compute_metrics` did before it shared draws);
- "one pass per proposal": three `importance_sampling_sets` calls, each set of draws scored for
  `log p(x)` and `log p(x, y)` at once (what `compute_metrics` does).

The two orders alternate over `--repeats` rounds; the figure is each one's median. Run it alone
on the machine for figures that mean anything; it prints the load average it saw.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kmvae import datasets, metrics, recipes  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("recipe", nargs="?", default="mvae_fashion_mnist")
    parser.add_argument("--examples", type=int, default=50, help="test examples timed")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()}")
    recipe = recipes.load(args.recipe)
    model = recipe.build_model(seed=0)
    source, target = recipe.source, recipe.target
    pair = [source, target]
    k = recipe.eval_num_samples
    test_size = datasets.num_examples(recipe.dataset, "test")
    batch = next(iter(datasets.load(recipe.dataset, "test", batch_size=args.examples,
                                    **recipe.dataset_options)))
    batch = {n: batch[n] for n in pair}

    def per_estimate():
        for modalities, proposal in (([source], [source]), (pair, [source]),
                                     ([source], pair), (pair, pair), (pair, [target])):
            metrics.importance_sampling(model, batch, modalities, proposal, k)

    def per_proposal():
        for proposal in ([source], pair):
            metrics.importance_sampling_sets(model, batch, [[source], pair], proposal, k)
        metrics.importance_sampling_sets(model, batch, [pair], [target], k)

    pieces = {"one pass per estimate (5 passes)": per_estimate,
              "one pass per proposal (3 passes)": per_proposal}
    for function in pieces.values():
        function()                                       # tracing, first-call costs
    seconds = {name: [] for name in pieces}
    for round_ in range(args.repeats):
        for name in (list(pieces) if round_ % 2 == 0 else list(pieces)[::-1]):
            start = time.perf_counter()
            pieces[name]()
            seconds[name].append(time.perf_counter() - start)
    print(f"{args.recipe}: K = {k}, {args.examples} test examples, medians of {args.repeats}")
    for name, values in seconds.items():
        per = statistics.median(values) / args.examples
        print(f"{name:<36s} {per:8.4f} s/example x {test_size:>5} = {per * test_size:8.1f} s "
              f"(rounds: {', '.join(f'{v:.1f}' for v in values)} s)", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
