"""Helpers of the subset-model tests (JMVAE, JMVAE-Zero, tVAE, M2VAE, SVAE, VAEVAE): injected
training noise, closed-form Gaussian KLs in numpy, garbage in masked entries, one epoch of
`fit`. The checks every model class shares are tests/models/test_models_contract.py."""

import keras
import numpy as np
import tensorflow as tf


def inject_noise(model, eps):
    """Replaces the model's training noise by the fixed array `eps` `(B, K, D)`: every
    reparameterised draw becomes `loc + scale * eps`."""
    eps = tf.constant(eps, tf.float32)
    model.sample_normal = lambda loc, scale: loc + scale * eps


def gaussian(q):
    """(loc, scale) of a TFP diagonal Normal as float64 numpy arrays."""
    return (np.asarray(q.distribution.loc, np.float64),
            np.asarray(q.distribution.scale, np.float64))


def kl(q1, q2):
    """Closed-form KL(N(m1, s1^2) || N(m2, s2^2)) of diagonal Gaussians, summed over the last
    axis (float64)."""
    (m1, s1), (m2, s2) = q1, q2
    return np.sum(np.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5, axis=-1)


def standard(shape):
    return np.zeros(shape), np.ones(shape)


def product(*experts):
    """Product of diagonal Gaussian experts (loc, scale), numpy."""
    precision = sum(1 / s ** 2 for _, s in experts)
    loc = sum(m / s ** 2 for m, s in experts) / precision
    return loc, 1 / np.sqrt(precision)


def log_lik(model, name, z, value):
    """`log p(x_name | z)` from the model's decoder, float64 `(B,)`."""
    decoder = model.decoders[model.modality_names.index(name)]
    return np.asarray(decoder(tf.constant(z, tf.float32)).log_prob(value), np.float64)


def objective(model, batch):
    x, mask = model.prepare_batch(batch)
    loss, terms = model.compute_objective(x, mask, training=True)
    return float(loss), {k: (np.asarray(v), np.asarray(w)) for k, (v, w) in terms.items()}


def filled(batch, mask, how, seed=0):
    """`batch` with every masked entry replaced: "zeros", "nan" (floats; -7 for class ids) or
    "garbage" (huge values; out-of-range class ids)."""
    rng = np.random.default_rng(seed)
    out = {"mask": mask.copy()}
    for m, (name, value) in enumerate((k, v) for k, v in batch.items() if k != "mask"):
        value = np.array(value, copy=True)
        rows = ~mask[:, m]
        if value.dtype.kind == "i":
            value[rows] = {"zeros": 0, "nan": -7, "garbage": 123456}[how]
        else:
            shape = value[rows].shape
            value[rows] = {"zeros": np.zeros(shape), "nan": np.full(shape, np.nan),
                           "garbage": rng.normal(0, 1e6, shape)}[how]
        out[name] = value
    return out


def assert_masked_entries_change_nothing(model, batch, mask):
    """Loss, terms, gradients, encodings, outputs and log-likelihoods are identical whatever
    the masked entries hold."""
    results = []
    state = model._seed_generator.state.numpy()
    for how in ("zeros", "nan", "garbage"):
        data = filled(batch, mask, how)
        model._seed_generator.state.assign(state)
        with tf.GradientTape() as tape:
            x, m = model.prepare_batch(data)
            loss, terms = model.compute_objective(x, m, training=True)
        gradients = tape.gradient(loss, model.trainable_variables)
        gradients = [np.zeros(v.shape) if g is None else np.asarray(tf.convert_to_tensor(g))
                     for g, v in zip(gradients, model.trainable_variables)]
        q = model.encode(data)
        keras.utils.set_random_seed(5)
        ll = model.log_likelihood(data, num_samples=8, chunk_size=4)
        results.append((float(loss), {k: np.asarray(v) for k, (v, _) in terms.items()},
                        gradients, np.asarray(q.mean()), np.asarray(q.stddev()),
                        {k: np.asarray(v) for k, v in model(data).items()}, np.asarray(ll)))
    first = results[0]
    assert np.isfinite(first[0]) and all(np.all(np.isfinite(g)) for g in first[2])
    assert sum(np.abs(g).sum() for g in first[2]) > 0
    for other in results[1:]:
        assert other[0] == first[0]
        for k in first[1]:
            np.testing.assert_array_equal(other[1][k], first[1][k], err_msg=k)
        for g_1, g_2 in zip(first[2], other[2]):
            np.testing.assert_array_equal(g_1, g_2)
        for a, b in zip(first[3:5], other[3:5]):
            np.testing.assert_array_equal(a, b)
        for k in first[5]:
            np.testing.assert_array_equal(other[5][k], first[5][k], err_msg=k)
        np.testing.assert_array_equal(other[6], first[6])


def fit_one_epoch(model, batch, batch_size=4):
    """One epoch of `fit` on a tf.data.Dataset: finite metrics, weights that moved."""
    model.compile(keras.optimizers.Adam(1e-2))
    before = [np.array(w) for w in model.get_weights()]
    data = tf.data.Dataset.from_tensor_slices(batch).batch(batch_size)
    history = model.fit(data, epochs=1, verbose=0).history
    assert history and all(np.isfinite(v[0]) for v in history.values()), history
    assert any(not np.array_equal(b, w) for b, w in zip(before, model.get_weights()))
    return history
