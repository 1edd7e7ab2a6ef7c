"""Writing an exported model: a ``.keras`` file, a TensorFlow SavedModel, or a TFLite file."""

import os
import tempfile
from pathlib import Path

from ensemble.export.graph import to_keras
from members.utils.files import atomic_write_bytes, atomic_write_folder, keras_model_to_bytes

#: What :func:`export` writes: ``keras`` (one ``.keras`` file, loaded with Keras in
#: safe mode once ``ensemble.export.layers`` is imported), ``savedmodel`` (a folder
#: TensorFlow alone serves and loads) and ``tflite`` (one file for TensorFlow Lite).
FORMATS = ("keras", "savedmodel", "tflite")


def export(estimator, path, *, format="keras", overwrite=False, flat_input=False):
    """Write a fitted ensemble or member as one model that needs no scikit-learn.

    Parameters
    ----------
    estimator : fitted ensemble or member
        What :func:`~ensemble.export.graph.to_keras` takes.
    path : str or os.PathLike
        A file for ``"keras"`` (ending in ``.keras``) and ``"tflite"``, a
        folder for ``"savedmodel"``; its parent folder must exist.
    format : {"keras", "savedmodel", "tflite"}, default="keras"
    overwrite : bool, default=False
        Replace what is at ``path``; otherwise an existing ``path`` is an
        error and nothing is written.
    flat_input : bool, default=False
        The model takes flat rows of pixels instead of images (see
        :func:`~ensemble.export.graph.to_keras`).

    Returns
    -------
    pathlib.Path
        ``path``. Written through a temporary name and renamed, so that an
        error never leaves half an export behind.

    Raises
    ------
    ValueError
        Unknown ``format``, a ``.keras`` path without that ending, or a
        model the TFLite converter cannot convert (its message says why).
    FileExistsError
        ``path`` exists and ``overwrite`` is False.

    Notes
    -----
    A SavedModel serves one function, ``serve``, taking a float32 batch of
    images (or of flat rows, with ``flat_input``):
    ``tf.saved_model.load(path).serve(images)``.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}.")
    path = Path(path)
    if format == "keras" and path.suffix != ".keras":
        raise ValueError(f"A Keras export is a .keras file, got {str(path)!r}.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} already exists; pass overwrite=True to replace it.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"The folder of {str(path)!r} does not exist.")
    model = to_keras(estimator, flat_input=flat_input)
    if format == "keras":
        atomic_write_bytes(path, keras_model_to_bytes(model), overwrite=overwrite)
    elif format == "savedmodel":
        _write_saved_model(model, path, overwrite)
    else:
        atomic_write_bytes(path, _tflite_bytes(model), overwrite=overwrite)
    return path


def _write_saved_model(model, path, overwrite):
    atomic_write_folder(
        path, lambda folder: model.export(str(folder), format="tf_saved_model", verbose=False),
        overwrite=overwrite)


def _tflite_bytes(model):
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        model.export(os.path.join(folder, "model"), format="tf_saved_model", verbose=False)
        try:
            return tf.lite.TFLiteConverter.from_saved_model(
                os.path.join(folder, "model")).convert()
        except Exception as error:  # the converter raises many kinds; say which, in one line
            message = " ".join(str(error).split())[:300]
            raise ValueError(f"The TFLite converter cannot convert this model: "
                             f"{type(error).__name__}: {message}") from None
