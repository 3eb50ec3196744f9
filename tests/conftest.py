"""Shared fixtures of the layer and model tests: tiny modalities and models, random batches.

The models here are deliberately tiny (latent_dim 2-4, one 16-unit hidden layer per network) so
that the whole suite runs in a few minutes on two CPU cores.
"""

import gc
import os
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import kmvae  # noqa: E402
from kmvae import Modality  # noqa: E402


def dense_backbone(units=16):
    """A one-layer backbone: fast, and serialisable by Keras (Modality clones it)."""
    return keras.Sequential([keras.layers.Dense(units, activation="tanh")])


def label_backbone(num_classes, units=16):
    """Encoder backbone of a categorical modality: class ids `(batch,)` -> `(batch, units)`."""
    return keras.Sequential([keras.layers.Embedding(num_classes, 8),
                             keras.layers.Dense(units, activation="tanh")])


def tiny_modalities(kinds=("bernoulli", "normal", "categorical")):
    """Modalities `a`, `b`, `c`, ... of the given likelihoods: bernoulli (5,), normal (3,),
    categorical (4 classes), laplace (2,)."""
    modalities = []
    for name, kind in zip("abcdefgh", kinds):
        if kind == "categorical":
            modalities.append(Modality(name, num_classes=4, likelihood="categorical",
                                       encoder=label_backbone(4), decoder=dense_backbone()))
        else:
            shape = {"bernoulli": (5,), "normal": (3,), "laplace": (2,)}[kind]
            modalities.append(Modality(name, shape=shape, likelihood=kind,
                                       encoder=dense_backbone(), decoder=dense_backbone()))
    return modalities


def random_batch(modalities, batch_size, seed=0):
    """A valid batch dict (no mask) for `modalities`: values in [0, 1], class ids or reals."""
    rng = np.random.default_rng(seed)
    batch = {}
    for m in modalities:
        if m.is_categorical:
            batch[m.name] = rng.integers(0, m.num_classes, (batch_size,) + m.shape).astype("int32")
        elif m.likelihood == "bernoulli":
            batch[m.name] = rng.uniform(size=(batch_size,) + m.shape).astype("float32")
        else:
            batch[m.name] = rng.normal(size=(batch_size,) + m.shape).astype("float32")
    return batch


def every_mask(num_modalities):
    """All `2^M - 1` non-empty presence patterns, one per row, bool `(2^M - 1, M)`."""
    rows = [[(k >> m) & 1 == 1 for m in range(num_modalities)]
            for k in range(1, 2 ** num_modalities)]
    return np.array(rows, bool)


MODEL_CLASSES = {"MVAE": kmvae.MVAE, "MoPoEVAE": kmvae.MoPoEVAE, "MoEVAE": kmvae.MoEVAE}


def tiny_model(kind, kinds=("bernoulli", "normal", "categorical"), latent_dim=2, seed=1,
               **kwargs):
    """A tiny model of class `kind` ("MVAE", "MoPoEVAE", "MoEVAE")."""
    return MODEL_CLASSES[kind](tiny_modalities(kinds), latent_dim, seed=seed, **kwargs)


@pytest.fixture
def tiny():
    """The helpers above, for test modules (a fixture rather than `from conftest import`, which
    breaks when another test directory adds its own conftest.py)."""
    return types.SimpleNamespace(
        dense_backbone=dense_backbone, label_backbone=label_backbone,
        modalities=tiny_modalities, batch=random_batch, every_mask=every_mask, model=tiny_model)


@pytest.fixture(autouse=True, scope="module")
def _freeze_each_modules_survivors():
    """After each test module, collect its garbage and move the objects that survive it
    (TensorFlow graphs, Keras models of module fixtures, caches) into the collector's permanent
    generation (`gc.freeze`). Otherwise every full collection walks all the objects of every
    module run before in this process: in a worker of the whole suite, full collections took
    about 40 s in all, single pauses up to 6.6 s, inside whichever test triggered them."""
    yield
    gc.collect()
    gc.freeze()


_CORE_DIRS = ("layers", "models")


@pytest.fixture(autouse=True)
def _seeded_float32(request):
    """Every layer / model test starts from the same global seed and the float32 policy, and
    leaves float32 behind (other test directories are left alone)."""
    if request.node.path.parent.name not in _CORE_DIRS:
        yield
        return
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def drawn(monkeypatch):
    """The figures `kmvae.metrics.plots` saves, captured just before they are written: a list
    (one entry per figure) of lists (one per axes) of dicts with the axes' `title`, its scatter
    `points` (offsets of each collection), `colours` (each collection's colour-mapped values,
    or None), `lines` (xy data) and `images` (arrays)."""
    from kmvae.metrics import plots

    figures = []
    save = plots._save

    def capture(fig, path):
        figures.append([{"title": ax.get_title(),
                         "points": [np.asarray(c.get_offsets()) for c in ax.collections],
                         "colours": [None if c.get_array() is None else np.asarray(c.get_array())
                                     for c in ax.collections],
                         "lines": [np.asarray(line.get_xydata()) for line in ax.lines],
                         "images": [np.asarray(image.get_array()) for image in ax.images]}
                        for ax in fig.axes])
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", capture)
    return figures
