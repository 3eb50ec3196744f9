"""`mvae_multimnist` (MVAE section 4.3, Tables 2-5's MultiMNIST column): the paper's settings,
the authors' networks (Table 1's parameter count), one training step on MultiMNIST canvases,
Tables 2-5's estimators on its (6,)-token text and the paper's 12 numbers under their keys.
`mvae_multimnist_sup_<level>` (section 6.1, Figure 4(c)): its masked canvases, one training step
on them and Figure 4(c)'s character accuracy in its metrics."""

import functools

import numpy as np
import pytest

import kmvae
from kmvae import metrics, recipes
from kmvae.datasets import multimnist
from kmvae.datasets.idx import write_idx
from kmvae.evaluate import compute_metrics
from kmvae.metrics.suite import mvae_likelihoods

NAME = "mvae_multimnist"
# MVAE Tables 2-5, the MVAE row's MultiMNIST column, in the order of recipes/mvae.py's TABLES.
PAPER = (-152.761, -153.469, -147.027, -152.826, -153.478, -147.009,
         26.917, 27.989, 16.822, 16.437, 16.672, 28.649)


@functools.lru_cache(maxsize=None)
def _model():
    """The recipe's model, uncompiled, built once (the tests that read it do not train it)."""
    return recipes.load(NAME).build_model(compile=False, seed=0)


def _canvases(tmp_path, num_examples, name=NAME):
    """Recipe `name`'s splits, `num_examples` canvases each, composed by the `multimnist` data
    set from 60 / 20 random IDX digits written to `tmp_path`."""
    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    for prefix, n in (("train", 60), ("t10k", 20)):
        write_idx(tmp_path / "mnist" / f"{prefix}-images-idx3-ubyte",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / "mnist" / f"{prefix}-labels-idx1-ubyte",
                  rng.integers(0, 10, n, dtype=np.uint8))
    return recipes.load(name).load_data(("train", "validation", "test"), data_dir=tmp_path,
                                        source="idx", num_examples=num_examples)


def test_recipe_has_the_papers_settings():
    recipe = recipes.load(NAME)
    assert (recipe.model, recipe.dataset, recipe.source, recipe.target) == (
        "MVAE", "multimnist", "image", "text")
    assert (recipe.latent_dim, recipe.epochs, recipe.kl_warmup_epochs) == (100, 500, 200)
    assert (recipe.optimizer, recipe.learning_rate, recipe.batch_size) == ("adam", 1e-3, 100)
    assert recipe.dataset_options == {"validation": 1 / 6} and recipe.selection == "val_elbo"
    assert recipe.eval_num_samples == 1000
    assert recipe.metrics == ("MVAELikelihoods", "CrossModalAccuracy", "CharacterAccuracy")
    assert "Paper left open" in recipe.notes and "GreedyGRUTextDecoder" in recipe.notes
    assert "Figure 4(c)" in recipe.notes


def test_model_has_the_authors_networks():
    model = _model()
    assert model.modality_names == ("image", "text") and model.latent_dim == 100
    assert model.loss_weights == (1.0, 1.0)                         # the paper's lambda = 1
    image, text = model.modalities
    assert (image.shape, image.likelihood) == ((2500,), "bernoulli")
    assert (text.shape, text.num_classes, text.likelihood) == ((6,), 13, "categorical")
    assert [type(e.backbone) for e in model.encoders] == [
        kmvae.layers.MultiMNISTImageEncoder, kmvae.layers.GRUTextEncoder]
    assert [type(d.backbone) for d in model.decoders] == [
        kmvae.layers.MultiMNISTImageDecoder, kmvae.layers.GreedyGRUTextDecoder]
    assert [d.head.dense for d in model.decoders] == [None, None]  # both return parameters


def test_inference_networks_match_table_1_but_for_batch_norm_and_the_pad_token():
    """MVAE Table 1: 1,316,936 MultiMNIST inference-network parameters for the VAE (the image
    encoder) and 1,841,936 for the MVAE (image and text encoders), latent 100. kmvae's image
    encoder has no batch normalisation (896 scales and offsets after the 64, 128 and 256
    filter convolutions) and has convolution biases instead (32 + 64 + 128 + 256 = 480); its
    text embedding has a 13th token (PAD), one more row of 200."""
    model = _model()
    image, text = (encoder.count_params() for encoder in model.encoders)
    assert image == 1_316_936 - 2 * (64 + 128 + 256) + (32 + 64 + 128 + 256) == 1_316_520
    assert text == (1_841_936 - 1_316_936) + 200 == 525_200


def test_one_training_step_on_multimnist_canvases(tmp_path):
    recipe = recipes.load(NAME)
    train, validation, test = _canvases(tmp_path, num_examples=24)
    batch = next(iter(train))
    assert batch["image"].shape == (20, 2500) and batch["text"].shape == (20, 6)  # 24 - 24 / 6
    assert sum(int(b["image"].shape[0]) for b in validation) == 4
    model = recipe.build_model(seed=0)                      # compiled as the recipe trains
    before = [w.numpy().copy() for w in model.trainable_weights]
    logs = model.train_on_batch(batch, return_dict=True)
    assert np.isfinite(float(logs["loss"])) and float(logs["loss"]) > 0
    assert {"elbo_image", "elbo_text"} <= set(logs)
    changed = [np.any(w.numpy() != b) for w, b in zip(model.trainable_weights, before)]
    assert all(changed)


def test_tables_2_5_estimators_take_the_text_and_name_the_papers_keys(tmp_path):
    """The importance-sampled log p(x), log p(x, y), log p(x | y) and their variances (MVAE
    eq. 5-7) run with the (6,)-token text as y (K = 3 here), under the keys of the targets."""
    model = _model()
    _, _, test = _canvases(tmp_path, num_examples=4)
    batch = next(iter(test))

    def estimate(modalities, proposal):
        return metrics.importance_sampling(model, batch, modalities, proposal, num_samples=3)

    result = mvae_likelihoods(model, [batch], "image", "text", estimate, prior_samples=5,
                              eval_examples=None)
    target = recipes.targets(NAME)
    for section in ("log_likelihood", "log_weight_variance"):
        assert set(result[section]) == set(target[section])
        assert all(np.isfinite(v) for v in result[section].values())
    assert "log p(image|text) | q(z|image)" in result["log_likelihood"]
    assert all(v < 0 for v in result["log_likelihood"].values())
    accuracy = metrics.cross_modal_accuracy(model, [batch], "image", "text")
    assert 0.0 <= accuracy <= 1.0


def test_targets_are_the_papers_multimnist_column_in_table_order():
    mvae = recipes.paper("mvae")
    target = recipes.targets(NAME)
    assert (target["source"], target["epochs"], target["num_samples"]) == (
        "Wu & Goodman 2018 (MVAE), Tables 2-5, MultiMNIST column", 500, 1000)
    rows = mvae.tables("text")
    assert [target[section][key] for _, _, section, key in rows] == list(PAPER)
    assert rows[2][2:] == ("log_likelihood", "log p(image|text) | q(z|image)")        # Table 2
    assert rows[11][:3] == ("Table 5", "var log w, conditional, q(z|x,y)",
                            "log_weight_variance")
    assert rows[11][3] == "log p(image|text) | q(z|image,text)"
    # The other columns keep their keys: `tables()` is `TABLES`, y named "label".
    assert mvae.tables() == mvae.TABLES
    assert [recipes.targets("mvae_mnist")[section][key]
            for _, _, section, key in mvae.TABLES][:3] == [-90.619, -90.859, -88.569]


@pytest.mark.parametrize("name", ["mvae_mnist", "mvae_binary_mnist", "mvae_fashion_mnist",
                                  NAME])
def test_every_tables_recipe_has_a_number_for_each_row(name):
    recipe = recipes.load(name)
    target = recipes.targets(name)
    keys = [(section, key) for _, _, section, key in recipes.paper("mvae").tables(recipe.target)]
    assert sorted(keys) == sorted((section, key) for section in ("log_likelihood",
                                                                 "log_weight_variance")
                                  for key in target[section])


def _character_accuracy_by_hand(model, test):
    """The digits of the test texts (between START and the first STOP) predicted right from the
    image, the argmax token at the mean of q(z | image), counted one text at a time; and the
    texts predicted exactly through STOP."""
    right = characters = exact = texts = 0
    for batch in test:
        q = model.encode({"image": batch["image"]})
        probs = model.decoded_means(q.mean(), ["text"])["text"]
        for p, t in zip(np.argmax(probs, axis=-1).tolist(), batch["text"].numpy().tolist()):
            end = t.index(multimnist.STOP)
            characters += end - 1
            right += sum(p[i] == t[i] for i in range(1, end))
            exact += p[:end + 1] == t[:end + 1]
            texts += 1
    return right / characters, exact / texts


def test_figure_4c_recipe_trains_a_step_on_masked_canvases_and_scores_characters(tmp_path):
    """`mvae_multimnist_sup_10` on 24 canvases: of the 20 training canvases 2 keep both
    modalities, the others the image or the text, half each; the validation and test canvases
    keep both. One training step on the masked batch changes every weight, and the trained
    model's metrics hold Figure 4(c)'s character accuracy as an independent count gives it."""
    recipe = recipes.load(f"{NAME}_sup_10")
    train, validation, test = _canvases(tmp_path, num_examples=24, name=recipe.name)
    batch = next(iter(train))
    masks = batch["mask"].numpy()
    assert masks.shape == (20, 2)
    assert [int(np.sum(masks.all(axis=1))), int(np.sum(masks[:, 0] & ~masks[:, 1])),
            int(np.sum(~masks[:, 0] & masks[:, 1]))] == [2, 9, 9]
    for split in (validation, test):
        assert all("mask" not in b or np.all(b["mask"].numpy()) for b in split)
    model = recipe.build_model(seed=0)
    before = [w.numpy().copy() for w in model.trainable_weights]
    logs = model.train_on_batch(batch, return_dict=True)
    assert np.isfinite(float(logs["loss"]))
    assert all(np.any(w.numpy() != b) for w, b in zip(model.trainable_weights, before))
    result = compute_metrics(model, recipe, train, test)
    assert {"character_accuracy(image->text)", "sequence_accuracy(image->text)",
            "cross_modal_accuracy(image->text)"} <= set(result)
    assert "log_likelihood" not in result
    character, sequence = _character_accuracy_by_hand(model, test)
    assert result["character_accuracy(image->text)"] == pytest.approx(character)
    assert result["sequence_accuracy(image->text)"] == pytest.approx(sequence)
