"""SavedModel export for TensorFlow Serving."""

import os
import re
import shutil
import uuid

import keras
import tensorflow as tf

from kmvae.models.base import MultimodalVAE

# TensorFlow's rule for graph node names: a SignatureDef input named otherwise is renamed or
# rejected when the SavedModel is written.
_NODE_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")
_RESERVED_OUTPUTS = ("loc", "scale", "z")


def export_saved_model(model, path, *, overwrite=False, verbose=False):
    """Writes `model` as a SavedModel for TF Serving (float32 outputs under any dtype policy).

    Signatures (`B` the batch, `M` the number of modalities, `D` = `latent_dim`):

    - `serving_default`: inputs named after the modalities, `(B,) + shape` float32 (int32 class
      ids for categorical), and `mask` `(B, M)` bool in `model.modality_names` order; every
      input is required: send anything (zeros) for a missing modality and False in its mask
      column. Outputs `loc`, `scale` `(B, D)`, the fused posterior's mean and standard
      deviation, and per modality its decoded mean at `z = loc` (Bernoulli probabilities,
      locations, or class probabilities `(B,) + shape + (num_classes,)`), as `model.call`.
      A row with no modality present, NaN / infinite values or a class id out of range in a
      present entry fail the request with an InvalidArgumentError naming the rows.
    - `encode`: the same inputs; outputs `loc`, `scale`.
    - `generate`: inputs `num_samples`, `seed`, int32 scalars; outputs `z` `(num_samples, D)`,
      drawn from the model's prior (N(0, I) noise from `tf.random.stateless_normal` with seed
      `[seed, 0]`, mapped by `model.prior_from_standard_normal`) (same seed, same
      samples), and per modality its decoded mean at `z`.

    TF Serving REST request (columnar "inputs" format), for modalities `image` and `label`:

        POST /v1/models/NAME:predict
        {"signature_name": "serving_default",
         "inputs": {"image": [[0.0, ...]], "label": [3], "mask": [[true, true]]}}

    Args:
        model: a `kmvae.models.MultimodalVAE`.
        path: the directory to write (a local path, e.g. `saved_models/NAME/1`).
        overwrite: replace a previous SavedModel at `path`. The new export is written next to
            it first, so a failed export leaves the previous one in place.
        verbose: print the endpoints.

    Returns:
        `path`, as a string.

    Raises:
        TypeError: if `model` is not a `kmvae.models.MultimodalVAE`.
        ValueError: if a modality name cannot name a signature input (TensorFlow node names:
            letters, digits and `._-/>`, not starting with `_`, `-`, `/` or `>`) or is one of the
            output names `loc`, `scale`, `z`.
        FileExistsError: if `path` is a file or a non-empty directory, unless `overwrite` is
            True and it holds a SavedModel (`saved_model.pb`); never anything else is deleted.
    """
    if not isinstance(model, MultimodalVAE):
        raise TypeError(f"export_saved_model needs a kmvae.models.MultimodalVAE (e.g. kmvae.MVAE); "
                        f"received {type(model).__name__}.")
    for name in model.modality_names:
        if not _NODE_NAME.match(name):
            raise ValueError(f"Modality name {name!r} cannot name a SavedModel signature input: "
                             f"use letters, digits and '._-/>' (not starting with '_', '-', '/' "
                             f"or '>').")
        if name in _RESERVED_OUTPUTS:
            raise ValueError(f"Modality name {name!r} clashes with the signature outputs "
                             f"{_RESERVED_OUTPUTS}; rename the modality to export the model.")
    path = os.fspath(path)
    replace = _check_destination(path, overwrite)
    archive = _archive(model)
    if not replace:
        archive.write_out(path, verbose=verbose)
        return path
    # Write beside the previous export, then swap: it is deleted only once the new one is in
    # place (a staging name, not tempfile.mkdtemp, whose 0700 mode a server could not read).
    parent, base = os.path.split(os.path.abspath(path))
    staging = os.path.join(parent, f".{base}.export-{uuid.uuid4().hex}")
    backup = staging + ".previous"
    try:
        archive.write_out(staging, verbose=verbose)
        os.rename(path, backup)
        try:
            os.rename(staging, path)
        except BaseException:
            os.rename(backup, path)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(backup, ignore_errors=True)
    return path


def _check_destination(path, overwrite):
    """Returns whether `path` holds a previous export to replace; raises if it must not be
    written."""
    if not os.path.lexists(path):
        return False
    if os.path.isdir(path) and not os.listdir(path):
        return False
    is_saved_model = os.path.isdir(path) and os.path.isfile(os.path.join(path, "saved_model.pb"))
    if overwrite and is_saved_model:
        return True
    if not os.path.isdir(path):
        raise FileExistsError(f"Cannot export to {path!r}: it is a file.")
    if overwrite:
        raise FileExistsError(f"Cannot export to {path!r}: the directory is not empty and holds no "
                              f"SavedModel (saved_model.pb), so overwrite=True does not replace "
                              f"it. Choose another path.")
    raise FileExistsError(f"Cannot export to {path!r}: the directory is not empty. Choose a new "
                          f"path (e.g. the next version number) or pass overwrite=True to replace "
                          f"the SavedModel there.")


def _archive(model):
    """The `keras.export.ExportArchive` with the three endpoints."""
    names = model.modality_names
    batch_specs = [tf.TensorSpec((None,) + m.shape, m.dtype, name=m.name)
                   for m in model.modalities]
    batch_specs.append(tf.TensorSpec((None, model.num_modalities), tf.bool, name="mask"))

    # Flat positional arguments whose TensorSpec names become the SignatureDef input names
    # (modality names need not be Python identifiers).
    # model.check_batch asserts on the values (this graph is not XLA-compiled, so asserts run):
    # a row with no modality, NaN in a present entry or a class id out of range is an error
    # (HTTP 400 from TF Serving), never a silent answer.
    def batch(args):
        return model.check_batch(dict(zip(names + ("mask",), args)))

    def serve(*args):
        return _float32(model(batch(args), training=False))

    def encode(*args):
        q = model.encode(batch(args))
        return _float32({"loc": q.mean(), "scale": q.stddev()})

    def generate(num_samples, seed):
        noise = tf.random.stateless_normal(tf.stack([num_samples, model.latent_dim]),
                                           seed=tf.stack([seed, tf.constant(0, tf.int32)]))
        z = model.prior_from_standard_normal(noise)
        return _float32({"z": z, **model.decoded_means(z)})

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serve, input_signature=batch_specs)
    archive.add_endpoint("encode", encode, input_signature=batch_specs)
    archive.add_endpoint("generate", generate, input_signature=[
        tf.TensorSpec((), tf.int32, name="num_samples"), tf.TensorSpec((), tf.int32, name="seed")])
    return archive


def _float32(outputs):
    return {name: tf.cast(value, tf.float32) for name, value in outputs.items()}


def export_run(run, out="."):
    """Exports a trained run (`kmvae export`) as the next SavedModel version:
    `<out>/saved_models/<recipe>/<n>/`, n one above the highest there (earlier versions stay).

    Args:
        run: a run directory holding `model.keras`, or a recipe name (its newest trained run
            under `<out>/runs/<recipe>/`).
        out: where `runs/` is read (for a recipe name) and `saved_models/` written.

    Returns:
        The SavedModel's path, as a string.

    Raises:
        RunNotFoundError (a FileNotFoundError): no such run (`kmvae.evaluate.resolve_run`).
    """
    from pathlib import Path

    from kmvae.evaluate import resolve_run
    from kmvae.train import next_version

    run_dir, name = resolve_run(run, out)
    model = keras.saving.load_model(Path(run_dir) / "model.keras")
    export_dir = Path(out) / "saved_models" / name
    return export_saved_model(model, str(export_dir / str(next_version(export_dir))))
