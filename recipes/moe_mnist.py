"""Mixture-of-experts VAE on MNIST image + label, on MVAE's MNIST networks."""

from kmvae.recipes import Recipe

from ._networks import image_and_label

RECIPE = Recipe(
    name="moe_mnist",
    description="MoE-VAE (MoPoE special case) on MNIST image + label, MVAE's MLPs and schedule",
    paper="Sutter, Daunhawer & Vogt 2021 (MoPoE-VAE), eq. 9-10, on MVAE's MNIST setting",
    model="MoEVAE",
    modalities=lambda: image_and_label(784),
    dataset="mnist_label",
    latent_dim=64,
    epochs=500,
    batch_size=100,
    learning_rate=1e-3,
    kl_warmup_epochs=200,
    notes="Same networks and schedule as mvae_mnist, so the fusion is the only difference.",
)
