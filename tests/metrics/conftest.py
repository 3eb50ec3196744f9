"""Fixtures of the metric tests: a linear-Gaussian MVAE whose log p(X), posteriors, ELBOs and
prior predictives are known in closed form, and a duck-typed "perfect" generator for coherence."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import stats

import kmvae
from kmvae import Modality

# z ~ N(0, I_2); x1 = K1^T z + b1 + 0.5 e (3 values), x2 = K2^T z + b2 + 0.8 e (2 values). Rows of
# K1 (and of K2) are orthogonal, so every posterior p(z | X_k) is diagonal: the MVAE encoders
# (identity backbones, linear heads) represent it exactly.
SIGMA = {"x1": 0.5, "x2": 0.8}
K = {"x1": np.array([[1.0, 0.5, 0.0], [-0.25, 0.5, 0.8]]),
     "x2": np.array([[0.6, 0.0], [0.0, 0.9]])}
B = {"x1": np.array([0.3, -0.2, 0.1]), "x2": np.array([-0.5, 0.4])}


def linear_gaussian_model(cls=kmvae.MVAE, **kwargs):
    modalities = [Modality(name, shape=(B[name].size,), likelihood="normal", scale=SIGMA[name],
                           encoder=keras.layers.Identity(), decoder=keras.layers.Identity())
                  for name in ("x1", "x2")]
    model = cls(modalities, 2, **kwargs)
    for name, encoder, decoder in zip(model.modality_names, model.encoders, model.decoders):
        k, b, s = K[name], B[name], SIGMA[name]
        decoder.head.dense.kernel.assign(k.astype("float32"))
        decoder.head.dense.bias.assign(b.astype("float32"))
        precision = np.diag(k @ k.T) / s ** 2
        loc_kernel = k.T / (s ** 2 * precision)
        raw_scale = np.log(np.expm1(precision ** -0.5 - 1e-6))        # inverse softplus
        kernel = np.concatenate([loc_kernel, np.zeros_like(loc_kernel)], axis=1)
        encoder.head.dense.kernel.assign(kernel.astype("float32"))
        encoder.head.dense.bias.assign(np.concatenate([-b @ loc_kernel, raw_scale])
                                       .astype("float32"))
    return model


def exact_log_marginal(x, names):
    """log p(X_names): N(b, W W^T + S)."""
    W = np.concatenate([K[n].T for n in names])
    mean = np.concatenate([B[n] for n in names])
    cov = W @ W.T + np.diag(np.concatenate([np.full(B[n].size, SIGMA[n] ** 2) for n in names]))
    return stats.multivariate_normal.logpdf(np.concatenate([x[n] for n in names], -1), mean, cov)


def exact_posterior(x, names):
    """Mean `(n, 2)` and covariance `(2, 2)` of p(z | X_names)."""
    precision = np.eye(2) + sum(K[n] @ K[n].T / SIGMA[n] ** 2 for n in names)
    cov = np.linalg.inv(precision)
    mean = sum((x[n] - B[n]) @ K[n].T / SIGMA[n] ** 2 for n in names) @ cov
    return mean, cov


def sample_linear_gaussian(n, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    return {name: (z @ K[name] + B[name] + SIGMA[name] * rng.normal(size=(n, B[name].size)))
            .astype("float32") for name in ("x1", "x2")}


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
