"""Malformed batches, beyond the cases every model class goes through in
`test_models_contract.py` (`STATIC_ERRORS`, `VALUE_ERRORS` through every entry point and the
`tf.data` path of `fit`): long lists of bad rows, bad rows in a later batch, `evaluate` and
`predict` on datasets, masks and modalities of different batch sizes, unknown targets, and the
evaluation label."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae import Modality


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    image = Modality("image", shape=(64,), likelihood="bernoulli",
                     encoder=keras.Sequential([keras.layers.Dense(16, activation="tanh")]),
                     decoder=keras.Sequential([keras.layers.Dense(16, activation="tanh")]))
    label = Modality("label", num_classes=10, likelihood="categorical",
                     encoder=keras.Sequential([keras.layers.Embedding(10, 8)]),
                     decoder=keras.Sequential([keras.layers.Dense(16, activation="tanh")]))
    model = kmvae.MVAE([image, label], latent_dim=2)
    model.compile(keras.optimizers.Adam(1e-3))
    return model


def good_batch(n=4):
    rng = np.random.default_rng(0)
    return {"image": rng.uniform(size=(n, 64)).astype("float32"),
            "label": rng.integers(0, 10, n).astype("int32")}


def test_many_bad_rows_are_truncated(model):
    batch = {**good_batch(30), "mask": np.zeros((30, 2), bool)}
    with pytest.raises(ValueError, match=r"rows: \[0, 1, 2, .*, 19\] \.\.\."):
        model.encode(batch)


def dataset(batch):
    return tf.data.Dataset.from_tensor_slices(batch).batch(4)


def test_value_errors_on_the_dataset_path_of_evaluate(model):
    batch = {**good_batch(), "mask": np.array([[1, 1], [0, 0], [1, 0], [0, 0]], bool)}
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"no modality present at rows:\] \[1 3\]"):
        model.evaluate(dataset(batch), verbose=0)


def test_bad_rows_in_a_later_batch_are_reported_with_their_rows_in_that_batch(model):
    batch = good_batch(8)
    batch["mask"] = np.ones((8, 2), bool)
    batch["mask"][6] = False                 # second batch of 4, row 2
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"no modality present.*\[2\]"):
        model.fit(dataset(batch), epochs=1, verbose=0)


def test_fit_checks_its_validation_data_once_and_still_rejects_bad_rows(model, monkeypatch):
    """`fit` wraps the validation data in the value checks once; Keras's per-epoch evaluate
    reuses that iterator, so `check_batch` is traced twice in all (training and validation
    data), not once more every epoch."""
    traces = []
    check = type(model).check_batch
    monkeypatch.setattr(model, "check_batch", lambda data: traces.append(1) or check(model, data))
    batch = {**good_batch(8), "mask": np.ones((8, 2), bool)}
    model.fit(dataset(batch), validation_data=dataset(batch), epochs=4, verbose=0)
    assert len(traces) == 2
    bad = {**batch, "mask": np.array([[1, 1]] * 6 + [[0, 0]] * 2, bool)}
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"no modality present.*\[2 3\]"):
        model.fit(dataset(batch), validation_data=dataset(bad), epochs=1, verbose=0)


def test_mask_with_the_wrong_number_of_rows_is_rejected(model):
    for rows in (1, 3):
        batch = {**good_batch(4), "mask": np.ones((rows, 2), bool)}
        with pytest.raises(ValueError, match=rf"'mask' has shape \({rows}, 2\)"):
            model.encode(batch)
        with pytest.raises(ValueError, match=rf"'mask' has shape \({rows}, 2\)"):
            model(batch)


def test_modalities_with_different_batch_sizes_are_rejected(model):
    batch = {**good_batch(4), "label": np.array([1, 2, 3], np.int32)}
    with pytest.raises(ValueError, match=r"'label' has shape \(3,\)"):
        model.encode(batch)


def test_different_batch_sizes_in_a_dataset_are_rejected(model):
    def unbatched_mask(element):
        return {**element, "mask": element["mask"][:1]}
    batch = {**good_batch(4), "mask": np.ones((4, 2), bool)}
    data = dataset(batch).map(unbatched_mask)
    with pytest.raises(tf.errors.InvalidArgumentError, match="different batch sizes"):
        model.evaluate(data, verbose=0)


def test_predict_on_a_dataset_matches_calling_the_model(model):
    batch = {**good_batch(8), "mask": np.array([[1, 1], [1, 0], [0, 1], [1, 1]] * 2, bool)}
    batch["image"][~batch["mask"][:, 0]] = np.nan
    predicted = model.predict(dataset(batch), verbose=0)
    direct = model(batch)
    for key in direct:
        np.testing.assert_allclose(predicted[key], direct[key], rtol=1e-5, atol=1e-6)
    bad = {**batch, "mask": np.zeros((8, 2), bool)}
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"no modality present"):
        model.predict(dataset(bad), verbose=0)


def test_unknown_translate_target(model):
    with pytest.raises(ValueError, match=r"Unknown target modality 'audio'"):
        model.translate(good_batch(), targets=["audio"])


def test_an_evaluation_label_is_ignored_by_a_model_without_a_label_modality(tiny):
    """kmvae.datasets keeps "label" in batches of sets whose label is not a modality."""
    model = kmvae.MVAE([kmvae.Modality("top", shape=(4,)), kmvae.Modality("bottom", shape=(4,))],
                       latent_dim=2, seed=0)
    batch = {"top": np.ones((3, 4), "float32"), "bottom": np.zeros((3, 4), "float32")}
    with_label = {**batch, "label": np.arange(3, dtype="int32")}
    for plain, labelled in zip(tf.nest.flatten(model(batch)), tf.nest.flatten(model(with_label))):
        np.testing.assert_array_equal(plain, labelled)
    x, mask = model.prepare_batch(with_label)
    assert len(x) == 2 and mask.shape == (3, 2)
    with pytest.raises(ValueError, match=r"Unknown key\(s\) \['lable'\]"):
        model.prepare_batch({**batch, "lable": with_label["label"]})
