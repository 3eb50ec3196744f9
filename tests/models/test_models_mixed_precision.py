"""Mixed precision: networks compute in half precision, distribution parameters, log-probabilities
and the loss stay float32, training works, and float16 uses loss scaling."""

import keras
import numpy as np
import pytest
import tensorflow as tf


@pytest.fixture
def policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    request.addfinalizer(lambda: keras.mixed_precision.set_global_policy("float32"))
    return request.param


def learnable_data(n=256, seed=0):
    """Three modalities driven by one class: a Bernoulli pattern, a noisy code, the class."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 4, n).astype("int32")
    a = (0.05 + 0.9 * np.eye(4, 5)[c]).astype("float32")
    codes = rng.normal(size=(4, 3))
    b = (codes[c] + 0.1 * rng.normal(size=(n, 3))).astype("float32")
    mask = rng.uniform(size=(n, 3)) < 0.8
    mask[~mask.any(1), 2] = True
    return {"a": a, "b": b, "c": c, "mask": mask}


# Each policy with one model family (an XLA compile under mixed precision takes ~7 s here).
@pytest.mark.parametrize("policy,kind", [("mixed_float16", "MVAE"),
                                         ("mixed_bfloat16", "MoPoEVAE")], indirect=["policy"])
def test_mixed_precision_training(tiny, policy, kind):
    half = "float16" if policy == "mixed_float16" else "bfloat16"
    model = tiny.model(kind, latent_dim=2)
    assert model.dtype_policy.name == policy
    # The cloned backbones compute in half precision, the heads and the fusion in float32.
    assert model.encoders[0].backbone.layers[0].compute_dtype == half
    assert model.decoders[2].backbone.layers[0].compute_dtype == half
    assert model.encoders[0].head.compute_dtype == "float32"
    assert all(v.dtype == "float32" for v in model.trainable_variables)

    data = learnable_data()
    model.compile(keras.optimizers.Adam(1e-2))
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    else:
        assert not isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    dataset = tf.data.Dataset.from_tensor_slices(data).batch(64)
    history = model.fit(dataset, epochs=6, verbose=0).history
    losses = history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.5, losses
    assert all(np.isfinite(v).all() for v in model.get_weights())

    batch = {k: v[:8] for k, v in data.items()}
    q = model.encode(batch)
    assert q.mean().dtype == tf.float32 and q.stddev().dtype == tf.float32
    p = model.decode(q.mean())
    assert p["a"].distribution.logits.dtype == tf.float32
    assert p["b"].distribution.loc.dtype == tf.float32
    assert p["c"].logits.dtype == tf.float32
    assert p["a"].log_prob(batch["a"]).dtype == tf.float32
    x, mask = model.prepare_batch(batch)
    loss, terms = model.compute_objective(x, mask, training=True)
    assert loss.dtype == tf.float32 and np.isfinite(loss.numpy())
    assert all(values.dtype == tf.float32 for values, _ in terms.values())
    outputs = model(batch)
    assert all(value.dtype == tf.float32 for value in outputs.values())
    ll = model.log_likelihood(batch, num_samples=8)
    assert ll.dtype == tf.float32 and np.all(np.isfinite(ll.numpy()))


def test_policy_is_restored_between_tests():
    assert keras.mixed_precision.global_policy().name == "float32"
