"""MoPoE-VAE on MNIST image + label, on MVAE's MNIST networks (Sutter et al. 2021)."""

from kmvae.recipes import Recipe

from ._common import MVAE_TRAINING, image_and_label

RECIPE = Recipe(
    name="mopoe_mnist",
    description="MoPoE-VAE on MNIST image + label, MVAE's MLPs and schedule",
    paper="Sutter, Daunhawer & Vogt 2021 (MoPoE-VAE), Definition 1 / eq. 6, on MVAE's MNIST "
          "setting (section 4.1)",
    model="MoPoEVAE",
    modalities=lambda: image_and_label(784),
    dataset="mnist_label",
    **MVAE_TRAINING,
    notes="Same networks and schedule as mvae_mnist, so the fusion is the only difference.",
)
