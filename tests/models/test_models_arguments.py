"""Arguments a model class fixes raise ValueError (naming the class, the argument, the value
received and the class's own), renamed arguments raise TypeError, and `.keras` files saved
before either change still load: a fixed argument with exactly the class's value and an
argument under its old name are accepted by `from_config`, anything else is refused."""

import keras
import numpy as np
import pytest

import kmvae
from saved_files import rewrite_config

TWO = ("bernoulli", "categorical")

# class, argument, a value to pass, the value the class uses
FIXED = [
    ("MVAE", "fusion", "moe", "poe"),
    ("MVAE", "prior_expert", False, True),
    ("MVAE", "fusion", "poe", "poe"),              # even the class's own value: not an option
    ("MoEVAE", "fusion", "mopoe", "moe"),
    ("MoEVAE", "prior_expert", True, False),
    ("MMVAE", "fusion", "poe", "moe"),
    ("MMVAE", "prior_expert", True, False),
    ("MMVAE", "beta", 2.5, 1.0),
    ("MSNVI", "fusion", "moe", "poe"),
    ("MSNVI", "prior_expert", True, False),
    ("MSNVI", "beta", 0.5, 1.0),
    ("JMVAE", "fusion", "mopoe", "poe"),
    ("M2VAE", "prior_expert", True, False),
    ("JMVAEZero", "fusion", "moe", "poe"),
    ("TVAE", "prior_expert", True, False),
    ("VAEVAE", "fusion", "poe", "poe"),
    ("SVAE", "prior_expert", True, False),
    ("SVAE", "joint_units", (8,), ()),
    ("VAEVAEStar", "objective", "elbo", "comb"),
    ("VAEVAEStar", "fusion", "moe", "poe"),
]


@pytest.mark.parametrize("name,argument,value,used", FIXED)
def test_a_fixed_argument_is_an_error_naming_class_argument_value_and_alternative(
        tiny, name, argument, value, used):
    cls = getattr(kmvae, name)
    with pytest.raises(ValueError) as error:
        cls(tiny.modalities(TWO), 2, **{argument: value})
    message = str(error.value)
    assert message.startswith(f"{name} does not take {argument}=; received "
                              f"{argument}={value!r}. {name} uses {argument}={used!r}: ")
    assert len(message) > len(f"{name} does not take {argument}=") + 60   # says what instead
    assert cls.fixed_arguments()[argument][0] == used


@pytest.mark.parametrize("name", ["MoPoEVAE", "MultimodalVAE"])
def test_classes_that_take_fusion_fix_nothing(name):
    cls = getattr(kmvae, name)
    assert cls.fixed_arguments() == {}


def test_fixed_arguments_gather_the_parents():
    assert set(kmvae.SVAE.fixed_arguments()) == {"fusion", "prior_expert", "joint_units"}
    assert set(kmvae.VAEVAEStar.fixed_arguments()) == {"fusion", "prior_expert", "objective"}
    assert set(kmvae.MMVAE.fixed_arguments()) == {"fusion", "prior_expert", "beta"}


@pytest.mark.parametrize("name", ["MMVAE", "MSNVI"])
def test_num_importance_samples_is_now_num_samples(tiny, name):
    cls = getattr(kmvae, name)
    assert cls(tiny.modalities(TWO), 2, num_samples=3).num_samples == 3
    with pytest.raises(TypeError, match=f"{name} takes num_samples= \\(formerly "
                                        f"num_importance_samples=\\); received "
                                        f"num_importance_samples=3"):
        cls(tiny.modalities(TWO), 2, num_importance_samples=3)
    with pytest.raises(ValueError, match="num_samples must be an int >= 1; received 0"):
        cls(tiny.modalities(TWO), 2, num_samples=0)


MODELS = {
    "MVAE": lambda mods: kmvae.MVAE(mods, 2, seed=1, beta=0.5),
    "MoEVAE": lambda mods: kmvae.MoEVAE(mods, 2, seed=1),
    "MMVAE": lambda mods: kmvae.MMVAE(mods, 2, seed=1, num_samples=3),
    "MSNVI": lambda mods: kmvae.MSNVI(mods, 2, seed=1, num_samples=3),
    "M2VAE": lambda mods: kmvae.M2VAE(mods, 2, seed=1),
    "SVAE": lambda mods: kmvae.SVAE(mods, 2, seed=1),
    "VAEVAEStar": lambda mods: kmvae.VAEVAEStar(mods, 2, seed=1),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_configs_leave_fixed_arguments_out_and_round_trip(tiny, name):
    model = MODELS[name](tiny.modalities(TWO))
    config = model.get_config()
    assert not set(config) & set(model.fixed_arguments())
    assert "num_importance_samples" not in config
    again = type(model).from_config(config)
    assert again.get_config() == config


def saved_then_rewritten(model, tmp_path, edit):
    path = tmp_path / "old.keras"
    model.save(path)
    rewrite_config(path, edit)
    return path


def assert_same_outputs(model, loaded, batch):
    assert loaded.get_config() == model.get_config()
    out, out_loaded = model(batch), loaded(batch)
    for key in out:
        np.testing.assert_array_equal(out[key], out_loaded[key], err_msg=key)


@pytest.mark.parametrize("name", ["MMVAE", "MSNVI"])
def test_files_written_before_the_renaming_load(tiny, tmp_path, name):
    """Earlier files of MMVAE and MSNVI hold `num_importance_samples` and the base's
    `"beta": 1.0`."""
    model = MODELS[name](tiny.modalities(TWO))

    def old(config):
        config["num_importance_samples"] = config.pop("num_samples")
        return {**config, "beta": 1.0}

    loaded = keras.saving.load_model(saved_then_rewritten(model, tmp_path, old))
    assert loaded.num_samples == 3
    assert_same_outputs(model, loaded, tiny.batch(model.modalities, 4))


@pytest.mark.parametrize("name,argument,value", [
    ("MVAE", "fusion", "poe"), ("MVAE", "prior_expert", True),
    ("MoEVAE", "fusion", "moe"), ("M2VAE", "prior_expert", False),
    ("SVAE", "joint_units", []), ("VAEVAEStar", "objective", "comb")])
def test_a_saved_fixed_argument_with_the_class_value_loads(tiny, tmp_path, name, argument,
                                                            value):
    model = MODELS[name](tiny.modalities(TWO))
    path = saved_then_rewritten(model, tmp_path, lambda c: {**c, argument: value})
    assert_same_outputs(model, keras.saving.load_model(path), tiny.batch(model.modalities, 4))


@pytest.mark.parametrize("name,argument,value", [
    ("MMVAE", "beta", 2.0), ("MVAE", "fusion", "mopoe"), ("MoEVAE", "prior_expert", True),
    ("SVAE", "joint_units", [8])])
def test_a_saved_fixed_argument_with_another_value_is_refused(tiny, tmp_path, name, argument,
                                                              value):
    model = MODELS[name](tiny.modalities(TWO))
    path = saved_then_rewritten(model, tmp_path, lambda c: {**c, argument: value})
    with pytest.raises(ValueError, match=f"{name} does not take {argument}="):
        keras.saving.load_model(path)
