"""MSNVI trained with hybrid and K = 1 on MNIST-TB (Kurle et al. 2019, Table 1)."""

from ._msnvi import msnvi_mnist

RECIPE = msnvi_mnist("mnist_tb", "hybrid", num_samples=1)
