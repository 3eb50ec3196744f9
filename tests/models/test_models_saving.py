""".keras round trips: the loaded model has the same config and gives the same outputs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae import Modality
from kmvae.layers import ConvDecoder, ConvEncoder


def conv_modalities():
    image = Modality("image", shape=(64,), likelihood="bernoulli",
                     encoder=ConvEncoder(image_shape=(8, 8, 1), filters=(4, 8), units=16),
                     decoder=ConvDecoder(image_shape=(8, 8, 1), filters=(8, 4), units=16))
    label = Modality("label", num_classes=10, likelihood="categorical",
                     encoder=keras.Sequential([keras.layers.Embedding(10, 8)]),
                     decoder=keras.Sequential([keras.layers.Dense(16, activation="tanh")]))
    return [image, label]


def conv_batch(n=6):
    rng = np.random.default_rng(0)
    mask = np.array([[1, 1], [1, 0], [0, 1]] * (n // 3), bool)
    return {"image": rng.uniform(size=(n, 64)).astype("float32"),
            "label": rng.integers(0, 10, n).astype("int32"), "mask": mask}


MODELS = {
    "MVAE": lambda mods: kmvae.MVAE(mods, 3, num_random_subsets=2, beta=0.7,
                                    likelihood_weights={"label": 5.0}, seed=3),
    "MoPoEVAE": lambda mods: kmvae.MoPoEVAE(mods, 3, beta=2.0, rescale_likelihoods=True,
                                            prior_expert=True),
    "MoPoEVAE-moe": lambda mods: kmvae.MoPoEVAE(mods, 3, fusion="moe"),
    "MoPoEVAE-poe": lambda mods: kmvae.MoPoEVAE(mods, 3, fusion="poe"),
    "MoEVAE": lambda mods: kmvae.MoEVAE(mods, 3, likelihood_weights={"image": 0.5}),
}


def assert_same_model(model, loaded, batch):
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    out, out_loaded = model(batch), loaded(batch)
    assert out.keys() == out_loaded.keys()
    for key in out:
        np.testing.assert_array_equal(out[key], out_loaded[key], err_msg=key)
    assert loaded.fusion.method == model.fusion.method
    assert loaded.fusion.prior_expert == model.fusion.prior_expert
    assert loaded.loss_weights == model.loss_weights
    assert float(loaded.kl_weight.numpy()) == float(model.kl_weight.numpy())
    for w, w_loaded in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(w, w_loaded)


@pytest.mark.parametrize("name", list(MODELS))
def test_keras_round_trip_with_conv_backbones(tmp_path, name):
    model = MODELS[name](conv_modalities())
    model.kl_weight.assign(0.25)             # e.g. in the middle of a KL warm-up
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert_same_model(model, loaded, conv_batch())
    assert isinstance(loaded.encoders[0].backbone, ConvEncoder)
    assert isinstance(loaded.decoders[0].backbone, ConvDecoder)
    assert loaded.encoders[0].backbone.filters == (4, 8)
    assert float(loaded.kl_weight.numpy()) == 0.25
    assert loaded.beta == model.beta


def test_specific_settings_survive(tmp_path):
    mods = conv_modalities()
    for name, check in [
        ("MVAE", lambda m: (m.num_random_subsets, m.beta, m.likelihood_weights["label"],
                            m.fusion.method, m.seed) == (2, 0.7, 5.0, "poe", 3)),
        ("MoPoEVAE", lambda m: (m.fusion.method, m.prior_expert, m.rescale_likelihoods,
                                m.beta) == ("mopoe", True, True, 2.0)),
        ("MoPoEVAE-moe", lambda m: m.fusion.method == "moe"),
        ("MoPoEVAE-poe", lambda m: m.fusion.method == "poe" and not m.prior_expert),
        ("MoEVAE", lambda m: m.fusion.method == "moe" and m.likelihood_weights["image"] == 0.5),
    ]:
        model = MODELS[name](mods)
        assert check(model), name
        model.save(tmp_path / f"{name}.keras")
        assert check(keras.saving.load_model(tmp_path / f"{name}.keras")), name


def test_round_trip_of_default_tiny_models_and_continued_training(tmp_path, tiny):
    model = tiny.model("MoPoEVAE", latent_dim=2)
    batch = tiny.batch(model.modalities, 12)
    data = tf.data.Dataset.from_tensor_slices(batch).batch(6)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=False)   # (faster to trace)
    model.fit(data, epochs=1, verbose=0)
    model.save(tmp_path / "trained.keras")
    loaded = keras.saving.load_model(tmp_path / "trained.keras")
    assert_same_model(model, loaded, batch)
    # The optimizer state came along: one more identical step on both gives identical weights.
    assert loaded.optimizer is not None
    assert int(loaded.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())
    for m in (model, loaded):
        m._seed_generator.state.assign([7, 0])
    model.fit(data.take(1), epochs=1, verbose=0)
    loaded.fit(data.take(1), epochs=1, verbose=0)
    for w, w_loaded in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(w, w_loaded, rtol=1e-5, atol=1e-6)


def test_loaded_log_likelihood_matches(tmp_path, tiny):
    model = tiny.model("MVAE", latent_dim=2)
    model.save(tmp_path / "mvae.keras")
    loaded = keras.saving.load_model(tmp_path / "mvae.keras")
    batch = tiny.batch(model.modalities, 4)
    results = []
    for m in (model, loaded):
        keras.utils.set_random_seed(11)
        results.append(m.log_likelihood(batch, num_samples=16).numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
