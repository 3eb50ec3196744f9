"""The IWAE baseline of MSNVI Table 1 on MNIST-NO: one noisy source."""

from ._msnvi import iwae_baseline

RECIPE = iwae_baseline("mnist_no")
