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
