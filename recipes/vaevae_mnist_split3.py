"""VAEVAE (b) on MNIST-Split-3 (Kutuzova et al. 2021, SVAE, Figure 6)."""

from ._svae import mnist_split3_recipe

RECIPE = mnist_split3_recipe("vaevae")
