"""Training callbacks."""

import keras


class KLWarmup(keras.callbacks.Callback):
    """Linear KL warm-up: the model's `kl_weight` rises from 0 to `beta` over `epochs` epochs,
    step by step, then stays at `beta` (MVAE section 4.1: beta annealed from 0 to 1 over the
    first 200 epochs).

    Args:
        epochs: length of the warm-up, in epochs (> 0).
        beta: the final weight; default the model's `beta`.

    Raises:
        ValueError: if `epochs` is not positive.

    Example:
        >>> model.fit(train, epochs=500, callbacks=[kmvae.callbacks.KLWarmup(200)])
    """

    def __init__(self, epochs, beta=None):
        super().__init__()
        if not epochs > 0:
            raise ValueError(f"KLWarmup epochs must be > 0; received {epochs!r}.")
        self.epochs = epochs
        self.beta = beta
        self._epoch = 0

    def _target(self):
        return self.model.beta if self.beta is None else self.beta

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._set(epoch / self.epochs)

    def on_train_batch_begin(self, batch, logs=None):
        steps = self.params.get("steps") if self.params else None
        if steps:
            self._set((self._epoch + batch / steps) / self.epochs)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["kl_weight"] = float(self.model.kl_weight.numpy())

    def _set(self, progress):
        self.model.kl_weight.assign(self._target() * min(1.0, progress))


class ReplayDataOrder(keras.callbacks.Callback):
    """Makes a resumed fit see the data order of the uninterrupted one.

    A `tf.data` shuffle with `reshuffle_each_iteration` (and `Dataset.random` with
    `rerandomize_each_iteration`, and kmvae's fresh binarisation) draws its seeds when an
    iterator of the dataset is created: the k-th iterator of a freshly built dataset gets the
    k-th order. A fit that starts at epoch N > 0 (after `keras.callbacks.BackupAndRestore`
    restored a backup in a new process) would otherwise give epoch N the order of epoch 0.
    Before that first epoch, this callback creates and drops the iterators the uninterrupted
    fit created before epoch N, which draws nothing else.

    Keras 3's `fit` creates `iterators_per_epoch` iterators per epoch: 2 for a dataset of known
    cardinality without `steps_per_epoch` (one at the epoch's start, one when it ran through
    all batches), 1 for an unknown cardinality. `MultimodalVAE.fit` adds this callback for
    `tf.data` inputs without `steps_per_epoch` and gives it that number; the resume test
    (`tests/training/test_resume.py`) checks it against an uninterrupted run.

    Assumes the dataset was built in this process and no iterator of it was created before
    (a fit retried in the same process after an exception would skip too far).

    Args:
        dataset: the `tf.data.Dataset` that `fit` iterates.
        iterators_per_epoch: the iterators `fit` creates per epoch (>= 1).
    """

    def __init__(self, dataset, iterators_per_epoch):
        super().__init__()
        self.dataset = dataset
        self.iterators_per_epoch = int(iterators_per_epoch)
        self._started = False

    @classmethod
    def for_fit(cls, dataset):
        """The callback for `fit(dataset)` without `steps_per_epoch`."""
        known = int(dataset.cardinality()) >= 0
        return cls(dataset, 2 if known else 1)

    def on_train_begin(self, logs=None):
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._started:
            self._started = True
            for _ in range(epoch * self.iterators_per_epoch):
                iter(self.dataset)


class SplitAccuracyLogger(keras.callbacks.Callback):
    """Logs SVAE's model-selection criterion at the end of every epoch: the oracle accuracy of
    the whole images decoded from the parts in `given` (Kutuzova et al. 2021, Appendix F.1 and
    F.4: "the best epoch is chosen by the highest accuracy of the reconstruction from the top
    half evaluated on the validation set"), computed on `validation` by
    `kmvae.metrics.split_reconstruction_accuracy` and written into the epoch's logs as `name`,
    so that `keras.callbacks.ModelCheckpoint(monitor=name, mode="max")`, `CSVLogger` and
    TensorBoard see it. Put it before them in the callback list.

    By default the parts are decoded from one posterior sample, as Table 1's accuracy and the
    authors' selection (experiments/mnist_split/run.py scores the sampled top-half
    reconstruction), so the criterion sees the posterior's spread, not only its centre. The
    sample is stateless, seeded by `seed` and the batch, so the criterion is a function of the
    weights alone and a resumed run selects the epoch an uninterrupted one selects.

    Args:
        validation: `tf.data.Dataset` of batches holding every part and the label.
        parts: the part names from top to bottom, e.g. `("top", "bottom")`.
        dataset: the registered data set name whose reassembled training images train the
            oracle (`kmvae.metrics.train_whole_image_oracle`, cached in `oracle_dir`), loaded
            with its `kmvae.datasets.load` options `dataset_options`, a dict
            (`kmvae.datasets.oracle_training_data`: the mask options are dropped).
        given: the parts the reconstruction is decoded from (default the top one).
        name: the log key (default `"val_top_accuracy"`). A float in [0, 1].
        oracle: a classifier of `(batch, height, width, 1)` whole images; default: trained
            (or loaded) at the start of training.
        oracle_epochs: training epochs of a new oracle.
        image_shape: `(height, width)` of the whole image.
        sample: decode a posterior sample (default) or the posterior mean.
        seed: the int seed of the samples (the same at every epoch).

    Raises:
        ValueError: `given` names a part not in `parts`.

    Example:
        >>> logger = SplitAccuracyLogger(validation, ("top", "bottom"), "mnist_split")
        >>> model.fit(train, validation_data=validation, epochs=200, callbacks=[
        ...     logger, keras.callbacks.ModelCheckpoint(
        ...         "best.weights.h5", monitor="val_top_accuracy", mode="max",
        ...         save_best_only=True, save_weights_only=True)])
    """

    def __init__(self, validation, parts, dataset=None, given=("top",),
                 name="val_top_accuracy", oracle=None, oracle_epochs=10, oracle_dir=None,
                 image_shape=(28, 28), dataset_options=None, sample=True, seed=0):
        super().__init__()
        unknown = [p for p in given if p not in parts]
        if unknown:
            raise ValueError(f"SplitAccuracyLogger: given parts {unknown} are not among the "
                             f"parts {tuple(parts)}.")
        self.validation = validation
        self.parts = tuple(parts)
        self.given = tuple(given)
        self.name = name
        self.image_shape = tuple(image_shape)
        self.sample = bool(sample)
        self.seed = int(seed)
        if oracle is None and dataset is None:
            raise ValueError("SplitAccuracyLogger needs an oracle or the data set name its "
                             "oracle is trained on; received neither.")
        self._oracle_options = dict(epochs=oracle_epochs, cache_dir=oracle_dir,
                                    image_shape=self.image_shape)
        self._dataset = (dataset, dict(dataset_options or {}))
        self.oracle = oracle

    def on_train_begin(self, logs=None):
        if self.oracle is None:
            from kmvae.datasets import oracle_training_data
            from kmvae.metrics.split import train_whole_image_oracle
            train, name = oracle_training_data(*self._dataset)
            self.oracle = train_whole_image_oracle(train, self.parts, name=name,
                                                   **self._oracle_options)

    def on_epoch_end(self, epoch, logs=None):
        from kmvae.metrics.split import split_reconstruction_accuracy
        accuracy = split_reconstruction_accuracy(self.model, self.validation, self.oracle,
                                                 self.parts, sample=self.sample,
                                                 subsets=[self.given], seed=self.seed,
                                                 image_shape=self.image_shape)
        if logs is not None:
            logs[self.name] = next(iter(accuracy.values()))


class CrossModalAccuracyLogger(keras.callbacks.Callback):
    """Logs the accuracy of predicting the categorical modality `target` from `source` on
    `validation` at the end of every epoch: the class of highest p(target | z) at z the mean of
    q(z | source), `kmvae.metrics.cross_modal_accuracy` (MVAE, Wu & Goodman 2018, section 6.1:
    the p(y | x) task of Figure 4). It is written into the epoch's logs as `name`, so that
    `CSVLogger`, TensorBoard and `ModelCheckpoint(monitor=name, mode="max")` see it; put it
    before them in the callback list. Under weak supervision it shows how the pairing of the
    modalities evolves while training, which the ELBO does not.

    Args:
        validation: `tf.data.Dataset` of batches holding `source` and `target` (a `"mask"` is
            ignored: every example counts). Scored once per epoch, so keep it small.
        source, target: modality names; `target` must be categorical.
        name: the log key; default `"val_accuracy(<source>-><target>)"`. A float in [0, 1].

    Raises:
        ValueError: at the start of training, when the model has no modality `source` or
            `target`, or `target` is not categorical (the message names them).

    Example:
        >>> model.fit(train, validation_data=validation, epochs=500, callbacks=[
        ...     kmvae.callbacks.CrossModalAccuracyLogger(validation),
        ...     keras.callbacks.CSVLogger("history.csv")])
    """

    def __init__(self, validation, source="image", target="label", name=None):
        super().__init__()
        self.validation = validation
        self.source, self.target = source, target
        self.name = name or f"val_accuracy({source}->{target})"

    def on_train_begin(self, logs=None):
        names = self.model.modality_names
        for role, modality in (("source", self.source), ("target", self.target)):
            if modality not in names:
                raise ValueError(f"CrossModalAccuracyLogger: {role} {modality!r} is not a "
                                 f"modality of the model; it has {tuple(names)}.")
        if not self.model.modalities[names.index(self.target)].is_categorical:
            raise ValueError(f"CrossModalAccuracyLogger: target {self.target!r} must be "
                             f"categorical; it is "
                             f"{self.model.modalities[names.index(self.target)].likelihood}.")

    def on_epoch_end(self, epoch, logs=None):
        from kmvae.metrics import cross_modal_accuracy
        if logs is not None:
            logs[self.name] = cross_modal_accuracy(self.model, self.validation, self.source,
                                                   self.target)
