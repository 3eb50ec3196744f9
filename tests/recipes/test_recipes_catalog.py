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


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps({n: dump(n) for n in recipes.list()}, indent=1,
                                            sort_keys=True) + "\n")
