"""Files written so that a crash never leaves a half-written one, and Keras models as bytes."""

import json
import os
import stat
import tempfile
from pathlib import Path


def atomic_write_bytes(path, data, *, overwrite=True):
    """Write ``data`` to ``path`` through a temporary file and a rename.

    ``os.replace`` is atomic on POSIX and Windows when source and target are
    on the same file system, hence the temporary file in the target's folder:
    readers see the old content or the new one, never a mix. The new file
    gets the permissions the old one had, else the umask's usual ones (not
    the temporary file's owner-only 0600).

    Parameters
    ----------
    path : str or os.PathLike
    data : bytes
    overwrite : bool, default=True
        When False, an existing file at ``path`` -- even one that appeared
        while ``data`` was being written -- is never replaced.

    Raises
    ------
    FileExistsError
        ``overwrite=False`` and ``path`` exists.
    """
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        set_new_file_mode(temp_name, path)
        if overwrite:
            os.replace(temp_name, path)
        else:
            rename_no_clobber(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def rename_no_clobber(temp_name, path):
    """Move the temporary file to ``path`` unless something appeared there meanwhile."""
    try:
        os.link(temp_name, path)  # fails with FileExistsError, atomically
    except FileExistsError:
        raise FileExistsError(
            f"{str(path)!r} already exists; pass overwrite=True to replace it."
        ) from None
    except OSError:
        # A file system without hard links: check, then rename.
        if os.path.lexists(path):
            raise FileExistsError(
                f"{str(path)!r} already exists; pass overwrite=True to replace it."
            ) from None
        os.replace(temp_name, path)
        return
    os.unlink(temp_name)


def set_new_file_mode(temp_name, path):
    """Give the new file the old one's permissions, else the usual umask ones."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = _umask()
        if umask is None:
            return  # mkstemp's 0600
        mode = 0o666 & ~umask
    os.chmod(temp_name, mode)


def _umask():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def fsync_folder(folder):
    """Make a rename in ``folder`` durable (a no-op where folders can't be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows can't open folders; its renames are durable enough.
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


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
