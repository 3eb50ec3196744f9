"""Recipes: loadable by name, building the papers' networks."""

import numpy as np
import pytest

import kmvae
from kmvae import recipes

PAPER_RECIPES = ["digits", "mvae_mnist", "mvae_fashion_mnist", "mopoe_mnist", "moe_mnist"]


def test_list_names_every_recipe():
    assert set(PAPER_RECIPES) <= set(recipes.list())
    assert recipes.list() == sorted(recipes.list())


@pytest.mark.parametrize("name", PAPER_RECIPES)
def test_recipe_builds_its_model(name):
    recipe = recipes.load(name)
    model = recipe.build_model(compile=False)
    assert recipe.name == name
    assert type(model).__name__ == recipe.model
    assert model.latent_dim == recipe.latent_dim
    assert model.modality_names == ("image", "label")


def test_mvae_mnist_inference_networks_match_paper_table_1():
    # Wu & Goodman 2018, Table 1: 1,063,680 inference-network parameters for MVAE on MNIST
    # (image MLP 784-512-512 + label embedding-512-512, each with a 2x64 Gaussian head).
    model = recipes.load("mvae_mnist").build_model(compile=False)
    assert sum(encoder.count_params() for encoder in model.encoders) == 1_063_680


def test_mnist_recipes_follow_the_papers_training_settings():
    for name in ("mvae_mnist", "mopoe_mnist", "moe_mnist"):
        recipe = recipes.load(name)
        assert (recipe.latent_dim, recipe.batch_size, recipe.learning_rate) == (64, 100, 1e-3)
        assert (recipe.epochs, recipe.kl_warmup_epochs) == (500, 200)


def test_fashion_recipe_uses_the_convolutional_networks():
    model = recipes.load("mvae_fashion_mnist").build_model(compile=False)
    assert isinstance(model.encoders[0].backbone, kmvae.layers.ConvEncoder)
    assert isinstance(model.decoders[0].backbone, kmvae.layers.ConvDecoder)


@pytest.mark.parametrize("base, accuracy", [
    ("mvae_mnist", "cross_modal_accuracy(image->label)"),
    ("mvae_fashion_mnist", "cross_modal_accuracy(image->label)"),
    ("mvae_multimnist", "character_accuracy(image->text)")])
def test_figure_4_recipes_are_their_tables_recipe_with_weak_supervision(base, accuracy):
    """MVAE section 6.1: the same model, training and selection as the Tables 2-5 recipe; only
    the supervision fraction (and the metrics Figure 4 needs: its panel's accuracy first, no
    Tables 2-5 log-likelihoods) differ."""
    from kmvae.metrics import suite

    mvae = recipes.paper("mvae")
    plain = recipes.load(base)
    parameters = plain.build_model(compile=False).count_params()
    same = ("model", "dataset", "latent_dim", "epochs", "batch_size", "learning_rate",
            "kl_warmup_epochs", "model_options", "selection", "source", "target", "optimizer",
            "eval_num_samples")
    panel = mvae.SUPERVISION_PANELS[base]
    assert mvae.SUPERVISION_ACCURACY_KEYS[base] == accuracy
    for level, fraction in (("10", 0.1), ("1", 0.01), ("0p1", 0.001)):
        weak = recipes.load(f"{base}_sup_{level}")
        assert [getattr(weak, key) for key in same] == [getattr(plain, key) for key in same]
        assert weak.dataset_options == {**plain.dataset_options, "supervision": fraction}
        first = suite.METRICS[weak.metrics[0]].keys[0]
        assert first.replace("<source>", "image").replace("<target>", plain.target) == accuracy
        assert "MVAELikelihoods" not in weak.metrics
        assert f"{100 * fraction:g}% of the training examples paired" in weak.notes
        assert f"Figure 4 {panel}'s accuracy is {accuracy}" in weak.notes
        assert weak.notes.endswith(plain.notes)
        assert weak.paper == (f"Wu & Goodman 2018 (MVAE), section 6.1, Figure 4 {panel}, "
                              f"supervision {100 * fraction:g}%")
        assert recipes.targets(weak.name) == {
            "source": f"Wu & Goodman 2018 (MVAE), section 6.1, Figure 4 {panel}",
            "epochs": 500, "supervision": fraction}
        assert weak.build_model(compile=False).count_params() == parameters


def test_figure_4_recipe_masks_only_its_training_split(tmp_path):
    """`mvae_mnist_sup_1` on 600 fake MNIST digits: of the 500 training digits (a sixth held out
    for validation) exactly 5 keep both modalities, the rest one each, half and half; the
    validation and test digits keep both."""
    from kmvae.datasets.idx import write_idx

    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    for prefix, n in (("train", 600), ("t10k", 20)):
        write_idx(tmp_path / "mnist" / f"{prefix}-images-idx3-ubyte",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / "mnist" / f"{prefix}-labels-idx1-ubyte",
                  rng.integers(0, 10, n, dtype=np.uint8))
    recipe = recipes.load("mvae_mnist_sup_1")
    train, validation, test = recipe.load_data(("train", "validation", "test"),
                                               data_dir=tmp_path, source="idx")
    masks = np.concatenate([batch["mask"].numpy() for batch in train])
    assert masks.shape == (500, 2)
    assert [int(np.sum(masks.all(axis=1))), int(np.sum(masks[:, 0] & ~masks[:, 1])),
            int(np.sum(~masks[:, 0] & masks[:, 1]))] == [5, 247, 248]
    for split in (validation, test):
        assert all("mask" not in batch or np.all(batch["mask"].numpy()) for batch in split)
    assert sum(int(batch["label"].shape[0]) for batch in validation) == 100


def test_unknown_recipe_lists_the_available_ones():
    with pytest.raises(ValueError, match="Unknown recipe 'nope'.*mvae_mnist"):
        recipes.load("nope")


def test_recipe_with_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="unknown model 'VAE'"):
        recipes.Recipe(name="x", description="", paper="", model="VAE",
                       modalities=list, dataset="digits_label", latent_dim=2, epochs=1)


def test_warmup_keeps_its_share_when_epochs_are_overridden():
    recipe = recipes.load("mvae_mnist")                  # 200 of 500 epochs
    assert recipe.callbacks()[0].epochs == 200
    assert recipe.callbacks(epochs=30)[0].epochs == 12
    assert recipe.callbacks(epochs=1)[0].epochs == 1


def test_staged_recipe_fits_each_stage_in_turn():
    """A TVAE recipe with stages (1, 1): half the epochs in stage 1, then set_stage(2)."""
    import keras
    from kmvae import Modality
    from kmvae.recipes import Recipe

    def modalities():
        return [Modality("image", shape=(64,),
                         encoder=keras.Sequential([keras.layers.Dense(8, activation="tanh")]),
                         decoder=keras.Sequential([keras.layers.Dense(8, activation="tanh")])),
                Modality("label", num_classes=10, likelihood="categorical",
                         decoder=keras.Sequential([keras.layers.Dense(8, activation="tanh")]))]

    recipe = Recipe(name="staged", description="", paper="", model="TVAE",
                    modalities=modalities, dataset="digits_label", latent_dim=2, epochs=4,
                    batch_size=500, stages=(1, 1))
    model = recipe.build_model()
    train = recipe.load_data("train")
    history = recipe.fit(model, train, epochs=4, verbose=0)
    assert model.stage == 2 and len(history["loss"]) == 4
    assert not any(d.trainable for d in model.decoders)
    with pytest.raises(ValueError, match="has no set_stage"):
        Recipe(name="x", description="", paper="", model="MVAE", modalities=modalities,
               dataset="digits_label", latent_dim=2, epochs=1, stages=(1, 1)).fit(
            kmvae.MVAE(modalities(), 2), train)


def test_split_epochs_add_up_to_the_requested_epochs():
    from kmvae.recipes import split_epochs
    for epochs in range(2, 30):
        for shares in ((1, 1), (1, 2), (3, 1)):
            splits = split_epochs(epochs, shares)
            assert sum(splits) == epochs and min(splits) >= 1
            ideal = [epochs * s / sum(shares) for s in shares]
            assert max(abs(a - b) for a, b in zip(splits, ideal)) <= 1
    assert split_epochs(5, (1, 1)) == [2, 3] and split_epochs(7, (1, 1)) == [4, 3]
    with pytest.raises(ValueError, match="2 training stages need at least 2 epochs"):
        split_epochs(1, (1, 1))


def test_recipe_optimizer_choice():
    from kmvae.recipes import Recipe
    import keras
    assert isinstance(recipes.load("m2vae_mog").build_model().optimizer, keras.optimizers.RMSprop)
    assert isinstance(recipes.load("digits").build_model().optimizer, keras.optimizers.Adam)
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'"):
        Recipe(name="x", description="", paper="", model="MVAE", modalities=list,
               dataset="digits_label", latent_dim=2, epochs=1, optimizer="sgd")


def test_polymnist_recipes_follow_mopoe_appendix_d():
    """MoPoE App. D.2: latent 512 and beta = 2.5 for every model, the authors' networks (from
    their code); App. B.1: the MMVAE is compared without importance samples (the mixture of
    experts with the ELBO, kmvae.MoEVAE); App. B: K = 15; no (source, target) pair."""
    expected = {"mvae_polymnist": ("MVAE", "poe"), "mmvae_polymnist": ("MoEVAE", "moe"),
                "mopoe_polymnist": ("MoPoEVAE", "mopoe")}
    for name, (model_class, fusion) in expected.items():
        recipe = recipes.load(name)
        model = recipe.build_model(compile=False)
        assert (recipe.name, type(model).__name__, model.fusion.method) == \
            (name, model_class, fusion)
        assert (model.latent_dim, model.beta, recipe.eval_num_samples) == (512, 2.5, 15)
        assert recipe.source is None and recipe.target is None
        assert model.modality_names == ("m0", "m1", "m2", "m3", "m4")
        # The authors' networks (mmnist/networks/ConvNetworksImgCMNIST.py; the counts are
        # derived from their PyTorch layers in tests/layers/test_layers_polymnist_networks.py).
        assert {type(e.backbone) for e in model.encoders} == {kmvae.layers.PolyMNISTEncoder}
        assert {type(d.backbone) for d in model.decoders} == {kmvae.layers.PolyMNISTDecoder}
        assert {(m.likelihood, m.scale) for m in model.modalities} == {("laplace", 0.75)}
        assert [e.count_params() for e in model.encoders] == [1_667_648] * 5
        assert [d.count_params() for d in model.decoders] == [1_143_747] * 5
