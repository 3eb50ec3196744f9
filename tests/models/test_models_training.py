"""End to end: MVAE and MoPoE-VAE learn scikit-learn's digits (8x8 images and their labels) and
predict held-out labels from images (cross-modal generation) far above chance. The only slow
test of the core suite (about 10 s per model)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import load_digits

import kmvae
from kmvae import Modality


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    images = (data.data / 16.0).astype("float32")            # (1797, 64) in [0, 1]
    labels = data.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order], labels[order]
    return (images[:1500], labels[:1500]), (images[1500:], labels[1500:])


def digit_modalities():
    return [Modality("image", shape=(64,), likelihood="bernoulli",
                     encoder=keras.Sequential([keras.layers.Dense(64, activation="tanh")]),
                     decoder=keras.Sequential([keras.layers.Dense(64, activation="tanh")])),
            Modality("label", num_classes=10, likelihood="categorical",
                     encoder=keras.Sequential([keras.layers.Embedding(10, 16)]),
                     decoder=keras.Sequential([keras.layers.Dense(16, activation="tanh")]))]


MODELS = {
    "MVAE": lambda: kmvae.MVAE(digit_modalities(), 8, seed=0),
    "MoPoEVAE": lambda: kmvae.MoPoEVAE(digit_modalities(), 8, seed=0, rescale_likelihoods=True),
}


@pytest.mark.parametrize("kind", list(MODELS))
def test_learns_digits_and_predicts_labels_from_images(digits, kind):
    (train_x, train_y), (test_x, test_y) = digits
    model = MODELS[kind]()
    model.compile(keras.optimizers.Adam(5e-3))
    keras.utils.set_random_seed(0)
    before = model.log_likelihood({"image": test_x[:100]}, num_samples=20).numpy().mean()

    train = tf.data.Dataset.from_tensor_slices({"image": train_x, "label": train_y}) \
        .shuffle(1500, seed=0).batch(64)
    losses = model.fit(train, epochs=15, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.8 * losses[0], losses
    assert np.mean(losses[-3:]) < np.mean(losses[:3])

    probabilities = model.translate({"image": test_x}, targets=["label"])["label"].numpy()
    assert probabilities.shape == (len(test_x), 10)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    accuracy = np.mean(probabilities.argmax(-1) == test_y)
    assert accuracy > 0.5, f"cross-modal accuracy {accuracy:.3f} (chance 0.1)"

    keras.utils.set_random_seed(0)
    after = model.log_likelihood({"image": test_x[:100]}, num_samples=20).numpy().mean()
    assert after > before + 5.0, (before, after)            # nats per held-out image
