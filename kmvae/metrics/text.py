"""Accuracy of a text predicted from another modality, character by character (MVAE, Wu & Goodman
2018, section 6.1, Figure 4 (c) MultiMNIST: "we predict 0 to 4 characters describing the digits
in an image. Figure (c) shows the accuracy for predicting each character correctly").

A text is a categorical modality of shape `(L,)`, token ids that read `START c_1 .. c_k STOP`
and then anything (MultiMNIST's `"text"`: `START d_1 .. d_k STOP PAD ..`, the k = 0..4 digit
classes of the canvas; `kmvae.datasets.multimnist`). Its characters are the k tokens between
START and the first STOP. The text is predicted as `cross_modal_accuracy` predicts a label: every
position's `argmax_c p(text_l = c | z)` at `z` the mean of `q(z | source)`; the decoder gives one
token per position, so a prediction is scored position by position against the true text.

- character accuracy: the fraction of the true texts' characters predicted right, over all
  characters of the data set (a text of k characters weighs k; an empty canvas has none and is
  not scored). START, STOP and what follows STOP are not characters: STOP marks the end of the
  string, not a digit of the image, and scoring it would give every empty canvas a free point
  (or a free miss). A predicted text that is too long is not penalised here (its extra digits
  stand where the true text has STOP or PAD), one too short is (STOP predicted at a character's
  place is a wrong character);
- sequence accuracy: the fraction of texts predicted exactly from START through STOP, every
  token of positions `0 .. k + 1` right (what follows STOP is ignored): the string and its
  length right, empty canvases included.

The paper's text decoder is autoregressive and says no more on how Figure 4(c) scores characters.
The authors' development code (github.com/wenxuanliu/multimodal-vae, `multimnist/test.py`,
whose `test_paired_weak.py` plots it against the supervision level) scores otherwise: its texts
are 4 slots, the digits then a FILL token, without START or STOP, and its "character accuracy"
is the fraction of all 4N slots right, the FILL slots of shorter texts included (next to a
"length accuracy": the number of FILL slots right). That counts empty slots as characters;
`cross_modal_accuracy(image->text)` (all six tokens, START and PAD included) is the nearer of
kmvae's numbers to it.
"""

import collections
import numbers

import numpy as np

TextAccuracy = collections.namedtuple("TextAccuracy",
                                      ["character", "sequence", "characters", "texts"])
TextAccuracy.__doc__ = """`text_accuracy`'s result.

Fields:
    character: the character accuracy in [0, 1], nan when the true texts have no character.
    sequence: the sequence accuracy in [0, 1], nan when there is no text.
    characters: the number of characters scored; texts: the number of texts."""


def score_texts(predicted, true, start, stop, name="text"):
    """Counts of right characters and texts, for predicted and true token ids.

    Args:
        predicted: int `(N, L)` predicted ids (any ids).
        true: int `(N, L)` true ids, each row `START c_1 .. c_k STOP ...` with no START among
            the characters.
        start, stop: the ids of START and STOP.
        name: the modality's name, for the error messages.

    Returns:
        `(right_characters, characters, right_texts, texts)`, ints: the characters of `true`
        (positions 1 .. k of each row) whose predicted id is the true one and their number, the
        rows predicted exactly through their STOP (positions 0 .. k + 1) and the number of rows.

    Raises:
        ValueError: arrays that are not `(N, L)` of one shape, or a true text that does not read
            START, characters, STOP.
    """
    predicted, true = np.asarray(predicted), np.asarray(true)
    if true.ndim != 2 or predicted.shape != true.shape:
        raise ValueError(f"The predicted and true {name!r} must be token ids of one shape "
                         f"(N, length); received {predicted.shape} and {true.shape}.")
    positions = np.arange(true.shape[1])[None, :]
    is_stop = (true == stop) & (positions >= 1)
    has_stop = is_stop.any(axis=1)
    stop_at = np.where(has_stop, np.argmax(is_stop, axis=1), 0)[:, None]
    character = (positions >= 1) & (positions < stop_at)
    bad = (true[:, 0] != start) | ~has_stop | np.any(character & (true == start), axis=1)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(f"Modality {name!r} must hold texts that read START c_1 .. c_k STOP "
                         f"(start id {start}, stop id {stop}), e.g. MultiMNIST's 'text'; text "
                         f"{i} of the batch reads {true[i].tolist()}. Give the start and stop "
                         f"ids of the data set, or use cross_modal_accuracy for a modality that "
                         f"is no text.")
    right = predicted == true
    through_stop = positions <= stop_at
    return (int(np.sum(right & character)), int(np.sum(character)),
            int(np.sum(np.all(right | ~through_stop, axis=1))), len(true))


def check_text_modality(model, target, start, stop):
    """Checks that `model`'s modality `target` can be a text with these START and STOP ids: a
    categorical modality of shape `(L,)`, L >= 2, and two distinct ids among its classes.

    Raises:
        ValueError: naming the modality, what it is and what was expected.
    """
    names = model.modality_names
    if target not in names:
        raise ValueError(f"Unknown modality {target!r}; the model has {names}.")
    modality = model.modalities[names.index(target)]
    if not modality.is_categorical or len(modality.shape) != 1 or modality.shape[0] < 2:
        raise ValueError(f"text_accuracy needs a text target, a categorical modality of shape "
                         f"(length,) with length >= 2 holding START c_1 .. c_k STOP; modality "
                         f"{target!r} is {modality.likelihood} of shape {modality.shape}. For a "
                         f"class label use cross_modal_accuracy.")
    for what, value in (("start", start), ("stop", stop)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or \
                not 0 <= value < modality.num_classes:
            raise ValueError(f"text_accuracy needs {what} to be a token id of modality "
                             f"{target!r}, an int in 0..{modality.num_classes - 1}; received "
                             f"{what}={value!r}.")
    if start == stop:
        raise ValueError(f"text_accuracy needs distinct start and stop ids; received "
                         f"start={start}, stop={stop}.")


def text_accuracy(model, dataset, source="image", target="text", *, start, stop):
    """MVAE Figure 4(c): the character and sequence accuracies (see the module) of the text
    `target` predicted from `source`, the argmax token of every position decoded at the mean of
    `q(z | source)`.

    Args:
        model: a trained `kmvae.models.MultimodalVAE`.
        dataset: batches holding `source` and `target` (int `(batch, L)` token ids; a
            `"mask"` is ignored: every example is used).
        source: the conditioning modality's name.
        target: a categorical modality of shape `(L,)` whose texts read
            `START c_1 .. c_k STOP ...` (MultiMNIST's `"text"`, `L = 6`).
        start, stop: the ids of START and STOP (MultiMNIST: `kmvae.datasets.multimnist.START`
            and `.STOP`, 10 and 11; its registry entry's `evaluation["token_sequences"]`).

    Returns:
        A `TextAccuracy(character, sequence, characters, texts)` over all examples.

    Raises:
        ValueError: an unknown modality, a `target` that is not a categorical `(L,)` sequence,
            start / stop ids that are not two of its classes, or a true text that does not read
            START, characters, STOP.

    Example:
        >>> from kmvae.datasets import multimnist
        >>> result = text_accuracy(model, test, "image", "text",
        ...                        start=multimnist.START, stop=multimnist.STOP)
        >>> result.character, result.sequence
    """
    if source not in model.modality_names:
        raise ValueError(f"Unknown modality {source!r}; the model has {model.modality_names}.")
    check_text_modality(model, target, start, stop)
    counts = np.zeros(4, dtype=np.int64)
    for batch in dataset:
        probs = model.translate({source: batch[source]}, targets=[target])[target]
        predicted = np.argmax(np.asarray(probs), axis=-1)
        counts += score_texts(predicted, np.asarray(batch[target]), start, stop, target)
    right, characters, exact, texts = (int(c) for c in counts)
    return TextAccuracy(right / characters if characters else float("nan"),
                        exact / texts if texts else float("nan"), characters, texts)
