"""Where kmvae keeps local data files (the IDX directories), and their names."""

import os
import pathlib

ENV_VAR = "KMVAE_DATA_DIR"
DEFAULT_ROOT = "~/.kmvae/data"

# The standard IDX file names (LeCun et al.; Fashion-MNIST uses the same), by split.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def data_root(data_dir=None):
    """The folder holding kmvae's local data sets.

    Args:
        data_dir: a folder; when None, `$KMVAE_DATA_DIR`, else `~/.kmvae/data`.

    Returns:
        A `pathlib.Path` (user-expanded; it may not exist).
    """
    if data_dir is None:
        data_dir = os.environ.get(ENV_VAR) or DEFAULT_ROOT
    return pathlib.Path(data_dir).expanduser()


def idx_dir(dataset, data_dir=None):
    """`<data_root(data_dir)>/<dataset>`: the IDX folder of `"mnist"` or `"fashion_mnist"`."""
    return data_root(data_dir) / dataset


def find_idx_file(directory, stem):
    """`directory/stem` or `directory/stem.gz`, whichever exists (plain first), else None."""
    for name in (stem, stem + ".gz"):
        path = pathlib.Path(directory) / name
        if path.is_file():
            return path
    return None


def missing_idx_files(directory):
    """The IDX file names (of both splits) that `directory` lacks, in or out of `.gz`."""
    stems = [stem for pair in IDX_FILES.values() for stem in pair]
    return [stem for stem in stems if find_idx_file(directory, stem) is None]
