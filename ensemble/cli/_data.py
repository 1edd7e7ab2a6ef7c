"""Data for the subcommands: ``--data`` resolved to labelled or unlabelled splits."""

from pathlib import Path

import numpy as np

from .._quiet import import_keras_quietly
from ..datasets import CLASS_NAMES, load_dataset
from ._options import CliError


def load_split(spec, *, split, labels_required, n_rows=None):
    """One split of ``--data``, as ``(name, X, y)``.

    Parameters
    ----------
    spec : str
        ``--data``: ``"sample"``, ``"full"`` or a ``.csv`` / ``.npz`` path.
    split : {"train", "test"}
        Which split of a two-split source (the sample, the full set, an npz
        with ``X_train``/``X_test``); a one-split file is used whole.
    labels_required : bool
        Refuse a file without labels (training, evaluation).
    n_rows : int, default=None
        Keep only the first ``n_rows`` rows.
    """
    return pick_split(load_data(spec), spec, split=split, labels_required=labels_required,
                      n_rows=n_rows)


def load_data(spec):
    """:func:`~ensemble.datasets.load_dataset`, with Keras imported quietly first for ``full``
    (its last resort is a download through Keras)."""
    if spec == "full":
        import_keras_quietly()
    return load_dataset(spec)


def pick_split(splits, spec, *, split, labels_required, n_rows=None):
    """:func:`load_split` on the already loaded ``splits`` of :func:`~ensemble.datasets.load_dataset`."""
    if split in splits:
        name = split
    elif len(splits) == 1:
        name = next(iter(splits))
    else:
        raise CliError(f"{spec} has the splits {sorted(splits)} but no {split!r} split")
    X, y = splits[name]
    if labels_required and y is None:
        raise CliError(f"{spec} has no labels (no 'label' column or 'y' array); "
                       "this command needs labelled data")
    if len(X) == 0:
        raise CliError(f"{spec} holds no images")
    if n_rows is not None:
        if n_rows > len(X):
            raise CliError(f"--n-train {n_rows} is more than the {len(X)} rows of {spec}")
        X, y = X[:n_rows], None if y is None else y[:n_rows]
    return name, X, y


def require_file(path, what="model"):
    """Refuse early, before TensorFlow is imported, a path that is not a file."""
    path = Path(path)
    if not path.exists():
        raise CliError(f"{what} file {path} does not exist")
    if not path.is_file():
        raise CliError(f"{what} path {path} is not a file")
    return path


def class_names_for(classes):
    """Fashion-MNIST's names when the classes are its labels 0..9, else the labels."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "iu" and classes.min() >= 0 and classes.max() < len(CLASS_NAMES):
        return [CLASS_NAMES[int(label)] for label in classes]
    return [str(label) for label in classes]
