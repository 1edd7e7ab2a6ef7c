"""Files written so that a crash never leaves a half-written one, and Keras models as bytes."""

import json
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file and a rename.

    ``os.replace`` is atomic on POSIX and Windows when source and target are
    on the same file system, hence the temporary file in the target's folder:
    readers see the old content or the new one, never a mix.

    Parameters
    ----------
    path : str or os.PathLike
    data : bytes
    """
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def atomic_write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def keras_model_to_bytes(model):
    """Serialise a Keras model through the ``.keras`` zip format."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with open(path, "rb") as file:
            return file.read()


def keras_model_from_bytes(data):
    """Inverse of :func:`keras_model_to_bytes`; ``safe_mode`` refuses arbitrary code."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        with open(path, "wb") as file:
            file.write(data)
        import keras  # here, so that the atomic writers don't pull in TensorFlow

        return keras.saving.load_model(path, safe_mode=True)
