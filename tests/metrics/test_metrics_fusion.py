"""M2VAE Figures 5-6 as numbers: the probe of the joint encoder's codes read on each encoder's
codes, and where auto re-encoding through each subset leads (`kmvae.metrics.fusion`)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from kmvae import metrics

CENTROIDS = np.array([[-2, -2], [-2, 2], [2, -2], [2, 2]], np.float32)
SWAPPED = np.array([0, 2, 1, 3])           # an encoder that embeds classes 1 and 2 anew


class FourClassEncoders:
    """A stand-in subset model on modalities a and b (each the one-hot class of 4): every
    encoder puts class c at `CENTROIDS[c]` (plus noise 0.05), except q(z | b), which swaps
    classes 1 and 2 when `swap_b`. Decoding z gives the one-hot of its nearest centroid."""

    modality_names = ("a", "b")

    def __init__(self, swap_b, seed=0):
        self.swap_b = swap_b
        self.rng = np.random.default_rng(seed)

    def conditioning_subsets(self):
        return [["a"], ["b"], ["a", "b"]]

    def _place(self, classes, subset):
        if self.swap_b and list(subset) == ["b"]:
            classes = SWAPPED[classes]
        return CENTROIDS[classes]

    def encode(self, inputs):
        classes = np.argmax(np.asarray(next(iter(inputs.values()))), axis=-1)
        loc = self._place(classes, sorted(inputs))
        loc = loc + 0.05 * self.rng.normal(size=loc.shape).astype(np.float32)
        return tfp.distributions.Normal(loc, 0.1)

    def reencode(self, z, steps=10, modalities=None):
        path = [np.asarray(z)]
        for _ in range(steps):
            nearest = np.argmin(((path[-1][:, None] - CENTROIDS) ** 2).sum(-1), axis=1)
            path.append(self._place(nearest, sorted(modalities)))
        return np.stack(path)


def four_classes(n, seed):
    labels = np.random.default_rng(seed).integers(0, 4, n).astype(np.int32)
    one_hot = np.eye(4, dtype=np.float32)[labels]
    return labels, tf.data.Dataset.from_tensor_slices(
        {"a": one_hot, "b": one_hot, "label": labels}).batch(50)


def test_cross_encoder_probe_reads_an_encoder_that_embeds_classes_anew_wrong():
    _, train = four_classes(200, seed=0)
    labels, test = four_classes(300, seed=1)
    coherent = metrics.cross_encoder_probe(FourClassEncoders(swap_b=False), train, test)
    assert coherent == {"a": 1.0, "b": 1.0, "a,b": 1.0}
    swapped = metrics.cross_encoder_probe(FourClassEncoders(swap_b=True), train, test)
    assert swapped["a"] == swapped["a,b"] == 1.0
    assert swapped["b"] == pytest.approx(np.mean(np.isin(labels, [0, 3])))


def test_cross_encoder_probe_uses_the_first_num_train_and_max_test_examples():
    labels, data = four_classes(300, seed=2)
    only_class_0 = data.unbatch().filter(lambda x: x["label"] == 0).batch(50)
    with pytest.raises(ValueError, match="at least two classes"):
        metrics.cross_encoder_probe(FourClassEncoders(False), only_class_0, data)
    swapped = metrics.cross_encoder_probe(FourClassEncoders(True), data, data,
                                          max_test_examples=40)
    assert swapped["b"] == pytest.approx(np.mean(np.isin(labels[:40], [0, 3])))


@pytest.mark.parametrize("steps", [2, 3, 4])
def test_reencoding_attractors_counts_fixed_points_and_kept_classes(steps):
    """Through a and through both modalities every code sits at its class's centroid from the
    first step on (a fixed point from the second); through the swapping q(z | b), classes 1
    and 2 alternate between their two centroids, so they never converge and keep their class
    after an even number of steps only."""
    _, train = four_classes(200, seed=0)
    labels, test = four_classes(300, seed=1)
    result = metrics.reencoding_attractors(FourClassEncoders(swap_b=True), train, test,
                                           num_seeds=120, steps=steps)
    assert (result["steps"], result["seeds"], result["tolerance"]) == (steps, 120, 0.01)
    fixed = np.mean(np.isin(labels[:120], [0, 3]))
    subsets = result["subsets"]
    for key in ("a", "a,b"):
        assert subsets[key]["class_kept"] == subsets[key]["class_at_start"] == 1.0
        assert subsets[key]["converged"] == 1.0
    assert subsets["b"]["converged"] == pytest.approx(fixed)
    assert subsets["b"]["class_kept"] == pytest.approx(1.0 if steps % 2 == 0 else fixed)


def test_reencoding_attractors_needs_a_step():
    _, data = four_classes(100, seed=0)
    with pytest.raises(ValueError, match="steps >= 1; received 0"):
        metrics.reencoding_attractors(FourClassEncoders(False), data, data, steps=0)


def test_a_probe_passed_in_is_the_one_both_read_codes_with():
    """`joint_probe` fits the probe both functions fit themselves; a probe passed as `probe=`
    replaces it (no training data read): one fit on codes that swap classes 1 and 2 misreads
    them on every coherent encoder."""
    _, train = four_classes(200, seed=0)
    labels, test = four_classes(300, seed=1)
    model = FourClassEncoders(swap_b=False)
    own = metrics.joint_probe(model, train)
    assert metrics.cross_encoder_probe(model, None, test, probe=own) == {
        "a": 1.0, "b": 1.0, "a,b": 1.0}
    y = np.arange(4).repeat(10)
    swapping = metrics.fit_probe(CENTROIDS[SWAPPED[y]].astype(np.float64), y)
    fixed = np.mean(np.isin(labels, [0, 3]))
    read = metrics.cross_encoder_probe(model, None, test, probe=swapping)
    assert read == pytest.approx({"a": fixed, "b": fixed, "a,b": fixed})
    result = metrics.reencoding_attractors(model, None, test, num_seeds=120, steps=2,
                                           probe=swapping)
    fixed_seeds = np.mean(np.isin(labels[:120], [0, 3]))
    for key in ("a", "b", "a,b"):
        assert result["subsets"][key]["class_at_start"] == pytest.approx(fixed_seeds)
        assert result["subsets"][key]["class_kept"] == pytest.approx(fixed_seeds)
