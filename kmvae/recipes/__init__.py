"""Recipes: each paper experiment as a ready model, data set and fit settings, loadable by name.

The recipes are data kept in the top-level `recipes/` folder of the repository, one module per
paper (`mvae.py`, `mopoe.py`, `msnvi.py`, `m2vae.py`, `svae.py`, and the `digits.py` demo), each
holding `RECIPES`, a dict recipe name -> `Recipe`, and `TARGETS`, a dict recipe name -> the
numbers the paper reports for it (the report `python -m kmvae.reproduction` compares them with
the runs). Installed, that folder is the package `kmvae.recipes.catalog`; run from a source
checkout, the checkout's own folder is used. `kmvae.recipes.load(name)` works from both.

Example:
    >>> recipe = kmvae.recipes.load("digits")
    >>> model = recipe.build_model()            # compiled
    >>> train, test = recipe.load_data()
    >>> model.fit(train, epochs=recipe.epochs, callbacks=recipe.callbacks())
"""

import copy
import dataclasses
import difflib
import importlib
import importlib.util
import pkgutil
import sys
from typing import Callable, Optional

import keras

from kmvae import checkout
from kmvae.errors import UnknownRecipeError

_CATALOG = "kmvae.recipes.catalog"
PACKAGE = "kmvae"       # the Keras registration package of a model named without one

# SVAE's model selection (Appendix F.1, F.4): the top part's reconstruction accuracy on validation
SPLIT_SELECTION = "val_top_accuracy"
OPTIMIZERS = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}


@dataclasses.dataclass
class Recipe:
    """One experiment: which model on which data, trained how, evaluated how.

    Args:
        name: the name `load` takes.
        description: one line.
        paper: the paper, section and table or figure the recipe follows.
        model: the name of a model class registered with Keras
            (`keras.saving.register_keras_serializable`): kmvae's by their class name
            (`"MVAE"`, `"MoPoEVAE"`, `"M2VAE"`, `"SVAE"`, ...), another package's as
            `"package>Name"` (see `model_class`).
        modalities: a function returning fresh `kmvae.Modality` objects (networks included).
        dataset: a `kmvae.datasets` name; `dataset_options` are passed to `kmvae.datasets.load`.
        latent_dim, model_options: passed to the model (`beta`, `num_random_subsets`, ...).
        epochs, batch_size, learning_rate: fit settings.
        optimizer: `"adam"` (default) or `"rmsprop"` (M2VAE's toy experiments).
        kl_warmup_epochs: linear KL warm-up length (`kmvae.callbacks.KLWarmup`), or None.
        stages: for a model trained in stages (`kmvae.TVAE`'s `set_stage`), the share of the
            epochs of each stage, e.g. `(1, 1)`: `fit` runs stage 1, then `set_stage(2)`,
            recompiles and runs stage 2. Empty: one stage.
        eval_num_samples: K of the importance-sampled test log-likelihoods.
        source, target: the modalities of the cross-modal accuracy (predict `target` from
            `source`) and of MVAE Tables 2-5's estimates (`log p(source)`,
            `log p(source, target)`, `log p(source | target)`); None for data without such a
            pair (PolyMNIST): those are skipped.
        selection: model selection, as the paper's: the `fit` log of the validation split
            (`dataset_options["validation"]`, held out of the training data) whose best epoch
            is kept, e.g. `"val_elbo"` (the validation ELBO at beta = 1, comparable across the
            KL warm-up, where `val_loss` is not); None keeps the last epoch and validates on
            the test split.
            `SPLIT_SELECTION` (`"val_top_accuracy"`) is SVAE's criterion on MNIST-Split(-3),
            logged by `kmvae.callbacks.SplitAccuracyLogger`.
        selection_mode: `"max"` (default) or `"min"`: whether the best epoch has the highest
            or the lowest `selection`.
        metrics: the names of the `kmvae.metrics.Metric` classes its evaluation runs, in order
            (`kmvae.metrics.suite.METRICS`), each where it applies; None (default): every one
            of `kmvae.metrics.suite.default_metrics()`.
        notes: how the recipe differs from the paper.
    """

    name: str
    description: str
    paper: str
    model: str
    modalities: Callable[[], list]
    dataset: str
    latent_dim: int
    epochs: int
    batch_size: int = 100
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    kl_warmup_epochs: Optional[int] = None
    dataset_options: dict = dataclasses.field(default_factory=dict)
    model_options: dict = dataclasses.field(default_factory=dict)
    stages: tuple = ()
    eval_num_samples: int = 1000
    source: Optional[str] = "image"
    target: Optional[str] = "label"
    selection: Optional[str] = None
    selection_mode: str = "max"
    metrics: Optional[tuple] = None
    notes: str = ""

    def __post_init__(self):
        if self.selection_mode not in ("max", "min"):
            raise ValueError(f"Recipe {self.name!r}: selection_mode must be 'max' or 'min'; "
                             f"received {self.selection_mode!r}.")
        if self.selection is not None and not self.dataset_options.get("validation"):
            raise ValueError(f"Recipe {self.name!r}: selection={self.selection!r} needs a "
                             f"validation split (dataset_options['validation']).")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Recipe {self.name!r}: unknown optimizer {self.optimizer!r}; "
                             f"expected one of {tuple(OPTIMIZERS)}.")
        if self.metrics is not None:
            from kmvae.metrics.suite import METRICS
            unknown = [name for name in self.metrics if name not in METRICS]
            if unknown:
                raise ValueError(f"Recipe {self.name!r}: unknown metrics {unknown}; expected "
                                 f"names of {tuple(METRICS)}.")
        try:
            model_class(self.model)
        except ValueError as error:
            raise ValueError(f"Recipe {self.name!r}: {error}") from None

    def build_model(self, compile=True, seed=None):
        """The recipe's model, compiled with its optimizer (Adam by default) at `learning_rate`
        unless `compile=False`; `seed` (an int) seeds its training noise.
        Built under the current Keras dtype policy (set a mixed policy first for mixed
        precision) and distribution strategy scope."""
        cls = model_class(self.model)
        options = dict(self.model_options)
        if seed is not None:
            options["seed"] = int(seed)
        model = cls(self.modalities(), self.latent_dim, **options)
        if compile:
            model.compile(optimizer=self.make_optimizer())
        return model

    def check_modalities(self):
        """Checks the recipe's modalities against its data set's spec (`kmvae.datasets.spec`
        under the data set's own options among `dataset_options`).

        Each modality must be one of the data set's, with the same shape, likelihood and
        number of classes, and the modalities must come in the order of the data set's
        `"mask"` columns. A data set may hold modalities the recipe leaves out (an IWAE on the
        image of `mnist_label`), unless the recipe masks examples (`supervision` or
        `keep_probability` in `dataset_options`): the mask has a column per data-set modality,
        so then the modalities must be exactly the data set's.

        Raises:
            ValueError: naming the recipe, the modality and the mismatch (or an unknown data
                set or option).
        """
        from kmvae.datasets import registry
        try:
            entry = registry.entry(self.dataset)
            spec = registry.spec(self.dataset, **{key: value for key, value in
                                                  self.dataset_options.items()
                                                  if key in entry.options})
        except ValueError as error:
            raise ValueError(f"Recipe {self.name!r}: {error}") from None
        where = f"Recipe {self.name!r}: modality"
        expected_names = tuple(spec)
        names = []
        for modality in self.modalities():
            names.append(modality.name)
            if modality.name not in spec:
                raise ValueError(f"{where} {modality.name!r} is not in data set "
                                 f"{self.dataset!r}, whose modalities are {expected_names}.")
            expected = spec[modality.name]
            for key, value in (("shape", tuple(modality.shape)),
                               ("likelihood", modality.likelihood),
                               ("num_classes", modality.num_classes)):
                wanted = expected.get(key)
                wanted = tuple(wanted) if key == "shape" else wanted
                if value != wanted:
                    raise ValueError(f"{where} {modality.name!r} has {key} {value!r} but data "
                                     f"set {self.dataset!r} gives {key} {wanted!r}; make the "
                                     f"modality match the data.")
        names = tuple(names)
        in_order = tuple(name for name in expected_names if name in names)
        if names != in_order:
            raise ValueError(f"Recipe {self.name!r}: modalities {names} are not in the order "
                             f"of data set {self.dataset!r}'s mask columns {expected_names}.")
        masked = [key for key in ("supervision", "keep_probability")
                  if self.dataset_options.get(key) is not None]
        if masked and names != expected_names:
            missing = tuple(name for name in expected_names if name not in names)
            raise ValueError(f"Recipe {self.name!r}: modalities {names} leave out {missing} of "
                             f"data set {self.dataset!r}, but {masked[0]} masks examples with "
                             f"one column per data-set modality {expected_names}.")

    def make_optimizer(self):
        """A fresh `keras.optimizers.Adam` or `RMSprop` at `learning_rate`."""
        return OPTIMIZERS[self.optimizer](self.learning_rate)

    def fit(self, model, train, test=None, epochs=None, verbose=2):
        """Trains `model` (from `build_model`) as the recipe says: `epochs` (default the
        recipe's) with its callbacks, split over `stages` when it has them.

        Returns:
            dict metric name -> list of per-epoch values, the stages' histories concatenated.

        Raises:
            ValueError: `stages` given for a model without `set_stage`, or fewer epochs than
                stages.
        """
        epochs = self.epochs if epochs is None else int(epochs)
        if not self.stages:
            return model.fit(train, epochs=epochs, validation_data=test,
                             callbacks=self.callbacks(epochs, test), verbose=verbose).history
        if not hasattr(model, "set_stage"):
            raise ValueError(f"Recipe {self.name!r} has stages {self.stages} but "
                             f"{type(model).__name__} has no set_stage.")
        splits = split_epochs(epochs, self.stages)
        history = {}
        for stage, stage_epochs in enumerate(splits, start=1):
            model.set_stage(stage)
            model.compile(optimizer=self.make_optimizer())
            part = model.fit(train, epochs=stage_epochs, validation_data=test,
                             callbacks=self.callbacks(stage_epochs, test),
                             verbose=verbose).history
            for key, values in part.items():
                history.setdefault(key, []).extend(values)
        return history

    @property
    def validation_split(self):
        """The split `fit` validates on: `"validation"` when the recipe holds one out, else
        `"test"`."""
        return "validation" if self.dataset_options.get("validation") else "test"

    def load_data(self, split=("train", "test"), **overrides):
        """`kmvae.datasets.load(dataset, split, batch_size, **dataset_options)`."""
        from kmvae import datasets
        options = {**self.dataset_options, **overrides}
        return datasets.load(self.dataset, split=split, batch_size=self.batch_size, **options)

    def callbacks(self, epochs=None, validation=None):
        """The fit callbacks of the recipe: the KL warm-up; for a `selection` that `fit`
        does not log itself (`SPLIT_SELECTION`, SVAE's top-half accuracy), the callback that
        logs it on `validation`; and for a weakly supervised recipe (`supervision` in its
        `dataset_options`) whose `metrics` name `"CrossModalAccuracy"`, given `validation`,
        `kmvae.callbacks.CrossModalAccuracyLogger` (`"val_accuracy(<source>-><target>)"`,
        MVAE Figure 4's accuracy at every epoch). Trained for `epochs` instead of the
        recipe's, the warm-up keeps its share of training (MVAE: 200 of 500 epochs, so 40%).

        Raises:
            ValueError: the recipe selects on `SPLIT_SELECTION` and `validation` is None.
        """
        from kmvae.callbacks import CrossModalAccuracyLogger, KLWarmup, SplitAccuracyLogger
        callbacks = []
        if self.kl_warmup_epochs:
            warmup = self.kl_warmup_epochs
            if epochs is not None and epochs != self.epochs:
                warmup = max(1, round(warmup * epochs / self.epochs))
            callbacks.append(KLWarmup(warmup))
        if self.selection == SPLIT_SELECTION:
            if validation is None:
                raise ValueError(f"Recipe {self.name!r} selects on {SPLIT_SELECTION!r}, "
                                 f"which needs the validation data; pass validation=.")
            from kmvae.datasets import part_names
            parts = part_names(self.dataset, self.dataset_options)
            callbacks.append(SplitAccuracyLogger(validation, parts, self.dataset,
                                                 given=parts[:1], name=SPLIT_SELECTION,
                                                 dataset_options=self.dataset_options))
        if (self.dataset_options.get("supervision") and validation is not None
                and "CrossModalAccuracy" in (self.metrics or ())):
            callbacks.append(CrossModalAccuracyLogger(validation, self.source, self.target))
        return callbacks


def split_epochs(epochs, shares):
    """Splits `epochs` over training stages in proportion to `shares`: the cumulative shares
    rounded, so the stages' epochs add up to `epochs` exactly and each stage trains at least
    one (5 over `(1, 1)` -> `[2, 3]`).

    Raises:
        ValueError: when `epochs` is smaller than the number of stages.
    """
    epochs, total, n = int(epochs), sum(shares), len(shares)
    if epochs < n:
        raise ValueError(f"{n} training stages need at least {n} epochs; received "
                         f"epochs={epochs}.")
    bounds, done = [0], 0
    for i, share in enumerate(shares[:-1], start=1):
        done += share
        bound = max(bounds[-1] + 1, round(epochs * done / total))
        bounds.append(min(bound, epochs - (n - i)))     # leave an epoch for each later stage
    bounds.append(epochs)
    return [b - a for a, b in zip(bounds, bounds[1:])]


def model_class(name):
    """The model class a recipe's `model` names, from Keras's serialisation registry.

    Args:
        name: a class name registered under the package `"kmvae"` (`"MVAE"` is the class
            registered as `"kmvae>MVAE"`), or a full registered name `"package>Name"` (a model
            of another package, registered with
            `keras.saving.register_keras_serializable(package=...)`).

    Returns:
        A subclass of `kmvae.models.MultimodalVAE`.

    Raises:
        ValueError: when no model class is registered under that name; the message lists the
            registered ones.
    """
    from kmvae.models import MultimodalVAE

    def is_model(value):
        return isinstance(value, type) and issubclass(value, MultimodalVAE)

    registered = name if isinstance(name, str) and ">" in name else f"{PACKAGE}>{name}"
    cls = keras.saving.get_registered_object(registered)
    if not is_model(cls):
        known = sorted(key.split(">", 1)[1] if key.startswith(f"{PACKAGE}>") else key
                       for key, value in keras.saving.get_custom_objects().items()
                       if ">" in key and is_model(value))
        raise ValueError(f"unknown model {name!r}; expected a model class registered with "
                         f"keras.saving.register_keras_serializable: one of {tuple(known)}.")
    return cls


def _catalog():
    """The catalog package `kmvae.recipes.catalog`: the `recipes/` folder of the checkout kmvae
    is imported from (`kmvae.checkout.root()`), else the installed package."""
    if _CATALOG in sys.modules:
        return sys.modules[_CATALOG]
    root = checkout.root()
    if root is None:
        try:
            return importlib.import_module(_CATALOG)
        except ImportError:
            raise ImportError("kmvae's recipe catalog is neither installed "
                              f"({_CATALOG}) nor in a source checkout.") from None
    folder = root / "recipes"
    spec = importlib.util.spec_from_file_location(
        _CATALOG, folder / "__init__.py", submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[_CATALOG] = module
    spec.loader.exec_module(module)
    return module


def papers():
    """The catalog's paper modules: a dict module name (`"mvae"`, `"mopoe"`, `"msnvi"`,
    `"m2vae"`, `"svae"`, `"digits"`) -> the imported module, each with `RECIPES` (recipe name
    -> `Recipe`) and `TARGETS` (recipe name -> the paper's numbers)."""
    catalog = _catalog()
    return {info.name: importlib.import_module(f"{catalog.__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(catalog.__path__), key=lambda i: i.name)
            if not info.name.startswith("_")}


def paper(name):
    """The catalog module of paper `name` (a key of `papers()`).

    Raises:
        ValueError: for an unknown paper, naming the catalog's.
    """
    modules = papers()
    if name not in modules:
        raise ValueError(f"Unknown recipe module {name!r}; the catalog has {tuple(modules)}.")
    return modules[name]


def _recipes():
    """Every recipe of the catalog: name -> `Recipe`.

    Raises:
        ValueError: a paper module without `RECIPES`, a key that is not its recipe's name, or a
            name defined in two modules.
    """
    found, where = {}, {}
    for module_name, module in papers().items():
        table = getattr(module, "RECIPES", None)
        if not isinstance(table, dict):
            raise ValueError(f"Recipe module {module_name}.py defines no RECIPES dict.")
        for name, recipe in table.items():
            if recipe.name != name:
                raise ValueError(f"Recipe module {module_name}.py lists recipe "
                                 f"{recipe.name!r} under the name {name!r}.")
            if name in found:
                raise ValueError(f"Recipe {name!r} is defined in both {where[name]}.py and "
                                 f"{module_name}.py.")
            found[name], where[name] = recipe, module_name
    return found


def list():  # noqa: A001  (the public name the workflow uses: kmvae.recipes.list())
    """Names of the available recipes, sorted."""
    return sorted(_recipes())


def load(name):
    """The `Recipe` called `name`, its modalities checked against its data set
    (`Recipe.check_modalities`).

    Raises:
        UnknownRecipeError (a ValueError): for an unknown name, naming the closest ones.
        ValueError: the recipe's modalities do not match its data set's (see
            `Recipe.check_modalities`).
    """
    found = _recipes()
    if name not in found:
        names = sorted(found)
        close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.6)
        hint = (f"did you mean {' or '.join(close)}?" if close
                else f"available: {', '.join(names)}.")
        raise UnknownRecipeError(f"Unknown recipe {name!r}; {hint} (`kmvae recipes` lists "
                                 f"them all)")
    recipe = found[name]
    recipe.check_modalities()
    return recipe


def targets(name):
    """The numbers the paper reports for recipe `name`, as its catalog module's `TARGETS` has
    them (a deep copy): keys of `metrics.json` with the paper's values, and what the paper
    did (e.g. `epochs`); `{}` for a recipe without paper numbers.

    Raises:
        UnknownRecipeError (a ValueError): for an unknown name.
    """
    for module in papers().values():
        if name in getattr(module, "RECIPES", {}):
            return copy.deepcopy(getattr(module, "TARGETS", {}).get(name, {}))
    load(name)          # raises UnknownRecipeError
    return {}
