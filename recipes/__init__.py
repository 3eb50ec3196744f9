"""kmvae's recipe catalog: one module per paper experiment, each defining `RECIPE`.

Installed as `kmvae.recipes.catalog`; load recipes with `kmvae.recipes.load(name)`.
"""
