"""MVAE Figure 4(c): the accuracy per character of a text predicted from another modality, and of
whole texts. Scored against a computation by hand on token arrays (digits right and wrong, empty
canvases, START / STOP / PAD positions not characters), over several batches; the errors name the
modality and what was expected; `CharacterAccuracy` runs where the data set declares its texts."""

import types

import numpy as np
import pytest
import tensorflow as tf

from kmvae import Modality, metrics
from kmvae.datasets import multimnist
from kmvae.metrics import suite
from kmvae.metrics.base import Context

START, STOP, PAD = multimnist.START, multimnist.STOP, multimnist.PAD
VOCABULARY = multimnist.VOCABULARY_SIZE


class FixedTexts:
    """A stand-in for a trained model on (index, text): for an example whose `"index"` is i,
    `translate` decodes class probabilities whose argmax is `predicted[i]` at every position."""

    def __init__(self, predicted):
        self.predicted = np.asarray(predicted)
        self.modalities = [Modality("index", shape=(1,), likelihood="normal"),
                           Modality("text", shape=(6,), num_classes=VOCABULARY,
                                    likelihood="categorical"),
                           Modality("label", num_classes=VOCABULARY, likelihood="categorical")]
        self.modality_names = tuple(m.name for m in self.modalities)

    def translate(self, inputs, targets):
        rows = np.asarray(inputs["index"]).reshape(-1).astype(int)
        probs = np.full(self.predicted[rows].shape + (VOCABULARY,), 0.5 / VOCABULARY)
        np.put_along_axis(probs, self.predicted[rows][..., None], 0.5 + 0.5 / VOCABULARY, -1)
        return {target: tf.constant(probs, tf.float32) for target in targets}


def _dataset(true, batch_size):
    index = np.arange(len(true), dtype=np.float32)[:, None]
    return tf.data.Dataset.from_tensor_slices(
        {"index": index, "text": np.asarray(true, np.int32),
         "label": np.zeros(len(true), np.int32)}).batch(batch_size)


def _by_hand(predicted, true):
    """(right characters, characters, texts right through STOP, texts), one text at a time."""
    right = characters = exact = 0
    for p, t in zip(np.asarray(predicted).tolist(), np.asarray(true).tolist()):
        end = t.index(STOP)                      # t[0] is START: the first STOP ends the text
        characters += end - 1
        right += sum(p[i] == t[i] for i in range(1, end))
        exact += p[:end + 1] == t[:end + 1]
    return right, characters, exact, len(true)


# Hand-made texts: (true, predicted) with what counts.
HAND_MADE = [
    # "305": two of three digits right, the text wrong.
    ([START, 3, 0, 5, STOP, PAD], [START, 3, 1, 5, STOP, PAD]),
    # An empty canvas: no character; predicted wrong (START and STOP missed).
    ([START, STOP, PAD, PAD, PAD, PAD], [PAD, 3, 3, 3, 3, 3]),
    # An empty canvas predicted right through STOP (what follows STOP does not count).
    ([START, STOP, PAD, PAD, PAD, PAD], [START, STOP, 7, 7, 7, 7]),
    # "1234": every digit right, START missed: the characters count, the text is wrong.
    ([START, 1, 2, 3, 4, STOP], [PAD, 1, 2, 3, 4, STOP]),
    # "9" predicted "94": the digit right (the extra one stands where STOP is), the text wrong.
    ([START, 9, STOP, PAD, PAD, PAD], [START, 9, 4, STOP, PAD, PAD]),
    # "22" predicted "2": STOP at the second digit's place is a wrong character.
    ([START, 2, 2, STOP, PAD, PAD], [START, 2, STOP, PAD, PAD, PAD]),
]


def test_hand_made_texts_score_their_digits_only():
    true, predicted = (np.array([row[k] for row in HAND_MADE]) for k in (0, 1))
    assert metrics.score_texts(predicted, true, START, STOP) == (2 + 4 + 1 + 1, 3 + 4 + 1 + 2,
                                                                 1, 6)
    assert metrics.score_texts(predicted, true, START, STOP) == _by_hand(predicted, true)
    result = metrics.text_accuracy(FixedTexts(predicted), _dataset(true, 4), "index", "text",
                                   start=START, stop=STOP)
    assert result == (8 / 10, 1 / 6, 10, 6)


def test_random_texts_over_batches_match_the_count_by_hand():
    """MultiMNIST's own texts (`encode_text`, 0-4 digits) and predictions with a third of the
    tokens replaced by any id, in batches of 7: totals over all texts, not means of batches."""
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 5, 200)
    true = multimnist.encode_text(rng.integers(0, 10, (200, 4)), counts)
    predicted = np.where(rng.random(true.shape) < 0.3, rng.integers(0, VOCABULARY, true.shape),
                         true)
    right, characters, exact, texts = _by_hand(predicted, true)
    assert characters == counts.sum() and 0 < right < characters and 0 < exact < texts
    result = metrics.text_accuracy(FixedTexts(predicted), _dataset(true, 7), "index", "text",
                                   start=START, stop=STOP)
    assert result.characters == characters and result.texts == texts == 200
    assert result.character == pytest.approx(right / characters)
    assert result.sequence == pytest.approx(exact / texts)
    # The six-token accuracy counts START, STOP and PAD too: another number.
    tokens = metrics.cross_modal_accuracy(FixedTexts(predicted), _dataset(true, 7), "index",
                                          "text")
    assert tokens == pytest.approx(np.mean(predicted == true)) != result.character


def test_only_empty_canvases_have_no_character_accuracy():
    true = multimnist.encode_text(np.zeros((3, 4), int), np.zeros(3, int))
    result = metrics.text_accuracy(FixedTexts(true), _dataset(true, 2), "index", "text",
                                   start=START, stop=STOP)
    assert np.isnan(result.character) and (result.sequence, result.characters) == (1.0, 0)


def test_a_target_that_is_no_text_is_refused():
    true = np.array([row[0] for row in HAND_MADE])
    model, data = FixedTexts(true), _dataset(true, 6)

    def accuracy(target="text", start=START, stop=STOP, source="index"):
        return metrics.text_accuracy(model, data, source, target, start=start, stop=stop)

    with pytest.raises(ValueError, match=r"text target.*modality 'label' is categorical of "
                                         r"shape \(\)\. For a class label use cross_modal"):
        accuracy("label")
    with pytest.raises(ValueError, match=r"modality 'index' is normal of shape \(1,\)"):
        accuracy("index")
    with pytest.raises(ValueError, match="Unknown modality 'image'"):
        accuracy(source="image")
    with pytest.raises(ValueError, match=r"start to be a token id of modality 'text', an int "
                                         r"in 0\.\.12; received start=13"):
        accuracy(start=13)
    with pytest.raises(ValueError, match="distinct start and stop ids"):
        accuracy(stop=START)


def test_texts_that_do_not_read_start_characters_stop_are_refused():
    """Wrong ids for the data (PAD given as START), a text without START or without STOP."""
    true = np.array([row[0] for row in HAND_MADE])
    model = FixedTexts(true)
    with pytest.raises(ValueError, match=r"Modality 'text' must hold texts that read START "
                                         r"c_1 \.\. c_k STOP \(start id 12, stop id 11\).*text "
                                         r"0 of the batch reads \[10, 3, 0, 5, 11, 12\]"):
        metrics.text_accuracy(model, _dataset(true, 6), "index", "text", start=PAD, stop=STOP)
    for bad in ([3, 0, 5, STOP, PAD, PAD], [START, 3, 0, 5, 2, 1]):
        with pytest.raises(ValueError, match=r"text 1 of the batch reads \[" +
                                             ", ".join(map(str, bad))):
            metrics.score_texts(true[:2], np.array([true[0], bad]), START, STOP)


def test_character_accuracy_runs_where_the_data_set_declares_its_texts():
    true = np.array([row[0] for row in HAND_MADE])
    predicted = np.array([row[1] for row in HAND_MADE])
    model = FixedTexts(predicted)

    def context(dataset, target="text"):
        recipe = types.SimpleNamespace(dataset=dataset, source="index", target=target)
        return Context(recipe=recipe, test=_dataset(true, 4))

    metric = suite.CharacterAccuracy()
    assert metric.applies(model, context("multimnist"))
    assert not metric.applies(model, context("mnist_label"))          # no texts declared
    assert not metric.applies(model, context("multimnist", "label"))  # not the declared text
    assert metric.compute(model, context("multimnist")) == {
        "character_accuracy(index->text)": 8 / 10, "sequence_accuracy(index->text)": 1 / 6}
    owners = suite.metrics_json_keys()
    assert owners["character_accuracy(<source>-><target>)"] == "CharacterAccuracy"
    assert owners["sequence_accuracy(<source>-><target>)"] == "CharacterAccuracy"
    assert suite.METRICS["CharacterAccuracy"] is suite.CharacterAccuracy


def test_the_tables_of_a_run_show_the_text_accuracies():
    from kmvae import evaluate

    result = {"epochs": 1, "train_seconds": 2.0, "cross_modal_accuracy(image->text)": 0.75,
              "character_accuracy(image->text)": 0.5, "sequence_accuracy(image->text)": 0.25}
    for table in (evaluate.headline_table(result), evaluate.format_table(result)):
        rows = {key.strip(): value for key, value in
                (line.rsplit(None, 1) for line in table.splitlines())}
        assert (rows["character_accuracy(image->text)"],
                rows["sequence_accuracy(image->text)"]) == ("0.5000", "0.2500")
