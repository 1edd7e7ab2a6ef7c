"""Reading images: one reader per source, each returning a :class:`Dataset`.

================================  =======================================
source                            reader
================================  =======================================
Fashion-MNIST (bundled sample,    :func:`load_fashion_mnist` (the pairs
full IDX set)                     ``(X, y)`` and the class names)
a folder of PNG/JPEG/BMP/GIF      :func:`load_image_folder`
files
a CSV file (Kaggle layouts)       :func:`load_csv`
an ``.npz`` file                  :func:`load_npz`
any of these, named by a string   :func:`load_dataset`
================================  =======================================

Every reader gives ``uint8`` images of shape ``(n, height, width,
channels)`` (channels last, as Keras convolutions expect), of any size, grey
(one channel) or RGB (three), plus, where the source has them, labels, the
classes with their display names, and an id per image. A :class:`Dataset`
unpacks as ``X, y``. Fashion-MNIST's clothing names belong to Fashion-MNIST
data only: labels elsewhere name themselves (the folder names of an image
folder, the label column of a CSV file) or are named by the file
(``class_names`` in an npz file).

Importing this package does not import Keras or TensorFlow; only a download
of the full Fashion-MNIST set does.

What lives here, and what it may import
---------------------------------------
One private module per source (``_fashion_mnist``, ``_folder``, ``_csv``,
``_npz``) sharing ``_dataset`` (the :class:`Dataset` and its checks), and
the public ``corruptions``
(:func:`~ensemble.datasets.corruptions.corrupt`: noisy, blurred, shifted and
occluded copies of images at five severities, to test how an ensemble's
uncertainty grows; loaded on first use, as it needs SciPy). They import
NumPy, SciPy, Pillow and ``members.utils``; nothing else of the project.

Examples
--------
>>> from ensemble.datasets import load_fashion_mnist
>>> (X_train, y_train), (X_test, y_test), class_names = load_fashion_mnist()
>>> X_train.shape, y_train.shape
((6000, 28, 28, 1), (6000,))
"""

from pathlib import Path

from ensemble.datasets._csv import load_csv, save_csv
from ensemble.datasets._dataset import (
    COLOR_MODES,
    Dataset,
    check_image_shape,
    check_image_size,
    format_shape,
)
from ensemble.datasets._fashion_mnist import (
    CLASS_NAMES,
    SUBSETS,
    DatasetNotFoundError,
    fashion_mnist_splits,
    full_set_locations,
    keras_cache_dir,
    load_fashion_mnist,
    read_idx,
)
from ensemble.datasets._folder import IMAGE_EXTENSIONS, load_image_folder
from ensemble.datasets._npz import load_npz, npz_splits, read_npz, split_from_arrays
from members.utils.lazy import lazy_attributes
from members.utils.paths import MissingFileError

#: Names loaded on first use: the corruptions need SciPy, which reading images does not.
__getattr__, __dir__, _lazy_names = lazy_attributes(
    __name__, {".corruptions": ("CORRUPTIONS", "SEVERITIES", "corrupt")})

__all__ = [
    "CLASS_NAMES",
    "COLOR_MODES",
    "CORRUPTIONS",
    "IMAGE_EXTENSIONS",
    "SEVERITIES",
    "Dataset",
    "DatasetNotFoundError",
    "corrupt",
    "format_shape",
    "full_set_locations",
    "keras_cache_dir",
    "load_csv",
    "load_dataset",
    "load_fashion_mnist",
    "load_image_folder",
    "load_npz",
    "read_idx",
    "save_csv",
]


def load_dataset(spec, *, image_size=None, color_mode="auto", image_shape=None,
                 label_column=None, id_column=None):
    """Load data named by one string, as a command line gives it.

    Parameters
    ----------
    spec : str or os.PathLike
        ``"sample"`` or ``"full"`` (Fashion-MNIST, see
        :func:`load_fashion_mnist`; ``"full"`` may download), a folder of
        images (:func:`load_image_folder`), or the path of a ``.csv`` file
        (:func:`load_csv`) or an ``.npz`` file (:func:`load_npz`).
    image_size, color_mode : optional
        For a folder: see :func:`load_image_folder`.
    image_shape : tuple of int, optional
        For a CSV or npz file of flat rows: see :func:`load_csv`.
    label_column, id_column : str, optional
        For a CSV file: see :func:`load_csv`.

    Returns
    -------
    splits : dict of str to Dataset
        ``"sample"``, ``"full"`` and an npz file with ``X_train``/``X_test``
        keys give ``{"train": ..., "test": ...}`` (an npz gives one entry per
        ``X_<split>`` key). A folder, a CSV file, or an npz with an ``X`` key
        gives ``{"data": ...}``. Each entry unpacks as ``(X, y)``.

    Raises
    ------
    ValueError
        If ``spec`` is none of these, or an option is given for a source it
        does not apply to.

    See Also
    --------
    load_fashion_mnist, load_image_folder, load_csv, load_npz : The readers it calls.

    Examples
    --------
    >>> from ensemble.datasets import load_dataset
    >>> splits = load_dataset("sample")
    >>> sorted(splits), splits["train"].image_shape
    (['test', 'train'], (28, 28, 1))
    """
    image_size = check_image_size(image_size)
    image_shape = check_image_shape(image_shape)
    path = None if isinstance(spec, str) and spec in SUBSETS else Path(spec)
    kind = ("fashion-mnist" if path is None else "folder" if path.is_dir()
            else path.suffix.lower())
    _check_options_apply(spec, kind, image_size=image_size, color_mode=color_mode,
                         image_shape=image_shape, label_column=label_column, id_column=id_column)
    if kind == "fashion-mnist":
        return fashion_mnist_splits(spec)
    if kind == "folder":
        return {"data": load_image_folder(path, image_size, color_mode)}
    if kind == ".csv":
        return {"data": load_csv(path, image_shape=image_shape, label_column=label_column,
                                 id_column=id_column)}
    if kind == ".npz":
        arrays = read_npz(path)
        splits = npz_splits(arrays)
        splits = [None] if "X" in arrays or not splits else splits
        return {
            split or "data": split_from_arrays(arrays, split, path, labels_required=False,
                                               image_shape=image_shape)
            for split in splits
        }
    if not path.exists() and not path.suffix:
        raise MissingFileError(f"No such folder or file: {path} (expected 'sample', 'full', a "
                               "folder of images, or a .csv or .npz file).")
    raise ValueError(
        f"spec must be 'sample', 'full', a folder of images, or a path ending in .csv or "
        f".npz; got {str(spec)!r}"
    )


#: Which options each kind of source takes.
_OPTIONS = {
    "folder": {"image_size", "color_mode"},
    ".csv": {"image_shape", "label_column", "id_column"},
    ".npz": {"image_shape"},
}


def _check_options_apply(spec, kind, **options):
    given = {name for name, value in options.items()
             if value is not None and not (name == "color_mode" and value == "auto")}
    unused = sorted(given - _OPTIONS.get(kind, set()))
    if unused and kind in ("fashion-mnist", "folder", ".csv", ".npz"):
        what = {"fashion-mnist": "Fashion-MNIST", "folder": "an image folder",
                ".csv": "a CSV file", ".npz": "an npz file"}[kind]
        raise ValueError(f"{', '.join(unused)} do{'es' if len(unused) == 1 else ''} not apply "
                         f"to {spec} ({what})")
