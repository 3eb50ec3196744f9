"""Distribution heads, modality encoders / decoders and backbones against scipy / numpy."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from kmvae import Modality
from kmvae.layers import (ConvDecoder, ConvEncoder, GaussianPosterior, LikelihoodHead,
                          ModalityDecoder, ModalityEncoder, default_decoder, default_encoder)

RNG = np.random.default_rng(0)


def head_params(head):
    kernel, bias = (w.numpy() for w in head.dense.weights)
    return kernel, bias


def test_gaussian_posterior_is_affine_mean_and_softplus_scale():
    head = GaussianPosterior(3)
    features = RNG.normal(size=(4, 5)).astype("float32")
    q = head(features)
    kernel, bias = head_params(head)
    out = features @ kernel + bias
    assert q.batch_shape == (4,) and q.event_shape == (3,)
    np.testing.assert_allclose(q.mean(), out[:, :3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q.stddev(), np.logaddexp(0.0, out[:, 3:]) + 1e-6, rtol=1e-5)
    z = RNG.normal(size=(4, 3)).astype("float32")
    expected = stats.norm.logpdf(z, out[:, :3], np.logaddexp(0.0, out[:, 3:]) + 1e-6).sum(-1)
    np.testing.assert_allclose(q.log_prob(z), expected, rtol=1e-5)


def test_bernoulli_head_accepts_grey_values():
    head = LikelihoodHead((2, 3), "bernoulli")
    features = RNG.normal(size=(4, 6)).astype("float32")
    p = head(features)
    assert p.batch_shape == (4,) and p.event_shape == (2, 3)
    kernel, bias = head_params(head)
    logits = (features @ kernel + bias).reshape(4, 2, 3)
    x = RNG.uniform(size=(4, 2, 3)).astype("float32")
    expected = (x * special.log_expit(logits) + (1 - x) * special.log_expit(-logits)).sum((1, 2))
    np.testing.assert_allclose(p.log_prob(x), expected, rtol=1e-5)
    np.testing.assert_allclose(head.mean(p), special.expit(logits), rtol=1e-5)


def test_categorical_head():
    head = LikelihoodHead((), "categorical", num_classes=4)
    features = RNG.normal(size=(5, 6)).astype("float32")
    p = head(features)
    kernel, bias = head_params(head)
    logits = features @ kernel + bias
    x = np.array([0, 3, 1, 2, 3], np.int32)
    expected = special.log_softmax(logits, -1)[np.arange(5), x]
    np.testing.assert_allclose(p.log_prob(x), expected, rtol=1e-5)
    np.testing.assert_allclose(head.mean(p), special.softmax(logits, -1), rtol=1e-5)


@pytest.mark.parametrize("likelihood,scipy_dist", [("normal", stats.norm),
                                                   ("laplace", stats.laplace)])
def test_location_scale_heads(likelihood, scipy_dist):
    head = LikelihoodHead((3,), likelihood, scale=0.75)
    features = RNG.normal(size=(4, 6)).astype("float32")
    p = head(features)
    kernel, bias = head_params(head)
    loc = features @ kernel + bias
    x = RNG.normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(p.log_prob(x), scipy_dist.logpdf(x, loc, 0.75).sum(-1), rtol=1e-5)
    np.testing.assert_allclose(head.mean(p), loc, rtol=1e-5, atol=1e-6)


def test_learned_scale_is_trainable_and_used():
    head = LikelihoodHead((3,), "normal", scale="learned")
    features = RNG.normal(size=(4, 6)).astype("float32")
    head(features)
    assert any("log_scale" in w.path for w in head.trainable_weights)
    head.log_scale.assign(np.log([0.5, 1.0, 2.0]).astype("float32"))
    p = head(features)
    kernel, bias = head_params(head)
    x = RNG.normal(size=(4, 3)).astype("float32")
    expected = stats.norm.logpdf(x, features @ kernel + bias, [0.5, 1.0, 2.0]).sum(-1)
    np.testing.assert_allclose(p.log_prob(x), expected, rtol=1e-5)


def test_modality_decoder_keeps_leading_axes():
    modality = Modality("x", shape=(2, 3), likelihood="bernoulli",
                        decoder=keras.Sequential([keras.layers.Dense(8, activation="tanh")]))
    decoder = ModalityDecoder(modality, latent_dim=4)
    z = RNG.normal(size=(5, 7, 4)).astype("float32")
    p = decoder(z)
    assert p.batch_shape == (5, 7) and p.event_shape == (2, 3)
    flat = decoder(z.reshape(35, 4))
    np.testing.assert_allclose(p.log_prob(np.full((5, 7, 2, 3), 0.5, np.float32)).numpy().ravel(),
                               flat.log_prob(np.full((35, 2, 3), 0.5, np.float32)), rtol=1e-5)
    assert decoder.mean(z).shape == (5, 7, 2, 3)


def test_modality_encoder_and_decoder_clone_the_backbone():
    backbone = keras.Sequential([keras.layers.Dense(8, activation="tanh")])
    modality = Modality("x", shape=(3,), encoder=backbone)
    first, second = ModalityEncoder(modality, 2), ModalityEncoder(modality, 2)
    first.build(), second.build()
    assert first.backbone is not second.backbone and first.backbone is not backbone
    assert not np.allclose(first.backbone.weights[0].numpy(), second.backbone.weights[0].numpy())
    q = first(np.zeros((4, 3), np.float32))
    assert q.batch_shape == (4,) and q.event_shape == (2,)


def test_default_networks_follow_mvae_section_4_1():
    label = Modality("label", num_classes=10, likelihood="categorical")
    image = Modality("image", shape=(28, 28))
    encoder = default_encoder(label)
    assert encoder(np.array([1, 2], np.int32)).shape == (2, 512)
    assert default_encoder(image)(np.zeros((2, 28, 28), np.float32)).shape == (2, 512)
    assert default_decoder(image)(np.zeros((2, 4), np.float32)).shape == (2, 512)
    dense = [layer for layer in default_decoder(image).layers]
    assert [layer.units for layer in dense] == [512, 512]
    assert all(layer.activation.__name__ == "silu" for layer in dense)


def test_conv_backbones_shapes_and_parameters():
    encoder = ConvEncoder(image_shape=(8, 8, 1), filters=(4, 8), units=16)
    assert encoder(np.zeros((3, 64), np.float32)).shape == (3, 16)
    assert encoder(np.zeros((3, 8, 8, 1), np.float32)).shape == (3, 16)
    decoder = ConvDecoder(image_shape=(8, 8, 1), filters=(8, 4), units=16)
    assert decoder(np.zeros((3, 2), np.float32)).shape == (3, 64)
    modality = Modality("image", shape=(64,), encoder=ConvEncoder((8, 8, 1), (4, 8), 16),
                        decoder=ConvDecoder((8, 8, 1), (8, 4), 16))
    head = ModalityDecoder(modality, 2).head
    assert head.dense is None  # the decoder returns the logits itself
    with pytest.raises(ValueError, match="divisible by 4"):
        ConvDecoder(image_shape=(6, 8, 1))


@pytest.mark.parametrize("kwargs,match", [
    ({"name": "mask", "shape": (2,)}, "other than 'mask'"),
    ({"name": "x", "shape": (2,), "likelihood": "poisson"}, "unknown likelihood 'poisson'"),
    ({"name": "x", "likelihood": "categorical"}, "needs num_classes"),
    ({"name": "x", "likelihood": "categorical", "num_classes": 1}, "needs num_classes"),
    ({"name": "x", "shape": (2,), "num_classes": 3}, "num_classes is only for a categorical"),
    ({"name": "x"}, "shape is required"),
    ({"name": "x", "shape": (0, 2)}, "shape must be positive ints"),
    ({"name": "x", "shape": (2,), "likelihood": "normal", "scale": -1.0}, "scale must be"),
    ({"name": "x", "shape": (2,), "decoder_output": "logits"},
     r"Modality 'x': decoder_output must be one of \('features', 'parameters'\) or None; "
     r"received 'logits'"),
    ({"name": "x", "shape": (2,), "decoder_output": "parameters"},
     r"Modality 'x': decoder_output='parameters' needs a decoder .* default decoder returns 512"),
])
def test_modality_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Modality(**kwargs)


def test_modality_rejects_a_non_layer_backbone():
    with pytest.raises(TypeError, match="Keras layers"):
        Modality("x", shape=(2,), encoder=lambda x: x)


def test_modality_data_dimension_counts_one_hot_size():
    assert Modality("x", shape=(4, 5)).data_dimension == 20
    assert Modality("y", num_classes=10, likelihood="categorical").data_dimension == 10
    assert Modality("s", shape=(3,), num_classes=7, likelihood="categorical").data_dimension == 21
    assert Modality("y", num_classes=10, likelihood="categorical").dtype == "int32"


def test_decoder_reshape_is_tf_function_safe():
    modality = Modality("x", shape=(3,), likelihood="normal",
                        decoder=keras.Sequential([keras.layers.Dense(8)]))
    decoder = ModalityDecoder(modality, 2)

    @tf.function(input_signature=[tf.TensorSpec((None, None, 2), tf.float32)])
    def log_prob(z):
        return decoder(z).log_prob(tf.zeros(tf.concat([tf.shape(z)[:-1], [3]], 0)))

    assert log_prob(tf.zeros((4, 6, 2))).shape == (4, 6)


# ----------------------------------------------------------------------------- decoder_output
def pixel_decoder(channels=3, flatten=True):
    """A user's backbone: latent codes -> one logit per pixel and channel of an 8x8 image."""
    layers = [keras.layers.Dense(2 * 2 * 4, activation="relu"), keras.layers.Reshape((2, 2, 4)),
              keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
              keras.layers.Conv2DTranspose(channels, 3, strides=2, padding="same")]
    return keras.Sequential(layers + ([keras.layers.Flatten()] if flatten else []))


def test_a_user_backbone_declared_as_parameters_gets_no_projection():
    declared = Modality("image", shape=(192,), decoder=pixel_decoder(),
                        decoder_output="parameters")
    decoder = ModalityDecoder(declared, latent_dim=2)
    decoder.build()
    assert declared.decoder_output == "parameters" and decoder.head.dense is None
    assert decoder.count_params() == decoder.backbone.count_params()
    z = RNG.normal(size=(5, 2)).astype("float32")
    logits = decoder.backbone(z).numpy()
    x = RNG.uniform(size=(5, 192)).astype("float32")
    expected = (x * special.log_expit(logits) + (1 - x) * special.log_expit(-logits)).sum(-1)
    np.testing.assert_allclose(decoder(z).log_prob(x), expected, rtol=1e-5)
    # The same backbone as features: a dense projection of 192 x 192 weights and 192 biases.
    projected = ModalityDecoder(Modality("image", shape=(192,), decoder=pixel_decoder()), 2)
    projected.build()
    assert projected.modality.decoder_output == "features"
    assert projected.count_params() == decoder.count_params() + 192 * 192 + 192


def test_parameters_may_come_unflattened_and_as_class_logits():
    image = Modality("image", shape=(8, 8, 3), likelihood="normal", scale="learned",
                     decoder=pixel_decoder(flatten=False), decoder_output="parameters")
    decoder = ModalityDecoder(image, latent_dim=2)
    z = RNG.normal(size=(4, 6, 2)).astype("float32")
    p = decoder(z)
    assert p.batch_shape == (4, 6) and p.event_shape == (8, 8, 3)
    np.testing.assert_allclose(decoder.mean(z), decoder.backbone(z.reshape(24, 2)).numpy()
                               .reshape(4, 6, 8, 8, 3), rtol=1e-6)
    assert [w.name for w in decoder.head.weights] == ["log_scale"]
    label = Modality("label", num_classes=4, likelihood="categorical", decoder_output="parameters",
                     decoder=keras.Sequential([keras.layers.Dense(4)]))
    decoder = ModalityDecoder(label, latent_dim=2)
    decoder.build()
    z = RNG.normal(size=(3, 2)).astype("float32")
    np.testing.assert_allclose(decoder.mean(z), special.softmax(decoder.backbone(z), -1),
                               rtol=1e-5)
    assert decoder.count_params() == 2 * 4 + 4


def test_keras_round_trip_of_a_backbone_declared_as_parameters(tmp_path):
    import kmvae
    image = Modality("image", shape=(192,), decoder=pixel_decoder(),
                     encoder=keras.Sequential([keras.layers.Dense(8, activation="tanh")]),
                     decoder_output="parameters")
    label = Modality("label", num_classes=3, likelihood="categorical")
    model = kmvae.MVAE([image, label], latent_dim=2, seed=0)
    assert model.decoders[0].head.dense is None
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.modalities[0].decoder_output == "parameters"
    assert loaded.modalities[0].get_config()["decoder_output"] == "parameters"
    assert loaded.decoders[0].head.dense is None
    assert loaded.count_params() == model.count_params()
    batch = {"image": RNG.uniform(size=(4, 192)).astype("float32"),
             "label": np.array([0, 1, 2, 1], np.int32)}
    for key, value in model(batch).items():
        np.testing.assert_array_equal(loaded(batch)[key], value, err_msg=key)


@pytest.mark.parametrize("modality,received,expected", [
    (dict(shape=(64,), decoder=pixel_decoder()), r"\(None, 192\)",
     r"\(None, 64\) or \(None, 64\)"),
    (dict(shape=(8, 8, 1), decoder=pixel_decoder(flatten=False)), r"\(None, 8, 8, 3\)",
     r"\(None, 64\) or \(None, 8, 8, 1\)"),
    (dict(shape=(2,), num_classes=5, likelihood="categorical",
          decoder=keras.Sequential([keras.layers.Dense(5)])), r"\(None, 5\)",
     r"\(None, 10\) or \(None, 2, 5\)"),
])
def test_a_backbone_that_does_not_return_the_declared_parameters_is_an_error(modality, received,
                                                                            expected):
    import kmvae
    wrong = Modality("image", decoder_output="parameters", **modality)
    other = Modality("other", shape=(3,))
    with pytest.raises(ValueError, match=rf"Modality 'image': .*decoder_output='parameters'.* "
                                         rf"returns shape {received} .* needs {expected}"):
        kmvae.MVAE([other, wrong], latent_dim=2)


def test_a_features_backbone_must_return_one_feature_vector_per_example():
    wrong = Modality("image", shape=(8, 8, 3), decoder=pixel_decoder(flatten=False))
    with pytest.raises(ValueError, match=r"Modality 'image': its decoder returns shape "
                                         r"\(None, 8, 8, 3\).*\(batch, features\).*"
                                         r"decoder_output='parameters'"):
        ModalityDecoder(wrong, 2).build()


def test_decoder_output_defaults_to_what_the_backbone_class_declares():
    conv = Modality("image", shape=(64,), decoder=ConvDecoder((8, 8, 1), (8, 4), 16))
    assert conv.decoder_output == "parameters"
    assert Modality("x", shape=(3,)).decoder_output == "features"
    assert Modality("x", shape=(3,), decoder=keras.layers.Dense(4)).decoder_output == "features"
    projected = Modality("image", shape=(64,), decoder=ConvDecoder((8, 8, 1), (8, 4), 16),
                         decoder_output="features")
    assert ModalityDecoder(projected, 2).head.dense is not None
    # A config saved before `decoder_output` existed resolves it from the decoder's class.
    for modality, expected in [(conv, "parameters"), (Modality("x", shape=(3,)), "features"),
                               (Modality("x", shape=(3,), decoder=keras.layers.Dense(4)),
                                "features")]:
        config = modality.get_config()
        del config["decoder_output"]
        assert Modality.from_config(config).decoder_output == expected
        assert Modality.from_config(modality.get_config()).get_config() == modality.get_config()


def test_a_model_saved_without_decoder_output_loads_with_the_same_numbers(tmp_path):
    """`.keras` files written before `decoder_output` existed (the key is absent from their
    modalities' configs) load with the same weights and outputs."""
    import json
    import zipfile

    import kmvae
    modalities = [Modality("image", shape=(64,), encoder=ConvEncoder((8, 8, 1), (4, 8), 16),
                           decoder=ConvDecoder((8, 8, 1), (8, 4), 16)),
                  Modality("label", num_classes=3, likelihood="categorical")]
    model = kmvae.MVAE(modalities, latent_dim=2, seed=0)
    model.save(tmp_path / "new.keras")
    with zipfile.ZipFile(tmp_path / "new.keras") as new, \
            zipfile.ZipFile(tmp_path / "old.keras", "w") as old:
        for item in new.infolist():
            data = new.read(item)
            if item.filename == "config.json":
                text = data.decode()
                assert text.count('"decoder_output"') == 2
                config = json.loads(text)
                for m in config["config"]["modalities"]:
                    del m["config"]["decoder_output"]
                data = json.dumps(config)
                assert '"decoder_output"' not in data
            old.writestr(item, data)
    loaded = keras.saving.load_model(tmp_path / "old.keras")
    assert isinstance(loaded.encoders[0].backbone, ConvEncoder)
    assert isinstance(loaded.decoders[0].backbone, ConvDecoder)
    assert loaded.encoders[0].backbone.filters == (4, 8)
    assert loaded.decoders[0].backbone.get_config() == model.decoders[0].backbone.get_config()
    assert [m.decoder_output for m in loaded.modalities] == ["parameters", "features"]
    assert loaded.decoders[0].head.dense is None and loaded.decoders[1].head.dense is not None
    batch = {"image": RNG.uniform(size=(3, 64)).astype("float32"),
             "label": np.array([0, 1, 2], np.int32)}
    for key, value in model(batch).items():
        np.testing.assert_array_equal(loaded(batch)[key], value, err_msg=key)
