"""`kmvae.callbacks.CrossModalAccuracyLogger`: MVAE Figure 4's p(y | x) accuracy on the
validation split at every epoch, and the weakly supervised recipes that log it."""

import csv
import dataclasses

import keras
import numpy as np
import pytest

from kmvae import metrics, recipes
from kmvae.callbacks import CrossModalAccuracyLogger
from kmvae.train import run


def _weak_digits(epochs=2):
    """The digits recipe (scikit-learn's 8x8 digits, image + label) weakly supervised, with a
    validation split and the cross-modal accuracy among its metrics."""
    return dataclasses.replace(recipes.load("digits"), epochs=epochs,
                               dataset_options={"validation": 0.2, "supervision": 0.1},
                               metrics=("CrossModalAccuracy",))


def test_logger_writes_the_accuracy_of_every_epoch_for_csv_logger_and_checkpoints(tmp_path):
    """The value logged after the last epoch is the accuracy of the argmax of p(label | z) at
    the mean of q(z | image) over every validation example, computed here from one pass over
    the whole split (the logger's batches are of 8, the last one short); CSVLogger and
    ModelCheckpoint read it from the same logs."""
    keras.utils.set_random_seed(3)
    recipe = _weak_digits()
    train = recipe.load_data("train")
    validation = dataclasses.replace(recipe, batch_size=8).load_data("validation")
    model = recipe.build_model(seed=0)
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "best.weights.h5"), monitor="val_accuracy(image->label)", mode="max",
        save_best_only=True, save_weights_only=True)
    history = model.fit(train, epochs=3, verbose=0, callbacks=[
        CrossModalAccuracyLogger(validation),
        keras.callbacks.CSVLogger(str(tmp_path / "history.csv")), checkpoint]).history
    values = history["val_accuracy(image->label)"]
    assert len(values) == 3 and all(0.0 <= v <= 1.0 for v in values)
    assert checkpoint.best == max(values) and (tmp_path / "best.weights.h5").exists()
    with open(tmp_path / "history.csv") as f:
        logged = [float(row["val_accuracy(image->label)"]) for row in csv.DictReader(f)]
    assert logged == pytest.approx(values)
    whole = next(iter(dataclasses.replace(recipe, batch_size=10_000).load_data("validation")))
    probs = model.translate({"image": whole["image"]}, targets=["label"])["label"]
    expected = np.mean(np.argmax(np.asarray(probs), axis=-1) == np.asarray(whole["label"]))
    assert values[-1] == pytest.approx(expected)
    assert values[-1] == pytest.approx(metrics.cross_modal_accuracy(model, validation))


def test_logger_names_a_modality_the_model_lacks_or_a_target_that_is_not_categorical():
    recipe = _weak_digits()
    model = recipe.build_model(seed=0)
    validation = recipe.load_data("validation")
    for logger, message in (
            (CrossModalAccuracyLogger(validation, source="photo"),
             r"source 'photo' is not a modality of the model; it has \('image', 'label'\)"),
            (CrossModalAccuracyLogger(validation, source="label", target="image"),
             r"target 'image' must be categorical")):
        logger.set_model(model)
        with pytest.raises(ValueError, match=message):
            logger.on_train_begin()
    assert CrossModalAccuracyLogger(validation, name="acc").name == "acc"


def test_weakly_supervised_recipes_log_it_and_kmvae_train_writes_it(tmp_path):
    """Recipe.callbacks adds the logger for a weakly supervised recipe whose metrics hold the
    cross-modal accuracy, given the validation data: MVAE Figure 4's, not Tables 2-5's (all
    paired), not SVAE's (its target is an image half), not without validation data. A
    `kmvae train` run of such a recipe has the column in history.csv, one value per epoch."""
    def names(recipe, validation=object()):
        return [c.name for c in recipe.callbacks(validation=validation)
                if isinstance(c, CrossModalAccuracyLogger)]

    assert names(recipes.load("mvae_mnist_sup_1")) == ["val_accuracy(image->label)"]
    assert names(recipes.load("mvae_multimnist_sup_10")) == ["val_accuracy(image->text)"]
    assert names(recipes.load("mvae_mnist_sup_1"), validation=None) == []
    assert names(recipes.load("mvae_mnist")) == []
    assert names(recipes.load("svae_mnist_split_1")) == []
    run(_weak_digits(), out=tmp_path, seed=1, evaluate=False, verbose=0, log=lambda *a: None)
    with open(tmp_path / "runs/digits/1/history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert all(0.0 <= float(row["val_accuracy(image->label)"]) <= 1.0 for row in rows)
