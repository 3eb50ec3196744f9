"""JMVAE-Zero on the bi-modal mixture of Gaussians (Korthals et al. 2019, M2VAE, Fig. 4-6)."""

from ._m2vae import mog_recipe

RECIPE = mog_recipe("JMVAEZero")
