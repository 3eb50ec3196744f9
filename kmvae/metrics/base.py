"""The interface every metric of `kmvae.evaluate.compute_metrics` implements.

A metric is a `Metric` subclass: it says whether it `applies` to a model and its recipe, it
`compute`s its entries of `metrics.json` (the keys it owns, listed in its `keys`, documented
in its docstring) and may draw figures (`plot`). `compute_metrics` loops over
`kmvae.metrics.suite.default_metrics()` and never branches on model types: what differs
between models is in each metric's `applies`.
"""


class Context:
    """What `compute_metrics` hands to every metric besides the model and the test split.

    Attributes:
        test: the test split, batches of dicts.
        has_label: whether the test batches hold a `"label"` (the class-based metrics).
        plots_dir: where the figures go, or None (no figures).
        recipe: the `kmvae.recipes.Recipe` (its `source`, `target`, `dataset`,
            `dataset_options`, `load_data`).
        train: the training split as the metrics read it (`kmvae.evaluate.probe_training_data`).
        evaluated: the model the MoPoE-protocol metrics condition with
            (`kmvae.metrics.subsets.paper_subset_model`).
        num_samples, eval_examples, prior_samples, coherence_examples, oracle_epochs,
            oracle_dir: the evaluation's settings (see `compute_metrics`).
        result: the entries computed so far (a metric may read an earlier one's, e.g. the
            figures read `"coherence"`).
        estimate: `estimate(modalities, proposal, of=model)`, the shared, memoised importance
            sampling (`kmvae.metrics.importance_sampling`): every estimate is drawn once per
            evaluation whichever metrics read it.
        say: print when verbose, else nothing.
    """

    def __init__(self, **entries):
        self.__dict__.update(entries)


class Metric:
    """Base class of the metrics `kmvae.evaluate.compute_metrics` loops over.

    Class attributes:
        name: the metric's part: its key in `"eval_seconds_parts"` and in the evaluation's
            `PartCache` (None: computed every time, its seconds counted in the next part's).
        keys: the `metrics.json` keys the metric writes (a `<...>` stands for a recipe's
            modality names). Every key of `metrics.json` is owned by one metric
            (`kmvae.metrics.suite.METRICS_JSON_KEYS` lists them all).

        cached: whether a finished part is kept in the `PartCache` (a part not cached still
            gets its seconds in `"eval_seconds_parts"`).

    Subclasses implement `applies` and `compute`, and `plot` if they draw figures.
    """

    name = None
    keys = ()

    cached = True     # kept in the evaluation's `PartCache` (with a `name`)

    def applies(self, model, context):
        """Whether the metric is computed for `model` (its recipe, data and settings are in
        `context`)."""
        return True

    def compute(self, model, context):
        """The metric's entries of `metrics.json`, a dict keyed by (some of) `self.keys`.

        Args:
            model: the trained `kmvae.models.MultimodalVAE`.
            context: a `Context` (the test split is `context.test`).
        """
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"
