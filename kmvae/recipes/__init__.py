"""Recipes: each paper experiment as a ready model, data set and fit settings, loadable by name.

The recipes themselves live in the top-level `recipes/` folder of the repository, one file per
experiment, each defining `RECIPE`; installed, that folder is the package
`kmvae.recipes.catalog`. `kmvae.recipes.load(name)` works from a checkout and from a wheel.

Example:
    >>> recipe = kmvae.recipes.load("digits")
    >>> model = recipe.build_model()            # compiled
    >>> train, test = recipe.load_data()
    >>> model.fit(train, epochs=recipe.epochs, callbacks=recipe.callbacks())
"""

import dataclasses
import difflib
import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path
from typing import Callable, Optional

import keras

from kmvae.errors import UnknownRecipeError

_CATALOG = "kmvae.recipes.catalog"
MODELS = ("MVAE", "MoPoEVAE", "MoEVAE", "MMVAE", "MSNVI", "JMVAE", "JMVAEZero", "TVAE", "M2VAE",
          "SVAE", "VAEVAE", "VAEVAEStar")

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
        model: a model class name in `MODELS` (`"MVAE"`, `"MoPoEVAE"`, `"M2VAE"`, `"SVAE"`, ...).
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
        if self.model not in MODELS:
            raise ValueError(f"Recipe {self.name!r}: unknown model {self.model!r}; expected one "
                             f"of {MODELS}.")

    def build_model(self, compile=True, seed=None):
        """The recipe's model, compiled with its optimizer (Adam by default) at `learning_rate`
        unless `compile=False`; `seed` (an int) seeds its training noise.
        Built under the current Keras dtype policy (set a mixed policy first for mixed
        precision) and distribution strategy scope."""
        import kmvae
        cls = getattr(kmvae, self.model)
        options = dict(self.model_options)
        if seed is not None:
            options["seed"] = int(seed)
        model = cls(self.modalities(), self.latent_dim, **options)
        if compile:
            model.compile(optimizer=self.make_optimizer())
        return model

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
        """The fit callbacks of the recipe: the KL warm-up and, for a `selection` that `fit`
        does not log itself (`SPLIT_SELECTION`, SVAE's top-half accuracy), the callback that
        logs it on `validation`. Trained for `epochs` instead of the recipe's, the warm-up
        keeps its share of training (MVAE: 200 of 500 epochs, so 40%).

        Raises:
            ValueError: the recipe selects on `SPLIT_SELECTION` and `validation` is None.
        """
        from kmvae.callbacks import KLWarmup, SplitAccuracyLogger
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
            from kmvae.metrics.split import split_parts_of
            parts, options = split_parts_of(self.dataset, self.dataset_options)
            callbacks.append(SplitAccuracyLogger(validation, parts, self.dataset,
                                                 given=parts[:1], name=SPLIT_SELECTION,
                                                 dataset_options=options))
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


def _catalog():
    """The catalog package: installed, or the checkout's `recipes/` folder."""
    if _CATALOG in sys.modules:
        return sys.modules[_CATALOG]
    try:
        return importlib.import_module(_CATALOG)
    except ImportError:
        folder = Path(__file__).resolve().parents[2] / "recipes"
        spec = importlib.util.spec_from_file_location(
            _CATALOG, folder / "__init__.py", submodule_search_locations=[str(folder)])
        if spec is None:
            raise ImportError(f"kmvae's recipes are neither installed nor in {folder}.") from None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_CATALOG] = module
        spec.loader.exec_module(module)
        return module


def list():  # noqa: A001  (the public name the workflow uses: kmvae.recipes.list())
    """Names of the available recipes, sorted."""
    catalog = _catalog()
    return sorted(m.name for m in pkgutil.iter_modules(catalog.__path__)
                  if not m.name.startswith("_"))


def load(name):
    """The `Recipe` called `name`.

    Raises:
        UnknownRecipeError (a ValueError): for an unknown name, naming the closest ones.
    """
    names = list()
    if name not in names:
        close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.6)
        hint = (f"did you mean {' or '.join(close)}?" if close
                else f"available: {', '.join(names)}.")
        raise UnknownRecipeError(f"Unknown recipe {name!r}; {hint} (`kmvae recipes` lists "
                                 f"them all)")
    recipe = importlib.import_module(f"{_CATALOG}.{name}").RECIPE
    if recipe.name != name:
        raise ValueError(f"Recipe file {name}.py defines a recipe named {recipe.name!r}.")
    return recipe
