"""Text networks: MVAE's recurrent encoder and decoder of a token sequence (Wu & Goodman 2018,
section 4.3, the text modality of MultiMNIST).

A text is a fixed-length sequence of token ids: a categorical `Modality` of shape `(length,)`
whose `num_classes` is the vocabulary (`kmvae.datasets.multimnist`: 6 tokens over 13 ids, START,
the digits, STOP and PAD). Its likelihood is kmvae's categorical one, one softmax per position,
whose logits the decoders return: `GreedyGRUTextDecoder` (the MVAE authors': each position reads
the argmax of the one before, a deterministic function of z) or `GRUTextDecoder` (every
position reads z alone).
"""

import keras

from kmvae.layers.networks import SWISH, LayerChain


@keras.saving.register_keras_serializable(package="kmvae")
class GRUTextEncoder(LayerChain):
    """MVAE's text encoder (Wu & Goodman 2018, section 4.3): "a continuous embedding layer ...,
    followed by a bidirectional GRU with 200 hidden units, and a single fully-connected layer to
    project into the latent dimension". This layer is the embedding and the GRU; the
    fully-connected layer is the `GaussianPosterior` head that `ModalityEncoder` puts on it.

    The features are the two directions' final states summed, as the authors' code sums its two
    directions (multimnist/model.py of mhw32/multimodal-vae-public), so they are `units` wide.
    Their code reads both directions at the last position, where the backward GRU has read the
    last token only; here each direction's state is the one after reading the whole text.
    Every token is read, PAD included (the authors' code reads its FILL tokens too).

    Args:
        vocabulary_size: the number of token ids (the modality's `num_classes`).
        embedding_dim: the width of the embedding. The paper says "of size 10"; the authors'
            code embeds its 12 characters in 200 dimensions, which MVAE's Table 1 confirms
            (1,841,936 MultiMNIST inference-network parameters, 525,000 of them the text
            encoder's with the 200-wide embedding), as for MNIST's label, whose "embedding of
            size 10" is 512 wide (`kmvae.layers.default_encoder`).
        units: the hidden units of each direction of the GRU.

    Input `(batch, length)` int token ids in `[0, vocabulary_size)`; output `(batch, units)`.

    Example:
        >>> encoder = GRUTextEncoder(13)
        >>> encoder(keras.ops.zeros((2, 6), "int32")).shape
        TensorShape([2, 200])
    """

    def __init__(self, vocabulary_size, embedding_dim=200, units=200, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.units = int(units)
        dtype = self.dtype_policy
        self.embedding = keras.layers.Embedding(self.vocabulary_size, self.embedding_dim,
                                                dtype=dtype)
        self.gru = keras.layers.Bidirectional(keras.layers.GRU(self.units, dtype=dtype),
                                              merge_mode="sum", dtype=dtype)

    def chain(self):
        return [self.embedding, self.gru]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim, "units": self.units}


@keras.saving.register_keras_serializable(package="kmvae")
class GRUTextDecoder(LayerChain):
    """A recurrent text decoder after MVAE's (section 4.3): z through a dense layer of `units`
    with Swish, the same vector fed to a two-layer GRU of `units` at each of the `length`
    positions, and a dense layer of `vocabulary_size` logits at each position.

    It returns the logits of kmvae's categorical likelihood of shape `(length,)`, `(batch,
    length, vocabulary_size)`: its class declares `returns_parameters = True` (a `Modality`'s
    default `decoder_output="parameters"`), so the likelihood head adds no dense layer after it.

    Not autoregressive, unlike the paper's decoder, which feeds each character back in from a
    start token (`GreedyGRUTextDecoder` is the authors' version of it, the one `mvae_multimnist`
    uses): every position reads the same input, and the GRU's state carries the position, so
    each position has its own distribution.

    Args:
        length: the number of positions (the modality's shape `(length,)`).
        vocabulary_size: the number of token ids (the modality's `num_classes`).
        units: the width of the first dense layer and of both GRU layers (200 in the paper).

    Input `(batch, latent_dim)`; output `(batch, length, vocabulary_size)` logits.

    Example:
        >>> decoder = GRUTextDecoder(6, 13)
        >>> decoder(keras.ops.zeros((2, 100))).shape
        TensorShape([2, 6, 13])
    """

    returns_parameters = True

    def __init__(self, length, vocabulary_size, units=200, **kwargs):
        super().__init__(**kwargs)
        self.length = int(length)
        self.vocabulary_size = int(vocabulary_size)
        self.units = int(units)
        dtype = self.dtype_policy
        self.dense = keras.layers.Dense(self.units, activation=SWISH, dtype=dtype)
        self.repeat = keras.layers.RepeatVector(self.length, dtype=dtype)
        self.grus = [keras.layers.GRU(self.units, return_sequences=True, dtype=dtype)
                     for _ in range(2)]
        self.logits = keras.layers.Dense(self.vocabulary_size, dtype=dtype)

    def chain(self):
        return [self.dense, self.repeat, *self.grus, self.logits]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.length, self.vocabulary_size)

    def get_config(self):
        return {**super().get_config(), "length": self.length,
                "vocabulary_size": self.vocabulary_size, "units": self.units}


@keras.saving.register_keras_serializable(package="kmvae")
class GreedyGRUTextDecoder(keras.layers.Layer):
    """The MVAE authors' text decoder (Wu & Goodman 2018, section 4.3, MultiMNIST): autoregressive
    over its own greedy predictions. From a START token, each step embeds the previous token (an
    embedding of `units` with Swish), appends z, runs a `num_layers`-deep GRU whose layers all
    start from the same state `Dense(units)(z)`, and maps the top layer's output with z appended
    to the logits of the position; the next step reads the argmax of those logits.

    The tokens fed back are a deterministic function of z, so `log p(text | z)` is still the sum
    over the positions of each position's log-softmax at its token: kmvae's categorical
    likelihood of shape `(length,)` is exact for this decoder, and training, the importance
    samplers and export use it unchanged. The paper's text says each step reads "the sampled
    character"; a sampled feedback would make `p(text | z)` a sum over every fed-back string,
    with no closed form. The authors' code (multimnist/model.py of mhw32/multimodal-vae-public)
    feeds back the argmax, as here, and never the data (no teacher forcing). Its dropout of 0.1
    between the GRU layers is left out.

    Its class declares `returns_parameters = True` (a `Modality`'s default
    `decoder_output="parameters"`), so the likelihood head adds no dense layer after it.

    Args:
        length: the number of positions (the modality's shape `(length,)`).
        vocabulary_size: the number of token ids (the modality's `num_classes`).
        start_token: the id fed in at the first step (MultiMNIST's START,
            `kmvae.datasets.multimnist.START`).
        units: the width of the embedding, the initial state and the GRU layers (200 in the
            authors' code).
        num_layers: the GRU's depth (2 in the authors' code).

    Input `(batch, latent_dim)`; output `(batch, length, vocabulary_size)` logits.

    Raises:
        ValueError: if `start_token` is not in `[0, vocabulary_size)`, or `length`, `units` or
            `num_layers` is below 1.

    Example:
        >>> decoder = GreedyGRUTextDecoder(6, 13, start_token=10)
        >>> decoder(keras.ops.zeros((2, 100))).shape
        TensorShape([2, 6, 13])
    """

    returns_parameters = True

    def __init__(self, length, vocabulary_size, start_token, units=200, num_layers=2, **kwargs):
        super().__init__(**kwargs)
        self.length = int(length)
        self.vocabulary_size = int(vocabulary_size)
        self.start_token = int(start_token)
        self.units = int(units)
        self.num_layers = int(num_layers)
        if not 0 <= self.start_token < self.vocabulary_size:
            raise ValueError(f"GreedyGRUTextDecoder: start_token={start_token} is not a token id "
                             f"of the vocabulary of {self.vocabulary_size} (expected 0 to "
                             f"{self.vocabulary_size - 1}).")
        for name in ("length", "units", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"GreedyGRUTextDecoder: {name}={getattr(self, name)}; expected "
                                 f"at least 1.")
        dtype = self.dtype_policy
        self.embedding = keras.layers.Embedding(self.vocabulary_size, self.units, dtype=dtype)
        self.activation = keras.activations.get(SWISH)
        self.initial_state = keras.layers.Dense(self.units, dtype=dtype)
        self.cells = [keras.layers.GRUCell(self.units, dtype=dtype)
                      for _ in range(self.num_layers)]
        self.logits = keras.layers.Dense(self.vocabulary_size, dtype=dtype)

    def build(self, input_shape):
        latent_dim = int(input_shape[-1])
        self.embedding.build((None,))
        self.initial_state.build((None, latent_dim))
        width = self.units + latent_dim
        for cell in self.cells:
            cell.build((None, width))
            width = self.units
        self.logits.build((None, self.units + latent_dim))
        self.built = True

    def call(self, z):
        z = keras.ops.cast(z, self.compute_dtype)
        state = self.initial_state(z)
        states = [state] * self.num_layers
        token = keras.ops.full(keras.ops.shape(z)[:1], self.start_token, "int32")
        logits = []
        for _ in range(self.length):
            x = keras.ops.concatenate([self.activation(self.embedding(token)), z], axis=-1)
            for layer, cell in enumerate(self.cells):
                x, new_state = cell(x, [states[layer]])
                states[layer] = new_state[0]
            step = self.logits(keras.ops.concatenate([x, z], axis=-1))
            logits.append(step)
            token = keras.ops.cast(keras.ops.argmax(step, axis=-1), "int32")
        return keras.ops.stack(logits, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.length, self.vocabulary_size)

    def get_config(self):
        return {**super().get_config(), "length": self.length,
                "vocabulary_size": self.vocabulary_size, "start_token": self.start_token,
                "units": self.units, "num_layers": self.num_layers}
