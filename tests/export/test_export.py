"""SavedModel export beyond what every model class goes through in
`tests/models/test_models_contract.py` (signatures, equality with the Keras model in a fresh
TensorFlow-only process, missing modalities, seeded generation): overwrite safety, float32
outputs under mixed precision, names that cannot be exported, and served errors."""

import hashlib
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae

LATENT = 4
N = 6
# Rows 0-1 complete, 2-3 without the label, 4-5 without the image.
MASK = np.array([[1, 1], [1, 1], [1, 0], [1, 0], [0, 1], [0, 1]], bool)


def modalities():
    return [kmvae.Modality("image", shape=(64,)),
            kmvae.Modality("label", num_classes=10, likelihood="categorical")]


def zeros_batch():
    rng = np.random.default_rng(0)
    return {"image": np.where(MASK[:, :1], rng.uniform(size=(N, 64)), 0.0).astype(np.float32),
            "label": np.where(MASK[:, 1], rng.integers(0, 10, N), 0).astype(np.int32),
            "mask": MASK}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An MVAE and the path of its export."""
    keras.utils.set_random_seed(0)
    model = kmvae.MVAE(modalities(), latent_dim=LATENT, seed=1)
    path = str(tmp_path_factory.mktemp("export") / "1")
    assert kmvae.export_saved_model(model, path) == path
    return model, path


def digest(path):
    return {os.path.relpath(os.path.join(root, f), path):
            hashlib.sha256(open(os.path.join(root, f), "rb").read()).hexdigest()
            for root, _, files in os.walk(path) for f in files}


def test_refuses_to_overwrite(exported, tmp_path):
    model, path = exported
    before = digest(path)
    with pytest.raises(FileExistsError, match="not empty.*overwrite=True"):
        kmvae.export_saved_model(model, path)
    assert digest(path) == before
    # overwrite=True replaces a previous SavedModel only, never another directory or a file.
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no SavedModel"):
        kmvae.export_saved_model(model, other, overwrite=True)
    assert (other / "keep.txt").read_text() == "mine"
    file = tmp_path / "file"
    file.write_text("mine")
    with pytest.raises(FileExistsError, match="is a file"):
        kmvae.export_saved_model(model, file, overwrite=True)
    assert file.read_text() == "mine"


def test_overwrite_replaces_a_previous_export_and_keeps_it_on_failure(exported, tmp_path,
                                                                      monkeypatch):
    model, _ = exported
    previous = kmvae.MoPoEVAE(modalities(), latent_dim=LATENT, seed=2)
    target = tmp_path / "1"
    target.mkdir()                                   # an existing empty directory is fine
    assert kmvae.export_saved_model(previous, target) == str(target)
    before = digest(target)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(keras.export.ExportArchive, "write_out", fail)
        with pytest.raises(RuntimeError, match="disk full"):
            kmvae.export_saved_model(model, target, overwrite=True)
    assert digest(target) == before
    assert sorted(os.listdir(tmp_path)) == ["1"]

    kmvae.export_saved_model(model, target, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["1"]
    loaded = tf.saved_model.load(str(target))
    zeros = zeros_batch()
    result = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in zeros.items()})
    np.testing.assert_allclose(result["loc"], model(zeros)["loc"], atol=1e-6)
    assert not np.allclose(result["loc"], previous(zeros)["loc"], atol=1e-3)


def test_mixed_precision_model_exports_float32_outputs(tmp_path):
    model = kmvae.MVAE(modalities(), latent_dim=LATENT, dtype="mixed_float16")
    assert model.encoders[0].backbone.layers[0].compute_dtype == "float16"
    loaded = tf.saved_model.load(kmvae.export_saved_model(model, tmp_path / "mixed"))
    for name, fn in loaded.signatures.items():
        assert {s.dtype for s in fn.structured_outputs.values()} == {tf.float32}, name
    zeros = zeros_batch()
    served = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in zeros.items()})
    for name, value in model(zeros).items():
        assert served[name].dtype == tf.float32
        np.testing.assert_allclose(served[name], value, atol=1e-3, err_msg=name)


def test_rejects_other_models_and_unusable_names(tmp_path):
    with pytest.raises(TypeError, match="MultimodalVAE"):
        kmvae.export_saved_model(keras.Sequential([keras.layers.Dense(1)]), tmp_path / "x")
    for name in ("loc", "my image"):
        model = kmvae.MVAE([kmvae.Modality(name, shape=(2,)),
                            kmvae.Modality("label", num_classes=3, likelihood="categorical")],
                           latent_dim=LATENT)
        with pytest.raises(ValueError, match=repr(name)):
            kmvae.export_saved_model(model, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_served_model_rejects_rows_with_no_modality_and_nan(exported):
    _, path = exported
    serve = tf.saved_model.load(path).signatures["serving_default"]
    image = np.zeros((3, 64), np.float32)
    label = np.zeros((3,), np.int32)
    empty = np.array([[True, True], [False, False], [True, False]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="no modality present at rows"):
        serve(image=image, label=label, mask=empty)
    image[2, 5] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinite"):
        serve(image=image, label=label, mask=np.ones((3, 2), bool))
