"""MSNVI's 2-D mixture of Gaussians with complementary sources (Kurle et al. 2019, section 5.1,
Figure 2)."""

from kmvae import Modality
from kmvae.recipes import Recipe

RECIPE = Recipe(
    name="msnvi_mog2d",
    description="MSNVI L(ind), two sources each seeing one coordinate of a 2-D 8-Gaussian mixture",
    paper="Kurle et al. 2019 (MSNVI) section 5.1, Figure 2 (individual and integrated beliefs)",
    model="MSNVI",
    modalities=lambda: [Modality("x1", shape=(1,), likelihood="normal", scale=0.1),
                        Modality("x2", shape=(1,), likelihood="normal", scale=0.1)],
    dataset="mog2d_sources", dataset_options=dict(observation=False),
    latent_dim=2, epochs=100, batch_size=100, learning_rate=1e-3,
    model_options=dict(objective="ind", num_samples=16),
    eval_num_samples=16, source="x1", target="x2",
    notes="From section 5.1: 8 equally weighted bivariate normals of std 0.1 with means on the "
          "unit circle at equidistant angles, each source perceiving one coordinate, a "
          "zero-centred unit normal prior on z in R^2, L(ind) with two inference models and two "
          "likelihoods p(x1|z), p(x2|z); the test points are the 8 means rotated by 2 degrees. "
          "Not in the paper's text (its technical report's supplementary material, not found "
          "here; no code found): networks, likelihood, K, optimiser and training length; "
          "chosen: MVAE's MLPs (512-512 Swish), Normal likelihoods of fixed scale 0.1 (the "
          "mixture's std), K = 16 (as section 5.2), Adam 1e-3, batch 100, 100 epochs, the last "
          "kept. `kmvae evaluate` draws Figure 2 as beliefs.png.")
