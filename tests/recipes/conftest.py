"""The recipe tests read the recipes of this checkout.

Installed in editable mode, `kmvae.recipes.catalog` is the `recipes/` folder of the checkout
that was installed, which need not be the one under test (a git worktree shares the
installation of the main checkout). Before any test loads a recipe, the catalog package is
pointed at the `recipes/` folder next to these tests, as `kmvae.recipes._catalog` does when
kmvae is not installed; in the installed checkout itself nothing changes.
"""

import importlib.util
import sys
from pathlib import Path

CATALOG = "kmvae.recipes.catalog"
FOLDER = Path(__file__).resolve().parents[2] / "recipes"


def _use_checkout_catalog():
    module = sys.modules.get(CATALOG)
    if module is not None and [Path(p).resolve() for p in module.__path__] == [FOLDER]:
        return
    for name in [n for n in sys.modules if n == CATALOG or n.startswith(CATALOG + ".")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        CATALOG, FOLDER / "__init__.py", submodule_search_locations=[str(FOLDER)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[CATALOG] = module
    spec.loader.exec_module(module)


_use_checkout_catalog()
