"""Clear errors for paths that should name a file to read and do not."""

from pathlib import Path


class MissingFileError(FileNotFoundError, ValueError):
    """A path that should name a file names nothing.

    Both a ``FileNotFoundError``, what Python code catches around ``open``,
    and a ``ValueError``, what scikit-learn users catch for bad input.
    """


class NotAFileError(IsADirectoryError, ValueError):
    """A path that should name a file names a directory (or another non-file).

    Both an ``IsADirectoryError`` and a ``ValueError``, like
    :class:`MissingFileError`.
    """


def require_file(path, what="file"):
    """``path`` as a Path, or a clear error when it is missing or not a regular file.

    Parameters
    ----------
    path : str or os.PathLike
    what : str
        What the file should be, for the message (e.g. "an .npz file").

    Returns
    -------
    pathlib.Path

    Raises
    ------
    MissingFileError, NotAFileError
    """
    path = Path(path)
    if path.is_dir():
        raise NotAFileError(f"{path} is a directory; expected {what}.")
    if not path.exists():
        raise MissingFileError(f"No such file: {path} (expected {what}; it does not exist).")
    if not path.is_file():
        raise NotAFileError(f"{path} is not a regular file; expected {what}.")
    return path
