"""What the PolyMNIST recipes share (Sutter et al. 2021, MoPoE-VAE, section 4.2, Appendix D.2,
Figure 3): five 28x28x3 modalities, the same convolutional networks for every method, a
512-dimensional latent space, beta = 2.5, Adam 1e-3, 300 epochs."""

from kmvae import Modality
from kmvae.layers import ConvDecoder, ConvEncoder
from kmvae.recipes import Recipe

MODALITIES = tuple(f"m{i}" for i in range(5))
METHODS = {
    "MVAE": ("mvae", dict(beta=2.5), "product of experts with the prior expert (MVAE)"),
    "MMVAE": ("mmvae", dict(objective="dreg_looser", num_importance_samples=30),
              "importance-weighted mixture of experts (MMVAE, DReG, looser bound)"),
    "MoPoEVAE": ("mopoe", dict(beta=2.5), "mixture of products of experts (MoPoE-VAE)"),
}


def polymnist_modalities():
    """The five colour modalities: Laplace likelihoods (scale 0.75) on [0, 1] values, MVAE's
    miniature DCGAN per modality (the paper's networks are "straightforward convolutional
    networks" from its code; MVAE's DCGAN is kmvae's convolutional default)."""
    return [Modality(name, shape=(28 * 28 * 3,), likelihood="laplace",
                     encoder=ConvEncoder((28, 28, 3)), decoder=ConvDecoder((28, 28, 3)))
            for name in MODALITIES]


def polymnist_recipe(model):
    """The Figure 3 recipe of `model` (`"MVAE"`, `"MMVAE"` or `"MoPoEVAE"`)."""
    prefix, options, what = METHODS[model]
    return Recipe(
        name=f"{prefix}_polymnist",
        description=f"{what} on PolyMNIST (5 modalities), MoPoE Figure 3",
        paper="Sutter, Daunhawer & Vogt 2021 (MoPoE-VAE) section 4.2, Figure 3, Appendix D",
        model=model, modalities=polymnist_modalities, dataset="polymnist",
        latent_dim=512, epochs=300, batch_size=256, learning_rate=1e-3, model_options=options,
        eval_num_samples=15, source=None, target=None,
        notes="Backgrounds are five scikit-image photos instead of the paper's (which cannot be "
              "fetched here); MNIST is the 10,000-digit subset unless TFDS has the full set; "
              "MVAE's miniature DCGAN instead of the authors' networks; batch size 256 (the "
              "paper defers it to its code). MMVAE has no beta: its importance-weighted bound "
              "has no KL weight.")
