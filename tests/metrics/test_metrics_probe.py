"""The linear probe: chance on random encodings, near-perfect on informative ones."""

import numpy as np
import pytest

from kmvae import metrics


def test_probe_reaches_chance_on_random_encodings():
    rng = np.random.default_rng(0)
    train_y, test_y = rng.integers(0, 10, 500), rng.integers(0, 10, 3000)
    accuracy = metrics.probe_accuracy(rng.normal(size=(500, 8)), train_y,
                                      rng.normal(size=(3000, 8)), test_y)
    assert accuracy == pytest.approx(0.1, abs=0.03)
    informative = metrics.probe_accuracy(np.eye(10)[train_y] + 0.2 * rng.normal(size=(500, 10)),
                                         train_y,
                                         np.eye(10)[test_y] + 0.2 * rng.normal(size=(3000, 10)),
                                         test_y)
    assert informative > 0.95


def test_latent_probe_per_subset(perfect):
    train, test = perfect.dataset(800, seed=0), perfect.dataset(1500, seed=1)
    good = metrics.latent_probe(perfect.generator(), train, test)
    assert set(good) == {"image", "label", "image,label"}
    assert all(value > 0.95 for value in good.values())
    random = metrics.latent_probe(perfect.generator(ignore_inputs=True), train, test,
                                  subsets=[["image"]])
    assert random["image"] == pytest.approx(0.1, abs=0.04)


def test_probe_uses_num_train_examples(perfect):
    z, y = metrics.encodings(perfect.generator(), perfect.dataset(800), ["image"],
                             max_examples=123)
    assert z.shape == (123, 10) and y.shape == (123,)


def test_probe_errors(perfect):
    with pytest.raises(ValueError, match="at least two classes"):
        metrics.probe_accuracy(np.zeros((5, 2)), np.zeros(5), np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(ValueError, match="Unknown modality"):
        metrics.latent_probe(perfect.generator(), perfect.dataset(20), perfect.dataset(20),
                             subsets=[["sound"]])
