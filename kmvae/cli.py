"""The `kmvae` command: `kmvae train RECIPE`, `kmvae evaluate RUN_DIR_OR_RECIPE`,
`kmvae export RUN_DIR_OR_RECIPE`, `kmvae reproduce NAME ...`, `kmvae recipes`,
`kmvae data fetch NAME`.

A user's mistake (an unknown recipe, a bad option value, a run or data set that does not exist)
ends with exit status 2 and one line on stderr saying how to fix it; anything unexpected keeps
its traceback.
"""

import argparse
import json
import os
import sys


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (`kmvae train: error: ...; see kmvae train --help`)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`.\n")


def _at_least(low, kind=int):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            expected = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {expected}, received {text!r}") from None
        if not value >= low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, received {text}")
        return value
    return parse


def _positive_float(text):
    value = _at_least(0.0, float)(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be > 0, received {text}")
    return value


def _evaluation_options(command):
    """The options of the evaluation, shared by `kmvae train` and `kmvae evaluate`."""
    command.add_argument("--eval-examples", type=_at_least(1),
                         help="estimate log-likelihoods on at most this many test examples")
    command.add_argument("--num-samples", type=_at_least(1),
                         help="importance samples K for the log-likelihoods (default: recipe's)")
    command.add_argument("--coherence-examples", type=_at_least(1),
                         help="conditional coherence on at most this many test examples "
                              "(default: all)")
    command.add_argument("--oracle-epochs", type=_at_least(1),
                         help="training epochs of a coherence classifier not in the cache yet "
                              "(default: 10)")
    command.add_argument("--oracle-dir", help="cache of the coherence classifiers "
                                              "(default: ~/.kmvae/oracles)")


def _parser():
    parser = _Parser(prog="kmvae", description="Multimodal VAEs for Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser(
        "train", help="train, evaluate, save and export a recipe; a rerun resumes an "
                      "interrupted run")
    train.add_argument("recipe", help="a recipe name (see `kmvae recipes`)")
    train.add_argument("--epochs", type=_at_least(1),
                       help="override the recipe's epochs (the KL warm-up keeps its share)")
    train.add_argument("--batch-size", type=_at_least(1), help="override the recipe's")
    train.add_argument("--learning-rate", type=_positive_float, help="override the recipe's")
    train.add_argument("--seed", type=_at_least(0),
                       help="seed weights, training noise and data order (default: unseeded)")
    train.add_argument("--distribute", choices=("mirrored", "multi_worker"),
                       help="train under tf.distribute: 'mirrored' on this machine's GPUs (else "
                            "its logical CPU devices), 'multi_worker' on the cluster in "
                            "TF_CONFIG (start the same command on every worker); the global "
                            "batch is the recipe's")
    train.add_argument("--mixed-precision", choices=("float16", "bfloat16"),
                       help="train under Keras' mixed_float16 / mixed_bfloat16 policy")
    train.add_argument("--out", default=".",
                       help="output directory for runs/ and saved_models/ (default: .)")
    train.add_argument("--overwrite", action="store_true",
                       help="train again in the newest run's directory, discarding it "
                            "(default: a finished run is kept and a new one is written)")
    _evaluation_options(train)
    train.add_argument("--no-evaluate", action="store_true",
                       help="train, save and export only; `kmvae evaluate` computes the metrics "
                            "later into the same metrics.json")
    train.add_argument("--quiet", action="store_true", help="no per-epoch output")

    evaluate = commands.add_parser(
        "evaluate", help="compute the metrics of a trained recipe, write metrics.json and PNGs")
    evaluate.add_argument("run", metavar="RUN_DIR_OR_RECIPE",
                          help="a run directory holding model.keras, or a recipe name "
                               "(then its newest trained run under OUT/runs/RECIPE/)")
    _evaluation_options(evaluate)
    evaluate.add_argument("--out", default=".",
                          help="the --out of `kmvae train`, for a recipe name (default: .)")
    evaluate.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    evaluate.add_argument("--plots-only", action="store_true",
                          help="draw the PNG figures again, keep the metrics in metrics.json")
    evaluate.add_argument("--quiet", action="store_true", help="no progress output")
    evaluate.add_argument("--metrics", nargs="+", metavar="METRIC",
                          help="compute only these metrics again (e.g. coherence), with the "
                               "evaluation settings metrics.json records; the others stay")
    evaluate.add_argument("--last-epoch", action="store_true",
                          help="evaluate the last epoch's model (last.keras) of a run with "
                               "model selection, not the selected one; its metrics go under "
                               "\"last_epoch\" in metrics.json, no figures")
    evaluate.add_argument("--in-progress", action="store_true",
                          help="evaluate an unfinished run (training, or stopped) without "
                               "ending it: the model selected so far, written to "
                               "RUN/interim/metrics.json")

    export = commands.add_parser(
        "export", help="export a trained run as the next SavedModel version for TF Serving")
    export.add_argument("run", metavar="RUN_DIR_OR_RECIPE",
                        help="a run directory holding model.keras, or a recipe name (its newest "
                             "trained run)")
    export.add_argument("--out", default=".",
                        help="the --out of `kmvae train`: runs/ are read there and the export "
                             "goes to OUT/saved_models/RECIPE/<version>/ (default: .)")

    reproduce = commands.add_parser(
        "reproduce", help="train (or resume), evaluate and archive recipes at the papers' "
                          "settings, then regenerate REPRODUCTION.md (in a source checkout "
                          "only)")
    reproduce.add_argument("names", nargs="*", metavar="NAME", help="recipe names")
    reproduce.add_argument("--all", action="store_true",
                           help="every recipe behind REPRODUCTION.md")
    reproduce.add_argument("--out", default="runs-paper",
                           help="output directory of the runs (default: runs-paper)")
    reproduce.add_argument("--dry-run", action="store_true",
                           help="train nothing: say what each recipe would do (skip, resume, "
                                "train) and about how long, from the archived runs' times")
    _evaluation_options(reproduce)

    commands.add_parser("recipes", help="list the recipes")

    data = commands.add_parser("data", help="data sets")
    data_commands = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    fetch = data_commands.add_parser(
        "fetch", help="fill the local IDX directory on a machine without internet")
    fetch.add_argument("name", choices=("mnist", "fashion_mnist"))
    fetch.add_argument("--data-dir", help="default: $KMVAE_DATA_DIR or ~/.kmvae/data")
    return parser


def main(argv=None):
    """Runs the `kmvae` command; returns its exit status (2 for a user's mistake)."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from kmvae.errors import UsageError
    try:
        return _run(args)
    except UsageError as error:
        print(f"kmvae {args.command}: error: {error}", file=sys.stderr)
        return 2


def _run(args):
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
    if args.command == "reproduce":
        from kmvae import recipes, reproduction
        from kmvae.errors import UsageError
        report = reproduction.load()                      # only in a source checkout
        if bool(args.names) == args.all:
            raise UsageError("name recipes to reproduce, or pass --all (not both).")
        names = recipes.list() if args.all else args.names
        for name in names:
            recipes.load(name)              # an unknown name fails before any training
        if args.dry_run:
            planned = report.plan(names, out=args.out)
            for row in planned:
                cost = ("" if row["hours"] is None else f"about {row['hours']:.2f} h, ")
                print(f"{row['name']}: {row['action']}: {row['detail']}; {cost}{row['basis']}")
            known = [row["hours"] for row in planned if row["hours"] is not None]
            print(f"In all about {sum(known):.1f} h for {len(known)} of {len(planned)} "
                  f"recipes, at the archived runs' speed (a run to resume: its own); one "
                  f"training at a time.")
            return 0
        reproduce = report.reproduce
        options = {k: getattr(args, k) for k in ("eval_examples", "num_samples",
                                                 "coherence_examples", "oracle_epochs",
                                                 "oracle_dir") if getattr(args, k) is not None}
        for name, run_dir, what in reproduce(names, out=args.out, **options):
            print(f"{name}: {what} ({run_dir})")
        return 0
    if args.command == "export":
        from kmvae.export import export_run
        print(export_run(args.run, out=args.out))
        return 0
    if args.command == "evaluate" and args.plots_only:
        if args.no_plots or args.in_progress or args.last_epoch:
            from kmvae.errors import UsageError
            raise UsageError("--plots-only excludes --no-plots, --in-progress and "
                             "--last-epoch; pass one.")
        from kmvae.evaluate import redraw_plots
        print(json.dumps(redraw_plots(args.run, out=args.out), indent=2))
        return 0
    if args.command == "evaluate":
        from kmvae.evaluate import evaluate, evaluate_in_progress, format_table
        if args.in_progress and (args.metrics is not None or args.last_epoch):
            from kmvae.errors import UsageError
            raise UsageError("--in-progress excludes --metrics and --last-epoch: it evaluates "
                             "every metric of the model selected so far.")
        only = {} if args.metrics is None else {"only": args.metrics}
        if args.last_epoch:
            only["last_epoch"] = True
        result = (evaluate_in_progress if args.in_progress else evaluate)(
                          args.run, num_samples=args.num_samples,
                          eval_examples=args.eval_examples, out=args.out,
                          oracle_dir=args.oracle_dir, plots=not args.no_plots,
                          verbose=not args.quiet, coherence_examples=args.coherence_examples,
                          oracle_epochs=args.oracle_epochs, **only)
        if args.last_epoch:
            last = result["last_epoch"]
            print(f"{result['recipe']}: the last epoch's model (epoch {last['epoch']}, "
                  f"last.keras)\n{format_table(last)}")
        else:
            print(format_table(result))
        return 0
    from kmvae.evaluate import headline_table
    from kmvae.train import run
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)
    result = run(args.recipe, epochs=args.epochs, mixed_precision=args.mixed_precision,
                 out=args.out, eval_examples=args.eval_examples, num_samples=args.num_samples,
                 oracle_dir=args.oracle_dir, evaluate=not args.no_evaluate,
                 verbose=verbose, coherence_examples=args.coherence_examples,
                 oracle_epochs=args.oracle_epochs, seed=args.seed, batch_size=args.batch_size,
                 learning_rate=args.learning_rate, overwrite=args.overwrite,
                 distribute=args.distribute, log=(lambda *a: None) if args.quiet else print)
    if "worker" in result:
        print(f"worker {result['worker']}: trained; the chief writes the run directory")
        return 0
    print(headline_table(result))
    print(f"run directory: {result['run_dir']} (metrics.json holds every metric); "
          f"SavedModel: {result['saved_model']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
