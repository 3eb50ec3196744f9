"""The demo: an MVAE on scikit-learn's bundled 8x8 digits and their labels (no download).

`RECIPES`: recipe name -> `kmvae.recipes.Recipe`; `TARGETS` is empty (a demo, no paper numbers).
"""

from kmvae.recipes import Recipe

from .mvae import image_and_label

RECIPES = {"digits": Recipe(
    name="digits",
    description="MVAE on scikit-learn's 1,797 8x8 handwritten digits + label (no download)",
    paper="Wu & Goodman 2018 (MVAE), section 4.1 networks and training, on a small data set",
    model="MVAE",
    modalities=lambda: image_and_label(64),
    dataset="digits_label",
    latent_dim=16,
    epochs=40,
    batch_size=50,
    learning_rate=1e-3,
    kl_warmup_epochs=10,
    notes="A demo, not a paper table: 8x8 grey digits with a Bernoulli likelihood on grey values, "
          "latent 16, 40 epochs with a 10-epoch warm-up.",
)}

TARGETS = {}
