"""Coherence of generated samples, judged by pre-trained classifiers ("oracles").

MoPoE-VAE (Sutter et al. 2021) App. B, after MMVAE (Shi et al. 2019) and used by SVAE (Kutuzova
et al. 2021): a classifier per modality, trained beforehand on real data, labels the generated
samples.

- conditional coherence: from the posterior of a subset of modalities, generate every other
  modality; the fraction of generated samples that the oracle labels with the input's label;
  averaged over the targets of a subset, and over the subsets of a size (MoPoE Figure 3);
- joint coherence: from `z ~ p(z)`, generate all modalities; the fraction of samples whose
  modalities all receive the same label.

The oracle of a categorical modality (e.g. the label itself) is the argmax of its decoded class
probabilities.
"""

import hashlib
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kmvae.metrics.subsets import by_size, subset_posteriors
from kmvae.subsets import subset_label

DEFAULT_CACHE = os.path.join("~", ".kmvae", "oracles")


def default_oracle(input_shape, num_classes):
    """The classifier the papers use: the unimodal encoder's architecture with a class layer on
    top (MoPoE App. B). For kmvae's MNIST recipes that is MVAE's image encoder, two hidden layers
    of 512 Swish units (MVAE section 4.1); an image `(h, w, c)` gets two convolutions first."""
    layers = [keras.Input(shape=tuple(input_shape))]
    if len(input_shape) == 3:
        layers += [keras.layers.Conv2D(32, 4, strides=2, padding="same", activation="swish"),
                   keras.layers.Conv2D(64, 4, strides=2, padding="same", activation="swish"),
                   keras.layers.Flatten()]
    elif len(input_shape) != 1:
        layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(512, activation="swish"),
               keras.layers.Dense(512, activation="swish"),
               keras.layers.Dense(num_classes)]
    return keras.Sequential(layers, name="oracle")


def copyable_encoders():
    """The encoder backbones `encoder_oracle` copies: the convolutional ones
    (`kmvae.layers.ConvEncoder`, `kmvae.layers.PolyMNISTEncoder`)."""
    from kmvae.layers.networks import ConvEncoder, PolyMNISTEncoder
    return (ConvEncoder, PolyMNISTEncoder)


def encoder_oracle(model, name, num_classes):
    """The classifier of modality `name` as MoPoE App. B builds it, "identical to the encoder
    except from the last layer": a freshly initialised copy of the modality's encoder backbone
    (a `copyable_encoders()` layer: `kmvae.layers.ConvEncoder`, e.g. FashionMNIST's, or
    `kmvae.layers.PolyMNISTEncoder`, PolyMNIST's) and a dense layer of `num_classes` logits
    instead of the Gaussian head. (For an MLP encoder, `default_oracle` is that already.) Its
    layers are named after the modality, so its configuration, which keys `train_oracle`'s
    cache, is the same in every process.

    Args:
        model: a `kmvae.models.MultimodalVAE`.
        name: a non-categorical modality whose encoder backbone is a `copyable_encoders()` one.
        num_classes: the number of classes.

    Returns:
        An uncompiled `keras.Sequential`, input `(batch,) + modality.shape`, output
        `(batch, num_classes)` logits, float32.

    Raises:
        ValueError: when the modality's encoder backbone is not one of `copyable_encoders()`.
    """
    index = model.modality_names.index(name)
    backbone = model.encoders[index].backbone
    if not isinstance(backbone, copyable_encoders()):
        names = " or ".join(c.__name__ for c in copyable_encoders())
        raise ValueError(f"encoder_oracle copies a {names}; modality {name!r} is encoded by "
                         f"{type(backbone).__name__}. Use default_oracle for it.")
    config = {**backbone.get_config(), "name": f"{name}_backbone", "dtype": "float32"}
    return keras.Sequential([keras.Input(model.modalities[index].shape, name=f"{name}_input"),
                             type(backbone).from_config(config),
                             keras.layers.Dense(num_classes, name=f"{name}_classes")],
                            name=f"{name}_oracle")


def data_loader(dataset, caller):
    """An oracle's training data as a function of no arguments (called only when the oracle is
    trained, not read from its cache): `dataset` itself if it is one, else a function
    returning `dataset`.

    Raises:
        ValueError: `dataset` is neither a `tf.data.Dataset` nor callable, naming `caller`.
    """
    if isinstance(dataset, tf.data.Dataset):
        return lambda: dataset
    if callable(dataset):
        return dataset
    raise ValueError(f"{caller}: expected a tf.data.Dataset or a function returning one; "
                     f"received {type(dataset).__name__} {dataset!r}. For a registered data "
                     f"set, use kmvae.datasets.oracle_training_data(name).")


def train_oracle(dataset, modality, model=None, *, name, label="label", epochs=5,
                 cache_dir=None, retrain=False, learning_rate=1e-3, verbose=0):
    """Trains (or loads from the cache) the classifier of `modality` used to judge coherence.

    Args:
        dataset: a `tf.data.Dataset` of batch dicts holding `modality` and `label`, or a
            function of no arguments returning one (called only when the oracle is trained,
            not when it is read from the cache); for a registered data set,
            `kmvae.datasets.oracle_training_data(name)` gives both the data and `name`.
        modality: the modality to classify, e.g. `"image"`.
        model: a Keras model mapping `(batch,) + shape` to `(batch, num_classes)` logits
            (default: `default_oracle`). It is compiled here.
        name: the data set's name in the cache key.
        label: the key of the integer class ids in the batches.
        epochs: training epochs (Adam, sparse cross-entropy).
        cache_dir: where oracles are kept (default `~/.kmvae/oracles`); the file is
            `<cache_dir>/<name>-<modality>-<architecture>.keras`, the architecture
            `"default"` or the given model's name plus a hash of its configuration.
        retrain: ignore a cached oracle and train anew.
        learning_rate, verbose: training settings.

    Returns:
        The trained Keras classifier (logits), with attribute `cache_path`.

    Raises:
        ValueError: `dataset` is not a `tf.data.Dataset` or a function returning one, or its
            batches lack `modality` or `label`.
    """
    load = data_loader(dataset, "train_oracle")
    if model is None:
        arch = "default"
    else:
        config = repr(model.get_config()).encode()
        arch = f"{model.name}-{hashlib.sha1(config).hexdigest()[:8]}"
    cache_dir = Path(os.path.expanduser(cache_dir or DEFAULT_CACHE))
    path = cache_dir / f"{name}-{modality}-{arch}.keras"
    if path.exists() and not retrain:
        oracle = keras.saving.load_model(path)
        oracle.cache_path = str(path)
        return oracle
    dataset = load()
    spec = dataset.element_spec
    for key in (modality, label):
        if key not in spec:
            raise ValueError(f"train_oracle({name!r}, {modality!r}): the batches hold "
                             f"{sorted(spec)}; expected {key!r} among them.")
    pairs = dataset.map(lambda b: (b[modality], b[label]))
    if model is None:
        num_classes = int(max(int(tf.reduce_max(y)) for _, y in pairs)) + 1
        model = default_oracle(tuple(spec[modality].shape[1:]), num_classes)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(pairs, epochs=int(epochs), verbose=verbose)
    cache_dir.mkdir(parents=True, exist_ok=True)
    model.save(path)
    model.cache_path = str(path)
    return model


def oracle_accuracy(oracle, dataset, modality, label="label"):
    """Test accuracy of an oracle on real data (its quality bounds the coherence measured)."""
    correct = total = 0
    for batch in dataset:
        predicted = np.argmax(oracle(batch[modality], training=False), axis=-1)
        correct += int(np.sum(predicted == np.asarray(batch[label])))
        total += len(predicted)
    return correct / max(total, 1)


def classify(model, oracles, name, values):
    """Class ids `(batch,)` of generated `values` of modality `name`: the argmax of the decoded
    class probabilities for a categorical modality, else `argmax oracles[name](values)`.

    Raises:
        ValueError: when a non-categorical modality has no oracle.
    """
    modality = model.modalities[model.modality_names.index(name)]
    if modality.is_categorical:
        return np.argmax(np.asarray(values), axis=-1)
    if name not in oracles:
        raise ValueError(f"No oracle for modality {name!r}; oracles are given for "
                         f"{sorted(oracles)}. Train one with kmvae.metrics.train_oracle.")
    return np.argmax(np.asarray(oracles[name](values, training=False)), axis=-1)


def coherence_score(predictions, labels=None):
    """The fraction of examples whose predicted classes are coherent.

    Args:
        predictions: dict name -> `(N,)` class ids predicted by the oracles.
        labels: `(N,)` true class ids (conditional coherence: every prediction must equal the
            label) or None (joint coherence: all predictions must agree with each other).

    Returns:
        float in [0, 1].
    """
    values = [np.asarray(p).reshape(-1) for p in predictions.values()]
    if not values:
        raise ValueError("coherence_score needs at least one modality's predictions.")
    reference = values[0] if labels is None else np.asarray(labels).reshape(-1)
    coherent = np.ones_like(reference, dtype=bool)
    for v in values:
        if v.shape != reference.shape:
            raise ValueError(f"Predictions of shape {v.shape} do not match {reference.shape}.")
        coherent &= v == reference
    return float(np.mean(coherent))


def conditional_coherence(model, dataset, oracles, label="label", sample=True,
                          max_examples=None):
    """Conditional coherence of every subset -> every other modality (MoPoE App. B, Figure 3).

    For each non-empty subset S of the modalities a posterior can be conditioned on
    (`model.conditioning_modalities`: all of them, MSNVI's sources) and each generated modality
    (`model.generated_modalities`) t outside S: generate
    t from `z ~ q(z | S)` (`sample=True`, as the papers; the posterior mean otherwise) through
    `model.translate`, classify it (`classify`), and count it coherent when the class equals the
    example's `label`.

    Args:
        model: a `kmvae.models.MultimodalVAE`.
        dataset: batches holding every modality and `label`.
        oracles: dict modality name -> Keras classifier (logits); categorical modalities need
            none.
        label: the key of the true class ids in the batches.
        sample: decode a posterior sample (True) or the posterior mean.
        max_examples: stop after this many examples.

    The posterior samples come from TensorFlow's global random state (`keras.utils.
    set_random_seed` makes them repeatable).

    Returns:
        dict with `"pairs"`: `"S->t"` -> coherence; `"subsets"`: `"S"` -> mean over its
        targets; `"by_size"`: `"k"` (str) -> mean over the subsets of size k. Floats in [0, 1].
    """
    names = model.modality_names
    outputs = model.generated_modalities
    subsets = [list(subset) for subset in model.conditioning_subsets()
               if any(n not in subset for n in outputs)]
    predictions = {}
    truth, seen = [], 0
    for batch in dataset:
        if max_examples is not None and seen >= max_examples:
            break
        keep = None if max_examples is None else max_examples - seen
        if label not in batch:
            raise ValueError(f"The batches hold {sorted(batch)}; conditional coherence needs the "
                             f"true classes under {label!r}.")
        truth.append(np.asarray(batch[label])[:keep])
        seen += len(truth[-1])
        inputs = {n: batch[n][:keep] for n in names if n in batch}
        for subset, generated in _generations(model, inputs, subsets, outputs, sample):
            for t, values in generated.items():
                predictions.setdefault(f"{subset_label(subset)}->{t}", []).append(
                    classify(model, oracles, t, values))
    truth = np.concatenate(truth)
    pairs = {key: coherence_score({"t": np.concatenate(p)}, truth)
             for key, p in predictions.items()}
    per_subset = {}
    for subset in subsets:
        key = subset_label(subset)
        per_subset[key] = float(np.mean([v for k, v in pairs.items()
                                         if k.split("->")[0] == key]))
    return {"pairs": pairs, "subsets": per_subset, "by_size": by_size(per_subset)}


def _generations(model, inputs, subsets, outputs, sample):
    """`(subset, {t: decoded mean of t})` for each subset, t the `outputs` outside it, as
    `model.translate` generates them; for a `MultimodalVAE` from one pass of the encoders
    (`subset_posteriors`)."""
    from kmvae.models.base import MultimodalVAE

    if not isinstance(model, MultimodalVAE):
        for subset in subsets:
            targets = [t for t in outputs if t not in subset]
            yield subset, model.translate({n: inputs[n] for n in subset}, targets=targets,
                                          sample=sample)
        return
    for subset, q in subset_posteriors(model, inputs, subsets):
        z = q.sample() if sample else q.mean()
        yield subset, {t: model.decoders[model.modality_names.index(t)].mean(z)
                       for t in outputs if t not in subset}


def joint_predictions(model, oracles, num_samples=1000, seed=0):
    """The oracles' classes of `num_samples` joint generations (`z ~ p(z)`, every modality
    decoded, `model.generate`): dict modality name -> `(num_samples,)` class ids."""
    generated = model.generate(int(num_samples), seed=seed)
    return {n: classify(model, oracles, n, v) for n, v in generated.items()}


def joint_coherence(model, oracles, num_samples=1000, seed=0):
    """Joint coherence (MoPoE App. B, MMVAE): the fraction of `num_samples` joint generations
    (`z ~ p(z)`, every modality decoded, `model.generate`) whose modalities all receive the same
    class from their oracles. Float in [0, 1]."""
    return coherence_score(joint_predictions(model, oracles, num_samples, seed))


def chance_agreement(predictions):
    """The joint coherence that `predictions` would have if each modality's classes were drawn
    independently of the others', with the frequencies each has in `predictions`:
    sum over classes c of the product over modalities m of the fraction of m's predictions
    that are c. A joint coherence near it says the modalities agree no more than by chance
    (oracles that favour a class on poor generations agree often without any shared
    content); for ten equally frequent classes and five modalities it is 1e-4.

    Args:
        predictions: dict name -> `(N,)` class ids (`joint_predictions`).

    Returns:
        float in [0, 1].

    Raises:
        ValueError: without predictions, or when their lengths differ.
    """
    values = [np.asarray(p).reshape(-1) for p in predictions.values()]
    if not values or len({len(v) for v in values}) != 1:
        lengths = {name: int(np.size(p)) for name, p in predictions.items()}
        raise ValueError(f"chance_agreement needs predictions of one length for at least one "
                         f"modality; got lengths {lengths}.")
    num_classes = 1 + max(int(v.max()) for v in values)
    frequencies = np.stack([np.bincount(v, minlength=num_classes) / len(v) for v in values])
    return float(np.sum(np.prod(frequencies, axis=0)))
