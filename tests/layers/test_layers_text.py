"""MVAE's text networks (`GRUTextEncoder`, `GRUTextDecoder`, `GreedyGRUTextDecoder`, section
4.3): the encoder reads every token, the decoders give the categorical logits of each position
(the likelihood head adds no weight), the greedy decoder is the authors' recurrence (checked
against PyTorch's GRU equations in numpy), gradients reach every weight, configs and a `.keras`
round trip."""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import kmvae
from kmvae import Modality
import pytest

from kmvae.layers import (GreedyGRUTextDecoder, GRUTextDecoder, GRUTextEncoder, ModalityDecoder,
                          ModalityEncoder)

LENGTH, VOCABULARY = 6, 13
START, STOP, PAD = 10, 11, 12
TEXTS = np.array([[START, 3, 0, 5, STOP, PAD],      # "305"
                  [START, 3, 0, 7, STOP, PAD],      # "307": only the last digit differs
                  [START, 9, 0, 5, STOP, PAD],      # "905": only the first digit differs
                  [START, STOP, PAD, PAD, PAD, PAD]], "int32")


DECODERS = {"parallel": lambda units: GRUTextDecoder(LENGTH, VOCABULARY, units=units),
            "greedy": lambda units: GreedyGRUTextDecoder(LENGTH, VOCABULARY, START, units=units)}


def text_modality(units=16, embedding_dim=8, decoder="parallel"):
    return Modality("text", shape=(LENGTH,), num_classes=VOCABULARY, likelihood="categorical",
                    encoder=GRUTextEncoder(VOCABULARY, embedding_dim=embedding_dim, units=units),
                    decoder=DECODERS[decoder](units))


def test_encoder_features_depend_on_every_token():
    encoder = GRUTextEncoder(VOCABULARY, embedding_dim=8, units=16)
    features = encoder(TEXTS).numpy()
    assert features.shape == (4, 16)
    # Each text differs from the first in one token, at the start, the middle or the end of
    # the digits: every change moves the features (both directions read the whole text).
    for row in (1, 2, 3):
        assert np.max(np.abs(features[row] - features[0])) > 1e-4, row
    np.testing.assert_allclose(encoder(TEXTS[:1]), features[:1], rtol=1e-5, atol=1e-6)
    q = ModalityEncoder(text_modality(), latent_dim=5)(TEXTS)
    assert q.batch_shape == (4,) and q.event_shape == (5,)
    assert np.max(np.abs(q.mean().numpy()[1] - q.mean().numpy()[0])) > 1e-5


def test_defaults_are_the_papers_sizes():
    encoder, decoder = GRUTextEncoder(VOCABULARY), GRUTextDecoder(LENGTH, VOCABULARY)
    assert encoder(TEXTS).shape == (4, 200)                    # directions summed, 200 each
    assert (encoder.embedding.output_dim, encoder.gru.forward_layer.units) == (200, 200)
    assert decoder(np.zeros((2, 100), "float32")).shape == (2, LENGTH, VOCABULARY)
    assert [gru.units for gru in decoder.grus] == [200, 200] and decoder.dense.units == 200


@pytest.mark.parametrize("decoder", sorted(DECODERS))
def test_decoder_gives_the_logits_of_each_position(decoder):
    likelihood = ModalityDecoder(text_modality(decoder=decoder), latent_dim=4)
    assert likelihood.head.dense is None                  # the logits are the decoder's output
    z = np.random.default_rng(0).normal(size=(2, 4, 4)).astype("float32")
    logits = likelihood.backbone(z.reshape(8, 4)).numpy()
    assert logits.shape == (8, LENGTH, VOCABULARY)
    # The same z gives each position its own distribution (the GRU's state moves on).
    assert np.max(np.abs(logits[:, 0] - logits[:, 1])) > 1e-4
    p = likelihood(z)
    assert p.batch_shape == (2, 4) and p.event_shape == (LENGTH,)
    assert isinstance(p.distribution, tfp.distributions.Categorical)
    # log p(text | z) is the sum over the positions of each position's log-softmax at its
    # token (text j scored under the codes z[:, j]).
    log_softmax = logits - np.log(np.sum(np.exp(logits), axis=-1, keepdims=True))
    tokens = np.broadcast_to(TEXTS[None, :, :, None], (2, 4, LENGTH, 1))
    expected = np.take_along_axis(log_softmax.reshape(2, 4, LENGTH, VOCABULARY), tokens,
                                  axis=-1)[..., 0].sum(axis=-1)
    np.testing.assert_allclose(p.log_prob(TEXTS), expected, rtol=1e-5, atol=1e-5)
    probabilities = likelihood.mean(z)
    assert probabilities.shape == (2, 4, LENGTH, VOCABULARY)
    np.testing.assert_allclose(np.sum(probabilities, axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("decoder", sorted(DECODERS))
def test_gradients_reach_every_weight(decoder):
    greedy = decoder == "greedy"
    modality = text_modality(decoder=decoder)
    encoder, decoder = ModalityEncoder(modality, 4), ModalityDecoder(modality, 4)
    with tf.GradientTape() as tape:
        q = encoder(TEXTS)
        log_likelihood = tf.reduce_sum(decoder(q.sample(seed=1)).log_prob(TEXTS))
    variables = encoder.trainable_variables + decoder.trainable_variables
    gradients = tape.gradient(log_likelihood, variables)
    # The encoder's embedding, two GRU directions (kernel, recurrent kernel, bias) and head;
    # the decoder's dense layer (the greedy one's: embedding and initial state), two GRU layers
    # and logits layer. The greedy decoder's embedding learns through the tokens it feeds back.
    decoder_variables = (2 + 2 * 3 + 2) + greedy
    assert len(variables) == (1 + 2 * 3 + 2) + decoder_variables
    for variable, gradient in zip(variables, gradients):
        assert gradient is not None, variable.path
        gradient = tf.convert_to_tensor(gradient).numpy()
        assert np.all(np.isfinite(gradient)) and np.any(gradient != 0), variable.path


def test_config_and_mixed_precision():
    encoder = GRUTextEncoder(VOCABULARY, embedding_dim=10, units=32, name="enc")
    config = encoder.get_config()
    assert (config["vocabulary_size"], config["embedding_dim"], config["units"]) == (13, 10, 32)
    assert GRUTextEncoder.from_config(config).get_config() == config
    decoder = GRUTextDecoder(LENGTH, VOCABULARY, units=32, name="dec")
    config = decoder.get_config()
    assert (config["length"], config["vocabulary_size"], config["units"]) == (6, 13, 32)
    assert GRUTextDecoder.from_config(config).get_config() == config
    assert text_modality().decoder_output == "parameters"       # `returns_parameters`
    half = GRUTextDecoder(LENGTH, VOCABULARY, units=8, dtype="mixed_bfloat16")
    assert half(np.zeros((2, 4), "float32")).dtype == tf.bfloat16
    assert half.dense.kernel.dtype == tf.float32


@pytest.mark.parametrize("decoder", sorted(DECODERS))
def test_keras_round_trip_of_a_model_with_the_text_networks(tmp_path, decoder):
    image = Modality("image", shape=(5,), likelihood="bernoulli",
                     encoder=keras.Sequential([keras.layers.Dense(8, activation="tanh")]),
                     decoder=keras.Sequential([keras.layers.Dense(8, activation="tanh")]))
    model = kmvae.MVAE([image, text_modality(decoder=decoder)], 3, seed=0)
    batch = {"image": np.random.default_rng(1).uniform(size=(4, 5)).astype("float32"),
             "text": TEXTS, "mask": np.array([[1, 1], [1, 0], [0, 1], [1, 1]], bool)}
    outputs = model(batch)
    model.save(tmp_path / "text.keras")
    loaded = keras.saving.load_model(tmp_path / "text.keras")
    assert loaded.get_config() == model.get_config()
    assert type(loaded.encoders[1].backbone) is GRUTextEncoder
    assert type(loaded.decoders[1].backbone) is type(model.decoders[1].backbone)
    assert loaded.decoders[1].head.dense is None
    reloaded = loaded(batch)
    for key in outputs:
        np.testing.assert_array_equal(outputs[key], reloaded[key], err_msg=key)
    z = np.random.default_rng(2).normal(size=(4, 3)).astype("float32")
    np.testing.assert_array_equal(loaded.decoders[1].mean(z), model.decoders[1].mean(z))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _torch_gru_step(x, h, kernel, recurrent_kernel, bias):
    """PyTorch's GRU equations (torch.nn.GRU's documentation) in numpy, with Keras's weights:
    the gates in Keras's order z, r, n along the last axis, `bias` the input and the recurrent
    bias. r = sig(W_ir x + b_ir + W_hr h + b_hr), z = sig(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h."""
    (wz, wr, wn), (uz, ur, un) = np.split(kernel, 3, -1), np.split(recurrent_kernel, 3, -1)
    (bz, br, bn), (cz, cr, cn) = np.split(bias[0], 3), np.split(bias[1], 3)
    r = _sigmoid(x @ wr + br + h @ ur + cr)
    z = _sigmoid(x @ wz + bz + h @ uz + cz)
    n = np.tanh(x @ wn + bn + r * (h @ un + cn))
    return (1 - z) * n + z * h


def _authors_decoder(decoder, z, feed_back=True):
    """The MVAE authors' TextDecoder.forward (multimnist/model.py) in numpy with `decoder`'s
    weights: h = z2h(z) for both layers; at each step c = swish(embed(c_in)) with z appended,
    two GRU steps, h2o of the output with z appended; c_in the argmax of those logits (START at
    every step when `feed_back` is False)."""
    weights = [w.numpy().astype("float64") for w in decoder.weights]
    embedding, z2h_kernel, z2h_bias = weights[:3]
    cells = [weights[3 + 3 * i:6 + 3 * i] for i in range(decoder.num_layers)]
    h2o_kernel, h2o_bias = weights[-2:]
    h = [z @ z2h_kernel + z2h_bias] * decoder.num_layers
    token = np.full(len(z), START)
    logits = []
    for _ in range(LENGTH):
        e = embedding[token]
        x = np.concatenate([e * _sigmoid(e), z], -1)
        for layer, cell in enumerate(cells):
            h[layer] = x = _torch_gru_step(x, h[layer], *cell)
        logits.append(np.concatenate([x, z], -1) @ h2o_kernel + h2o_bias)
        if feed_back:
            token = np.argmax(logits[-1], -1)
    return np.stack(logits, 1)


def test_greedy_decoder_is_the_authors_recurrence():
    decoder = GreedyGRUTextDecoder(LENGTH, VOCABULARY, START, units=16)
    z = np.random.default_rng(3).normal(size=(64, 5)).astype("float32")
    logits = decoder(z).numpy()
    assert logits.shape == (64, LENGTH, VOCABULARY)
    assert [cell.units for cell in decoder.cells] == [16, 16]
    np.testing.assert_allclose(logits, _authors_decoder(decoder, z.astype("float64")),
                               rtol=1e-4, atol=1e-5)
    # The tokens fed back are the argmax of the step before: reading START at every step gives
    # other logits from the second position on (the first reads START either way).
    fixed = _authors_decoder(decoder, z.astype("float64"), feed_back=False)
    np.testing.assert_allclose(logits[:, 0], fixed[:, 0], rtol=1e-4, atol=1e-5)
    assert np.max(np.abs(logits[:, 1:] - fixed[:, 1:])) > 1e-3
    # The codes of different examples do not mix.
    np.testing.assert_allclose(decoder(z[:1]).numpy(), logits[:1], rtol=1e-5, atol=1e-6)


def test_greedy_decoder_defaults_config_precision_and_errors():
    decoder = GreedyGRUTextDecoder(LENGTH, VOCABULARY, START)
    assert decoder(np.zeros((2, 100), "float32")).shape == (2, LENGTH, VOCABULARY)
    assert [cell.units for cell in decoder.cells] == [200, 200]
    assert decoder.embedding.output_dim == decoder.initial_state.units == 200
    config = GreedyGRUTextDecoder(LENGTH, VOCABULARY, START, units=32, num_layers=3,
                                  name="dec").get_config()
    assert (config["length"], config["vocabulary_size"], config["start_token"],
            config["units"], config["num_layers"]) == (6, 13, 10, 32, 3)
    assert GreedyGRUTextDecoder.from_config(config).get_config() == config
    assert text_modality(decoder="greedy").decoder_output == "parameters"
    half = GreedyGRUTextDecoder(LENGTH, VOCABULARY, START, units=8, dtype="mixed_bfloat16")
    assert half(np.zeros((2, 4), "float32")).dtype == tf.bfloat16
    assert half.cells[0].kernel.dtype == tf.float32
    with pytest.raises(ValueError, match="start_token=13 is not a token id of the vocabulary "
                                         "of 13"):
        GreedyGRUTextDecoder(LENGTH, VOCABULARY, 13)
    with pytest.raises(ValueError, match="num_layers=0; expected at least 1"):
        GreedyGRUTextDecoder(LENGTH, VOCABULARY, START, num_layers=0)
