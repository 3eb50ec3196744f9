"""The source checkout kmvae runs from, if any.

A checkout (a clone of the repository, installed in editable mode or put on `sys.path`) holds,
next to the `kmvae/` package, the recipe catalog `recipes/`, the report generator
`reproduction/` and `setup.py`. Installed from a wheel, kmvae has the catalog (as
`kmvae.recipes.catalog`) but no checkout.
"""

from pathlib import Path


def root():
    """The root folder of the checkout this `kmvae` package is imported from.

    Returns:
        A `pathlib.Path` (the folder of `setup.py`, `kmvae/` and `recipes/`), or None when kmvae
        is installed from a wheel.
    """
    folder = Path(__file__).resolve().parents[1]
    if (folder / "setup.py").is_file() and (folder / "recipes" / "__init__.py").is_file():
        return folder
    return None
