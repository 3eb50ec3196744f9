"""Multimodal VAE models: one file per model family on the shared base."""

from kmvae.models.base import MultimodalVAE
from kmvae.models.mopoe import MoEVAE, MoPoEVAE
from kmvae.models.mvae import MVAE
from kmvae.models.mmvae import MMVAE
from kmvae.models.msnvi import MSNVI
from kmvae.models.subsets import SubsetVAE
from kmvae.models.jmvae import JMVAE, TVAE, JMVAEZero
from kmvae.models.m2vae import M2VAE
from kmvae.models.svae import SVAE, VAEVAE, VAEVAEStar
