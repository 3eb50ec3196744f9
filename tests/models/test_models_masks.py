"""Missing modalities: whatever a masked entry holds (zeros, NaN, garbage), and whether a missing
modality is masked or left out of the batch, no output, loss or gradient changes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

MODELS = ["MVAE", "MoPoEVAE", "MoEVAE"]


def filled(batch, mask, how, seed=0):
    """A copy of `batch` with every masked entry replaced: "zeros", "nan" (floats; -7 for class
    ids) or "garbage" (huge random values; out-of-range class ids)."""
    rng = np.random.default_rng(seed)
    out = {"mask": mask.copy()}
    for m, (name, value) in enumerate(batch.items()):
        value = value.copy()
        rows = ~mask[:, m]
        if value.dtype.kind == "i":
            fill = {"zeros": 0, "nan": -7, "garbage": 123456}[how]
            value[rows] = fill
        else:
            shape = value[rows].shape
            value[rows] = {"zeros": np.zeros(shape), "nan": np.full(shape, np.nan),
                           "garbage": rng.normal(0, 1e6, shape)}[how]
        out[name] = value
    return out


@pytest.fixture
def setup(tiny, request):
    model = tiny.model(request.param, latent_dim=3)
    mask = np.concatenate([tiny.every_mask(3), np.ones((1, 3), bool)])  # every pattern + full
    batch = tiny.batch(model.modalities, len(mask), seed=3)
    return model, batch, mask


def objective_and_gradients(model, batch, seed_state):
    """Loss, terms and gradients of one training step's objective, with the training noise reset
    to `seed_state` so that two calls draw the same noise."""
    model._seed_generator.state.assign(seed_state)
    with tf.GradientTape() as tape:
        x, mask = model.prepare_batch(batch)
        loss, terms = model.compute_objective(x, mask, training=True)
    gradients = tape.gradient(loss, model.trainable_variables)
    return loss, terms, gradients


def assert_same_objective(model, batch_1, batch_2):
    state = model._seed_generator.state.numpy()
    loss_1, terms_1, grads_1 = objective_and_gradients(model, batch_1, state)
    loss_2, terms_2, grads_2 = objective_and_gradients(model, batch_2, state)
    assert np.isfinite(loss_1.numpy())
    np.testing.assert_array_equal(loss_1, loss_2)
    assert terms_1.keys() == terms_2.keys()
    for name in terms_1:
        np.testing.assert_array_equal(terms_1[name][0], terms_2[name][0], err_msg=name)
        np.testing.assert_array_equal(terms_1[name][1], terms_2[name][1], err_msg=name)
    for variable, g_1, g_2 in zip(model.trainable_variables, grads_1, grads_2):
        g_1, g_2 = tf.convert_to_tensor(g_1).numpy(), tf.convert_to_tensor(g_2).numpy()
        assert np.all(np.isfinite(g_1)) and np.all(np.isfinite(g_2)), variable.path
        np.testing.assert_array_equal(g_1, g_2, err_msg=variable.path)
    return grads_1


def assert_same_outputs(model, batch_1, batch_2):
    q_1, q_2 = model.encode(batch_1), model.encode(batch_2)
    np.testing.assert_array_equal(q_1.mean(), q_2.mean())
    np.testing.assert_array_equal(q_1.stddev(), q_2.stddev())
    out_1, out_2 = model(batch_1), model(batch_2)
    assert out_1.keys() == out_2.keys()
    for key in out_1:
        assert np.all(np.isfinite(out_1[key])), key
        np.testing.assert_array_equal(out_1[key], out_2[key], err_msg=key)
    lls = []
    for b in (batch_1, batch_2):
        keras.utils.set_random_seed(77)
        lls.append(model.log_likelihood(b, num_samples=20, chunk_size=10).numpy())
    assert np.all(np.isfinite(lls[0]))
    np.testing.assert_array_equal(lls[0], lls[1])


@pytest.mark.parametrize("setup", MODELS, indirect=True)
@pytest.mark.parametrize("how", ["nan", "garbage"])
def test_masked_entries_never_change_outputs_loss_or_gradients(setup, how):
    model, batch, mask = setup
    zeros, other = filled(batch, mask, "zeros"), filled(batch, mask, how)
    if how == "nan":
        assert np.isnan(other["a"]).any() and np.isnan(other["b"]).any()
    assert_same_outputs(model, zeros, other)
    gradients = assert_same_objective(model, zeros, other)
    # The gradients are not trivially zero.
    assert sum(float(tf.reduce_sum(tf.abs(tf.convert_to_tensor(g)))) for g in gradients) > 0


@pytest.mark.parametrize("setup", MODELS, indirect=True)
def test_leaving_a_key_out_equals_masking_its_column(setup):
    model, batch, mask = setup
    # Rows where "b" is the only modality would be empty without it: keep the others.
    keep = mask[:, [0, 2]].any(axis=1)
    batch = {name: value[keep] for name, value in batch.items()}
    mask = mask[keep]
    mask_b_out = mask.copy()
    mask_b_out[:, 1] = False
    masked_b = filled(batch, mask_b_out, "nan")
    without_b = filled(batch, mask_b_out, "zeros")
    del without_b["b"]
    assert_same_outputs(model, without_b, masked_b)
    assert_same_objective(model, without_b, masked_b)
    # Without any mask, leaving "b" out makes it missing in every row.
    no_mask = {"a": batch["a"], "c": batch["c"]}
    all_but_b = {**batch, "b": np.full_like(batch["b"], np.nan),
                 "mask": np.array([[True, False, True]] * len(mask))}
    assert_same_outputs(model, no_mask, all_but_b)
    assert_same_objective(model, no_mask, all_but_b)


@pytest.mark.parametrize("setup", MODELS, indirect=True)
def test_rows_are_independent(setup):
    model, batch, mask = setup
    full = filled(batch, mask, "nan")
    out = model(full)
    for row in (0, 3, len(mask) - 1):
        single = {name: value[row:row + 1] for name, value in full.items()}
        out_row = model(single)
        for key in out:
            np.testing.assert_allclose(out_row[key][0], out[key][row], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["MVAE", "MoPoEVAE"])
def test_fit_step_is_the_same_with_nan_or_zero_filling(tiny, kind):
    """`fit` on a tf.data.Dataset (graph checks + XLA train step): NaN in masked entries passes
    the checks and gives exactly the weights of zero filling."""
    model = tiny.model(kind, latent_dim=3)
    mask = np.concatenate([tiny.every_mask(3)] * 3)
    batch = tiny.batch(model.modalities, len(mask), seed=4)
    model.compile(keras.optimizers.SGD(0.1))
    initial = model.get_weights()
    state = model._seed_generator.state.numpy()
    results = []
    for how in ("zeros", "nan"):
        model.set_weights(initial)
        model._seed_generator.state.assign(state)
        data = tf.data.Dataset.from_tensor_slices(filled(batch, mask, how)).batch(7)
        history = model.fit(data, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        results.append((history.history, model.get_weights()))
    assert results[0][0] == results[1][0]
    for w_zero, w_nan, initial_w in zip(results[0][1], results[1][1], initial):
        assert np.all(np.isfinite(w_nan))
        np.testing.assert_array_equal(w_zero, w_nan)
    assert any(not np.array_equal(w, w0) for w, w0 in zip(results[0][1], initial))
