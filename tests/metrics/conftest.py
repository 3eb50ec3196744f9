"""Fixtures of the metric tests: a linear-Gaussian MVAE whose log p(X), posteriors, ELBOs and
prior predictives are known in closed form, and a duck-typed "perfect" generator for coherence."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae import Modality

from linear_gaussian import (B, K, SIGMA, exact_log_marginal, exact_posterior,  # noqa: F401
                             linear_gaussian_model, sample_linear_gaussian)


@pytest.fixture
def linear_gaussian():
    keras.utils.set_random_seed(0)
    return types.SimpleNamespace(model=linear_gaussian_model, sample=sample_linear_gaussian,
                                 exact_log_marginal=exact_log_marginal,
                                 exact_posterior=exact_posterior)


class PerfectGenerator:
    """A stand-in for a trained model on (image, label) with `num_classes` classes, where the
    "image" of class c is the one-hot vector e_c. `translate` and `generate` produce the true
    image of a label and the true label of an image; with `ignore_inputs=True` they return a
    random class instead (no information from the input), and `encode` returns codes that are
    either the one-hot class (informative) or noise."""

    def __init__(self, num_classes=10, ignore_inputs=False, seed=0):
        self.num_classes = num_classes
        self.ignore_inputs = ignore_inputs
        self.rng = np.random.default_rng(seed)
        self.modalities = [Modality("image", shape=(num_classes,), likelihood="bernoulli"),
                           Modality("label", num_classes=num_classes, likelihood="categorical")]
        self.modality_names = ("image", "label")
        self.conditioning_modalities = self.generated_modalities = self.modality_names

    def conditioning_subsets(self):
        return [["image"], ["label"], ["image", "label"]]

    def _classes(self, inputs):
        n = len(next(iter(inputs.values())))
        if self.ignore_inputs:
            return self.rng.integers(0, self.num_classes, n)
        if "label" in inputs:
            return np.asarray(inputs["label"])
        return np.argmax(np.asarray(inputs["image"]), axis=-1)

    def _outputs(self, classes, targets):
        one_hot = np.eye(self.num_classes, dtype=np.float32)[classes]
        return {t: one_hot for t in targets}

    def translate(self, inputs, targets=None, sample=False):
        return self._outputs(self._classes(inputs), targets or self.modality_names)

    def generate(self, num_samples, seed=None, targets=None):
        classes = self.rng.integers(0, self.num_classes, num_samples)
        out = self._outputs(classes, targets or self.modality_names)
        if self.ignore_inputs:
            out["label"] = np.eye(self.num_classes, dtype=np.float32)[
                self.rng.integers(0, self.num_classes, num_samples)]
        return out

    def encode(self, inputs):
        classes = self._classes(inputs)
        loc = np.eye(self.num_classes, dtype=np.float32)[classes]
        loc = loc + 0.1 * self.rng.normal(size=loc.shape).astype(np.float32)
        return tfp.distributions.Normal(loc, 1.0)


def class_dataset(num_examples, num_classes=10, batch_size=50, seed=0, shuffle_labels=False):
    """Batches of (one-hot image, label) pairs; labels shuffled against images on request."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, num_examples).astype(np.int32)
    images = np.eye(num_classes, dtype=np.float32)[labels]
    if shuffle_labels:
        labels = rng.permutation(labels)
    return tf.data.Dataset.from_tensor_slices({"image": images, "label": labels}).batch(batch_size)


def identity_oracle(num_classes=10):
    """A perfect classifier of the one-hot "images": logits = the image."""
    return keras.Sequential([keras.Input((num_classes,)), keras.layers.Identity()])


@pytest.fixture
def perfect():
    return types.SimpleNamespace(generator=PerfectGenerator, dataset=class_dataset,
                                 oracle=identity_oracle)
