"""Layers: encoder and decoder backbones (MVAE's networks, its MultiMNIST image and text networks,
the MoPoE authors' PolyMNIST networks), a convolution fast under XLA on CPU, distribution heads,
posterior fusion, subset (joint) encoders."""

from kmvae.layers.conv import Conv2D
from kmvae.layers.fusion import FUSIONS, PosteriorFusion, product_of_experts
from kmvae.layers.heads import GaussianPosterior, LikelihoodHead, diagonal_normal
from kmvae.layers.modality import ModalityDecoder, ModalityEncoder
from kmvae.layers.networks import (ConvDecoder, ConvEncoder, MultiMNISTImageDecoder,
                                   MultiMNISTImageEncoder, PolyMNISTDecoder, PolyMNISTEncoder,
                                   default_decoder, default_encoder, mlp)
from kmvae.layers.subset import SubsetEncoder
from kmvae.layers.text import GreedyGRUTextDecoder, GRUTextDecoder, GRUTextEncoder
