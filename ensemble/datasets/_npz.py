"""``.npz`` files: images of any size and channel count, labels, class names and ids."""

import zipfile
import zlib
from pathlib import Path

import numpy as np

from ensemble.datasets._dataset import (
    as_class_names,
    as_images,
    as_labels,
    check_image_shape,
    labelled,
)
from members.utils.paths import require_file


def load_npz(path, split=None, *, image_shape=None):
    """Read images, and labels, class names and ids when present, from an ``.npz`` file.

    Parameters
    ----------
    path : str or os.PathLike
        An archive written by ``np.savez`` or ``np.savez_compressed``.
    split : str, default=None
        ``None`` reads the keys ``X``, ``y`` and ``ids``. A name such as
        ``"train"`` reads ``X_train``, ``y_train`` and ``ids_train``, the
        layout of the bundled sample.
    image_shape : tuple of int, default=None
        ``(height, width[, channels])`` of flat rows ``(n, pixels)``;
        without it flat rows must be square grey images. Images stored with
        their shape must have this one.

    Returns
    -------
    Dataset
        Unpacks as ``X, y``. ``X``: uint8 of shape (n, height, width,
        channels), stored as (n, pixels), (n, height, width) (grey) or (n,
        height, width, channels), in any integer or float dtype whose values
        are integers 0..255. ``y``: the labels (integers or strings), or
        ``None`` without a ``y`` key. An optional ``class_names`` array of
        strings names the integer labels: label ``k`` is ``class_names[k]``
        (the layout of ``keras.utils.image_dataset_from_directory``).

    Raises
    ------
    ValueError
        If the file is not a readable npz archive (corrupt, truncated, or
        holding pickled objects), lacks the ``X`` key (the message lists the
        keys found), or holds values that are not pixels or labels.
    FileNotFoundError
        If the file does not exist.

    See Also
    --------
    load_dataset : Load an npz file, a folder or a CSV file by name.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.datasets import load_npz
    >>> np.savez("data.npz", X=np.zeros((2, 8, 8), dtype=np.uint8), y=np.array([0, 1]))
    >>> X, y = load_npz("data.npz")
    >>> X.shape, y
    ((2, 8, 8, 1), array([0, 1]))
    """
    path = Path(path)
    return split_from_arrays(read_npz(path), split, path, labels_required=False,
                             image_shape=check_image_shape(image_shape))


def read_npz(path):
    """Read every array of an npz archive into a dict, eagerly.

    Reading eagerly turns a damaged member into an error here, with the file
    name, instead of a zlib traceback wherever the array is first used.
    """
    path = require_file(path, "an .npz file")
    with open(path, "rb") as f:
        signature = f.read(4)
    # np.load would read anything else as a pickle or a single .npy array.
    if signature[:2] != b"PK":
        raise ValueError(f"{path} is not an .npz (zip) archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{path} is not a readable .npz archive: {exc}") from exc


def split_from_arrays(arrays, split, path, *, labels_required, image_shape=None):
    """One split of an npz file's arrays as a :class:`Dataset`."""
    suffix = "" if split is None else f"_{split}"
    x_key, y_key, ids_key = f"X{suffix}", f"y{suffix}", f"ids{suffix}"
    found = ", ".join(map(repr, sorted(arrays))) or "none"
    if x_key not in arrays or (labels_required and y_key not in arrays):
        wanted = [x_key, y_key] if labels_required else [x_key]
        hint = ""
        splits = npz_splits(arrays)
        if split is None and splits:
            hint = f"; it holds splits {', '.join(map(repr, splits))}, choose one with split="
        raise ValueError(
            f"{path} lacks key(s) {', '.join(map(repr, wanted))}; found keys: {found}{hint}"
        )
    X = as_images(arrays[x_key], f"{path}[{x_key!r}]", image_shape)
    y = None
    if y_key in arrays:
        y = as_labels(arrays[y_key], f"{path}[{y_key!r}]", len(X))
    ids = None
    if ids_key in arrays:
        ids = as_labels(arrays[ids_key], f"{path}[{ids_key!r}]", len(X))
    classes = class_names = None
    if "class_names" in arrays:
        classes, class_names = as_class_names(arrays["class_names"], f"{path}['class_names']", y)
    return labelled(X, y, path, ids=ids, classes=classes, class_names=class_names)


def npz_splits(arrays):
    """Split names of the ``X_<split>`` keys, 'train' and 'test' first."""
    names = [key[2:] for key in arrays if key.startswith("X_") and len(key) > 2]
    order = {"train": 0, "test": 1}
    return sorted(names, key=lambda name: (order.get(name, 2), name))
