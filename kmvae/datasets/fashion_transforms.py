"""Fashion-MNIST under image transformations, each a modality: MVAE's computer-vision case study.

MVAE (Wu & Goodman 2018), section 7, learns image transformations "and their inverses" as
conditional distributions by making the original image and its transformed versions modalities
of one MVAE. The paper uses CelebA with six: the original, grayscale (colorisation), Canny edges,
facial-landmark masks, an obscured image ("half of the image is replaced with black pixels") and
a watermarked image ("a fixed generic watermark ... overlaid on the input image").

`"fashion_mnist_transforms"` applies the ones that make sense on 28x28x1 grey images to
Fashion-MNIST (Xiao et al. 2017; the data of MVAE section 4.2), five modalities of shape (784,)
each (28x28x1 flattened row-major), all Bernoulli over grey values in [0, 1]:

- `"original"`: the image x.
- `"edges"`: `skimage.feature.canny(x)` with scikit-image's defaults (sigma = 1, as the paper:
  "the default Canny edge detection from Scikit-Image"), 1 on an edge, else 0.
- `"obscured"`: the right half (columns 14-27) replaced with black (0). The MVAE authors' code
  blacks out the columns right of the centre (`image[:, w // 2 + 1:] = 0`, one column short of
  a half); here exactly half.
- `"watermark"`: a fixed watermark, a copyright sign drawn with numpy (`watermark_mask`; the
  paper's is a "generic watermark from Google Images" that cannot be shipped), blended onto x
  at opacity 1/2 in white: inside the mark, `ceil((x + 255) / 2)` on the 0..255 scale.
- `"inverted"`: 1 - x, in place of the paper's colour-to-grayscale transformation, which does
  nothing to grey images. Facial landmarks have no counterpart.

The label is kept as the batch's `"label"` for evaluation, not a modality. The transforms are
computed once per split and kept in memory; the Canny edges (measured here: 11-20 s for the 60,000
training images on one core, depending on the machine's load; under 2 s to load the split once
cached) are also cached on disk under `<data root>/cache/fashion_mnist_transforms/` (about 1 MB per
10,000 images), keyed by a SHA-256 of the images, so a different source of the same images (TFDS
or IDX) reuses them and different images never do.
"""

import functools
import hashlib
import logging
import os
import tempfile

import numpy as np

from kmvae.datasets import mnist, paths
from kmvae.datasets.registry import Entry, register

HEIGHT, WIDTH = mnist.IMAGE_SHAPE
MODALITIES = ("original", "edges", "obscured", "watermark", "inverted")
CACHE_FOLDER = "cache/fashion_mnist_transforms"
_log = logging.getLogger("kmvae.datasets")


def _grid(images):
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim < 2 or images.shape[1:] not in (
            (HEIGHT * WIDTH,), (HEIGHT, WIDTH)):
        raise ValueError(f"images must be uint8 grey values 0..255 of shape (n, 784) or "
                         f"(n, 28, 28); received dtype {images.dtype}, shape {images.shape}.")
    return images.reshape(len(images), HEIGHT, WIDTH)


def watermark_mask():
    """The watermark's shape: a copyright sign centred on the 28x28 image.

    Returns:
        bool `(28, 28)`: True on the mark. Pixel centres at distance 9..11 from the image centre
        (the ring) or at distance 3.5..5.5 and more than 50 degrees away from the rightward
        direction (the C).
    """
    rows, columns = np.mgrid[0:HEIGHT, 0:WIDTH] + 0.5
    dy, dx = rows - HEIGHT / 2, columns - WIDTH / 2
    distance = np.hypot(dy, dx)
    angle = np.degrees(np.abs(np.arctan2(-dy, dx)))
    ring = (distance >= 9.0) & (distance <= 11.0)
    letter = (distance >= 3.5) & (distance <= 5.5) & (angle > 50.0)
    return ring | letter


def canny_edges(images):
    """Canny edges of each image, `skimage.feature.canny(x / 255)` with its defaults.

    Args:
        images: uint8 `(n, 784)` or `(n, 28, 28)` grey values.

    Returns:
        uint8 `(n, 784)`: 255 on an edge, 0 elsewhere (1.0 / 0.0 once `load` scales by 1/255).

    Raises:
        ValueError: not uint8 28x28 images.
    """
    from skimage.feature import canny

    grid = _grid(images)
    edges = np.zeros(grid.shape, dtype=np.uint8)
    for index, image in enumerate(grid):
        edges[index][canny(image / 255.0)] = 255
    return edges.reshape(len(grid), -1)


def obscure(images):
    """The right half (columns 14-27) of each image set to black (0).

    Args: images: uint8 `(n, 784)` or `(n, 28, 28)`.
    Returns: uint8 `(n, 784)`, a new array.
    Raises: ValueError: not uint8 28x28 images.
    """
    grid = _grid(images).copy()
    grid[:, :, WIDTH // 2:] = 0
    return grid.reshape(len(grid), -1)


def add_watermark(images):
    """`watermark_mask` blended onto each image in white at opacity 1/2.

    Args: images: uint8 `(n, 784)` or `(n, 28, 28)`.
    Returns: uint8 `(n, 784)`: `ceil((x + 255) / 2)` on the mark, x elsewhere.
    Raises: ValueError: not uint8 28x28 images.
    """
    grid = _grid(images)
    blended = ((grid.astype(np.uint16) + 256) // 2).astype(np.uint8)
    return np.where(watermark_mask(), blended, grid).reshape(len(grid), -1)


def invert(images):
    """`255 - x` (1 - x on the [0, 1] scale). Args, returns, raises: as `obscure`."""
    return (255 - _grid(images)).reshape(len(images), -1)


def _cache_path(images, data_dir):
    import skimage

    digest = hashlib.sha256()
    digest.update(repr((images.shape, str(images.dtype), skimage.__version__)).encode())
    digest.update(np.ascontiguousarray(images).data)
    return (paths.data_root(data_dir) / CACHE_FOLDER
            / f"edges-{digest.hexdigest()[:24]}-skimage-{skimage.__version__}.npy")


def cached_canny_edges(images, data_dir=None):
    """`canny_edges`, read from or written to the disk cache under `data_dir`'s data root.

    A cache file holds the edges bit-packed, `np.packbits` of `(n, 784)`; its name carries a
    SHA-256 of the images (with their shape) and the scikit-image version. A file that cannot be
    read is recomputed and rewritten; a folder that cannot be written is logged and skipped.

    Args:
        images: uint8 `(n, 784)`; data_dir: as `kmvae.datasets.paths.data_root`.

    Returns: as `canny_edges`.
    """
    images = _grid(images).reshape(len(images), -1)
    path = _cache_path(images, data_dir)
    if path.is_file():
        try:
            bits = np.load(path)
            if bits.shape == (len(images), (HEIGHT * WIDTH + 7) // 8):
                edges = np.unpackbits(bits, axis=1, count=HEIGHT * WIDTH)
                return (edges * np.uint8(255)).astype(np.uint8)
        except (OSError, ValueError) as error:
            _log.warning("Ignoring the unreadable edge cache %s (%s).", path, error)
    edges = canny_edges(images)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npy")
        with os.fdopen(handle, "wb") as f:
            np.save(f, np.packbits(edges > 0, axis=1))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        _log.warning("Could not write the edge cache %s (%s); continuing without it.", path,
                     error)
    return edges


@functools.lru_cache(maxsize=4)
def _arrays_cached(split, source, data_key):
    images, labels = mnist.load_split("fashion_mnist", split, source, data_key)
    arrays = {"original": images, "edges": cached_canny_edges(images, data_key),
              "obscured": obscure(images), "watermark": add_watermark(images),
              "inverted": invert(images), "label": labels}
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def transform_arrays(split, source="auto", data_dir=None):
    """The arrays of `"fashion_mnist_transforms"`, as `kmvae.datasets.load` batches them.

    Args:
        split: `"train"` or `"test"`; source, data_dir: as
            `kmvae.datasets.mnist.resolve_source` for `"fashion_mnist"`.

    Returns:
        A fresh dict of read-only arrays (shared between calls): `"original"`, `"edges"`,
        `"obscured"`, `"watermark"`, `"inverted"`, uint8 `(n, 784)` grey values 0..255 (see the
        module docstring), and `"label"`, int32 `(n,)` in 0..9.

    Raises:
        DataNotFoundError: no Fashion-MNIST (see `kmvae.datasets.load`); ValueError: unknown
        source or malformed data.
    """
    source = mnist.resolve_source("fashion_mnist", source, data_dir)
    key = data_dir if source == "tfds" else str(paths.data_root(data_dir))
    return dict(_arrays_cached(split, source, key))


register(Entry(
    name="fashion_mnist_transforms",
    description="Fashion-MNIST 28x28x1 (784,) as five modalities: original, Canny edges, right "
                "half obscured, watermarked, inverted; label kept for evaluation",
    paper="MVAE (Wu & Goodman 2018) section 7 (CelebA there): Fashion-MNIST instead; 'inverted' "
          "replaces grayscale, no facial landmarks; a numpy-drawn copyright sign replaces the "
          "paper's watermark image; exactly the right half obscured",
    modalities={name: {"shape": (HEIGHT * WIDTH,), "likelihood": "bernoulli"}
                for name in MODALITIES},
    arrays=lambda split, source, data_dir: transform_arrays(split, source, data_dir),
    count=lambda split, source, data_dir: mnist.num_examples("fashion_mnist", split, source,
                                                             data_dir),
    resolve=functools.partial(mnist.resolve_source, "fashion_mnist"),
    binarizable=MODALITIES, size="60,000 / 10,000",
    source_text="Fashion-MNIST: TFDS, else IDX (`kmvae data fetch fashion_mnist`)"))
