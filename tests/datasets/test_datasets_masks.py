"""Missing-modality masks: weak supervision and keep probability, for any number of modalities."""

import math

import numpy as np
import pytest

from kmvae import datasets
from kmvae.datasets.masks import keep_probability_mask, supervision_mask


def within(observed, expected, n):
    """|observed - expected| within 4 standard errors of a proportion over n draws."""
    return abs(observed - expected) <= 4 * math.sqrt(expected * (1 - expected) / n) + 1 / n


@pytest.mark.parametrize("fraction", [0.01, 0.3, 1.0])
@pytest.mark.parametrize("modalities", [3, 5])
def test_supervision_with_more_than_two_modalities(fraction, modalities):
    n = 20_000
    mask = supervision_mask(n, fraction, seed=1, maskable=[True] * modalities)
    assert mask.shape == (n, modalities) and mask.dtype == bool
    assert mask.any(axis=1).all()
    full = mask.all(axis=1)
    assert full.sum() == max(1, round(fraction * n))
    # the others keep a uniform non-empty proper subset: 2^M - 2 of them, each equally likely
    codes = (mask[~full] * (1 << np.arange(modalities))).sum(axis=1)
    counts = np.bincount(codes, minlength=2 ** modalities)
    assert counts[0] == 0 and counts[-1] == 0
    if (~full).sum():
        subsets = 2 ** modalities - 2
        for count in counts[1:-1]:
            assert within(count / (~full).sum(), 1 / subsets, (~full).sum())


def test_supervision_never_drops_an_always_present_modality():
    mask = supervision_mask(1000, 0.1, seed=0, maskable=[True, False, True])
    assert mask[:, 1].all()
    assert (mask[:, [0, 2]].any(axis=1)).all()
    assert (mask[:, [0, 2]].all(axis=1)).sum() == 100  # complete on the droppable ones
    np.testing.assert_array_equal(mask, supervision_mask(1000, 0.1, 0, [True, False, True]))


@pytest.mark.parametrize("probability", [0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("modalities", [2, 4])
def test_keep_probability_rates_and_no_empty_row(probability, modalities):
    n = 20_000
    mask = keep_probability_mask(n, probability, seed=3, maskable=[True] * modalities)
    assert mask.any(axis=1).all()
    # independent Bernoulli(p) per modality conditioned on a non-empty row
    rate = probability / (1 - (1 - probability) ** modalities)
    for column in mask.T:
        assert within(column.mean(), rate, n)
    if modalities == 2 and probability < 1:  # P(both | non-empty) = p^2 / (1 - (1-p)^2)
        assert within(mask.all(axis=1).mean(), probability ** 2 / (1 - (1 - probability) ** 2), n)
    np.testing.assert_array_equal(
        mask, keep_probability_mask(n, probability, seed=3, maskable=[True] * modalities))
    assert not np.array_equal(
        mask, keep_probability_mask(n, probability, seed=4, maskable=[True] * modalities)) \
        or probability == 1.0


def test_load_keep_probability_on_training_split_only():
    train, test = datasets.load("digits_label", batch_size=2000, keep_probability=0.5, seed=0)
    assert "mask" not in next(iter(test))
    mask = next(iter(train))["mask"].numpy()
    assert mask.shape == (1437, 2) and mask.any(axis=1).all()
    assert within(mask.all(axis=1).mean(), 1 / 3, 1437)


@pytest.mark.parametrize("kwargs, words", [
    (dict(supervision=0.5, keep_probability=0.5), ["not both", "supervision=0.5"]),
    (dict(keep_probability=0.0), ["keep_probability=0.0", "(0, 1]"]),
    (dict(keep_probability="half"), ["keep_probability='half'"]),
    (dict(with_label=True), ["'digits_label'", "with_label"]),
])
def test_invalid_mask_and_option_arguments(kwargs, words):
    with pytest.raises(ValueError) as error:
        datasets.load("digits_label", **kwargs)
    for word in words:
        assert word in str(error.value)


@pytest.mark.parametrize("call, words", [
    (lambda: supervision_mask(10, 0.5, maskable=[True, False]), ["at least two"]),
    (lambda: keep_probability_mask(-1, 0.5), ["num_examples", "-1"]),
    (lambda: keep_probability_mask(10, None), ["None"]),
])
def test_mask_functions_reject_bad_arguments(call, words):
    with pytest.raises(ValueError) as error:
        call()
    for word in words:
        assert word in str(error.value)
