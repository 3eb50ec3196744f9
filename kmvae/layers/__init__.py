"""Layers: encoder and decoder backbones, a convolution fast under XLA on CPU, distribution
heads, posterior fusion, subset (joint) encoders."""

from kmvae.layers.conv import Conv2D
from kmvae.layers.fusion import (FUSIONS, PosteriorFusion, nonempty_subsets, product_of_experts,
                                 subset_matrix)
from kmvae.layers.heads import GaussianPosterior, LikelihoodHead, diagonal_normal
from kmvae.layers.modality import ModalityDecoder, ModalityEncoder
from kmvae.layers.networks import ConvDecoder, ConvEncoder, default_decoder, default_encoder, mlp
from kmvae.layers.subset import SubsetEncoder
