"""SVAE on MNIST-Split, 1% paired (Kutuzova et al. 2021, SVAE, Table 1, Figure 4)."""

from ._svae import mnist_split_recipe

RECIPE = mnist_split_recipe("svae", "1")
