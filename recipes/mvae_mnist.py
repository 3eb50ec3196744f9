"""MVAE on MNIST with the label as a second modality (Wu & Goodman 2018, section 4.1)."""

from kmvae.recipes import Recipe

from ._common import MVAE_TRAINING, image_and_label

RECIPE = Recipe(
    name="mvae_mnist",
    description="MVAE on MNIST image + label, the paper's MLPs",
    paper="Wu & Goodman 2018 (MVAE), section 4.1, Tables 2-5 (MNIST column)",
    model="MVAE",
    modalities=lambda: image_and_label(784),
    dataset="mnist_label",
    **MVAE_TRAINING,
    notes="Paper: 500 epochs, beta annealed 0 -> 1 over 200, Adam 1e-3, batch 100, latent 64, "
          "512-512 Swish MLPs, Bernoulli image likelihood on grey values.",
)
