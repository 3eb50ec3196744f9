"""M2VAE on e-MNIST (Korthals et al. 2019, M2VAE, Table 1)."""

from ._m2vae import emnist_recipe

RECIPE = emnist_recipe("M2VAE")
