"""Malformed batches are rejected with errors that name the modality, the rows, what was received
and what was expected - eagerly (`encode`, `log_likelihood`, `translate`, in-memory `evaluate`)
and on the `tf.data` path of `fit` / `evaluate` (graph assertions in `check_batch`)."""

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


def eager_calls(model):
    return {
        "encode": lambda b: model.encode(b),
        "log_likelihood": lambda b: model.log_likelihood(b, num_samples=2),
        "translate": lambda b: model.translate(b, targets=["label"]),
        "evaluate": lambda b: model.evaluate(b, verbose=0),
        "call": lambda b: model(b),
    }


STATIC_CASES = {
    "unknown key": (lambda b: {**b, "audio": b["image"]}, ValueError,
                    r"Unknown key\(s\) \['audio'\].*\('image', 'label'\)"),
    "wrong image shape": (lambda b: {**b, "image": b["image"][:, :32]}, ValueError,
                          r"Modality 'image' has shape \(4, 32\) but the model was built for "
                          r"\(None, 64\)"),
    "image without batch axis": (lambda b: {**b, "image": b["image"][0]}, ValueError,
                                 r"Modality 'image' has shape \(64,\).*\(None, 64\)"),
    "one-hot labels": (lambda b: {**b, "label": np.eye(10, dtype="int32")[b["label"]]},
                       ValueError, r"'label' has shape \(4, 10\).*\(None,\).*not one-hot"),
    "float labels": (lambda b: {**b, "label": b["label"].astype("float32")}, ValueError,
                     r"'label' is categorical and needs integer class ids; received dtype "
                     r"float32"),
    "integer images": (lambda b: {**b, "image": (b["image"] * 255).astype("uint8")}, ValueError,
                       r"'image' \(bernoulli\) needs floating values; received dtype uint8"),
    "mask with 3 columns": (lambda b: {**b, "mask": np.ones((4, 3), bool)}, ValueError,
                            r"'mask' has shape \(4, 3\); expected \(batch, 2\).*"
                            r"\('image', 'label'\)"),
    "mask of rank 1": (lambda b: {**b, "mask": np.ones((4,), bool)}, ValueError,
                       r"'mask' has shape \(4,\); expected \(batch, 2\)"),
    "float mask": (lambda b: {**b, "mask": np.ones((4, 2), np.float32)}, ValueError,
                   r"'mask' must be bool.*float32"),
    "no modality at all": (lambda b: {"mask": np.ones((4, 2), bool)}, ValueError,
                           r"holds none of the modalities"),
    "not a dict": (lambda b: b["image"], TypeError, r"A batch must be a dict of modality tensors "
                   r"\(keys \('image', 'label'\) and optionally 'mask'\)"),
}

VALUE_CASES = {
    "rows with no modality": (
        lambda b: {**b, "mask": np.array([[1, 1], [0, 0], [1, 0], [0, 0]], bool)},
        r"no modality present at rows: \[1, 3\]", r"no modality present at rows:\] \[1 3\]"),
    "NaN in a present image": (
        lambda b: {**b, "image": np.where(np.arange(4)[:, None] == 2, np.nan, b["image"])
                   .astype("float32")},
        r"Modality 'image': NaN or infinite values in present entries at rows: \[2\]",
        r"Modality .+image.+: NaN or infinite.*rows:\] \[2\]"),
    "infinite image value": (
        lambda b: {**b, "image": np.where((np.arange(4)[:, None] == 0)
                                          & (np.arange(64) == 5), np.inf, b["image"])
                   .astype("float32")},
        r"'image': NaN or infinite values in present entries at rows: \[0\]",
        r"Modality .+image.+: NaN or infinite.*rows:\] \[0\]"),
    "label out of range": (
        lambda b: {**b, "label": np.array([10, 3, 2, -1], np.int32)},
        r"Modality 'label': class ids outside \[0, 10\) in present entries at rows: \[0, 3\]",
        r"Modality .+label.+: class ids outside \[0, 10\).*rows:\] \[0 3\]"),
}


@pytest.mark.parametrize("case", list(STATIC_CASES))
@pytest.mark.parametrize("call", ["encode", "log_likelihood", "translate", "evaluate", "call"])
def test_static_errors_eagerly(model, case, call):
    make, error, match = STATIC_CASES[case]
    with pytest.raises(error, match=match):
        eager_calls(model)[call](make(good_batch()))


@pytest.mark.parametrize("case", list(VALUE_CASES))
@pytest.mark.parametrize("call", ["encode", "log_likelihood", "translate", "evaluate", "call"])
def test_value_errors_eagerly(model, case, call):
    make, match, _ = VALUE_CASES[case]
    with pytest.raises(ValueError, match=match):
        eager_calls(model)[call](make(good_batch()))


def test_value_errors_mention_how_to_mark_a_missing_modality(model):
    batch = {**good_batch(), "mask": np.array([[1, 1], [0, 0], [1, 0], [1, 1]], bool)}
    with pytest.raises(ValueError, match=r"\[1\]\. Mark a missing modality False in 'mask'"):
        model.encode(batch)


def test_many_bad_rows_are_truncated(model):
    batch = {**good_batch(30), "mask": np.zeros((30, 2), bool)}
    with pytest.raises(ValueError, match=r"rows: \[0, 1, 2, .*, 19\] \.\.\."):
        model.encode(batch)


def dataset(batch):
    return tf.data.Dataset.from_tensor_slices(batch).batch(4)


@pytest.mark.parametrize("case", list(VALUE_CASES))
def test_value_errors_on_the_dataset_path_of_fit(model, case):
    make, _, match = VALUE_CASES[case]
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        model.fit(dataset(make(good_batch())), epochs=1, verbose=0)
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)


def test_value_errors_on_the_dataset_path_of_evaluate(model):
    make, _, match = VALUE_CASES["rows with no modality"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        model.evaluate(dataset(make(good_batch())), verbose=0)


def test_bad_rows_in_a_later_batch_are_reported_with_their_rows_in_that_batch(model):
    batch = good_batch(8)
    batch["mask"] = np.ones((8, 2), bool)
    batch["mask"][6] = False                 # second batch of 4, row 2
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"no modality present.*\[2\]"):
        model.fit(dataset(batch), epochs=1, verbose=0)


# On the dataset path the batch axis is unknown when the checks run: shapes show it as None.
DATASET_STATIC_CASES = {
    "unknown key": r"Unknown key\(s\) \['audio'\]",
    "wrong image shape": r"Modality 'image' has shape \(None, 32\) but the model was built for "
                         r"\(None, 64\)",
    "float labels": r"'label' is categorical and needs integer class ids; received dtype float32",
    "integer images": r"'image' \(bernoulli\) needs floating values; received dtype uint8",
    "mask with 3 columns": r"'mask' has shape \(None, 3\); expected \(batch, 2\)",
    "float mask": r"'mask' must be bool.*float32",
}


@pytest.mark.parametrize("case", list(DATASET_STATIC_CASES))
def test_static_errors_on_the_dataset_path_of_fit(model, case):
    make, error, _ = STATIC_CASES[case]
    with pytest.raises(error, match=DATASET_STATIC_CASES[case]):
        model.fit(dataset(make(good_batch())), epochs=1, verbose=0)


def test_a_valid_dataset_with_masks_trains(model):
    batch = {**good_batch(8), "mask": np.array([[1, 1], [1, 0], [0, 1], [1, 1]] * 2, bool)}
    batch["image"][~batch["mask"][:, 0]] = np.nan
    history = model.fit(dataset(batch), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


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
