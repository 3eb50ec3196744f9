"""The IWAE baseline of MSNVI Table 1 (MNIST-TB and MNIST-QU columns): the whole digit."""

from ._msnvi import iwae_baseline

RECIPE = iwae_baseline("mnist_tb")
