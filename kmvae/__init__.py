"""kmvae: multimodal variational autoencoders for Keras 3, TensorFlow and TensorFlow Probability.

The workflow: pick modalities, build a model, `compile`, `fit` on a `tf.data.Dataset` of batch
dicts, then `encode` / `translate` / `generate` / `log_likelihood`, and `export_saved_model`.
`kmvae.subsets` enumerates, indexes and labels the subsets of modalities models and metrics work
with.
"""

import os as _os
import sys as _sys

if _os.path.basename(_sys.argv[0] if _sys.argv else "") == "kmvae":
    # The `kmvae` command: TensorFlow's C++ log lines (written to file descriptor 2, some by
    # absl before TensorFlow reads TF_CPP_MIN_LOG_LEVEL, some at the first XLA compilation)
    # are noise to its user. The command's own stderr, Python's warnings and tracebacks
    # included, goes to the original stderr; file descriptor 2 goes to /dev/null. Set
    # TF_CPP_MIN_LOG_LEVEL=0 to see everything.
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if _os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0":
        _sys.stderr.flush()
        _stderr, _null = _os.dup(2), _os.open(_os.devnull, _os.O_WRONLY)
        _os.dup2(_null, 2)
        _os.close(_null)
        _sys.stderr = _os.fdopen(_stderr, "w", buffering=1)

from kmvae import callbacks, datasets, distribute, layers, metrics, models, recipes, subsets
from kmvae.export import export_saved_model
from kmvae.modalities import Modality
from kmvae.models import (JMVAE, M2VAE, MMVAE, MSNVI, MVAE, SVAE, TVAE, VAEVAE, JMVAEZero,
                          MoEVAE, MoPoEVAE, MultimodalVAE, VAEVAEStar)

__version__ = "0.1.0"
