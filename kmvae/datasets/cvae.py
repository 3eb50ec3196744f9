"""The class-conditional VAE (CVAE) that entangled-MNIST is generated with, and its disk cache.

M2VAE (Korthals et al., ICLR 2019 submission), section 4.1 and Table 3 (appendix 6.1.4): one
CVAE (Kingma et al. 2014; Sohn et al. 2015) is trained on MNIST and one on Fashion-MNIST, each
with a 2-D standard-normal latent space; decoding one shared z with one shared class through
both decoders gives an entangled pair. Table 3's network, padding "same":

    encoder: image 28x28x1 -> conv 1 2x2 -> conv 64 2x2 stride 2 -> conv 64 3x3 -> conv 64 3x3
             -> flatten, concat one-hot C -> fc 128 -> (mean, log-variance) of z, 2-D
    decoder: concat (z, one-hot C) -> fc 128 -> fc 14*14*64 -> deconv 64 3x3 -> deconv 64 3x3
             -> deconv 64 2x2 stride 2 -> conv 1 2x2 -> Bernoulli logits of the 28x28 image

ReLU everywhere but the outputs ("deconv reverse of encoder" read as above: the fc 14*14*64
that brings the decoder back to the encoder's last feature map is implied, not listed). The paper
gives neither the CVAE's optimiser, KL weight nor training length: here Adam (1e-3, as its
Table 2 VAEs), beta = 1, batch 100 and `epochs` passes over the training split (by default the
fewest that make 600 updates, `auto_epochs`), the loss being the negative ELBO with a Bernoulli
likelihood on the grey values (binary cross-entropy, as its section 6.1.4). Trained models are
cached as `<data root>/cache/cvae_<dataset>_<key>.keras`, the key hashing the training images and
labels, the settings and `ARCHITECTURE_VERSION`, so each trains once per machine.
"""

import hashlib
import json
import logging
import math
import os
import time

import keras
import numpy as np

from kmvae.datasets import mnist
from kmvae.datasets.paths import data_root

LATENT_DIM = 2  # Table 3: "fc 128-2"
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)
FILTERS = 64
HIDDEN = 128
BATCH_SIZE = 100
LEARNING_RATE = 1e-3
AUTO_UPDATES = 600  # the default budget (see `auto_epochs`)
ARCHITECTURE_VERSION = 1  # bump when the network or the loss changes: old caches are ignored
_log = logging.getLogger("kmvae.datasets")


def _initializer(seed, index):
    return keras.initializers.GlorotUniform(seed=seed * 1000 + index)


def _one_hot(num_classes):
    return keras.layers.CategoryEncoding(num_classes, output_mode="one_hot")


def _encoder(latent_dim, num_classes, seed):
    image = keras.Input((int(np.prod(IMAGE_SHAPE)),), name="image")
    label = keras.Input((), dtype="int32", name="label")
    h = keras.layers.Reshape(IMAGE_SHAPE)(image)
    for index, (filters, kernel, stride) in enumerate(
            ((IMAGE_SHAPE[-1], 2, 1), (FILTERS, 2, 2), (FILTERS, 3, 1), (FILTERS, 3, 1))):
        h = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same",
                                activation="relu", kernel_initializer=_initializer(seed, index))(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Concatenate()([h, _one_hot(num_classes)(label)])
    h = keras.layers.Dense(HIDDEN, activation="relu", kernel_initializer=_initializer(seed, 4))(h)
    mean = keras.layers.Dense(latent_dim, kernel_initializer=_initializer(seed, 5))(h)
    log_var = keras.layers.Dense(latent_dim, kernel_initializer=_initializer(seed, 6))(h)
    return keras.Model([image, label], [mean, log_var], name="encoder")


def _decoder(latent_dim, num_classes, seed):
    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    h = keras.layers.Concatenate()([z, _one_hot(num_classes)(label)])
    h = keras.layers.Dense(HIDDEN, activation="relu", kernel_initializer=_initializer(seed, 7))(h)
    rows, cols = IMAGE_SHAPE[0] // 2, IMAGE_SHAPE[1] // 2
    h = keras.layers.Dense(rows * cols * FILTERS, activation="relu",
                           kernel_initializer=_initializer(seed, 8))(h)
    h = keras.layers.Reshape((rows, cols, FILTERS))(h)
    for index, (kernel, stride) in enumerate(((3, 1), (3, 1), (2, 2))):
        h = keras.layers.Conv2DTranspose(FILTERS, kernel, strides=stride, padding="same",
                                         activation="relu",
                                         kernel_initializer=_initializer(seed, 9 + index))(h)
    h = keras.layers.Conv2D(IMAGE_SHAPE[-1], 2, padding="same",
                            kernel_initializer=_initializer(seed, 12))(h)
    logits = keras.layers.Flatten()(h)
    return keras.Model([z, label], logits, name="decoder")


@keras.saving.register_keras_serializable(package="kmvae")
class CVAE(keras.Model):
    """M2VAE's Table 3 class-conditional VAE on 28x28 grey images.

    `call({"image": float32 (n, 784) in [0, 1], "label": int32 (n,)})` returns
    `(logits (n, 784), mean (n, latent_dim), log_var (n, latent_dim))`, z drawn by
    reparameterisation; `fit` minimises the negative ELBO (Bernoulli likelihood, KL to N(0, I)).

    Args:
        latent_dim: size of z (the paper's 2).
        num_classes: number of class labels C (10).
        seed: seeds the weight initialisation and the reparameterisation noise.

    Example:
        model = CVAE()
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.fit(tf.data.Dataset.from_tensor_slices({"image": x, "label": y}).batch(100))
        images = model.decode(np.zeros((10, 2), "float32"), np.arange(10))  # (10, 784)
    """

    def __init__(self, latent_dim=LATENT_DIM, num_classes=NUM_CLASSES, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.num_classes, self.seed = int(latent_dim), int(num_classes), int(seed)
        self.encoder = _encoder(self.latent_dim, self.num_classes, self.seed)
        self.decoder = _decoder(self.latent_dim, self.num_classes, self.seed)
        self._noise = keras.random.SeedGenerator(self.seed)

    def call(self, inputs, training=False):
        labels = keras.ops.cast(inputs["label"], "int32")
        mean, log_var = self.encoder([inputs["image"], labels])
        noise = keras.random.normal(keras.ops.shape(mean), seed=self._noise)
        z = mean + keras.ops.exp(0.5 * log_var) * noise
        return self.decoder([z, labels]), mean, log_var

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The mean over the batch of the negative ELBO, nats per image."""
        return keras.ops.mean(negative_elbo(x["image"], *y_pred))

    def decode(self, z, labels, batch_size=1000):
        """Bernoulli means of the images of latents `z` (float (n, latent_dim)) and classes
        `labels` (int (n,) in 0..num_classes-1): float32 numpy `(n, 784)` in [0, 1]."""
        z = np.asarray(z, np.float32).reshape(-1, self.latent_dim)
        labels = np.asarray(labels, np.int32).reshape(-1)
        if len(z) != len(labels):
            raise ValueError(f"z has {len(z)} rows but labels has {len(labels)}; expected one "
                             f"class per latent.")
        if len(z) == 0:
            return np.zeros((0, int(np.prod(IMAGE_SHAPE))), np.float32)
        logits = self.decoder.predict([z, labels], batch_size=batch_size, verbose=0)
        return np.asarray(keras.ops.sigmoid(logits), np.float32)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "num_classes": self.num_classes, "seed": self.seed}


def negative_elbo(images, logits, mean, log_var):
    """Per-example negative ELBO of a CVAE with a one-sample reconstruction term.

    Args:
        images: float (n, 784) grey values in [0, 1] (Bernoulli targets); logits: the decoder's
            (n, 784); mean, log_var: q(z|x, C)'s (n, latent_dim).

    Returns:
        (n,) nats: binary cross-entropy summed over pixels + KL(q(z|x, C) || N(0, I)).
    """
    bce = keras.ops.sum(keras.ops.binary_crossentropy(images, logits, from_logits=True), -1)
    kl = 0.5 * keras.ops.sum(keras.ops.exp(log_var) + mean ** 2 - 1.0 - log_var, -1)
    return bce + kl


def train(images, labels, *, epochs, seed=0, batch_size=BATCH_SIZE):
    """Trains a fresh `CVAE` on images and labels.

    Args:
        images: uint8 (n, 784) grey values 0..255 (or float in [0, 1]); labels: int (n,) 0..9.
        epochs: passes over the data (int >= 1).
        seed: seeds the initialisation, the shuffling and the reparameterisation noise.
        batch_size: examples per batch.

    Returns:
        `(model, final_loss)`: the trained CVAE and the mean negative ELBO (nats per image) of
        its last epoch.
    """
    import tensorflow as tf

    x = np.asarray(images)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    data = tf.data.Dataset.from_tensor_slices({"image": x, "label": np.asarray(labels, np.int32)})
    data = data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    model = CVAE(seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), jit_compile=False)
    history = model.fit(data, epochs=epochs, verbose=0)
    return model, float(history.history["loss"][-1])


def check_epochs(epochs):
    """Validates `cvae_epochs`: None (`auto_epochs`) or an int >= 1. Returns it; raises
    ValueError otherwise."""
    if epochs is None:
        return None
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"cvae_epochs must be None (enough epochs for about {AUTO_UPDATES} "
                         f"updates) or an int >= 1 (passes over the training split when "
                         f"training each CVAE); received cvae_epochs={epochs!r}.")
    return int(epochs)


def auto_epochs(num_images):
    """The default training length: the fewest epochs of `BATCH_SIZE` that make at least
    `AUTO_UPDATES` updates, e.g. 8 on the 8,000 digits of the npm MNIST subset and 1 on 60,000
    images (about 2 CPU minutes each on two cores; the samples then vary with z)."""
    return max(1, math.ceil(AUTO_UPDATES * BATCH_SIZE / max(1, int(num_images))))


def cache_path(dataset, images, labels, *, epochs, seed, data_dir=None):
    """Where the CVAE trained on `images` / `labels` with these settings is cached:
    `<data root>/cache/cvae_<dataset>_<16 hex digits>.keras` (a `pathlib.Path`)."""
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(images), np.ascontiguousarray(labels, np.int32)):
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    settings = {"version": ARCHITECTURE_VERSION, "latent_dim": LATENT_DIM, "epochs": epochs,
                "seed": seed, "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return data_root(data_dir) / "cache" / f"cvae_{dataset}_{digest.hexdigest()[:16]}.keras"


def _load_cached(path):
    """The CVAE saved at `path`, or None (with a warning) if the file is unreadable."""
    try:
        model = keras.saving.load_model(path, custom_objects={"CVAE": CVAE}, compile=False)
        if not isinstance(model, CVAE) or model.latent_dim != LATENT_DIM:
            raise ValueError(f"holds a {type(model).__name__}, not a {LATENT_DIM}-D CVAE")
        return model
    except Exception as error:  # a truncated zip, garbage, or a foreign model
        _log.warning("The cached CVAE %s is corrupt or unreadable (%s: %s); deleting it and "
                     "training it again.", path, type(error).__name__, error)
        path.unlink(missing_ok=True)
        return None


def trained(dataset, *, epochs=None, seed=0, source="auto", data_dir=None):
    """The CVAE of `dataset` trained on its training split: from the disk cache, else trained
    now (logged, with its duration) and cached.

    Args:
        dataset: `"mnist"` or `"fashion_mnist"` (read by `kmvae.datasets.mnist.load_split`:
            TFDS, else the IDX folder; MNIST from `kmvae data fetch mnist` is the 10,000-digit
            npm subset, whose training split has 8,000 digits).
        epochs: passes over the training split (`check_epochs`; None: `auto_epochs`);
            seed: as `train`.
        source, data_dir: as `kmvae.datasets.load`; the cache lives under the data root of
            `data_dir` (`$KMVAE_DATA_DIR` or `~/.kmvae/data` when None).

    Returns:
        `(model, info)`: the `CVAE` and a dict with `"path"` (the cache file), `"trained"` (True
        if trained by this call), `"seconds"` (training time, when trained now or recorded) and
        `"final_loss"` (negative ELBO of the last epoch, nats per image).

    Raises:
        ValueError: bad `epochs`, or as `mnist.load_split`. DataNotFoundError: no data.
    """
    epochs = check_epochs(epochs)
    images, labels = mnist.load_split(dataset, "train", source, data_dir)
    epochs = auto_epochs(len(images)) if epochs is None else epochs
    path = cache_path(dataset, images, labels, epochs=epochs, seed=seed, data_dir=data_dir)
    notes = path.with_suffix(".json")
    if path.is_file():
        model = _load_cached(path)
        if model is not None:
            info = {}
            if notes.is_file():
                try:
                    info = json.loads(notes.read_text())
                except ValueError:
                    info = {}
            return model, {**info, "path": path, "trained": False}
    _log.info("Training the %s CVAE (M2VAE Table 3) on %d images for %d epoch(s); cached as %s.",
              dataset, len(images), epochs, path)
    start = time.perf_counter()
    model, final_loss = train(images, labels, epochs=epochs, seed=seed)
    seconds = time.perf_counter() - start
    _log.info("Trained the %s CVAE in %.1f s (final negative ELBO %.2f nats per image).",
              dataset, seconds, final_loss)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partial-{os.getpid()}-{path.name}")
    model.save(partial)
    os.replace(partial, path)  # a reader sees no file or a complete one
    info = {"seconds": round(seconds, 2), "final_loss": final_loss, "images": len(images),
            "epochs": epochs}
    notes.write_text(json.dumps(info))
    return model, {**info, "path": path, "trained": True}
