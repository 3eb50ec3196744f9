"""Mixture-of-experts VAE on MNIST image + label, on MVAE's MNIST networks."""

from kmvae.recipes import Recipe

from ._common import MVAE_TRAINING, image_and_label

RECIPE = Recipe(
    name="moe_mnist",
    description="MoE-VAE (MoPoE special case) on MNIST image + label, MVAE's MLPs and schedule",
    paper="Sutter, Daunhawer & Vogt 2021 (MoPoE-VAE), eq. 9-10, on MVAE's MNIST setting",
    model="MoEVAE",
    modalities=lambda: image_and_label(784),
    dataset="mnist_label",
    **MVAE_TRAINING,
    notes="Same networks and schedule as mvae_mnist, so the fusion is the only difference.",
)
