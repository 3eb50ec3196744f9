"""MVAE on binarised MNIST with the label as a second modality (Wu & Goodman 2018, section 4.1,
the BinaryMNIST column of Tables 2-5)."""

from kmvae.recipes import Recipe

from ._common import MVAE_TRAINING, image_and_label

RECIPE = Recipe(
    name="mvae_binary_mnist",
    description="MVAE on binarised MNIST image + label, the paper's MLPs",
    paper="Wu & Goodman 2018 (MVAE), section 4.1, Tables 2-5 (BinaryMNIST column)",
    model="MVAE",
    modalities=lambda: image_and_label(784),
    dataset="mnist_label",
    **{**MVAE_TRAINING,
       "dataset_options": {**MVAE_TRAINING["dataset_options"], "binarize": "sample"}},
    notes="As mvae_mnist, on binary images. The paper trains on 'a binarized version of MNIST "
          "to align with previous literature' without saying which: kmvae draws each pixel "
          "from a Bernoulli with its grey value as p, a fresh draw every training epoch and one "
          "fixed draw of the test and validation images (the dynamic binarisation of the IWAE "
          "literature).",
)
