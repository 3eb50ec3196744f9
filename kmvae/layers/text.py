"""Text networks: MVAE's recurrent encoder and decoder of a token sequence (Wu & Goodman 2018,
section 4.3, the text modality of MultiMNIST).

A text is a fixed-length sequence of token ids: a categorical `Modality` of shape `(length,)`
whose `num_classes` is the vocabulary (`kmvae.datasets.multimnist`: 6 tokens over 13 ids, START,
the digits, STOP and PAD). Its likelihood is kmvae's categorical one, one softmax per position
and the positions independent given z; the decoder here returns those logits.
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

    Not autoregressive, unlike the paper's decoder: the paper feeds each sampled character back
    in, from a start token until a stop token; here the tokens are independent given z, since
    kmvae's likelihoods are fixed-shape distributions without the previous tokens as input (an
    autoregressive decoder would need a new likelihood type). The GRU's state still carries
    the position, so each position has its own distribution. (The authors' code feeds back the
    argmax of its own outputs, never the data, so its likelihood too is a product over the
    positions of distributions that depend on z alone.)

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
