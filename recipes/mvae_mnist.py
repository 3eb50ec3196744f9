"""MVAE on MNIST with the label as a second modality (Wu & Goodman 2018, section 4.1)."""

from kmvae.recipes import Recipe

from ._networks import image_and_label

RECIPE = Recipe(
    name="mvae_mnist",
    description="MVAE on MNIST image + label, the paper's MLPs",
    paper="Wu & Goodman 2018 (MVAE), section 4.1, Tables 2-5 (MNIST column)",
    model="MVAE",
    modalities=lambda: image_and_label(784),
    dataset="mnist_label",
    latent_dim=64,
    epochs=500,
    batch_size=100,
    learning_rate=1e-3,
    kl_warmup_epochs=200,
    notes="Paper: 500 epochs, beta annealed 0 -> 1 over 200, Adam 1e-3, batch 100, latent 64, "
          "512-512 Swish MLPs, Bernoulli image likelihood on grey values.",
)
