"""The recipe catalog as data: every recipe keeps its settings and builds the same model.

`recipes_before.json` holds, per recipe, its `Recipe` fields (all but the `modalities` factory)
and, for the factory, the built model's parameter count and config (the model's and its layers'
names, which Keras numbers in creation order, left out). It was written from the catalog before the recipes moved
into one module per paper; `python tests/recipes/test_recipes_catalog.py OUT.json` writes it again.
"""

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from kmvae import recipes

BEFORE = Path(__file__).with_name("recipes_before.json")


def _without_layer_names(config):
    """`config` with the `"name"` of every layer inside a modality's networks dropped."""
    if isinstance(config, dict):
        out = {}
        for key, value in config.items():
            if key in ("encoder", "decoder") and value is not None:
                value = _drop_names(value)
            out[key] = _without_layer_names(value)
        return out
    if isinstance(config, list):
        return [_without_layer_names(v) for v in config]
    return config


def _drop_names(config):
    if isinstance(config, dict):
        return {k: _drop_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, list):
        return [_drop_names(v) for v in config]
    return config


def dump(name):
    """Recipe `name` as plain JSON values: its fields but `modalities`, and its model's
    `model_params` and `model_config`."""
    recipe = recipes.load(name)
    fields = {f.name: getattr(recipe, f.name) for f in dataclasses.fields(recipe)
              if f.name != "modalities"}
    model = recipe.build_model(compile=False)
    fields["model_params"] = model.count_params()
    config = _without_layer_names(model.get_config())
    config.pop("name")
    fields["model_config"] = config
    return json.loads(json.dumps(fields))


def test_catalog_has_the_same_recipe_names():
    assert recipes.list() == sorted(json.loads(BEFORE.read_text()))


@pytest.mark.parametrize("name", sorted(json.loads(BEFORE.read_text())))
def test_recipe_settings_and_model_are_unchanged(name):
    assert dump(name) == json.loads(BEFORE.read_text())[name]



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


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps({n: dump(n) for n in recipes.list()}, indent=1,
                                            sort_keys=True) + "\n")
