"""What the MSNVI recipes share (Kurle, Guennemann & van der Smagt 2019, section 5.2, Table 1).

The paper's networks and optimiser settings are in its technical report, which is not available
here: the recipes use MVAE's MLPs (two hidden layers of 512 Swish units), a 20-dimensional latent
space, Adam 1e-3, batch 100 and K = 16 importance samples in training and evaluation (Table 1's
K), on randomly binarised MNIST.
"""

from kmvae import Modality
from kmvae.recipes import Recipe

OBJECTIVES = {"ind": "L(ind) (eq. 1)", "moe": "L(MoE) (section 3.3)", "poe": "L(PoE) (eq. 4)",
              "hybrid": "L(hybrid) (eq. 5, lambda = 1/2)"}
LAYOUTS = {
    "mnist_tb": (("top", 392), ("bottom", 392)),
    "mnist_qu": (("top_left", 196), ("top_right", 196), ("bottom_left", 196),
                 ("bottom_right", 196)),
    "mnist_no": tuple((f"source_{i}", 784) for i in range(4)) + (("image", 784),),
}
TRAINING = dict(latent_dim=20, epochs=100, batch_size=100, learning_rate=1e-3,
                eval_num_samples=16)


def binary_images(layout):
    """One Bernoulli modality per part, MVAE's default MLPs."""
    return lambda: [Modality(name, shape=(size,), likelihood="bernoulli")
                    for name, size in layout]


def msnvi_mnist(dataset, objective):
    """The Table 1 recipe of `objective` on `dataset` (`"mnist_tb"`, `"mnist_qu"`,
    `"mnist_no"`). On MNIST-NO the four noisy copies are the information sources and the clean
    digit the only observation."""
    layout = LAYOUTS[dataset]
    names = [name for name, _ in layout]
    options = dict(objective=objective, num_importance_samples=16)
    if dataset == "mnist_no":
        options.update(sources=names[:-1], observations=["image"])
    variant = dataset.split("_")[1].upper()
    return Recipe(
        name=f"msnvi_{dataset}_{objective}",
        description=f"MSNVI {OBJECTIVES[objective]} on MNIST-{variant}, K = 16",
        paper=f"Kurle et al. 2019 (MSNVI) section 5.2, Table 1 (MNIST-{variant}, column "
              f"{OBJECTIVES[objective].split(' ')[0]})",
        model="MSNVI", modalities=binary_images(layout), dataset=dataset,
        dataset_options=dict(binarize="sample"), model_options=options,
        source=names[0], target=names[-1] if dataset != "mnist_no" else "image",
        **TRAINING,
        notes="Networks, latent size, optimiser and epochs are not in the paper's text (they "
              "are in its technical report): MVAE's MLPs, latent 20, Adam 1e-3, 100 epochs. "
              "MNIST is the 10,000-digit subset unless TFDS has the full set.")
