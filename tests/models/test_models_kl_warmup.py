"""`kmvae.callbacks.KLWarmup`: the KL weight rises linearly from 0 to beta, step by step, and the
compiled train step really uses the current value."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kmvae.callbacks import KLWarmup


class Recorder(keras.callbacks.Callback):
    """Reads the model's kl_weight where the train step will see it."""

    def __init__(self):
        super().__init__()
        self.batch_values, self.epoch_begin, self.epoch_end = [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_begin.append(float(self.model.kl_weight.numpy()))

    def on_train_batch_begin(self, batch, logs=None):
        self.batch_values.append(float(self.model.kl_weight.numpy()))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_end.append(float(self.model.kl_weight.numpy()))


@pytest.fixture
def setup(tiny):
    model = tiny.model("MoPoEVAE", latent_dim=2, beta=2.0)
    model.compile(keras.optimizers.SGD(0.0), jit_compile=False)
    data = tf.data.Dataset.from_tensor_slices(tiny.batch(model.modalities, 16)).batch(4)
    return model, data


def test_kl_weight_rises_linearly_to_beta_over_the_epochs(setup):
    model, data = setup
    recorder = Recorder()
    history = model.fit(data, epochs=6, verbose=0, callbacks=[KLWarmup(4), recorder])
    beta, steps, warmup = 2.0, 4, 4
    expected_batches = [beta * min(1.0, (e + b / steps) / warmup)
                        for e in range(6) for b in range(steps)]
    np.testing.assert_allclose(recorder.batch_values, expected_batches, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(recorder.epoch_begin, [0.0, 0.5, 1.0, 1.5, 2.0, 2.0], atol=1e-7)
    # After each epoch: the value of its last step, 2 * (e + 3/4) / 4, then beta.
    np.testing.assert_allclose(recorder.epoch_end, [0.375, 0.875, 1.375, 1.875, 2.0, 2.0],
                               atol=1e-6)
    np.testing.assert_allclose(history.history["kl_weight"], recorder.epoch_end, atol=1e-6)
    # Linear: equal increments during the warm-up.
    increments = np.diff(recorder.batch_values[:warmup * steps])
    np.testing.assert_allclose(increments, beta / (warmup * steps), rtol=1e-5)
    assert model.beta == 2.0


def test_explicit_beta_overrides_the_models(setup):
    model, data = setup
    recorder = Recorder()
    model.fit(data, epochs=3, verbose=0, callbacks=[KLWarmup(2, beta=0.5), recorder])
    np.testing.assert_allclose(recorder.epoch_end, [0.5 * 0.75 / 2, 0.5 * 1.75 / 2, 0.5], atol=1e-6)
    assert recorder.batch_values[0] == 0.0


def test_unknown_number_of_steps_updates_per_epoch(setup):
    model, data = setup
    recorder = Recorder()
    unknown = data.filter(lambda batch: True)
    assert unknown.cardinality() == tf.data.UNKNOWN_CARDINALITY
    model.fit(unknown, epochs=3, verbose=0, callbacks=[KLWarmup(2), recorder])
    np.testing.assert_allclose(recorder.epoch_begin, [0.0, 1.0, 2.0], atol=1e-7)
    # Within the first epoch the steps are unknown: the weight holds at the epoch's value.
    assert recorder.batch_values[:4] == [0.0] * 4


def test_the_train_step_uses_the_current_kl_weight(setup):
    """With a learning rate of 0 and the same training noise, the reported loss moves by exactly
    (change of kl_weight) x (mean KL), in the compiled train step."""
    model, data = setup
    state = model._seed_generator.state.numpy()
    results = []
    for weight in (0.0, 1.0, 3.0):
        model.kl_weight.assign(weight)
        model._seed_generator.state.assign(state)
        results.append(model.fit(data, epochs=1, verbose=0).history)
    kl = results[0]["kl"][0]
    assert kl > 0 and results[1]["kl"][0] == pytest.approx(kl, rel=1e-6)
    assert results[1]["loss"][0] - results[0]["loss"][0] == pytest.approx(kl, rel=1e-4)
    assert results[2]["loss"][0] - results[0]["loss"][0] == pytest.approx(3 * kl, rel=1e-4)


@pytest.mark.parametrize("epochs", [0, -3, 0.0])
def test_warmup_needs_positive_epochs(epochs):
    with pytest.raises(ValueError, match=r"KLWarmup epochs must be > 0; received"):
        KLWarmup(epochs)
