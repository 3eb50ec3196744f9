"""MSNVI's pendulum seen by three cameras, with camera 0 failing (Kurle et al. 2019, section 5.3,
Figure 5)."""

import math

from kmvae import Modality
from kmvae.recipes import Recipe

CAMERAS = tuple(f"camera_{i}" for i in range(3))

RECIPE = Recipe(
    name="msnvi_pendulum",
    description="MSNVI L(ind): three noisy 32x32 cameras infer the pendulum, the generative model "
                "predicts its x / y position; camera 0 fails after two rotations",
    paper="Kurle et al. 2019 (MSNVI) section 5.3, Figure 5 (predictions from single and "
          "integrated sensors, the conflict measure of eq. 2)",
    model="MSNVI",
    modalities=lambda: [*(Modality(c, shape=(1024,), likelihood="normal", scale=0.1)
                          for c in CAMERAS),
                        Modality("position", shape=(2,), likelihood="normal", scale=0.05)],
    dataset="pendulum", dataset_options=dict(failure_angle=4 * math.pi),
    latent_dim=2, epochs=50, batch_size=100, learning_rate=1e-3,
    model_options=dict(objective="ind", num_samples=16, sources=list(CAMERAS),
                       observations=["position"]),
    eval_num_samples=16, source="camera_0", target="position",
    notes="From section 5.3: three 32x32 cameras as information sources with independent "
          "noise of std 0.1, sensor 0 along the z-axis and sensors 1 and 2 rotated by 45 "
          "degrees about the x- and y-axis, at twice the pendulum's radius; the x / y position "
          "as the only observation of the generative model; L(ind); camera 0 outputs noise "
          "after two of three rotations (the test split sweeps three rotations, failure at 4 "
          "pi); predictions from 500 latent samples. Not in the paper's text (its technical "
          "report, not found here; no code found): latent size, networks, likelihood scale, "
          "K, optimiser and training length; chosen: latent 2, MVAE's MLPs (512-512 Swish), "
          "Normal likelihoods of scale 0.1 (cameras, unused: they are no observation) and 0.05 "
          "(position), K = 16 (as section 5.2), Adam 1e-3, batch 100, 50 epochs, the last "
          "kept. `kmvae evaluate` draws Figure 5 as conflict.png (c(camera_0 || camera_1) "
          "along the sweep).")
