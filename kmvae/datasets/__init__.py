"""Data sets as `tf.data` pipelines of batch dicts, the input of every kmvae model.

A batch is a dict with one tensor per modality (`modality_names(name)`, e.g.
`("image", "label")`; `spec(name)` gives shapes and likelihoods) and, with `supervision` or
`keep_probability`, a `"mask"`: bool `(batch, num_modalities)` in that order (missing: all
present). Images are float32 `(batch, pixels)` in [0, 1]; class ids are int32. Data sets whose
label is not a modality keep it as an int32 `"label"` for evaluation, which models ignore.

    import kmvae
    train, test = kmvae.datasets.load("digits_label", batch_size=50)
    train = kmvae.datasets.load("mnist_label", "train", binarize="sample", supervision=0.1)

Registered names: `"digits_label"` (scikit-learn's bundled 8x8 digits, no download),
`"mnist_label"` (MVAE section 4.1), `"fashion_mnist_label"` (MVAE section 4.2), and the
papers' multimodal sets (MNIST-TB / QU / NO, MNIST-Split(-3), PolyMNIST, MultiMNIST, the
Fashion-MNIST transformations, the mixture-of-Gaussians toys, the pendulum, entangled MNIST:
`names()` lists them, the README's table describes them). MNIST and
Fashion-MNIST come from TFDS when it has them prepared, else from IDX files that
`kmvae data fetch mnist|fashion_mnist` (`fetch`) writes; TFDS is imported only when needed.
"""

from kmvae.datasets.fetch import FetchError, fetch
from kmvae.datasets.idx import IdxFormatError, read_idx, write_idx
from kmvae.datasets.mnist import DataNotFoundError
from kmvae.datasets.registry import (MASK_OPTIONS, image_options, load, modality_names, names,
                                     num_examples, oracle_training_data, part_names, spec)
from kmvae.datasets import mog, pendulum  # the synthetic sets: pendulum.angles(), ...

list = names  # noqa: A001 -- `kmvae.datasets.list()`, like `tfds.list_builders()`

__all__ = ["load", "list", "names", "modality_names", "spec", "num_examples", "fetch",
           "oracle_training_data", "part_names", "image_options", "MASK_OPTIONS",
           "read_idx", "write_idx", "DataNotFoundError", "FetchError", "IdxFormatError"]
