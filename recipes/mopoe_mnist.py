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
    notes=("The MoPoE paper has no MNIST image + label experiment (section 4: MNIST-SVHN-Text, "
           "PolyMNIST, bimodal CelebA), so this recipe, MoPoE-VAE (Definition 1, eq. 6: the "
           "mixture over the subsets' products of experts), is kmvae's comparison on MVAE's "
           "MNIST setting (MVAE section 4.1): its networks (512-512 Swish MLPs), Adam 1e-3, "
           "batch 100, latent 64, 500 epochs with beta annealed 0 -> 1 over the first 200, "
           "lambda = 1 and a Bernoulli image likelihood on grey values, as mvae_mnist, so the "
           "posterior is the only difference. Not taken from MoPoE's appendices: the "
           "likelihoods weighted by data size (App. B: the label by 784 / 10 = 78.4), beta 5 or "
           "2.5 (App. C.2, D.2) and 150-300 epochs without warm-up. Model selection as "
           "mvae_mnist: a sixth of the training split held out (MVAE's 50,000 / 10,000 / "
           "10,000) and the epoch of the highest validation ELBO kept (`val_elbo`, the ELBO "
           "under the model's own posterior at beta = 1, unchanged by the warm-up). Data: MNIST "
           "is the 10,000-digit subset on this machine (8,000 / 2,000, so 6,667 / 1,333 / "
           "2,000) unless TFDS or the IDX folder has the full set."),
)
