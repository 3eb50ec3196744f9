"""SVAE's MNIST-Split accuracy (section 4): whole images reassembled from generated parts, judged
by a whole-image oracle. A generator returning the true parts scores 1, shuffled labels chance,
the wrong row order fails; the reassembly matches the data set's own images."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import kmvae
from kmvae import Modality, evaluate, metrics
from kmvae.datasets import mnist_views
from kmvae.datasets.idx import write_idx
from kmvae.recipes import Recipe

HALVES = (("top", 14), ("bottom", 14))
THIRDS = (("top", 9), ("middle", 9), ("bottom", 9))


def row_images(num_examples, seed=0):
    """28x28 images whose class c is a bright row 2c + 1 (rows 1, 3, ..., 19: in both halves
    and all three thirds) over background noise in [0, 0.3]; returns `(images, labels)`."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, num_examples).astype(np.int32)
    images = rng.uniform(0.0, 0.3, (num_examples, 28, 28)).astype(np.float32)
    images[np.arange(num_examples), 2 * labels + 1, :] = 1.0
    return images, labels


def row_oracle(images, training=False):
    """A perfect classifier of `row_images` (any other row order misleads it): logits = the
    mean of rows 1, 3, ..., 19."""
    return np.asarray(images)[:, 1:20:2, :, 0].mean(axis=-1)


def split_dataset(images, labels, layout, batch_size=100):
    """Batches of the parts (flat strips, as `mnist_split` / `mnist_split3`) and the label."""
    batch, row = {}, 0
    for name, rows in layout:
        batch[name] = images[:, row:row + rows].reshape(len(images), -1)
        row += rows
    batch["label"] = labels
    return tf.data.Dataset.from_tensor_slices(batch).batch(batch_size)


class TruePartsModel:
    """Stands in for a trained model whose decoders return the true parts of the example: the
    first given part identifies the example (its noise is unique)."""

    def __init__(self, dataset):
        rows = {}
        for batch in dataset:
            for key, value in batch.items():
                if key != "label":
                    rows.setdefault(key, []).append(np.asarray(value))
        self.parts = {key: np.concatenate(v) for key, v in rows.items()}
        self.modality_names = tuple(self.parts)
        self.calls = []

    def translate(self, inputs, targets=None, sample=False, seed=None):
        name = next(iter(inputs))
        lookup = {row.tobytes(): i for i, row in enumerate(self.parts[name])}
        index = [lookup[row.tobytes()] for row in np.asarray(inputs[name])]
        self.calls.append((tuple(inputs), tuple(targets), sample))
        return {t: self.parts[t][index] for t in targets}


@pytest.mark.parametrize("layout, keys", [
    (HALVES, ["top", "bottom", "top,bottom"]),
    (THIRDS, ["top", "middle", "bottom", "top,middle", "top,bottom", "middle,bottom",
              "top,middle,bottom"])])
def test_true_parts_score_one_and_shuffled_labels_chance(layout, keys):
    images, labels = row_images(1000, seed=1)
    parts = [name for name, _ in layout]
    data = split_dataset(images, labels, layout)
    model = TruePartsModel(data)
    accuracy = metrics.split_reconstruction_accuracy(model, data, row_oracle, parts)
    assert list(accuracy) == keys and set(accuracy.values()) == {1.0}
    # Every subset is decoded into all parts, from a posterior sample by default.
    assert {c[0] for c in model.calls} == {tuple(k.split(",")) for k in keys}
    assert all(c[1] == tuple(parts) and c[2] is True for c in model.calls)
    shuffled = split_dataset(images, np.random.default_rng(2).permutation(labels), layout)
    for value in metrics.split_reconstruction_accuracy(model, shuffled, row_oracle,
                                                       parts).values():
        assert value == pytest.approx(0.1, abs=0.035)
    model.calls = []
    half = metrics.split_reconstruction_accuracy(model, data, row_oracle, parts,
                                                 max_examples=250)
    assert set(half.values()) == {1.0}
    assert len(model.calls) == 3 * len(keys)       # batches of 100, 100 and the first 50


def test_the_parts_order_is_the_row_order():
    images, labels = row_images(500, seed=3)
    data = split_dataset(images, labels, HALVES)
    model = TruePartsModel(data)
    swapped = metrics.split_reconstruction_accuracy(model, data, row_oracle, ["bottom", "top"])
    assert max(swapped.values()) < 0.2
    assert metrics.split_reconstruction_accuracy(model, data, row_oracle,
                                                 ["top", "bottom"])["top,bottom"] == 1.0


def test_reassemble_gives_back_the_original_image():
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    halves = mnist_views.split_parts(images, "halves")
    whole = np.asarray(metrics.reassemble([halves["top"], halves["bottom"]]))
    assert whole.shape == (6, 28, 28, 1) and whole.dtype == np.float32
    np.testing.assert_array_equal(whole[..., 0], images)
    for layout in ("thirds", "thirds_9_10_9"):
        thirds = mnist_views.split_parts(images, layout)
        whole = np.asarray(metrics.reassemble([thirds[k] for k in ("top", "middle", "bottom")]))
        np.testing.assert_array_equal(whole[..., 0], mnist_views.assemble(thirds, layout))
        if layout == "thirds":     # three 9-row parts: rows 0-26 the image's, row 27 zero
            np.testing.assert_array_equal(whole[:, :27, :, 0], images[:, :27])
            assert not whole[:, 27].any() and images[:, 27].any()
        else:
            np.testing.assert_array_equal(whole[..., 0], images)
    small = np.arange(24, dtype=np.float32).reshape(2, 12)
    np.testing.assert_array_equal(np.asarray(metrics.reassemble([small[:, :8], small[:, 8:]],
                                                                image_shape=(3, 4)))[..., 0],
                                  small.reshape(2, 3, 4))


def test_reassemble_and_accuracy_errors():
    with pytest.raises(ValueError, match="at least one part"):
        metrics.reassemble([])
    with pytest.raises(ValueError, match=r"Part 1 has shape \(2, 30\); expected \(batch, rows "
                                         r"\* 28\)"):
        metrics.reassemble([np.zeros((2, 28)), np.zeros((2, 30))])
    with pytest.raises(ValueError, match="29 rows in all; the 28x28 image has only 28"):
        metrics.reassemble([np.zeros((2, 28 * 15)), np.zeros((2, 28 * 14))])
    images, labels = row_images(10)
    data = split_dataset(images, labels, HALVES)
    with pytest.raises(ValueError, match=r"Unknown part\(s\) \['left'\]"):
        metrics.split_reconstruction_accuracy(TruePartsModel(data), data, row_oracle,
                                              ["left", "top"])
    unlabelled = data.map(lambda b: {"top": b["top"], "bottom": b["bottom"]})
    with pytest.raises(ValueError, match="true classes under 'label'"):
        metrics.split_reconstruction_accuracy(TruePartsModel(unlabelled), unlabelled,
                                              row_oracle, ["top", "bottom"])
    with pytest.raises(ValueError, match=r"expected \['label'\] among them"):
        metrics.whole_images(unlabelled, ["top", "bottom"])


def tiny_svae(parts):
    """An untrained SVAE on flat 8-pixel strips named `parts`, latent 2."""
    keras.utils.set_random_seed(5)
    return kmvae.SVAE([Modality(name, shape=(8,), likelihood="bernoulli",
                                encoder=keras.Sequential([keras.layers.Dense(8, "tanh")]),
                                decoder=keras.Sequential([keras.layers.Dense(8, "tanh")]))
                       for name in parts], latent_dim=2, seed=0)


def linear_oracle(image_shape):
    """A 3-class linear classifier of centred pixels: on an untrained decoder's images (about
    0.5 everywhere), its class depends on the small differences between them."""
    return keras.Sequential([keras.Input(image_shape + (1,)), keras.layers.Flatten(),
                             keras.layers.Rescaling(1.0, offset=-0.5),
                             keras.layers.Dense(3, use_bias=False)])


def test_a_real_model_matches_a_numpy_reassembly():
    """A tiny SVAE on three 2-row strips of 7x4 images (row 6 uncovered): with the posterior
    mean, the metric equals the accuracy computed here from `translate` with numpy."""
    parts = ["top", "middle", "bottom"]
    model, oracle = tiny_svae(parts), linear_oracle((7, 4))
    rng = np.random.default_rng(6)
    # Random weights, none on the uncovered row.
    kernel = rng.normal(size=(28, 3)).astype(np.float32)
    kernel[24:] = 0.0
    oracle.layers[-1].kernel.assign(kernel)
    batch = {name: rng.uniform(size=(40, 8)).astype(np.float32) for name in parts}
    batch["label"] = rng.integers(0, 3, 40).astype(np.int32)
    data = tf.data.Dataset.from_tensor_slices(batch).batch(40)
    accuracy = metrics.split_reconstruction_accuracy(model, data, oracle, parts,
                                                     image_shape=(7, 4), sample=False)
    for key, value in accuracy.items():
        decoded = model.translate({name: batch[name] for name in key.split(",")}, sample=False)
        whole = np.concatenate([np.asarray(decoded[n]) for n in parts]
                               + [np.zeros((40, 4), np.float32)], axis=1).reshape(40, 7, 4, 1)
        expected = np.mean(np.argmax(oracle(whole), axis=-1) == batch["label"])
        assert value == pytest.approx(expected, abs=1e-9)
    assert len(set(accuracy.values())) > 1        # the subsets do give different images


def test_seeded_samples_are_stateless_draws_of_the_posterior():
    """`translate(sample=True, seed=(a, b))` decodes `q(z | x).sample(seed=(a, b))`, the same
    for the same seed whatever the global random state; the accuracy with `seed` decodes batch
    b's subset s with seed `(seed, b * len(subsets) + s)`."""
    parts = ["top", "bottom"]
    model, oracle = tiny_svae(parts), linear_oracle((4, 4))
    rng = np.random.default_rng(6)
    batch = {name: rng.uniform(size=(60, 8)).astype(np.float32) for name in parts}
    batch["label"] = rng.integers(0, 3, 60).astype(np.int32)
    inputs = {"top": batch["top"]}
    z = model.encode(inputs).sample(seed=tf.constant([3, 4], tf.int32))
    expected = model.decoded_means(z, ["bottom"])["bottom"]
    for _ in range(2):
        np.testing.assert_array_equal(
            model.translate(inputs, ["bottom"], sample=True, seed=(3, 4))["bottom"], expected)
        keras.utils.set_random_seed(11)
    other = model.translate(inputs, ["bottom"], sample=True, seed=(3, 5))["bottom"]
    mean = model.translate(inputs, ["bottom"])["bottom"]
    assert np.max(np.abs(other - expected)) > 1e-4 and np.max(np.abs(mean - expected)) > 1e-4

    data = tf.data.Dataset.from_tensor_slices(batch).batch(20)        # three batches
    subsets = [["top"], ["top", "bottom"]]
    accuracy = metrics.split_reconstruction_accuracy(model, data, oracle, parts,
                                                     image_shape=(4, 4), subsets=subsets, seed=9)
    correct = dict.fromkeys(accuracy, 0)
    for b, chunk in enumerate(data):
        for number, subset in enumerate(subsets):
            decoded = model.translate({n: chunk[n] for n in subset}, parts, sample=True,
                                      seed=(9, b * len(subsets) + number))
            whole = np.concatenate([np.asarray(decoded[n]) for n in parts], 1)
            predicted = np.argmax(oracle(whole.reshape(-1, 4, 4, 1)), axis=-1)
            correct[",".join(subset)] += int(np.sum(predicted == chunk["label"].numpy()))
    assert accuracy == {key: value / 60 for key, value in correct.items()}
    assert accuracy == metrics.split_reconstruction_accuracy(
        model, data, oracle, parts, image_shape=(4, 4), subsets=subsets, seed=9)


def test_whole_image_oracle_learns_the_reassembled_images_and_caches(tmp_path):
    images, labels = row_images(400, seed=7)
    data = split_dataset(images, labels, THIRDS, batch_size=50)
    keras.utils.set_random_seed(0)
    oracle = metrics.train_whole_image_oracle(data, ["top", "middle", "bottom"], name="toy",
                                              epochs=3, cache_dir=tmp_path)
    assert oracle.cache_path == str(tmp_path / "toy-whole_image-default.keras")
    assert oracle.input_shape == (None, 28, 28, 1)
    test_images, test_labels = row_images(200, seed=8)
    real = metrics.whole_images(split_dataset(test_images, test_labels, THIRDS),
                                ["top", "middle", "bottom"])
    assert metrics.oracle_accuracy(oracle, real, "whole_image") > 0.95
    again = metrics.train_whole_image_oracle(data, ["top", "middle", "bottom"], name="toy",
                                             cache_dir=tmp_path)
    assert again is not oracle and again.cache_path == oracle.cache_path
    loads = []
    lazy = metrics.train_whole_image_oracle(lambda: loads.append(1) or data,
                                            ["top", "middle", "bottom"], name="toy",
                                            cache_dir=tmp_path)
    assert loads == [] and lazy.cache_path == oracle.cache_path  # cached: the data not loaded
    with pytest.raises(TypeError, match="name"):
        metrics.train_whole_image_oracle(data, ["top"], cache_dir=tmp_path)
    with pytest.raises(ValueError, match=r"expected a tf.data.Dataset or a function returning "
                                         r"one; received str 'mnist_split'.*"
                                         r"oracle_training_data"):
        metrics.train_whole_image_oracle("mnist_split", ["top"], name="toy")


def fake_mnist(root, n_train=60, n_test=30, seed=0):
    """Random MNIST IDX files in `root/mnist/`; returns the test images and labels."""
    rng = np.random.default_rng(seed)
    (root / "mnist").mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(root / "mnist" / f"{prefix}-images-idx3-ubyte", images)
        write_idx(root / "mnist" / f"{prefix}-labels-idx1-ubyte", labels)
    return images, labels


def cache_oracles(oracle_dir, dataset, shapes, seed=0):
    """Small random classifiers stored where `train_oracle` caches the default oracles of
    `dataset` (key -> input shape), so that the evaluation loads them instead of training."""
    oracle_dir.mkdir(parents=True)
    keras.utils.set_random_seed(seed)
    for key, shape in shapes.items():
        keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(10)]
                         ).save(oracle_dir / f"{dataset}-{key}-default.keras")


def tiny_split_recipe(dataset, layout, model="SVAE"):
    return Recipe(
        name="tiny_split", description="", paper="", model=model, dataset=dataset,
        modalities=lambda: [Modality(name, shape=(rows * 28,), likelihood="bernoulli",
                                     encoder=keras.Sequential([keras.layers.Dense(8, "tanh")]),
                                     decoder=keras.Sequential([keras.layers.Dense(8, "tanh")]))
                            for name, rows in layout],
        dataset_options=dict(supervision=0.5, paired_per_batch=10), latent_dim=2, epochs=1,
        source="top",
        target="bottom")


@pytest.mark.parametrize("dataset, layout", [("mnist_split", HALVES),
                                             ("mnist_split3", THIRDS)])
def test_split_accuracy_of_a_recipe_uses_the_whole_test_images(tmp_path, monkeypatch, dataset,
                                                               layout):
    """`evaluate.split_accuracy` takes the whole-image oracle of the recipe's data set (its
    mask option dropped from the cache key) and reports its accuracy on the real test images,
    which is recomputed here from the IDX digits (uint8 / 255; row 27 zero for three 9-row
    parts)."""
    monkeypatch.setenv("KMVAE_DATA_DIR", str(tmp_path / "data"))
    images, labels = fake_mnist(tmp_path / "data")
    cache_oracles(tmp_path / "oracles", dataset, {"whole_image": (28, 28, 1)})
    recipe = tiny_split_recipe(dataset, layout)
    keras.utils.set_random_seed(0)
    model = recipe.build_model()
    result = evaluate.split_accuracy(model, recipe, recipe.load_data("test"), oracle_epochs=1,
                                     oracle_dir=tmp_path / "oracles")
    subsets = {2: ["top", "bottom", "top,bottom"],
               3: ["top", "middle", "bottom", "top,middle", "top,bottom", "middle,bottom",
                   "top,middle,bottom"]}
    assert list(result["split_accuracy"]) == subsets[len(layout)]
    assert all(0.0 <= v <= 1.0 for v in result["split_accuracy"].values())
    oracle = keras.saving.load_model(tmp_path / "oracles" /
                                     f"{dataset}-whole_image-default.keras")
    parts = [name for name, _ in layout]
    assert result["split_accuracy_mean"] == metrics.split_reconstruction_accuracy(
        model, recipe.load_data("test"), oracle, parts, sample=False)
    whole = images.astype(np.float32) / 255.0
    if dataset == "mnist_split3":
        whole[:, 27] = 0.0
    expected = np.mean(np.argmax(oracle(whole[..., None]), axis=-1) == labels)
    assert result["split_oracle_accuracy"] == pytest.approx(expected, abs=1e-9)


def test_compute_metrics_reports_the_split_accuracy_on_mnist_split(tmp_path, monkeypatch):
    monkeypatch.setenv("KMVAE_DATA_DIR", str(tmp_path / "data"))
    fake_mnist(tmp_path / "data")
    cache_oracles(tmp_path / "oracles", "mnist_split",
                  {"top": (392,), "bottom": (392,), "whole_image": (28, 28, 1)})
    recipe = tiny_split_recipe("mnist_split", HALVES, model="MVAE")
    keras.utils.set_random_seed(0)
    model = recipe.build_model()
    train, test = recipe.load_data()
    result = evaluate.compute_metrics(model, recipe, train, test, num_samples=2,
                                      eval_examples=10, prior_samples=10, oracle_epochs=1,
                                      oracle_dir=tmp_path / "oracles")
    json.dumps(result)
    assert list(result["split_accuracy"]) == ["top", "bottom", "top,bottom"]
    assert 0.0 <= result["split_oracle_accuracy"] <= 1.0
    table = evaluate.format_table(result)
    assert "split_accuracy top,bottom" in table and "split_oracle_accuracy" in table
    assert "split_accuracy_mean top" in table
    # Other data sets have no parts to reassemble.
    assert evaluate.SPLIT_DATASETS == ("mnist_split", "mnist_split3")
    from kmvae.datasets import registry       # the data sets that say so in their entry
    assert tuple(n for n in registry.names()
                 if registry.evaluation(n).get("whole_image")) == evaluate.SPLIT_DATASETS


def test_split_accuracy_logger_logs_the_selection_criterion_each_epoch(tmp_path):
    """SVAE's selection criterion (App. F.1): the callback puts the top half's reconstruction
    accuracy (one posterior sample of fixed noise, as Table 1 and the authors' selection) into
    every epoch's logs, before CSVLogger and ModelCheckpoint read them; the last value equals
    the metric computed after `fit` with the same seed, and the posterior mean on request."""
    from kmvae.callbacks import SplitAccuracyLogger

    keras.utils.set_random_seed(7)
    images, labels = row_images(300, seed=8)
    data = split_dataset(images, labels, HALVES, batch_size=100)
    model = kmvae.SVAE([Modality(name, shape=(rows * 28,), likelihood="bernoulli",
                                 encoder=keras.Sequential([keras.layers.Dense(16, "relu")]),
                                 decoder=keras.Sequential([keras.layers.Dense(16, "relu")]))
                        for name, rows in HALVES], latent_dim=4, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    train = data.map(lambda b: {"top": b["top"], "bottom": b["bottom"]})
    logger = SplitAccuracyLogger(data, ("top", "bottom"), oracle=row_oracle)
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "best.weights.h5"), monitor="val_top_accuracy", mode="max",
        save_best_only=True, save_weights_only=True)
    history = model.fit(train, epochs=3, verbose=0, callbacks=[
        logger, keras.callbacks.CSVLogger(str(tmp_path / "history.csv")), checkpoint]).history
    values = history["val_top_accuracy"]
    assert len(values) == 3 and all(0.0 <= v <= 1.0 for v in values)
    assert checkpoint.best == max(values) and (tmp_path / "best.weights.h5").exists()
    assert "val_top_accuracy" in (tmp_path / "history.csv").read_text().splitlines()[0]
    expected = metrics.split_reconstruction_accuracy(model, data, row_oracle, ["top", "bottom"],
                                                     subsets=[["top"]], seed=0)
    assert list(expected) == ["top"] and values[-1] == pytest.approx(expected["top"])
    logs = {}
    mean_logger = SplitAccuracyLogger(data, ("top", "bottom"), oracle=row_oracle, sample=False)
    mean_logger.set_model(model)
    mean_logger.on_epoch_end(0, logs)
    mean = metrics.split_reconstruction_accuracy(model, data, row_oracle, ["top", "bottom"],
                                                 sample=False, subsets=[["top"]])
    assert logs["val_top_accuracy"] == pytest.approx(mean["top"])
    with pytest.raises(ValueError, match=r"given parts \['left'\]"):
        SplitAccuracyLogger(data, ("top", "bottom"), given=("left",), oracle=row_oracle)
    with pytest.raises(ValueError, match="needs an oracle or the data set name"):
        SplitAccuracyLogger(data, ("top", "bottom"))
    with pytest.raises(ValueError, match=r"are not non-empty subsets of the parts"):
        metrics.split_reconstruction_accuracy(model, data, row_oracle, ["top", "bottom"],
                                              subsets=[["middle"]])
