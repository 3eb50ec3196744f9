"""MoPoE's MMVAE on PolyMNIST (Sutter et al. 2021, Figure 3; App. B.1: the mixture-of-experts
posterior trained with the ELBO, beta = 2.5, kmvae.MoEVAE)."""

from ._polymnist import polymnist_recipe

RECIPE = polymnist_recipe("MMVAE")
