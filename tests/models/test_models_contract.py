"""The contract every model class of kmvae keeps, in the manner of KerasHub's shared
`run_backbone_test` / `run_model_saving_test` (keras_hub/src/tests/test_case.py): one registry of
tiny models, one per class `kmvae` exports, and the same checks for each.

- build: built at construction, config round trip, outputs' shapes and dtypes, decoders that
  declare `decoder_output="parameters"` get no projection;
- masks: NaN or garbage in missing entries change no output, loss, gradient or likelihood;
  leaving a modality out of the batch equals masking its column; rows are independent;
- bad inputs: clear errors through every entry point that takes a batch, and on the `tf.data`
  path of `fit` (weights unchanged);
- `.keras` round trip with optimizer state after `fit` on data with NaN in its missing entries
  (which trains exactly as zeros do; XLA-compiled for the classes marked `xla`): same config,
  weights, outputs, log-likelihoods and optimizer variables, and a further train step gives
  the same weights;
- SavedModel export served by a fresh TensorFlow-only process (one for every class): same
  signatures and outputs as the Keras model, NaN in missing entries ignored, seeded generation;
- mixed precision: under `mixed_float16` a train step has a finite loss, and distribution
  parameters, log-probabilities, the objective and every output are float32; under both
  half-precision policies an XLA-compiled `fit` learns (one class).

A new model class adds one entry to `REGISTRY` (`test_the_registry_covers_every_model_class`
fails until it does).
"""

import dataclasses
import json
import os
import re
import subprocess
import sys
from typing import Callable

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae import Modality
from subset_helpers import filled

LATENT = 2
NAMES = ("a", "b", "c")


def contract_modalities():
    """`a` bernoulli (5,) whose decoder returns the logits (`decoder_output="parameters"`),
    `b` normal (3,) with a learned scale, `c` categorical with 4 classes."""
    def dense(*units, activation="tanh"):
        return keras.Sequential([keras.layers.Dense(u, activation=activation) for u in units])

    return [Modality("a", shape=(5,), encoder=dense(8),
                     decoder=keras.Sequential([keras.layers.Dense(8, activation="tanh"),
                                               keras.layers.Dense(5)]),
                     decoder_output="parameters"),
            Modality("b", shape=(3,), likelihood="normal", scale="learned", encoder=dense(8),
                     decoder=dense(8)),
            Modality("c", num_classes=4, likelihood="categorical",
                     encoder=keras.Sequential([keras.layers.Embedding(4, 4),
                                               keras.layers.Dense(8, activation="tanh")]),
                     decoder=dense(8))]


@dataclasses.dataclass(frozen=True)
class Entry:
    """A tiny model of one class: `build(modalities)`; `valid(row)`, which presence patterns
    (bool `(3,)`) the model accepts (any non-empty one unless the class says otherwise); and
    `xla`, whether the round trip trains it XLA-compiled, as `compile` does by default (for a
    few classes only: each compile takes 5-20 s on two cores). Options are not the defaults
    where that exercises more of the config."""
    build: Callable
    valid: Callable = staticmethod(lambda row: bool(np.any(row)))
    xla: bool = False


REGISTRY = {
    "MVAE": Entry(lambda m: kmvae.MVAE(m, LATENT, num_random_subsets=2, beta=0.7,
                                       likelihood_weights={"c": 5.0}, seed=3), xla=True),
    "MoPoEVAE": Entry(lambda m: kmvae.MoPoEVAE(m, LATENT, beta=2.0, rescale_likelihoods=True,
                                               prior_expert=True, seed=3), xla=True),
    "MoEVAE": Entry(lambda m: kmvae.MoEVAE(m, LATENT, likelihood_weights={"a": 0.5}, seed=3)),
    "MMVAE": Entry(lambda m: kmvae.MMVAE(m, LATENT, objective="iwae_looser", posterior="laplace",
                                         learn_prior_scale=True, seed=3)),
    # Sources a and c, observations a and b: a row needs a source.
    "MSNVI": Entry(lambda m: kmvae.MSNVI(m, LATENT, objective="hybrid", sources=["a", "c"],
                                         observations=["a", "b"], seed=3),
                   valid=lambda row: bool(row[0] or row[2])),
    # With three modalities JMVAE encodes subsets of two or three.
    "JMVAE": Entry(lambda m: kmvae.JMVAE(m, LATENT, alpha=0.5, joint_units=(8,), seed=3),
                   valid=lambda row: int(np.sum(row)) >= 2),
    "JMVAEZero": Entry(lambda m: kmvae.JMVAEZero(m, LATENT, beta=0.7, seed=3)),
    "TVAE": Entry(lambda m: kmvae.TVAE(m, LATENT, stage=2, seed=3)),
    "M2VAE": Entry(lambda m: kmvae.M2VAE(m, LATENT, alpha=0.1, beta_norm=0.02, joint_units=(8,),
                                         seed=3)),
    "SVAE": Entry(lambda m: kmvae.SVAE(m, LATENT, objective="elbo", beta=0.5, seed=3)),
    "VAEVAE": Entry(lambda m: kmvae.VAEVAE(m, LATENT, variant="b", objective="comb",
                                           joint_units=(8,), seed=3)),
    "VAEVAEStar": Entry(lambda m: kmvae.VAEVAEStar(m, LATENT, variant="a", seed=3)),
}
CLASSES = sorted(REGISTRY)


def build(name):
    return REGISTRY[name].build(contract_modalities())


def patterns(name):
    """Every presence pattern the model accepts, then a complete row again: bool `(n, 3)`."""
    rows = [np.array([(k >> m) & 1 == 1 for m in range(3)]) for k in range(1, 8)]
    rows = [row for row in rows if REGISTRY[name].valid(row)]
    return np.array(rows + [np.ones(3, bool)])


def values(n, seed=0):
    """Valid values of every modality for `n` examples, no mask."""
    rng = np.random.default_rng(seed)
    return {"a": rng.uniform(size=(n, 5)).astype("float32"),
            "b": rng.normal(size=(n, 3)).astype("float32"),
            "c": rng.integers(0, 4, n).astype("int32")}


def masked_batch(name, how="nan", seed=0):
    mask = patterns(name)
    return filled(values(len(mask), seed), mask, how, seed)


def numpy(structure):
    return tf.nest.map_structure(lambda t: np.asarray(tf.convert_to_tensor(t)), structure)


def assert_equal(first, second, err_msg=""):
    """Bit-identical nested structures (dicts compared key by key)."""
    tf.nest.assert_same_structure(first, second)
    for a, b in zip(tf.nest.flatten(numpy(first)), tf.nest.flatten(numpy(second))):
        np.testing.assert_array_equal(a, b, err_msg=err_msg)


def decoded_means(model, z):
    """The decoded means of the generated modalities at `z`, as `call` and `generate` give."""
    return {name: model.decoders[model.modality_names.index(name)].mean(z)
            for name in model.generated_modalities}


def test_the_registry_covers_every_model_class():
    exported = {name for name, value in vars(kmvae).items() if isinstance(value, type)
                and issubclass(value, kmvae.MultimodalVAE) and value is not kmvae.MultimodalVAE}
    assert exported == set(REGISTRY)


# ----------------------------------------------------------------------------- build
@pytest.mark.parametrize("name", CLASSES)
def test_build(name):
    model = build(name)
    assert type(model) is getattr(kmvae, name)
    assert model.built and all(layer.built for layer in model._flatten_layers())
    assert model.modality_names == NAMES and model.latent_dim == LATENT
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    json.dumps(model.get_config())                                 # plain values only
    # The decoder of `a` declared its output as the Bernoulli logits: no projection.
    assert model.decoders[0].head.dense is None
    assert model.decoders[0].count_params() == model.decoders[0].backbone.count_params()
    assert all(decoder.head.dense is not None for decoder in model.decoders[1:])

    batch = masked_batch(name)
    n = len(batch["mask"])
    q = model.encode(batch)
    assert q.batch_shape == (n,) and q.event_shape == (LATENT,)
    out = model(batch)
    assert set(out) == {"loc", "scale", *model.generated_modalities}
    shapes = {"loc": (n, LATENT), "scale": (n, LATENT), "a": (n, 5), "b": (n, 3), "c": (n, 4)}
    for key, value in out.items():
        assert value.shape == shapes[key] and value.dtype == tf.float32, key
        assert np.all(np.isfinite(value)), key
    np.testing.assert_allclose(out["loc"], q.mean(), rtol=1e-6)


# ----------------------------------------------------------------------------- masks
def objective_and_gradients(model, batch, seed_state):
    """Loss, terms and gradients of a training step's objective, the training noise reset to
    `seed_state` (two calls draw the same noise)."""
    model._seed_generator.state.assign(seed_state)
    with tf.GradientTape() as tape:
        x, mask = model.prepare_batch(batch)
        loss, terms = model.compute_objective(x, mask, training=True)
    gradients = tape.gradient(loss, model.trainable_variables)
    gradients = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                 for g, v in zip(gradients, model.trainable_variables)]
    return numpy((loss, terms, gradients))


def inference(model, batch):
    """Everything inference gives for `batch`: the posterior's mean and scale, `call`'s outputs
    and seeded log-likelihoods."""
    q = model.encode(batch)
    keras.utils.set_random_seed(5)
    ll = model.log_likelihood(batch, num_samples=6, chunk_size=3)
    return numpy((q.mean(), q.stddev(), model(batch), ll))


@pytest.mark.parametrize("name", CLASSES)
def test_masked_entries_change_nothing(name):
    model = build(name)
    mask = patterns(name)
    data = values(len(mask), seed=3)
    state = model._seed_generator.state.numpy()
    zeros = filled(data, mask, "zeros")
    expected = objective_and_gradients(model, zeros, state), inference(model, zeros)
    loss, _, gradients = expected[0]
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in gradients)
    assert sum(np.abs(g).sum() for g in gradients) > 0
    assert all(np.all(np.isfinite(v)) for v in tf.nest.flatten(expected[1]))
    for how in ("nan", "garbage"):
        other = filled(data, mask, how)
        assert_equal(objective_and_gradients(model, other, state), expected[0], how)
        assert_equal(inference(model, other), expected[1], how)

    # Leaving `b` out of the batch is masking its column, in every row where that is valid.
    without = mask.copy()
    without[:, 1] = False
    rows = np.array([REGISTRY[name].valid(row) for row in without])
    masked = filled({k: v[rows] for k, v in data.items()}, without[rows], "nan")
    left_out = {k: v for k, v in masked.items() if k != "b"}
    assert np.isnan(masked["b"]).all()
    assert_equal(objective_and_gradients(model, left_out, state),
                 objective_and_gradients(model, masked, state))
    assert_equal(inference(model, left_out), inference(model, masked))
    # Without a mask, a modality left out is missing in every row.
    no_mask = {k: data[k][rows] for k in ("a", "c")}
    all_but_b = {**no_mask, "b": np.full_like(data["b"][rows], np.nan),
                 "mask": np.tile([True, False, True], (int(rows.sum()), 1))}
    assert_equal(inference(model, no_mask), inference(model, all_but_b))

    # The mask matters: a row with a modality masked is not encoded as with it.
    partial = np.flatnonzero(~mask.all(axis=1))
    complete = filled(data, np.ones_like(mask), "zeros")
    assert not np.allclose(numpy(model.encode(complete).mean())[partial],
                           expected[1][0][partial])

    # Each row is encoded and decoded alone as in the batch.
    batch = filled(data, mask, "nan")
    out = numpy(model(batch))
    for row in (0, len(mask) - 1):
        alone = numpy(model({k: v[row:row + 1] for k, v in batch.items()}))
        for key in out:
            np.testing.assert_allclose(alone[key][0], out[key][row], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- bad inputs
# name -> (bad batch from a good one of 4 rows, error, message). Shapes in the messages are
# the eager ones: on the `tf.data` path the batch axis is None.
STATIC_ERRORS = {
    "unknown key": (lambda b: {**b, "audio": b["a"]}, ValueError,
                    r"Unknown key\(s\) \['audio'\].*\('a', 'b', 'c'\)"),
    "wrong shape": (lambda b: {**b, "a": b["a"][:, :2]}, ValueError,
                    r"Modality 'a' has shape \(4, 2\) but the model was built for \(None, 5\)"),
    "no batch axis": (lambda b: {**b, "a": b["a"][0]}, ValueError,
                      r"Modality 'a' has shape \(5,\) but the model was built for \(None, 5\)"),
    "one-hot class ids": (lambda b: {**b, "c": np.eye(4, dtype="int32")[b["c"]]}, ValueError,
                          r"'c' has shape \(4, 4\).*\(None,\).*not one-hot"),
    "float class ids": (lambda b: {**b, "c": b["c"].astype("float32")}, ValueError,
                        r"'c' is categorical and needs integer class ids; received dtype float32"),
    "integer values": (lambda b: {**b, "a": (b["a"] * 255).astype("uint8")}, ValueError,
                       r"'a' \(bernoulli\) needs floating values; received dtype uint8"),
    "mask of 2 columns": (lambda b: {**b, "mask": b["mask"][:, :2]}, ValueError,
                          r"'mask' has shape \(4, 2\); expected \(batch, 3\).*"
                          r"\('a', 'b', 'c'\)"),
    "mask of rank 1": (lambda b: {**b, "mask": b["mask"][:, 0]}, ValueError,
                       r"'mask' has shape \(4,\); expected \(batch, 3\)"),
    "float mask": (lambda b: {**b, "mask": b["mask"].astype("float32")}, ValueError,
                   r"'mask' must be bool \(or 0/1 integers\); received dtype float32"),
    "no modality": (lambda b: {"mask": b["mask"]}, ValueError, r"holds none of the modalities"),
    "not a dict": (lambda b: b["a"], TypeError,
                   r"A batch must be a dict of modality tensors \(keys \('a', 'b', 'c'\)"),
}
# name -> (bad batch, eager message, message of the graph assertion on the `tf.data` path).
VALUE_ERRORS = {
    "row with no modality": (lambda b: {**b, "mask": np.array([[1, 1, 1], [0, 0, 0]] * 2, bool)},
                             r"no modality present at rows: \[1, 3\]\. Mark a missing modality "
                             r"False in 'mask'",
                             r"no modality present at rows:\] \[1 3\]"),
    "NaN in a present entry": (lambda b: {**b, "b": np.where(np.arange(4)[:, None] == 2, np.nan,
                                                             b["b"]).astype("float32")},
                               r"Modality 'b': NaN or infinite values in present entries at "
                               r"rows: \[2\]",
                               r"Modality .+b.+: NaN or infinite.*rows:\] \[2\]"),
    "infinite value": (lambda b: {**b, "a": np.where((np.arange(4)[:, None] == 0)
                                                     & (np.arange(5) == 3), np.inf, b["a"])
                                  .astype("float32")},
                       r"Modality 'a': NaN or infinite values in present entries at rows: \[0\]",
                       r"Modality .+a.+: NaN or infinite.*rows:\] \[0\]"),
    "class id out of range": (lambda b: {**b, "c": np.array([4, 1, 2, -1], np.int32)},
                              r"Modality 'c': class ids outside \[0, 4\) in present entries at "
                              r"rows: \[0, 3\]",
                              r"Modality .+c.+: class ids outside \[0, 4\).*rows:\] \[0 3\]"),
}


def good_batch():
    return {**values(4), "mask": np.ones((4, 3), bool)}


def entry_points(model):
    """Every public call that takes a batch, eagerly."""
    return {"encode": model.encode, "call": model,
            "log_likelihood": lambda b: model.log_likelihood(b, num_samples=2),
            "translate": model.translate, "evaluate": lambda b: model.evaluate(b, verbose=0)}


def assert_bad_batches_fail_on_the_dataset_path(model):
    """`fit` on a `tf.data.Dataset` of bad batches (on a model that `fit` already traced):
    graph assertions or static errors, and the weights unchanged. (Not the optimizer's
    iteration count: TensorFlow may run its increment before the failing `get_next`.)"""
    before = model.get_weights()
    for case, (make, _, match) in VALUE_ERRORS.items():
        data = tf.data.Dataset.from_tensor_slices(make(good_batch())).batch(4)
        with pytest.raises(tf.errors.InvalidArgumentError, match=match):
            model.fit(data, epochs=1, verbose=0)
    for case, (make, error, match) in STATIC_ERRORS.items():
        if case == "no batch axis":              # sliced into examples, it has a batch axis
            continue
        data = tf.data.Dataset.from_tensor_slices(make(good_batch())).batch(4)
        with pytest.raises(error, match=match.replace(r"\(4,", r"\(None,")):
            model.fit(data, epochs=1, verbose=0)
    assert_equal(model.get_weights(), before)


@pytest.mark.parametrize("name", CLASSES)
def test_bad_inputs_are_clear_errors(name):
    """Every eager entry point; the `tf.data` path is checked in
    `test_keras_round_trip_with_optimizer_state` (`assert_bad_batches_fail_on_the_dataset_path`)
    on a model whose `fit` is traced already."""
    model = build(name)
    model.compile(keras.optimizers.Adam(1e-2))                  # (for `evaluate`)
    for call_name, call in entry_points(model).items():
        for case, (make, error, match) in STATIC_ERRORS.items():
            with pytest.raises(error, match=match):
                call(make(good_batch()))
        for case, (make, match, _) in VALUE_ERRORS.items():
            with pytest.raises(ValueError, match=match):
                call(make(good_batch()))
    # A presence pattern the class has no posterior for (JMVAE's single modalities, MSNVI's
    # rows without a source) is an error naming the row.
    for k in range(1, 8):
        row = np.array([(k >> m) & 1 for m in range(3)], bool)
        if not REGISTRY[name].valid(row):
            mask = np.ones((4, 3), bool)
            mask[2] = row
            with pytest.raises(ValueError, match=r"rows.*\[2\]"):
                model.encode({**good_batch(), "mask": mask})


# ----------------------------------------------------------------------------- .keras
def state(model):
    """Weights, the training noise's seed state and the optimizer's variables, as numpy."""
    return ([np.array(w) for w in model.get_weights()], model._seed_generator.state.numpy(),
            [np.array(v) for v in model.optimizer.variables])


def paths(variables):
    """Variable paths without the numbers Keras appends to make layer names unique."""
    return [re.sub(r"_\d+(?=[_/]|$)", "", v.path) for v in variables]


def restore(model, saved):
    weights, seed_state, optimizer_variables = saved
    model.set_weights(weights)
    model._seed_generator.state.assign(seed_state)
    for variable, value in zip(model.optimizer.variables, optimizer_variables):
        variable.assign(value)


@pytest.mark.parametrize("name", CLASSES)
def test_keras_round_trip_with_optimizer_state(name, tmp_path):
    model = build(name)
    nan = masked_batch(name, "nan", seed=1)
    zeros = masked_batch(name, "zeros", seed=1)
    dataset = lambda batch: tf.data.Dataset.from_tensor_slices(batch).batch(4)  # noqa: E731
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=REGISTRY[name].xla)
    model.optimizer.build(model.trainable_variables)
    initial = state(model)

    # `fit` on data with NaN in the missing entries trains exactly as on zeros.
    history = model.fit(dataset(zeros), epochs=1, verbose=0).history
    trained = state(model)
    restore(model, initial)
    assert model.fit(dataset(nan), epochs=1, verbose=0).history == history
    assert all(np.isfinite(v[0]) for v in history.values()), history
    assert_equal(state(model), trained)
    assert any(not np.array_equal(w, w0) for w, w0 in zip(trained[0], initial[0]))
    assert int(model.optimizer.iterations.numpy()) == 2

    model.kl_weight.assign(0.25)                        # e.g. in the middle of a KL warm-up
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    assert float(loaded.kl_weight.numpy()) == 0.25
    assert loaded.fusion.method == model.fusion.method
    assert paths(loaded.trainable_variables) == paths(model.trainable_variables)
    assert paths(loaded.optimizer.variables) == paths(model.optimizer.variables)
    assert_equal(state(loaded), state(model))
    assert_equal(inference(loaded, nan), inference(model, nan))

    # A further step (eager: tracing it again would double the time) continues identically.
    first = {k: v[:4] for k, v in nan.items()}
    for m in (model, loaded):
        m._seed_generator.state.assign([7, 0])
        logs = numpy(m.train_step(first))
        assert all(np.isfinite(v) for v in logs.values()), logs
    after, after_loaded = state(model), state(loaded)
    assert int(loaded.optimizer.iterations.numpy()) == 3
    for a, b in zip(after[0] + after[2], after_loaded[0] + after_loaded[2]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert any(not np.array_equal(w, w0) for w, w0 in zip(after_loaded[0], trained[0]))

    assert_bad_batches_fail_on_the_dataset_path(model)


# ----------------------------------------------------------------------------- export
# Runs in a fresh interpreter that imports only TensorFlow and NumPy (an export serves without
# kmvae), once for every class.
SERVE = r"""
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
        prefix = f"{key}/{variant}/"
        feed = {k[len(prefix):]: tf.constant(inputs[k]) for k in inputs.files
                if k.startswith(prefix)}
        for endpoint in ("serving_default", "encode"):
            for k, v in loaded.signatures[endpoint](**feed).items():
                outputs[f"{key}/{endpoint}/{variant}/{k}"] = v.numpy()
    for tag, n, seed in (("a", 5, 7), ("b", 5, 7), ("c", 5, 8)):
        result = loaded.signatures["generate"](num_samples=tf.constant(n, tf.int32),
                                               seed=tf.constant(seed, tf.int32))
        for k, v in result.items():
            outputs[f"{key}/generate/{tag}/{k}"] = v.numpy()

assert "kmvae" not in sys.modules, "the export needed kmvae"
np.savez(outputs_path, **outputs)
with open(signatures_path, "w") as f:
    json.dump(signatures, f)
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Every class's tiny model, exported, and what one fresh TensorFlow-only process serves
    from all the exports: `(models, outputs, signatures)`."""
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(1234)
    tmp = tmp_path_factory.mktemp("export")
    models, paths, inputs = {}, {}, {}
    for name in CLASSES:
        models[name] = build(name)
        paths[name] = kmvae.export_saved_model(models[name], str(tmp / name))
        for how in ("zeros", "nan"):
            inputs.update({f"{name}/{how}/{k}": v
                           for k, v in masked_batch(name, how, seed=2).items()})
    np.savez(tmp / "inputs.npz", **inputs)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run(
        [sys.executable, "-c", SERVE, json.dumps(paths), str(tmp / "inputs.npz"),
         str(tmp / "outputs.npz"), str(tmp / "signatures.json")],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return (models, dict(np.load(tmp / "outputs.npz")),
            json.loads((tmp / "signatures.json").read_text()))


@pytest.mark.parametrize("name", CLASSES)
def test_export_round_trip(served, name):
    models, outputs, signatures = served
    model = models[name]
    inputs = {"a": ["float32", [None, 5]], "b": ["float32", [None, 3]], "c": ["int32", [None]],
              "mask": ["bool", [None, 3]]}
    posterior = {"loc": ["float32", [None, LATENT]], "scale": ["float32", [None, LATENT]]}
    means = {"a": ["float32", [None, 5]], "b": ["float32", [None, 3]],
             "c": ["float32", [None, 4]]}
    decoded = {k: means[k] for k in model.generated_modalities}
    assert signatures[name] == {
        "serving_default": {"inputs": inputs, "outputs": {**posterior, **decoded}},
        "encode": {"inputs": inputs, "outputs": posterior},
        "generate": {"inputs": {"num_samples": ["int32", []], "seed": ["int32", []]},
                     "outputs": {"z": ["float32", [None, LATENT]], **decoded}}}

    nan = masked_batch(name, "nan", seed=2)
    expected = numpy(model(nan))
    q = model.encode(nan)
    expected_encode = numpy({"loc": q.mean(), "scale": q.stddev()})
    for variant in ("zeros", "nan"):
        for endpoint, values_ in (("serving_default", expected), ("encode", expected_encode)):
            for key, value in values_.items():
                got = outputs[f"{name}/{endpoint}/{variant}/{key}"]
                assert got.dtype == np.float32 and np.all(np.isfinite(got))
                np.testing.assert_allclose(got, value, atol=1e-5,
                                           err_msg=f"{endpoint}/{variant}/{key}")
                # NaN in missing entries changes nothing, bit for bit.
                np.testing.assert_array_equal(
                    got, outputs[f"{name}/{endpoint}/zeros/{key}"])

    generated = {tag: {k: outputs[f"{name}/generate/{tag}/{k}"]
                       for k in ("z", *model.generated_modalities)} for tag in "abc"}
    noise = tf.random.stateless_normal((5, LATENT), seed=[7, 0])
    z = numpy(model.prior_from_standard_normal(noise))
    np.testing.assert_allclose(generated["a"]["z"], z, atol=1e-6)
    for key, value in numpy(decoded_means(model, z)).items():
        np.testing.assert_allclose(generated["a"][key], value, atol=1e-5, err_msg=key)
    for key in generated["a"]:
        np.testing.assert_array_equal(generated["a"][key], generated["b"][key])
        assert not np.allclose(generated["a"][key], generated["c"][key]), key


# ----------------------------------------------------------------------------- mixed precision
@pytest.mark.parametrize("name", CLASSES)
def test_mixed_float16(name):
    """Networks compute in float16; heads, fusion, objectives and outputs stay float32; a train
    step (with loss scaling) has a finite loss."""
    keras.mixed_precision.set_global_policy("mixed_float16")   # conftest restores float32
    model = build(name)
    assert model.dtype_policy.name == "mixed_float16"
    for network in model.encoders + model.decoders:
        assert network.backbone.layers[0].compute_dtype == "float16"
        assert network.head.compute_dtype == "float32"
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    assert not any(v.dtype == "float16" for v in model.variables)

    batch = masked_batch(name, "nan")
    model.compile(keras.optimizers.Adam(1e-2))
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    before = model.get_weights()
    # Eager steps (`fit` would trace them for seconds). The loss scale starts at 2^15: a step
    # whose scaled float16 gradients overflow is skipped and the scale halved, so train until
    # a step is applied.
    for step in range(10):
        scale = float(model.optimizer.scale_loss(1.0))
        logs = numpy(model.train_step(batch))
        assert all(np.isfinite(v) for v in logs.values()), logs
        after = model.get_weights()
        assert all(np.all(np.isfinite(w)) for w in after)
        if any(not np.array_equal(w, w0) for w, w0 in zip(after, before)):
            break
        assert float(model.optimizer.scale_loss(1.0)) == scale / 2   # a skipped step
    else:
        raise AssertionError("10 mixed-precision steps left every weight unchanged")

    q = model.encode(batch)
    assert q.mean().dtype == tf.float32 and q.stddev().dtype == tf.float32
    z = q.mean()
    p = model.decode(z)
    assert p["a"].distribution.logits.dtype == tf.float32
    assert p["b"].distribution.loc.dtype == tf.float32
    assert p["c"].logits.dtype == tf.float32
    x, mask = model.prepare_batch(batch)
    for m, name_ in enumerate(NAMES):
        log_prob = p[name_].log_prob(x[m])
        assert log_prob.dtype == tf.float32 and np.all(np.isfinite(log_prob)), name_
    loss, terms = model.compute_objective(x, mask, training=True)
    assert loss.dtype == tf.float32 and np.isfinite(loss.numpy())
    assert all(v.dtype == tf.float32 and w.dtype == tf.float32 for v, w in terms.values())
    assert all(value.dtype == tf.float32 for value in model(batch).values())
    ll = model.log_likelihood(batch, num_samples=4)
    assert ll.dtype == tf.float32 and np.all(np.isfinite(ll.numpy()))


def learnable_data(n=256, seed=0):
    """Three modalities driven by one class: a Bernoulli pattern, a noisy code, the class;
    80% of the entries present."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 4, n).astype("int32")
    a = (0.05 + 0.9 * np.eye(4, 5)[c]).astype("float32")
    b = (rng.normal(size=(4, 3))[c] + 0.1 * rng.normal(size=(n, 3))).astype("float32")
    mask = rng.uniform(size=(n, 3)) < 0.8
    mask[~mask.any(1), 2] = True
    return filled({"a": a, "b": b, "c": c}, mask, "nan")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_half_precision_learns_through_xla(policy):
    """Six epochs of XLA-compiled `fit` under each half-precision policy lower the loss (one
    model class: an XLA compile under mixed precision takes ~7 s here); float16 scales the
    loss, bfloat16 does not need to."""
    keras.mixed_precision.set_global_policy(policy)             # conftest restores float32
    model = build("MVAE")
    model.compile(keras.optimizers.Adam(1e-2))
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == \
        (policy == "mixed_float16")
    data = tf.data.Dataset.from_tensor_slices(learnable_data()).batch(64)
    losses = model.fit(data, epochs=6, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.5, losses
    assert all(np.isfinite(w).all() for w in model.get_weights())
