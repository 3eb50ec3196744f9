"""Multimodal VAE models: one file per model family on the shared base."""

from kmvae.models.base import MultimodalVAE
from kmvae.models.mopoe import MoEVAE, MoPoEVAE
from kmvae.models.mvae import MVAE
from kmvae.models.mmvae import MMVAE
from kmvae.models.msnvi import MSNVI
