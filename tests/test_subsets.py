"""kmvae.subsets: enumeration (2^M - 1 subsets, by size then lexicographically), inclusion
matrices, index lookups, parent-child pairs, random draws and the one label format, checked
against the labels of the archived metrics.json files."""

import itertools
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from kmvae import subsets
from kmvae.evaluate import likelihood_key

ARCHIVE = Path(__file__).resolve().parents[1] / "docs" / "reproduction"


@pytest.mark.parametrize("num_modalities", [1, 2, 3, 4, 5])
def test_nonempty_subsets_are_every_subset_once_by_size_then_lexicographically(num_modalities):
    found = subsets.nonempty_subsets(num_modalities)
    assert len(found) == 2 ** num_modalities - 1
    expected = {frozenset(s) for r in range(1, num_modalities + 1)
                for s in itertools.combinations(range(num_modalities), r)}
    assert {frozenset(s) for s in found} == expected
    assert all(list(s) == sorted(s) for s in found)
    assert found == sorted(found, key=lambda s: (len(s), s))


def test_nonempty_subsets_sizes_and_errors():
    assert subsets.nonempty_subsets(3) == [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]
    assert subsets.nonempty_subsets(4, 2, 3) == [s for r in (2, 3)
                                                for s in itertools.combinations(range(4), r)]
    assert subsets.nonempty_subsets(3, 1, 1) == [(0,), (1,), (2,)]
    assert subsets.nonempty_subsets(2, 2, 1) == []          # MVAE's random pool with M = 2
    assert subsets.nonempty_subsets(0) == []
    with pytest.raises(ValueError, match="num_modalities must be an int >= 0; received -1"):
        subsets.nonempty_subsets(-1)
    with pytest.raises(ValueError, match="min_size must be >= 1.*received 0"):
        subsets.nonempty_subsets(3, 0)


def test_subset_matrix_marks_each_subset():
    matrix = subsets.subset_matrix([(0, 2), (1,), (0, 1, 2)], 3)
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, [[1, 0, 1], [0, 1, 0], [1, 1, 1]])


@pytest.mark.parametrize("num_modalities", [2, 3, 4])
def test_index_table_finds_the_subset_of_every_presence_pattern(num_modalities):
    listed = subsets.nonempty_subsets(num_modalities)
    table = subsets.subset_index_table(listed, num_modalities)
    assert table.shape == (2 ** num_modalities,) and table.dtype == np.int32
    masks = np.array([[(c >> m) & 1 for m in range(num_modalities)]
                      for c in range(1, 2 ** num_modalities)], bool)
    codes = np.asarray(subsets.subset_codes(masks))
    np.testing.assert_array_equal(codes, np.arange(1, 2 ** num_modalities))
    for row, k in zip(masks, table[codes]):
        assert listed[k] == tuple(np.flatnonzero(row))


def test_child_pairs_remove_one_member():
    listed = subsets.nonempty_subsets(3)
    pairs = subsets.child_pairs(listed)
    assert pairs.dtype == np.int32
    # each subset of size s >= 2 has s children: 3 pairs x 2 + 1 triple x 3
    assert pairs.shape == (9, 2)
    for parent, child in pairs:
        big, small = set(listed[parent]), set(listed[child])
        assert small < big and len(big - small) == 1
    assert subsets.child_pairs(subsets.nonempty_subsets(1)).shape == (0, 2)
    with pytest.raises(ValueError, match=r"Subset \(1,\) \(subset \(0, 1\) without 0\)"):
        subsets.child_pairs([(0,), (0, 1)])


def test_draw_subsets_is_uniform_over_the_rows_and_follows_the_seed():
    matrix = subsets.subset_matrix(subsets.nonempty_subsets(4, 2, 3), 4)       # 10 rows
    drawn = np.asarray(subsets.draw_subsets(matrix, 20_000, keras.random.SeedGenerator(3)))
    assert drawn.shape == (20_000, 4)
    rows = {tuple(r): i for i, r in enumerate(matrix)}
    counts = np.bincount([rows[tuple(r)] for r in drawn], minlength=len(matrix))
    assert len(counts) == len(matrix)                        # only rows of the matrix
    np.testing.assert_allclose(counts / 20_000, 0.1, atol=4 * np.sqrt(0.09 / 20_000))
    again = np.asarray(subsets.draw_subsets(matrix, 20_000, keras.random.SeedGenerator(3)))
    np.testing.assert_array_equal(drawn, again)


def test_random_proper_subsets_are_uniform_non_empty_and_proper():
    patterns = subsets.random_proper_subsets(np.random.default_rng(0), 3, 12_000)
    assert patterns.shape == (12_000, 3) and patterns.dtype == bool
    sizes = patterns.sum(axis=1)
    assert sizes.min() >= 1 and sizes.max() <= 2
    codes = (patterns * (1 << np.arange(3))).sum(axis=1)
    counts = np.bincount(codes, minlength=8)[1:7]
    np.testing.assert_allclose(counts / 12_000, 1 / 6, atol=4 * np.sqrt(5 / 36 / 12_000))


@pytest.mark.parametrize("names", [["image"], ["image", "label"], ["m0", "m2", "m4"],
                                   ["top_left", "bottom right"]])
def test_label_round_trip(names):
    label = subsets.subset_label(names)
    assert label == ",".join(names)
    assert subsets.parse_subset_label(label) == tuple(names)


@pytest.mark.parametrize("names,match", [
    ([], "at least one modality name"),
    (["a,b"], "without it; received 'a,b'"),
    (["a", ""], "received ''"),
    (["a", 3], "received 3"),
])
def test_label_errors(names, match):
    with pytest.raises(ValueError, match=match):
        subsets.subset_label(names)


@pytest.mark.parametrize("label", ["", "a,,b", ",a"])
def test_parse_errors(label):
    with pytest.raises(ValueError, match="is no subset label"):
        subsets.parse_subset_label(label)


PER_SUBSET = ("subset_log_likelihood", "subset_elbo", "latent_probe", "split_accuracy")
ESTIMATE = re.compile(r"log p\(([^|)]+)(?:\|([^)]+))?\) \| q\(z\|([^)]+)\)")


def archived():
    files = sorted(ARCHIVE.glob("*.json"))
    assert files, f"no archived metrics.json files in {ARCHIVE}"
    return [(f.name, json.loads(f.read_text())) for f in files]


def test_archived_metrics_keys_are_subset_labels():
    """The keys of the archived metrics.json files (which the report reads) are exactly what
    the label functions write."""
    checked = 0
    for name, record in archived():
        for part in PER_SUBSET:
            for key in record.get(part) or {}:
                assert subsets.subset_label(subsets.parse_subset_label(key)) == key, (name, key)
                checked += 1
        for key in (record.get("coherence") or {}).get("pairs") or {}:
            source, target = key.split("->")
            assert subsets.subset_label(subsets.parse_subset_label(source)) == source
            checked += 1
        for key in record.get("log_likelihood") or {}:
            what, given, proposal = ESTIMATE.fullmatch(key).groups()
            parse = subsets.parse_subset_label
            assert likelihood_key(parse(what), parse(proposal),
                                  given=given and parse(given)) == key, (name, key)
            checked += 1
    assert checked > 100
