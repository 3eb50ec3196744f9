"""MVAE on Fashion-MNIST with the label as a second modality (Wu & Goodman 2018, section 4.2)."""

from kmvae.recipes import Recipe

from ._common import MVAE_TRAINING, dcgan_image_and_label

RECIPE = Recipe(
    name="mvae_fashion_mnist",
    description="MVAE on Fashion-MNIST image + label, the paper's miniature DCGAN",
    paper="Wu & Goodman 2018 (MVAE), section 4.2, Tables 2-5 (FashionMNIST column)",
    model="MVAE",
    modalities=dcgan_image_and_label,
    dataset="fashion_mnist_label",
    **MVAE_TRAINING,
    notes="As MNIST, with two convolutions / two transposed convolutions for the image; batch "
          "normalisation left out (missing-modality rows would bias its statistics).",
)
