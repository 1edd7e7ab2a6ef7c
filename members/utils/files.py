"""Files written so that a crash never leaves a half-written one, and Keras models as bytes."""

import contextlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path, mode="wb", *, overwrite=True, **open_kwargs):
    """Open a temporary file beside ``path``; on success, rename it to ``path``.

    The one way this project writes a file that a user keeps: ``os.replace``
    is atomic on POSIX and Windows when source and target are on the same
    file system, hence the temporary file in the target's folder. Readers
    see the old content or the new one, never a mix, and a crash (or an
    exception inside the ``with`` block) leaves no half-written file. The new
    file gets the permissions the old one had, else the umask's usual ones
    (not the temporary file's owner-only 0600), and the rename is made
    durable with an fsync of the folder.

    Parameters
    ----------
    path : str or os.PathLike
    mode : {"wb", "w"}, default="wb"
        Binary or text, as for :func:`open`.
    overwrite : bool, default=True
        When False, an existing file at ``path`` -- even one that appeared
        while the data was being written -- is never replaced.
    **open_kwargs
        Passed to :func:`os.fdopen` (``encoding``, ``newline``).

    Yields
    ------
    file object

    Raises
    ------
    FileExistsError
        ``overwrite=False`` and ``path`` exists.
    IsADirectoryError, FileNotFoundError
        ``path`` is a folder, or its folder does not exist.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; expected a file path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: directory {path.parent} does not exist")
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, mode, **open_kwargs) as temp_file:
            yield temp_file
            temp_file.flush()
            os.fsync(temp_file.fileno())
        set_new_file_mode(temp_name, path)
        if overwrite:
            os.replace(temp_name, path)
        else:
            rename_no_clobber(temp_name, path)
        fsync_folder(path.parent)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path, data, *, overwrite=True):
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`).

    Parameters
    ----------
    path : str or os.PathLike
    data : bytes
    overwrite : bool, default=True
        When False, an existing file at ``path`` is never replaced.

    Raises
    ------
    FileExistsError
        ``overwrite=False`` and ``path`` exists.
    """
    with atomic_write(path, overwrite=overwrite) as file:
        file.write(data)


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


def atomic_write_folder(path, write, *, overwrite=False):
    """Build a folder under a temporary name beside ``path``, then rename it to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The folder to create; its parent must exist.
    write : callable
        ``write(folder)`` creates ``folder`` (a path that does not exist yet)
        and fills it. If it raises, nothing is left behind and whatever was
        at ``path`` is untouched.
    overwrite : bool, default=False
        Replace an existing ``path``: it is moved aside first and put back
        if anything stops the rename, so it is never lost half-way (between
        the two renames ``path`` is briefly absent). The files ``write``
        makes are not fsynced one by one; the folder's rename is.

    Raises
    ------
    FileExistsError
        ``overwrite=False`` and ``path`` exists.
    """
    path = Path(path)
    _refuse_existing(path, overwrite)
    temp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    old = temp / "old"
    try:
        write(temp / "new")
        _refuse_existing(path, overwrite)  # something may have appeared while writing
        if os.path.lexists(path):
            os.replace(path, old)
        os.replace(temp / "new", path)
        fsync_folder(path.parent)
    finally:
        # Whatever stopped us (an error, Ctrl-C), the old folder goes back if nothing
        # took its place: it is never lost with the temporary one.
        if os.path.lexists(old) and not os.path.lexists(path):
            os.replace(old, path)
        shutil.rmtree(temp, ignore_errors=True)


def _refuse_existing(path, overwrite):
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{str(path)!r} already exists; pass overwrite=True to replace it.")


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
