"""Prediction files: Kaggle submissions and class probabilities, written and read back.

Two CSV layouts, both one row per image and an id first:

submission
    ``id,label``: the predicted class of each image. Kaggle names the
    columns per competition (``ImageId,Label`` for the Digit Recognizer),
    hence ``id_column`` and ``label_column``.
probabilities
    ``id[,label],<class>,<class>,...``: one probability column per class,
    named by the class as the training data spelled it (a folder name, a
    label such as ``7``), in the order of the model's ``classes_``. An
    optional label column carries the true class (out-of-fold files). This
    is the one wide layout that ``predict --proba`` writes and that
    blending reads.

Ids are integers or text, written as they are. Files are written atomically
(a reader never sees half a file) and, unless ``overwrite=True``, never
replace an existing file. This module imports no TensorFlow.
"""

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from members._files import atomic_write_bytes
from members._paths import require_file

__all__ = [
    "ProbabilityFile",
    "class_columns",
    "read_probabilities",
    "read_submission",
    "write_probabilities",
    "write_submission",
]

_INTEGER = re.compile(r"[+-]?[0-9]+")


def class_columns(classes):
    """Column names of the probability columns: each class as text (``7``, ``"cat"``)."""
    return [str(_plain(label)) for label in classes]


def write_submission(path, ids, labels, *, id_column="id", label_column="label",
                     overwrite=False):
    """Write ``id,label`` rows: a Kaggle submission.

    Parameters
    ----------
    path : str or os.PathLike
    ids : array-like of shape (n_samples,)
    labels : array-like of shape (n_samples,)
        The predicted classes.
    id_column, label_column : str, default="id", "label"
    overwrite : bool, default=False
        Replace an existing file (atomically); refused otherwise.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        ``ids`` and ``labels`` differ in length, or the column names clash.
    """
    ids, labels = _column(ids, "ids"), _column(labels, "labels")
    _check_lengths(ids, labels=labels)
    _check_distinct_names([id_column, label_column])
    _write(path, [id_column, label_column],
           ([_plain(i), _plain(label)] for i, label in zip(ids, labels)), overwrite)


def write_probabilities(path, ids, proba, classes, *, labels=None, id_column="id",
                        label_column="label", overwrite=False):
    """Write one probability column per class, after the id (and the true label, when given).

    Parameters
    ----------
    path : str or os.PathLike
    ids : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes)
        Column ``k`` is the probability of ``classes[k]``.
    classes : array-like of shape (n_classes,)
        Usually the model's ``classes_``; they name the columns.
    labels : array-like of shape (n_samples,), default=None
        True classes, written in a label column after the id (out-of-fold
        predictions); none when ``None``.
    id_column, label_column : str, default="id", "label"
    overwrite : bool, default=False

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        Shapes that disagree, or a class named like the id or label column.
    """
    ids = _column(ids, "ids")
    proba = np.asarray(proba, dtype=np.float64)
    columns = class_columns(classes)
    if proba.ndim != 2 or proba.shape[1] != len(columns):
        raise ValueError(f"proba must have shape (n_samples, {len(columns)}); got {proba.shape}")
    labels = None if labels is None else _column(labels, "labels")
    _check_lengths(ids, proba=proba, labels=labels)
    header = [id_column] + ([] if labels is None else [label_column]) + columns
    _check_distinct_names(header)
    rows = (
        [_plain(ids[row])] + ([] if labels is None else [_plain(labels[row])])
        + [repr(float(p)) for p in proba[row]]
        for row in range(len(ids))
    )
    _write(path, header, rows, overwrite)


@dataclass
class ProbabilityFile:
    """What :func:`read_probabilities` read.

    Attributes
    ----------
    ids : ndarray of shape (n_samples,)
        int64 when every id is an integer, else strings.
    classes : ndarray of shape (n_classes,)
        The class columns' names, int64 when every name is an integer (the
        labels of integer-labelled data), else strings.
    proba : ndarray of shape (n_samples, n_classes), float64
    labels : ndarray of shape (n_samples,) or None
        The label column, when the file has one.
    """

    ids: np.ndarray
    classes: np.ndarray
    proba: np.ndarray
    labels: np.ndarray | None = None


def read_probabilities(path, *, id_column="id", label_column="label"):
    """Read a file :func:`write_probabilities` wrote.

    Parameters
    ----------
    path : str or os.PathLike
    id_column : str, default="id"
        The id column's name; it must be the first column.
    label_column : str, default="label"
        The label column's name, when the file has one (right after the id).

    Returns
    -------
    ProbabilityFile

    Raises
    ------
    ValueError
        Naming the file (and the line): no id column first, no class
        columns, repeated columns or ids, a cell that is not a number, a
        probability outside [0, 1], a row of another length.
    FileNotFoundError
        If the file does not exist.
    """
    header, rows = _read(path)
    if not header or header[0] != id_column:
        raise ValueError(f"{path}: the first column must be the id column {id_column!r}; "
                         f"found {header[:1]}")
    has_labels = len(header) > 1 and header[1] == label_column
    columns = header[2:] if has_labels else header[1:]
    if not columns:
        raise ValueError(f"{path} has no class columns after {', '.join(header)!r}")
    if len(set(header)) != len(header):
        raise ValueError(f"{path} repeats a column name: {header}")
    first = 2 if has_labels else 1
    try:
        proba = np.array([[float(cell) for cell in row[first:]] for row in rows], dtype=np.float64)
    except ValueError as error:
        line = next(i for i, row in enumerate(rows, 2) if not _all_floats(row[first:]))
        raise ValueError(f"{path}, line {line}: a probability is not a number ({error})") from None
    proba = proba.reshape(len(rows), len(columns))
    bad = ~np.isfinite(proba) | (proba < 0) | (proba > 1)
    if bad.any():
        row, column = np.unravel_index(np.argmax(bad), bad.shape)
        raise ValueError(f"{path}, line {row + 2}, column {columns[column]!r}: "
                         f"{proba[row, column].item()!r} is not a probability in [0, 1]")
    ids = _typed([row[0] for row in rows])
    if len(np.unique(ids)) != len(ids):
        raise ValueError(f"{path}: the ids in column {id_column!r} repeat")
    labels = _typed([row[1] for row in rows]) if has_labels else None
    return ProbabilityFile(ids=ids, classes=_typed(columns), proba=proba, labels=labels)


def read_submission(path, *, id_column="id", label_column="label"):
    """Read ``id,label`` rows: ``(ids, labels)``, each int64 when all integers, else strings."""
    header, rows = _read(path)
    if header != [id_column, label_column]:
        raise ValueError(f"{path}: expected the columns {[id_column, label_column]}; "
                         f"found {header}")
    return _typed([row[0] for row in rows]), _typed([row[1] for row in rows])


# --------------------------------------------------------------------- helpers
def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _column(values, name):
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional; got shape {values.shape}")
    return values


def _check_lengths(ids, **others):
    for name, values in others.items():
        if values is not None and len(values) != len(ids):
            raise ValueError(f"{name} has {len(values)} rows for {len(ids)} ids")


def _check_distinct_names(header):
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValueError(
            f"the column name(s) {', '.join(map(repr, repeated))} would appear twice: a class "
            "is named like the id or label column; choose another id_column or label_column"
        )


def _write(path, header, rows, overwrite):
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_bytes(Path(path), text.getvalue().encode(), overwrite=overwrite)


def _read(path):
    path = require_file(path, "a CSV file of predictions")
    with open(path, encoding="utf-8-sig", newline="") as file:
        rows = [row for row in csv.reader(file) if row]
    if not rows:
        raise ValueError(f"{path} is empty; expected a header row")
    header, body = [cell.strip() for cell in rows[0]], rows[1:]
    for line, row in enumerate(body, 2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: found {len(row)} cells; the header has "
                             f"{len(header)} columns")
    return header, body


def _all_floats(cells):
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return False
    return True


def _typed(cells):
    """int64 when every cell is an integer, else the strings."""
    cells = [cell.strip() for cell in cells]
    if cells and all(_INTEGER.fullmatch(cell) for cell in cells):
        return np.array([int(cell) for cell in cells], dtype=np.int64)
    return np.array(cells, dtype=str)
