"""The entry point of the reproduction report, which lives in the source checkout.

REPRODUCTION.md, its generator (`reproduction/report.py`) and the archived metrics it is built
from (`docs/reproduction/`) belong to the repository, not to the installed package; the
papers' numbers are the recipes' targets (`kmvae.recipes.targets`). From a checkout:

    python -m kmvae.reproduction --runs runs-paper      # archive the runs, write REPRODUCTION.md
    kmvae reproduce mvae_mnist --out runs-paper          # train, evaluate, archive, write it

Installed from a wheel, both stop with `kmvae.errors.CheckoutRequiredError`.
"""

import importlib.util
import sys

from kmvae import checkout
from kmvae.errors import CheckoutRequiredError

PACKAGE = "reproduction"       # the checkout's folder holding the report generator


def load():
    """The checkout's report generator, the module `reproduction.report` of the checkout this
    kmvae is imported from (`kmvae.checkout.root()`), with `build`, `archive_runs`,
    `reproduce` and `main`.

    Raises:
        CheckoutRequiredError (a FileNotFoundError): kmvae is installed from a wheel, or the
            checkout has no `reproduction/` folder; the message says what to do instead.
    """
    root = checkout.root()
    folder = None if root is None else root / PACKAGE
    if folder is None or not (folder / "report.py").is_file():
        raise CheckoutRequiredError(
            "the reproduction report (REPRODUCTION.md, its generator reproduction/report.py and "
            "the archive docs/reproduction/) is part of kmvae's source checkout, not of the "
            "installed package; run this from a clone of the repository installed with "
            "`pip install -e .`. Installed, `kmvae train RECIPE` and `kmvae evaluate RECIPE` "
            "train and evaluate a recipe, and `kmvae.recipes.targets(RECIPE)` gives the "
            "paper's numbers.")
    module = sys.modules.get(PACKAGE)
    if module is None or [str(p) for p in getattr(module, "__path__", [])] != [str(folder)]:
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]           # another checkout's, or another `reproduction`
        spec = importlib.util.spec_from_file_location(
            PACKAGE, folder / "__init__.py", submodule_search_locations=[str(folder)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{PACKAGE}.report")


def main(argv=None):
    """`python -m kmvae.reproduction`: the checkout's `reproduction.report.main` (archives the
    runs of `--runs`, writes `--output`); returns its exit status, 2 outside a checkout."""
    try:
        report = load()
    except CheckoutRequiredError as error:
        print(f"python -m kmvae.reproduction: error: {error}", file=sys.stderr)
        return 2
    return report.main(argv)
