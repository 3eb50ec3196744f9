"""kmvae's recipe catalog: one module per paper, its experiments as data.

Each module holds `RECIPES`, a dict recipe name -> `kmvae.recipes.Recipe`, and `TARGETS`, a
dict recipe name -> the numbers the paper reports for it. Installed as `kmvae.recipes.catalog`;
load recipes with `kmvae.recipes.load(name)`, list them with `kmvae.recipes.list()`.
"""
