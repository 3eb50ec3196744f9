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
    model_options=dict(objective="ind", num_importance_samples=16, sources=list(CAMERAS),
                       observations=["position"]),
    eval_num_samples=16, source="camera_0", target="position",
    notes="The cameras are information sources only and the position the only observation, as "
          "in the paper. The test split sweeps three rotations with camera 0 outputting noise "
          "after two (4 pi). Latent size, networks, likelihood scale and epochs are not in the "
          "paper's text: 2, MVAE's MLPs, 0.05 and 50. `kmvae evaluate` draws Figure 5 as "
          "conflict.png (c(camera_0 || camera_1) along the sweep).",
)
