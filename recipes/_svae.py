"""What the SVAE-paper recipes share (Kutuzova, Krause & Igel, ICLR 2021 submission, "Multimodal
VAEs for Semi-Supervised Learning: In Defense of Product-of-Experts"): MNIST-Split (section 4,
Table 1, Figure 4; Appendix F.1) at supervision levels 100%, 10%, 1% and 0.1%, and
MNIST-Split-3 (Figure 6, Appendix F.4), for SVAE, VAEVAE (b), VAEVAE* and MMVAE.

Appendix F: Adam; MNIST-Split 200 epochs at learning rate 2e-4, MNIST-Split-3 50 epochs at
2e-4; latent 64; per image part the network of Table F.7: encoder three 4x4 convolutions of
stride 2 (64, 128, 256 filters, ReLU), a fully connected layer of 786 ReLU units and the two
heads; decoder fully connected L, 512, 112 (ReLU), then two transposed convolutions. The batch
size is not given (100 here). The tables, as printed, take 3x32x32 inputs and end in
transposed convolutions that cannot produce 14x28 or 9x28 parts; kmvae keeps the encoder on
the part reshaped to (rows, 28, 1) with "same" padding, and replaces the transposed
convolutions by the Bernoulli head's dense projection from the 112 units.
"""

import keras

from kmvae import Modality
from kmvae.layers import Conv2D
from kmvae.recipes import Recipe

LATENT_DIM = 64
BATCH_SIZE = 100        # not given in the paper
PAIRED_PER_BATCH = 34   # a third of the batch, as Algorithm 1 (Appendix C)
LEVELS = {"100": 1.0, "10": 0.1, "1": 0.01, "0p1": 0.001}     # name suffix -> supervision
LAYOUTS = {"mnist_split": (("top", 14), ("bottom", 14)),
           "mnist_split3": (("top", 9), ("middle", 9), ("bottom", 9))}   # name, rows of 28
METHODS = {
    "svae": ("SVAE", dict(objective="comb"), "SVAE (L_comb, eq. 10)"),
    "vaevae": ("VAEVAE", dict(variant="b", objective="elbo"), "VAEVAE (b), its own ELBO"),
    "vaevae_star": ("VAEVAEStar", dict(variant="b"), "VAEVAE* (VAEVAE (b) with L_comb)"),
    "mmvae": ("MMVAE", dict(objective="dreg_looser", num_importance_samples=30),
              "MMVAE (DReG, looser bound, K = 30)"),
}


def part_encoder(rows, conv=Conv2D):
    """Table F.7's encoder on a flat part of `rows` x 28 pixels: output `(batch, 786)`. Its
    convolutions are `conv`, by default `kmvae.layers.Conv2D` (Keras's, computed as one matrix
    product), which trains these small maps about 3 times faster under XLA on CPU than
    `keras.layers.Conv2D` (`benchmarks/conv_step.py`)."""
    options = dict(kernel_size=4, strides=2, padding="same", activation="relu")
    return keras.Sequential([keras.layers.Reshape((rows, 28, 1)), conv(64, **options),
                             conv(128, **options), conv(256, **options),
                             keras.layers.Flatten(), keras.layers.Dense(786, activation="relu")])


def part_decoder():
    """Table F.7's decoder up to its transposed convolutions: fully connected L, 512, 112,
    ReLU; the Bernoulli head projects to the part's pixels."""
    return keras.Sequential([keras.layers.Dense(u, activation="relu")
                             for u in (LATENT_DIM, 512, 112)])


def image_parts(layout, conv=Conv2D):
    """One Bernoulli modality per horizontal part, Table F.7's networks (`conv` as the
    encoders' convolution layer)."""
    return lambda: [Modality(name, shape=(rows * 28,), likelihood="bernoulli",
                             encoder=part_encoder(rows, conv), decoder=part_decoder())
                    for name, rows in layout]


_NOTES = ("Grey values in [0, 1] under a Bernoulli likelihood (the decoders' sigmoid outputs). "
          "Choices and deviations: batch 100 (not given); the paper picks the best epoch on "
          "a validation set by the top-half reconstruction accuracy, the recipe keeps the "
          "last; Table F.7's transposed convolutions are replaced by a dense projection and "
          "its convolutions use 'same' padding on the 1-channel part (see recipes/_svae.py). ")
_PAIRED_NOTES = (f"Each batch holds {PAIRED_PER_BATCH} paired examples, cycled through the "
                 f"paired set, and {BATCH_SIZE - PAIRED_PER_BATCH} unpaired ones "
                 "(`paired_per_batch`): Algorithm 1 (Appendix C) takes a paired, a top-only and "
                 f"a bottom-only example at every step; plain batches of {BATCH_SIZE} would "
                 "hold one paired example on average at 1% and none in most batches at 0.1%. "
                 "An epoch is one pass over the unpaired examples. ")
_JOINT_NOTES = ("VAEVAE's joint networks (Appendix F) add one ReLU layer per modality before "
                "the concatenation; kmvae's SubsetEncoder concatenates the modality backbones' "
                "features and reads the posterior from them directly. ")
_MMVAE_NOTES = ("MMVAE keeps kmvae's defaults (Normal posteriors and prior, DReG looser bound, "
                "K = 30, the authors' MNIST-SVHN setting); the paper does not state its MMVAE "
                "settings for MNIST-Split. ")


def mnist_split_recipe(method, level):
    """The MNIST-Split recipe of `method` (`"svae"`, `"vaevae"`, `"vaevae_star"`, `"mmvae"`) at
    supervision `level` (`"100"`, `"10"`, `"1"`, `"0p1"`: percent of paired examples)."""
    model, options, what = METHODS[method]
    supervision = LEVELS[level]
    percent = level.replace("p", ".")
    data = dict(supervision=supervision)
    if supervision < 1:
        data["paired_per_batch"] = PAIRED_PER_BATCH
    return Recipe(
        name=f"{method}_mnist_split_{level}",
        description=f"{what} on MNIST-Split (top / bottom halves), {percent}% paired",
        paper="Kutuzova et al. 2021 (SVAE) section 4, Table 1 and Figure 4 (MNIST-Split, "
              f"supervision {percent}%); Appendix F.1, Table F.7",
        model=model, modalities=image_parts(LAYOUTS["mnist_split"]), dataset="mnist_split",
        dataset_options=data, latent_dim=LATENT_DIM, epochs=200,
        batch_size=BATCH_SIZE, learning_rate=2e-4, model_options=dict(options), source="top",
        target="bottom",
        notes=f"As Appendix F.1: Adam 2e-4, 200 epochs, latent 64, {percent}% of the training "
              f"examples paired, the rest with one half (`supervision={supervision}`). " +
              (_PAIRED_NOTES if supervision < 1 else "") +
              _NOTES + (_JOINT_NOTES if method.startswith("vaevae") else "") +
              (_MMVAE_NOTES if method == "mmvae" else ""))


def mnist_split3_recipe(method, supervision=1.0):
    """The MNIST-Split-3 recipe of `method` (`"svae"` or `"vaevae"`).

    Both train with Appendix D's loss for three modalities, eq. D.28-D.31, the sum of every
    subset's term (`objective="comb"`). For VAEVAE this is its "canonical extension": its
    two-modality ELBO applied to the three parts alone, `U({1, 2, 3})` (eq. D.28), ties the
    whole-image encoder to the pair encoders only, so on paired data the single-part encoders
    would receive no gradient; eq. D.29-D.30 train them."""
    model, options, what = METHODS[method]
    if method == "vaevae":
        options = dict(options, objective="comb")
        what = "VAEVAE (b), Appendix D's loss (eq. D.31)"
    return Recipe(
        name=f"{method}_mnist_split3",
        description=f"{what} on MNIST-Split-3 (top / middle / bottom thirds), all paired",
        paper="Kutuzova et al. 2021 (SVAE) section 4, Figure 6 (MNIST-Split-3); Appendix D "
              "(three modalities), Appendix F.4, Table F.7",
        model=model, modalities=image_parts(LAYOUTS["mnist_split3"]), dataset="mnist_split3",
        dataset_options=dict(supervision=supervision), latent_dim=LATENT_DIM, epochs=50,
        batch_size=BATCH_SIZE, learning_rate=2e-4, model_options=dict(options), source="top",
        target="bottom",
        notes="As Appendix F.4: Adam 2e-4, 50 epochs, latent 64; three 9-row parts (the data "
              "set's equal_parts). SVAE has 3^2 = 9 encoders, VAEVAE 2^3 - 1 = 7 (Appendix D). "
              "Figure 6's supervision levels are not legible in the text: all examples paired "
              "here; `recipe.load_data(supervision=f)` trains at another level. " + _NOTES +
              (_JOINT_NOTES if method == "vaevae" else ""))
