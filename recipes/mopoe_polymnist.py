"""MoPoEVAE on PolyMNIST (Sutter et al. 2021, Figure 3)."""

from ._polymnist import polymnist_recipe

RECIPE = polymnist_recipe("MoPoE")
