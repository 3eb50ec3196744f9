"""The registered data sets and `load`, the one entry point that builds their pipelines."""

import copy
import dataclasses
import functools
import numbers
from typing import Callable

from kmvae.datasets import digits, mnist
from kmvae.datasets.binarize import check_binarize
from kmvae.datasets.masks import check_supervision, supervision_mask
from kmvae.datasets.pipeline import make_dataset

SPLITS = ("train", "test")
TRAIN_SPLIT = "train"


def _image_label_spec(pixels):
    return {"image": {"shape": (pixels,), "likelihood": "bernoulli"},
            "label": {"shape": (), "num_classes": 10, "likelihood": "categorical"}}


def _bundled_only(name, source):
    if source != "auto":
        raise ValueError(f"{name!r} is bundled with scikit-learn and has no other source: "
                         f"source must be 'auto'; received source={source!r}.")
    return "auto"


@dataclasses.dataclass(frozen=True)
class Entry:
    """A registered data set.

    `resolve(source, data_dir)` validates the source and returns the concrete one;
    `arrays(split, source, data_dir)` returns `(images, labels)`; `count(split, source,
    data_dir)` the number of examples of a split.
    """

    name: str
    description: str
    paper: str
    modalities: dict
    resolve: Callable
    arrays: Callable
    count: Callable


def _mnist_entry(name, dataset, description, paper):
    return Entry(
        name=name, description=description, paper=paper, modalities=_image_label_spec(784),
        resolve=functools.partial(mnist.resolve_source, dataset),
        arrays=lambda split, source, data_dir: mnist.load_split(dataset, split, source, data_dir),
        count=lambda split, source, data_dir: mnist.num_examples(dataset, split, source,
                                                                 data_dir))


_REGISTRY = {item.name: item for item in (
    Entry(name="digits_label",
          description="scikit-learn's 1,797 8x8 digits (1,437 train / 360 test) + label",
          paper="UCI optical digits (Alpaydin & Kaynak 1998) as bundled by scikit-learn",
          modalities=_image_label_spec(64),
          resolve=lambda source, data_dir: _bundled_only("digits_label", source),
          arrays=lambda split, source, data_dir: digits.load_split(split),
          count=lambda split, source, data_dir: digits.SIZES[split]),
    _mnist_entry("mnist_label", "mnist", "MNIST 28x28 digits + label",
                 "MVAE (Wu & Goodman 2018) section 4.1"),
    _mnist_entry("fashion_mnist_label", "fashion_mnist", "Fashion-MNIST 28x28 articles + label",
                 "MVAE (Wu & Goodman 2018) section 4.2"),
)}


def names():
    """The registered data set names, sorted: `("digits_label", "fashion_mnist_label",
    "mnist_label")`."""
    return tuple(sorted(_REGISTRY))


def entry(name):
    """The `Entry` of `name`. Raises ValueError naming the valid names."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"Unknown data set {name!r}; expected one of {names()}.")
    return _REGISTRY[name]


def modality_names(name):
    """The modality names of `name`, in the order of the `"mask"` columns: `("image", "label")`.

    Raises: ValueError for an unknown name.
    """
    return tuple(entry(name).modalities)


def spec(name):
    """Per-modality plain dicts describing `name`'s batches, without loading any data.

    Returns:
        A fresh dict, e.g. for `"mnist_label"`: `{"image": {"shape": (784,), "likelihood":
        "bernoulli"}, "label": {"shape": (), "num_classes": 10, "likelihood": "categorical"}}`
        (keys as `kmvae.Modality` takes them). Images are float32, labels int32.

    Raises: ValueError for an unknown name.
    """
    return copy.deepcopy(entry(name).modalities)


def _check_split(split):
    requested = (split,) if isinstance(split, str) else split
    if not isinstance(requested, (tuple, list)) or not requested or any(
            s not in SPLITS for s in requested):
        raise ValueError(f"split must be one of {SPLITS} or a tuple/list of them; received "
                         f"split={split!r}.")
    return tuple(requested)


def num_examples(name, split, *, data_dir=None, source="auto"):
    """The number of examples in a split, without loading the data.

    Args:
        name: a registered name; split: `"train"` or `"test"`; data_dir, source: as `load`.

    Returns:
        An int: digits_label 1,437 / 360; MNIST and Fashion-MNIST from TFDS or the complete IDX
        files 60,000 / 10,000; MNIST from `kmvae data fetch mnist` (a subset) 8,000 / 2,000.

    Raises:
        ValueError: unknown name, split or source. DataNotFoundError: no data (see `load`).
    """
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; received split={split!r}.")
    item = entry(name)
    return item.count(split, item.resolve(source, data_dir), data_dir)


def _check_options(batch_size, seed, shuffle, drop_remainder):
    for key, value, low in (("batch_size", batch_size, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{key} must be an int >= {low}; received {key}={value!r}.")
    for key, value in (("shuffle", shuffle), ("drop_remainder", drop_remainder)):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be True or False; received {key}={value!r}.")


def load(name, split=SPLITS, batch_size=100, *, seed=0, shuffle=True, binarize=None,
         supervision=None, data_dir=None, source="auto", drop_remainder=False):
    """Batched `tf.data` pipelines of a registered data set, one per split, as `tfds.load`.

    Args:
        name: `"digits_label"` (scikit-learn's 8x8 digits, 1,437 train / 360 test),
            `"mnist_label"` (MVAE section 4.1) or `"fashion_mnist_label"` (MVAE section 4.2).
        split: `"train"`, `"test"`, or a tuple/list of them.
        batch_size: examples per batch.
        seed: int >= 0; seeds the training shuffle, the `"sample"` binarisation and the
            supervision mask. The same seed (under the same TF global seed, as
            `keras.utils.set_random_seed` sets it) gives the same sequence of batches, epoch by
            epoch.
        shuffle: shuffle the training split, anew each epoch. The test split is never shuffled.
        binarize: applied to the image of both splits. None: grey values in [0, 1].
            `"threshold"`: `x > 0.5`. `"sample"`: a Bernoulli draw with p = x; on the training
            split a fresh draw every epoch, on the test split one fixed draw (the same every
            epoch, so evaluations compare).
        supervision: None, or f in (0, 1]: weak supervision as MVAE (Wu & Goodman 2018)
            section 6.1. On the training split only, a fraction f of the examples keeps both
            modalities and the rest exactly one (half image-only, half label-only), through the
            `"mask"`; the data tensors are unchanged. The assignment is fixed for a seed (the same
            every epoch). See `kmvae.datasets.masks.supervision_mask`.
        data_dir: MNIST / Fashion-MNIST only: the TFDS data directory and the root of the IDX
            folders `<data_dir>/mnist/` and `<data_dir>/fashion_mnist/`. None: TFDS's default, and
            `$KMVAE_DATA_DIR` or `~/.kmvae/data` for IDX.
        source: `"auto"` (TFDS when it has the data prepared, else the IDX folder), `"tfds"` or
            `"idx"` (MNIST / Fashion-MNIST; digits_label takes only `"auto"`). TFDS is never
            asked to download.
        drop_remainder: drop the last incomplete batch.

    Returns:
        A `tf.data.Dataset` for a string `split`, else a tuple of them in the order asked. Each
        element is a dict: `"image"`: float32 `(batch, 64)` (digits) or `(batch, 784)`, values in
        [0, 1]; `"label"`: int32 `(batch,)` in 0..9; and only on the training split when
        `supervision` is set, `"mask"`: bool `(batch, 2)`, columns `modality_names(name)`.
        Batches are prefetched with `tf.data.AUTOTUNE`.

    Raises:
        ValueError: unknown name, split, binarize or source, supervision outside (0, 1], or a bad
            batch_size / seed / shuffle / drop_remainder; the message names the value received
            and the valid choices.
        kmvae.datasets.DataNotFoundError (a FileNotFoundError): MNIST / Fashion-MNIST found
            neither in TFDS nor in the IDX folder; the message names the folder searched and says
            to run `kmvae data fetch mnist` (or `fashion_mnist`).
        kmvae.datasets.idx.IdxFormatError (a ValueError): a malformed IDX file (named).
    """
    item = entry(name)
    splits = _check_split(split)
    _check_options(batch_size, seed, shuffle, drop_remainder)
    check_binarize(binarize)
    supervision = check_supervision(supervision)
    source, seed = item.resolve(source, data_dir), int(seed)
    datasets = []
    for part in splits:
        images, labels = item.arrays(part, source, data_dir)
        training = part == TRAIN_SPLIT
        mask = (supervision_mask(len(labels), supervision, seed)
                if training and supervision is not None else None)
        datasets.append(make_dataset(
            images, labels, batch_size=batch_size, seed=seed, shuffle=shuffle and training,
            binarize=binarize, fresh_binarization=training, mask=mask,
            drop_remainder=drop_remainder))
    return datasets[0] if isinstance(split, str) else tuple(datasets)
