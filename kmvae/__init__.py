"""kmvae: multimodal variational autoencoders for Keras 3, TensorFlow and TensorFlow Probability.

The workflow: pick modalities, build a model, `compile`, `fit` on a `tf.data.Dataset` of batch
dicts, then `encode` / `translate` / `generate` / `log_likelihood`, and `export_saved_model`.
"""

from kmvae import callbacks, datasets, distribute, layers, metrics, models, recipes
from kmvae.export import export_saved_model
from kmvae.modalities import Modality
from kmvae.models import (JMVAE, M2VAE, MMVAE, MSNVI, MVAE, SVAE, TVAE, VAEVAE, JMVAEZero,
                          MoEVAE, MoPoEVAE, MultimodalVAE, VAEVAEStar)

__version__ = "0.1.0"

