"""Coherence with oracles: perfect generators and oracles give 1, uninformative ones chance."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kmvae import metrics


def test_perfect_oracle_on_true_pairs_is_one_and_on_shuffled_pairs_chance(perfect):
    oracle = perfect.oracle()
    generator = perfect.generator()
    for shuffle, expected, tol in ((False, 1.0, 0.0), (True, 0.1, 0.03)):
        data = list(perfect.dataset(2000, seed=1, shuffle_labels=shuffle))
        images = np.concatenate([b["image"] for b in data])
        labels = np.concatenate([b["label"] for b in data])
        predicted = metrics.classify(generator, {"image": oracle}, "image", images)
        assert metrics.coherence_score({"image": predicted}, labels) == \
            pytest.approx(expected, abs=tol)
    test = perfect.dataset(500, seed=2)
    assert metrics.oracle_accuracy(oracle, test, "image") == 1.0


def test_conditional_coherence_of_a_perfect_and_of_an_uninformed_generator(perfect):
    data = perfect.dataset(2000, seed=3)
    good = metrics.conditional_coherence(perfect.generator(), data, {"image": perfect.oracle()})
    assert good["pairs"] == {"image->label": 1.0, "label->image": 1.0}
    assert good["subsets"] == {"image": 1.0, "label": 1.0}
    assert good["by_size"] == {"1": 1.0}
    bad = metrics.conditional_coherence(perfect.generator(ignore_inputs=True), data,
                                        {"image": perfect.oracle()}, max_examples=1500)
    for value in bad["pairs"].values():
        assert value == pytest.approx(0.1, abs=0.03)


def test_joint_coherence(perfect):
    oracles = {"image": perfect.oracle()}
    assert metrics.joint_coherence(perfect.generator(), oracles, num_samples=500) == 1.0
    chance = metrics.joint_coherence(perfect.generator(ignore_inputs=True), oracles, 3000)
    assert chance == pytest.approx(0.1, abs=0.03)


def test_chance_agreement_is_the_coherence_of_independent_modalities():
    """sum_c prod_m p_m(c), by hand on two modalities; on predictions drawn independently with
    skewed class frequencies it is what `coherence_score` measures; a perfect generator's
    joint predictions agree far more often than by chance."""
    by_hand = {"a": np.array([0, 0, 1, 1]), "b": np.array([0, 1, 1, 1])}
    assert metrics.chance_agreement(by_hand) == pytest.approx(0.5 * 0.25 + 0.5 * 0.75)
    rng = np.random.default_rng(0)
    skew = np.array([0.5, 0.3, 0.1, 0.1])
    drawn = {name: rng.choice(4, size=200_000, p=skew) for name in ("a", "b", "c")}
    expected = float(np.sum(skew ** 3))                              # 0.155
    assert metrics.chance_agreement(drawn) == pytest.approx(expected, abs=0.003)
    assert metrics.coherence_score(drawn) == pytest.approx(expected, abs=0.003)
    uniform = {name: np.arange(10).repeat(3) for name in "abcde"}
    assert metrics.chance_agreement(uniform) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="one length"):
        metrics.chance_agreement({"a": np.zeros(3, int), "b": np.zeros(4, int)})


def test_joint_predictions_of_a_perfect_generator_agree_beyond_chance(perfect):
    oracles = {"image": perfect.oracle()}
    predictions = metrics.joint_predictions(perfect.generator(), oracles, num_samples=500)
    assert set(predictions) == {"image", "label"} and len(predictions["image"]) == 500
    assert metrics.coherence_score(predictions) == 1.0
    assert metrics.chance_agreement(predictions) == pytest.approx(0.1, abs=0.03)


def test_coherence_needs_an_oracle_for_non_categorical_targets(perfect):
    with pytest.raises(ValueError, match="No oracle for modality 'image'"):
        metrics.conditional_coherence(perfect.generator(), perfect.dataset(10), {})


def test_train_oracle_learns_and_caches(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300).astype(np.int32)
    images = (np.eye(3)[labels].repeat(4, axis=1) * 0.8 + 0.2 * rng.random((300, 12))
              ).astype(np.float32)
    data = tf.data.Dataset.from_tensor_slices({"image": images, "label": labels}).batch(50)
    small = keras.Sequential([keras.Input((12,)), keras.layers.Dense(3)], name="small")
    keras.utils.set_random_seed(0)
    oracle = metrics.train_oracle(data, "image", small, epochs=30, cache_dir=tmp_path,
                                  name="toy", learning_rate=0.05)
    assert oracle.cache_path.startswith(str(tmp_path / "toy-image-small-"))
    assert metrics.oracle_accuracy(oracle, data, "image") > 0.95
    again = metrics.train_oracle(data, "image", small, cache_dir=tmp_path, name="toy")
    assert again is not oracle and again.cache_path == oracle.cache_path
    np.testing.assert_allclose(again(images[:5]), oracle(images[:5]), atol=1e-6)
    default = metrics.train_oracle(data, "image", epochs=1, cache_dir=tmp_path, name="toy")
    assert default.cache_path == str(tmp_path / "toy-image-default.keras")
    assert default.output_shape == (None, 3)


def test_train_oracle_errors(tmp_path):
    data = tf.data.Dataset.from_tensor_slices(
        {"image": np.zeros((4, 3), np.float32), "label": np.zeros(4, np.int32)}).batch(2)
    with pytest.raises(TypeError, match="name"):
        metrics.train_oracle(data, "image", cache_dir=tmp_path)
    with pytest.raises(ValueError, match=r"received str 'polymnist'.*oracle_training_data"):
        metrics.train_oracle("polymnist", "m0", cache_dir=tmp_path, name="toy")
    loads = []
    with pytest.raises(ValueError, match="expected 'sound' among them"):
        metrics.train_oracle(lambda: loads.append(1) or data, "sound", cache_dir=tmp_path,
                             name="toy")
    assert loads == [1]                     # not cached: the data are loaded to train
    with pytest.raises(ValueError, match="expected 'sound' among them"):
        metrics.train_oracle(data, "sound", cache_dir=tmp_path, name="toy")


def test_encoder_oracle_copies_the_convolutional_encoder_with_a_class_layer(tmp_path):
    import kmvae
    from kmvae.layers import ConvEncoder
    from kmvae.metrics.coherence import encoder_oracle

    modalities = [kmvae.Modality("image", shape=(64,), likelihood="bernoulli",
                                 encoder=ConvEncoder((8, 8, 1), filters=(4, 8), units=16)),
                  kmvae.Modality("text", shape=(5,))]
    model = kmvae.MVAE(modalities, 2, seed=0)
    oracle = encoder_oracle(model, "image", 3)
    backbone = oracle.layers[0]
    assert isinstance(backbone, ConvEncoder) and backbone.filters == (4, 8)
    assert backbone.units == 16 and oracle.output_shape == (None, 3)
    assert backbone.weights[0] is not model.encoders[0].backbone.weights[0]    # fresh weights
    keras.layers.Dense(7)                      # other layers created meanwhile: same config
    assert encoder_oracle(model, "image", 3).get_config() == oracle.get_config()
    with pytest.raises(ValueError, match="'text' is encoded by Sequential"):
        encoder_oracle(model, "text", 3)
    trained = assert_trained_then_cached(model, "image", 3, tmp_path)
    assert trained.cache_path.startswith(str(tmp_path / "toy-image-image_oracle-"))


def assert_trained_then_cached(model, name, num_classes, cache_dir, examples=8):
    """Trains `encoder_oracle(model, name, num_classes)` for one epoch on random data, asks
    for a fresh copy again, and checks that it is read from the cache with the trained
    weights; returns the trained oracle."""
    from kmvae.metrics.coherence import encoder_oracle
    rng = np.random.default_rng(0)
    size = model.modalities[model.modality_names.index(name)].shape[0]
    data = tf.data.Dataset.from_tensor_slices(
        {name: rng.random((examples, size)).astype("float32"),
         "label": rng.integers(0, num_classes, examples).astype("int32")}).batch(4)
    trained = metrics.train_oracle(data, name, encoder_oracle(model, name, num_classes),
                                   epochs=1, cache_dir=cache_dir, name="toy")
    again = metrics.train_oracle(data, name, encoder_oracle(model, name, num_classes),
                                 cache_dir=cache_dir, name="toy")
    assert again.cache_path == trained.cache_path                 # found in the cache
    x = rng.random((3, size)).astype("float32")
    np.testing.assert_allclose(again(x), trained(x), atol=1e-6)
    return trained


def test_encoder_oracle_copies_the_polymnist_encoder(tmp_path):
    """PolyMNIST's oracle is the authors' encoder (MoPoE App. B: "identical to the encoder
    except from the last layer") with ten logits instead of the Gaussian head; trained once, it
    is read back from the cache with its weights (the encoder builds its convolutions from
    shapes alone, as `load_model` builds it)."""
    import kmvae
    from kmvae.layers import PolyMNISTDecoder, PolyMNISTEncoder
    from kmvae.metrics.coherence import encoder_oracle

    image = kmvae.Modality("m0", shape=(2352,), likelihood="laplace",
                           encoder=PolyMNISTEncoder(units=24), decoder=PolyMNISTDecoder())
    model = kmvae.MoPoEVAE([image, kmvae.Modality("text", shape=(5,))], 2)
    oracle = encoder_oracle(model, "m0", 10)
    backbone = oracle.layers[0]
    assert type(backbone) is PolyMNISTEncoder and backbone.units == 24
    assert backbone.weights[0] is not model.encoders[0].backbone.weights[0]    # fresh weights
    assert oracle.output_shape == (None, 10)
    assert oracle(np.zeros((3, 2352), "float32")).shape == (3, 10)
    with pytest.raises(ValueError, match="ConvEncoder or PolyMNISTEncoder; modality 'text'"):
        encoder_oracle(model, "text", 10)
    assert_trained_then_cached(model, "m0", 10, tmp_path)
