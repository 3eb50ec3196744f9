"""Shared by the data-set tests: one pass over a dataset as arrays."""

import collections

import numpy as np


def epoch(dataset):
    """One pass over `dataset` as a dict of concatenated numpy arrays."""
    parts = collections.defaultdict(list)
    for batch in dataset:
        for key, value in batch.items():
            parts[key].append(value.numpy())
    return {key: np.concatenate(value) for key, value in parts.items()}
