"""SavedModel export: signatures, equality with the Keras model in a fresh TensorFlow-only process,
missing modalities, seeded generation, overwrite safety."""

import hashlib
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae

LATENT = 4
N = 6
# Rows 0-1 complete, 2-3 without the label, 4-5 without the image.
MASK = np.array([[1, 1], [1, 1], [1, 0], [1, 0], [0, 1], [0, 1]], bool)

# Runs in a fresh interpreter that imports only TensorFlow (and NumPy): the export must serve
# without kmvae.
LOADER = r"""
import json, sys
import numpy as np
import tensorflow as tf

exports, inputs_path, outputs_path, signatures_path = json.loads(sys.argv[1]), *sys.argv[2:5]
inputs = np.load(inputs_path)
outputs, signatures = {}, {}


def spec(s):
    return [s.dtype.name, s.shape.as_list()]


for key, path in exports.items():
    loaded = tf.saved_model.load(path)
    signatures[key] = {}
    for name, fn in loaded.signatures.items():
        args, kwargs = fn.structured_input_signature
        assert not args, args
        signatures[key][name] = {
            "inputs": {k: spec(s) for k, s in kwargs.items()},
            "outputs": {k: spec(s) for k, s in fn.structured_outputs.items()}}
    for variant in ("zeros", "nan"):
        feed = {k.split("/", 1)[1]: tf.constant(inputs[k]) for k in inputs.files
                if k.startswith(variant + "/")}
        for endpoint in ("serving_default", "encode"):
            for k, v in loaded.signatures[endpoint](**feed).items():
                outputs[f"{key}/{endpoint}/{variant}/{k}"] = v.numpy()
    for tag, n, seed in (("a", 5, 7), ("b", 5, 7), ("c", 5, 8), ("d", 3, 7)):
        result = loaded.signatures["generate"](num_samples=tf.constant(n, tf.int32),
                                               seed=tf.constant(seed, tf.int32))
        for k, v in result.items():
            outputs[f"{key}/generate/{tag}/{k}"] = v.numpy()

assert "kmvae" not in sys.modules, "the export needed kmvae"
np.savez(outputs_path, **outputs)
with open(signatures_path, "w") as f:
    json.dump(signatures, f)
"""


def modalities():
    return [kmvae.Modality("image", shape=(64,)),
            kmvae.Modality("label", num_classes=10, likelihood="categorical")]


def batches():
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(N, 64)).astype(np.float32)
    label = rng.integers(0, 10, N).astype(np.int32)
    zeros = {"image": np.where(MASK[:, :1], image, 0.0).astype(np.float32),
             "label": np.where(MASK[:, 1], label, 0).astype(np.int32), "mask": MASK}
    # Garbage in the missing entries: NaN images, out-of-range class ids.
    nan = {"image": np.where(MASK[:, :1], image, np.nan).astype(np.float32),
           "label": np.where(MASK[:, 1], label, -7).astype(np.int32), "mask": MASK}
    return zeros, nan


def trained(cls):
    model = cls(modalities(), latent_dim=LATENT, seed=1)
    rng = np.random.default_rng(1)
    data = {"image": (rng.uniform(size=(32, 64)) > 0.5).astype(np.float32),
            "label": rng.integers(0, 10, 32).astype(np.int32)}
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=False)
    before = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    model.fit(data, batch_size=16, epochs=1, verbose=0)
    assert any(not np.allclose(b, keras.ops.convert_to_numpy(v)) for b, v in zip(before, model.trainable_variables))
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Trained MVAE and MoPoE-VAE, exported and served by a fresh TensorFlow-only process."""
    tmp = tmp_path_factory.mktemp("export")
    models = {"mvae": trained(kmvae.MVAE), "mopoe": trained(kmvae.MoPoEVAE)}
    paths = {}
    for key, model in models.items():
        paths[key] = kmvae.export_saved_model(model, str(tmp / key))
        assert paths[key] == str(tmp / key)
    zeros, nan = batches()
    np.savez(tmp / "inputs.npz", **{f"zeros/{k}": v for k, v in zeros.items()},
             **{f"nan/{k}": v for k, v in nan.items()})
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run(
        [sys.executable, "-c", LOADER, json.dumps(paths), str(tmp / "inputs.npz"),
         str(tmp / "outputs.npz"), str(tmp / "signatures.json")],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    outputs = dict(np.load(tmp / "outputs.npz"))
    signatures = json.loads((tmp / "signatures.json").read_text())
    return models, paths, outputs, signatures


KEYS = ["mvae", "mopoe"]


def test_signature_names_dtypes_and_shapes(exported):
    _, _, _, signatures = exported
    batch_inputs = {"image": ["float32", [None, 64]], "label": ["int32", [None]],
                    "mask": ["bool", [None, 2]]}
    posterior = {"loc": ["float32", [None, LATENT]], "scale": ["float32", [None, LATENT]]}
    decoded = {"image": ["float32", [None, 64]], "label": ["float32", [None, 10]]}
    for key in KEYS:
        sig = signatures[key]
        assert set(sig) == {"serving_default", "encode", "generate"}
        assert sig["serving_default"] == {"inputs": batch_inputs,
                                          "outputs": {**posterior, **decoded}}
        assert sig["encode"] == {"inputs": batch_inputs, "outputs": posterior}
        assert sig["generate"] == {
            "inputs": {"num_samples": ["int32", []], "seed": ["int32", []]},
            "outputs": {"z": ["float32", [None, LATENT]], **decoded}}


@pytest.mark.parametrize("key", KEYS)
def test_served_outputs_match_keras_and_ignore_missing_entries(exported, key):
    models, _, outputs, _ = exported
    model = models[key]
    zeros, nan = batches()
    expected = {k: np.asarray(v) for k, v in model(zeros, training=False).items()}
    q = model.encode(nan)
    expected_encode = {"loc": np.asarray(q.mean()), "scale": np.asarray(q.stddev())}
    assert set(expected) == {"loc", "scale", "image", "label"}
    for variant in ("zeros", "nan"):
        for name, value in expected.items():
            served = outputs[f"{key}/serving_default/{variant}/{name}"]
            assert served.dtype == np.float32 and np.all(np.isfinite(served))
            np.testing.assert_allclose(served, value, atol=1e-5, err_msg=f"{variant}/{name}")
            # NaN / out-of-range fillings of missing entries change nothing, bit for bit.
            np.testing.assert_array_equal(served, outputs[f"{key}/serving_default/zeros/{name}"])
        for name, value in expected_encode.items():
            served = outputs[f"{key}/encode/{variant}/{name}"]
            np.testing.assert_allclose(served, value, atol=1e-5, err_msg=f"{variant}/{name}")
            np.testing.assert_array_equal(served, outputs[f"{key}/serving_default/zeros/{name}"])
    # The mask matters: a row without its label is not encoded as with it.
    full = dict(zeros, mask=np.ones_like(MASK))
    assert not np.allclose(np.asarray(model(full)["loc"])[2:4], expected["loc"][2:4])


@pytest.mark.parametrize("key", KEYS)
def test_generate_is_seeded_and_matches_keras(exported, key):
    models, _, outputs, _ = exported
    out = {tag: {name: outputs[f"{key}/generate/{tag}/{name}"] for name in ("z", "image", "label")}
           for tag in "abcd"}
    assert out["a"]["z"].shape == (5, LATENT) and out["d"]["z"].shape == (3, LATENT)
    assert out["a"]["image"].shape == (5, 64) and out["a"]["label"].shape == (5, 10)
    np.testing.assert_allclose(out["a"]["label"].sum(axis=-1), 1.0, atol=1e-5)
    assert np.all((out["a"]["image"] >= 0) & (out["a"]["image"] <= 1))
    for name in ("z", "image", "label"):
        np.testing.assert_array_equal(out["a"][name], out["b"][name])
        assert not np.allclose(out["a"][name], out["c"][name])
    # z ~ N(0, I) from stateless_normal with seed [seed, 0], decoded as the Keras model does.
    z = tf.random.stateless_normal((5, LATENT), seed=[7, 0])
    np.testing.assert_allclose(out["a"]["z"], z, atol=1e-6)
    for name, value in models[key].decoded_means(z).items():
        np.testing.assert_allclose(out["a"][name], value, atol=1e-5)


def digest(path):
    return {os.path.relpath(os.path.join(root, f), path):
            hashlib.sha256(open(os.path.join(root, f), "rb").read()).hexdigest()
            for root, _, files in os.walk(path) for f in files}


def test_refuses_to_overwrite(exported, tmp_path):
    models, paths, _, _ = exported
    before = digest(paths["mvae"])
    with pytest.raises(FileExistsError, match="not empty.*overwrite=True"):
        kmvae.export_saved_model(models["mvae"], paths["mvae"])
    assert digest(paths["mvae"]) == before
    # overwrite=True replaces a previous SavedModel only, never another directory or a file.
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no SavedModel"):
        kmvae.export_saved_model(models["mvae"], other, overwrite=True)
    assert (other / "keep.txt").read_text() == "mine"
    file = tmp_path / "file"
    file.write_text("mine")
    with pytest.raises(FileExistsError, match="is a file"):
        kmvae.export_saved_model(models["mvae"], file, overwrite=True)
    assert file.read_text() == "mine"


def test_overwrite_replaces_a_previous_export_and_keeps_it_on_failure(exported, tmp_path,
                                                                      monkeypatch):
    models, paths, outputs, _ = exported
    target = tmp_path / "1"
    target.mkdir()                                   # an existing empty directory is fine
    assert kmvae.export_saved_model(models["mopoe"], target) == str(target)
    before = digest(target)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(keras.export.ExportArchive, "write_out", fail)
        with pytest.raises(RuntimeError, match="disk full"):
            kmvae.export_saved_model(models["mvae"], target, overwrite=True)
    assert digest(target) == before
    assert sorted(os.listdir(tmp_path)) == ["1"]

    kmvae.export_saved_model(models["mvae"], target, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["1"]
    loaded = tf.saved_model.load(str(target))
    zeros, _ = batches()
    result = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in zeros.items()})
    np.testing.assert_allclose(result["loc"], outputs["mvae/serving_default/zeros/loc"], atol=1e-6)


def test_mixed_precision_model_exports_float32_outputs(tmp_path):
    model = kmvae.MVAE(modalities(), latent_dim=LATENT, dtype="mixed_float16")
    assert model.encoders[0].backbone.layers[0].compute_dtype == "float16"
    loaded = tf.saved_model.load(kmvae.export_saved_model(model, tmp_path / "mixed"))
    for name, fn in loaded.signatures.items():
        assert {s.dtype for s in fn.structured_outputs.values()} == {tf.float32}, name
    zeros, _ = batches()
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


def test_served_model_rejects_rows_with_no_modality_and_nan(exported_mvae_for_errors):
    serve = exported_mvae_for_errors.signatures["serving_default"]
    image = np.zeros((3, 64), np.float32)
    label = np.zeros((3,), np.int32)
    empty = np.array([[True, True], [False, False], [True, False]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="no modality present at rows"):
        serve(image=image, label=label, mask=empty)
    image[2, 5] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinite"):
        serve(image=image, label=label, mask=np.ones((3, 2), bool))


@pytest.fixture(scope="module")
def exported_mvae_for_errors(tmp_path_factory):
    model = kmvae.MVAE([kmvae.Modality("image", shape=(64,)),
                        kmvae.Modality("label", num_classes=10, likelihood="categorical")],
                       latent_dim=2)
    path = tmp_path_factory.mktemp("errors") / "1"
    kmvae.export_saved_model(model, str(path))
    return tf.saved_model.load(str(path))
