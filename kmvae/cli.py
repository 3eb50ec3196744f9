"""The `kmvae` command: `kmvae train RECIPE`, `kmvae evaluate RUN_DIR_OR_RECIPE`, `kmvae recipes`,
`kmvae data fetch NAME`."""

import argparse
import json
import os
import sys


def _evaluation_options(command):
    """The options of the evaluation, shared by `kmvae train` and `kmvae evaluate`."""
    command.add_argument("--eval-examples", type=int,
                         help="estimate log-likelihoods on at most this many test examples")
    command.add_argument("--num-samples", type=int,
                         help="importance samples K for the log-likelihoods (default: recipe's)")
    command.add_argument("--coherence-examples", type=int,
                         help="conditional coherence on at most this many test examples "
                              "(default: all)")
    command.add_argument("--oracle-epochs", type=int,
                         help="training epochs of a coherence classifier not in the cache yet "
                              "(default: 10)")
    command.add_argument("--oracle-dir", help="cache of the coherence classifiers "
                                              "(default: ~/.kmvae/oracles)")


def _parser():
    parser = argparse.ArgumentParser(prog="kmvae", description="Multimodal VAEs for Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train, evaluate, save and export a recipe")
    train.add_argument("recipe", help="a recipe name (see `kmvae recipes`)")
    train.add_argument("--epochs", type=int, help="override the recipe's epochs (the KL warm-up keeps its share)")
    train.add_argument("--mixed-precision", choices=("float16", "bfloat16"),
                       help="train under Keras' mixed_float16 / mixed_bfloat16 policy")
    train.add_argument("--out", default=".",
                       help="output directory for runs/ and saved_models/ (default: .)")
    _evaluation_options(train)
    train.add_argument("--no-evaluate", action="store_true",
                       help="train, save and export only; `kmvae evaluate` computes the metrics "
                            "later into the same metrics.json")
    train.add_argument("--quiet", action="store_true", help="no per-epoch output")

    evaluate = commands.add_parser(
        "evaluate", help="compute the metrics of a trained recipe, write metrics.json and PNGs")
    evaluate.add_argument("run", metavar="RUN_DIR_OR_RECIPE",
                          help="a run directory holding model.keras, or a recipe name "
                               "(then OUT/runs/RECIPE/)")
    _evaluation_options(evaluate)
    evaluate.add_argument("--out", default=".",
                          help="the --out of `kmvae train`, for a recipe name (default: .)")
    evaluate.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    evaluate.add_argument("--plots-only", action="store_true",
                          help="draw the PNG figures again, keep the metrics in metrics.json")
    evaluate.add_argument("--quiet", action="store_true", help="no progress output")

    commands.add_parser("recipes", help="list the recipes")

    data = commands.add_parser("data", help="data sets")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    fetch = data_commands.add_parser(
        "fetch", help="fill the local IDX directory on a machine without internet")
    fetch.add_argument("name", choices=("mnist", "fashion_mnist"))
    fetch.add_argument("--data-dir", help="default: $KMVAE_DATA_DIR or ~/.kmvae/data")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.command == "recipes":
        from kmvae import recipes
        for name in recipes.list():
            recipe = recipes.load(name)
            print(f"{name:24s} {recipe.description}")
        return 0
    if args.command == "data":
        from kmvae.datasets import fetch
        print(fetch(args.name, data_dir=args.data_dir))
        return 0
    if args.command == "evaluate" and args.plots_only:
        if args.no_plots:
            raise SystemExit("kmvae evaluate: --plots-only and --no-plots exclude each other.")
        from kmvae.evaluate import redraw_plots
        print(json.dumps(redraw_plots(args.run, out=args.out), indent=2))
        return 0
    if args.command == "evaluate":
        from kmvae.evaluate import evaluate, format_table
        result = evaluate(args.run, num_samples=args.num_samples,
                          eval_examples=args.eval_examples, out=args.out,
                          oracle_dir=args.oracle_dir, plots=not args.no_plots,
                          verbose=not args.quiet, coherence_examples=args.coherence_examples,
                          oracle_epochs=args.oracle_epochs)
        print(format_table(result))
        return 0
    from kmvae.train import run
    result = run(args.recipe, epochs=args.epochs, mixed_precision=args.mixed_precision,
                 out=args.out, eval_examples=args.eval_examples, num_samples=args.num_samples,
                 oracle_dir=args.oracle_dir, evaluate=not args.no_evaluate,
                 verbose=0 if args.quiet else 2, coherence_examples=args.coherence_examples,
                 oracle_epochs=args.oracle_epochs)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
