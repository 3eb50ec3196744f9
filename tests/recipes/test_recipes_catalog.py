"""The recipe catalog as data: one module per paper in `recipes/`, each a dict of recipes;
model classes from Keras's registry; modalities checked against the data sets' specs.

When the recipes moved from one module per experiment into one module per paper, every
recipe's fields and its built model (parameter count and config) were compared with a dump
taken before the move and found equal; that dump (670 kB) is gone, the names stay here.
"""

from pathlib import Path

import pytest

from kmvae import recipes

LEVELS = ("100", "10", "1", "0p1")
NAMES = sorted([
    "digits", "mvae_mnist", "mvae_binary_mnist", "mvae_fashion_mnist", "mvae_multimnist",
    "mopoe_mnist", "moe_mnist", "mvae_polymnist", "mmvae_polymnist", "mopoe_polymnist",
    *(f"msnvi_mnist_{v}_{o}" for v in ("tb", "qu", "no")
      for o in ("ind", "moe", "poe", "hybrid", "hybrid_k1")),
    "iwae_mnist", "iwae_mnist_no", "msnvi_mog2d", "msnvi_pendulum",
    *(f"{m}_{d}" for m in ("m2vae", "jmvae_zero", "tvae") for d in ("mog", "emnist")),
    *(f"{m}_mnist_split_{level}" for m in ("svae", "vaevae", "vaevae_star", "mmvae")
      for level in LEVELS),
    "svae_mnist_split3", "vaevae_mnist_split3",
    *(f"mvae_{d}_sup_{level}" for d in ("mnist", "fashion_mnist", "multimnist")
      for level in ("10", "1", "0p1"))])


def test_catalog_has_every_recipe_name():
    assert len(NAMES) == 62
    assert recipes.list() == NAMES


# --- the catalog's structure ------------------------------------------------------------------

PAPERS = ("digits", "m2vae", "mopoe", "msnvi", "mvae", "svae")


def test_the_catalog_is_this_checkouts_recipes_folder():
    """Run from a checkout, the recipes are the checkout's (not those of another checkout that
    shares the installation, as a git worktree does)."""
    import kmvae
    root = Path(__file__).resolve().parents[2]
    assert kmvae.checkout.root() == root
    assert [Path(p) for p in recipes._catalog().__path__] == [root / "recipes"]
    assert Path(recipes.paper("svae").__file__) == root / "recipes" / "svae.py"


def test_one_module_per_paper_holds_its_recipes_as_a_dict():
    modules = recipes.papers()
    assert tuple(modules) == PAPERS
    names = [name for module in modules.values() for name in module.RECIPES]
    assert sorted(names) == recipes.list() and len(names) == len(set(names))
    for module in modules.values():
        assert all(recipe.name == name for name, recipe in module.RECIPES.items())
        assert set(getattr(module, "TARGETS", {})) <= set(module.RECIPES)
    with pytest.raises(ValueError, match="Unknown recipe module 'nope'"):
        recipes.paper("nope")


def test_every_recipe_matches_its_data_set():
    for name in NAMES:
        recipes.load(name).check_modalities()


def test_targets_are_the_papers_numbers_by_metrics_keys():
    from kmvae.errors import UnknownRecipeError

    target = recipes.targets("mvae_mnist")
    assert target["log_likelihood"]["log p(image) | q(z|image)"] == -90.619    # Table 2
    assert (target["epochs"], target["num_samples"]) == (500, 1000)
    target["epochs"] = 1                                   # a copy: the catalog is unchanged
    assert recipes.targets("mvae_mnist")["epochs"] == 500
    assert recipes.targets("iwae_mnist_no") == {"msnvi_bounds": {"-L(poe)": 94.95}}
    assert recipes.targets("digits") == {} and recipes.targets("moe_mnist") == {}
    with pytest.raises(UnknownRecipeError, match="Unknown recipe 'nope'"):
        recipes.targets("nope")


def test_model_classes_come_from_the_keras_registry():
    import keras

    for name in recipes.list():
        model = recipes.load(name).model
        assert recipes.model_class(model) is keras.saving.get_registered_object(f"kmvae>{model}")
    # Registered but no model, or not registered at all: named, with the registered models.
    for name in ("Modality", "VAE", "kmvae>Nope"):
        with pytest.raises(ValueError, match=rf"unknown model '{name}'.*'MVAE'"):
            recipes.model_class(name)


def test_a_model_of_another_package_is_named_with_its_package():
    import keras
    import kmvae

    @keras.saving.register_keras_serializable(package="recipe_tests")
    class TinyMVAE(kmvae.MVAE):
        pass

    recipe = recipes.Recipe(name="tiny", description="", paper="", model="recipe_tests>TinyMVAE",
                            modalities=recipes.paper("mvae").RECIPES["mvae_mnist"].modalities,
                            dataset="mnist_label", latent_dim=2, epochs=1)
    assert type(recipe.build_model(compile=False)) is TinyMVAE
    with pytest.raises(ValueError, match="unknown model 'TinyMVAE'"):
        recipes.model_class("TinyMVAE")          # not under kmvae's package


# --- modalities against the data set's spec ---------------------------------------------------

def _recipe(modalities, dataset="digits_label", **options):
    return recipes.Recipe(name="wrong", description="", paper="", model="MVAE",
                          modalities=lambda: modalities, dataset=dataset, latent_dim=2,
                          epochs=1, **options)


def _image(**kwargs):
    from kmvae import Modality
    return Modality("image", **{"shape": (64,), "likelihood": "bernoulli", **kwargs})


def _label(**kwargs):
    from kmvae import Modality
    return Modality("label", **{"num_classes": 10, "likelihood": "categorical", **kwargs})


def _text():
    from kmvae import Modality
    return Modality("text", shape=(3,))


def test_matching_modalities_pass_and_the_data_set_may_hold_more():
    _recipe([_image(), _label()]).check_modalities()
    _recipe([_image()]).check_modalities()        # the label left to evaluation (an IWAE)


@pytest.mark.parametrize("modalities, message", [
    ([_image(shape=(784,)), _label()],
     r"Recipe 'wrong': modality 'image' has shape \(784,\) but data set 'digits_label' gives "
     r"shape \(64,\)"),
    ([_image(likelihood="normal"), _label()],
     r"modality 'image' has likelihood 'normal' but data set 'digits_label' gives likelihood "
     r"'bernoulli'"),
    ([_image(), _label(num_classes=11)],
     r"modality 'label' has num_classes 11 but data set 'digits_label' gives num_classes 10"),
    ([_image(), _text()],
     r"modality 'text' is not in data set 'digits_label', whose modalities are "
     r"\('image', 'label'\)"),
    ([_label(), _image()],
     r"modalities \('label', 'image'\) are not in the order of data set 'digits_label''s mask "
     r"columns \('image', 'label'\)"),
])
def test_a_mismatch_names_the_recipe_the_modality_and_the_difference(modalities, message):
    with pytest.raises(ValueError, match=message):
        _recipe(modalities).check_modalities()


def test_a_masked_recipe_needs_every_modality_of_the_data_set():
    with pytest.raises(ValueError, match=r"modalities \('image',\) leave out \('label',\) of "
                                         r"data set 'digits_label', but supervision masks"):
        _recipe([_image()], dataset_options=dict(supervision=0.5)).check_modalities()


def test_the_data_sets_own_options_choose_its_spec():
    """mog2d_sources has an observation `x` unless `observation=False` (msnvi_mog2d); load
    options (`validation`, `supervision`, ...) are not the data set's and are left out."""
    from kmvae import Modality
    sources = [Modality("x1", shape=(1,), likelihood="normal"),
               Modality("x2", shape=(1,), likelihood="normal")]
    _recipe(sources, "mog2d_sources", dataset_options=dict(observation=False, validation=0.1),
            selection="val_elbo").check_modalities()
    with pytest.raises(ValueError, match=r"modalities \('x1', 'x2'\) leave out \('x',\)"):
        _recipe(sources, "mog2d_sources", dataset_options=dict(supervision=0.5)) \
            .check_modalities()


def test_an_unknown_data_set_is_named_with_the_recipe():
    with pytest.raises(ValueError, match="Recipe 'wrong': Unknown data set 'nope'"):
        _recipe([_image()], "nope").check_modalities()


def test_load_rejects_a_wrong_recipe_in_the_catalog(monkeypatch):
    module = recipes.paper("digits")
    wrong = _recipe([_image(shape=(784,)), _label()])
    monkeypatch.setitem(module.RECIPES, "wrong", wrong)
    assert "wrong" in recipes.list()
    with pytest.raises(ValueError, match=r"Recipe 'wrong': modality 'image' has shape"):
        recipes.load("wrong")


def test_a_catalog_defining_a_name_twice_or_under_another_key_is_rejected(monkeypatch):
    digits = recipes.paper("digits").RECIPES["digits"]
    monkeypatch.setitem(recipes.paper("mvae").RECIPES, "digits", digits)
    with pytest.raises(ValueError, match="Recipe 'digits' is defined in both digits.py and "
                                         "mvae.py"):
        recipes.list()
    monkeypatch.delitem(recipes.paper("mvae").RECIPES, "digits")
    monkeypatch.setitem(recipes.paper("mvae").RECIPES, "demo", digits)
    with pytest.raises(ValueError, match="mvae.py lists recipe 'digits' under the name 'demo'"):
        recipes.load("digits")

