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

Reading checks every probability: finite, in [0, 1], and each row summing
to one within :data:`SUM_TOLERANCE`. Rows further off are refused rather
than renormalised: a row summing to 0.7 is not rounding but a missing class
column, logits, or one-vs-rest scores, and blending it would hide that.
Rows within the tolerance (float32 softmax, probabilities written with a few
decimals) are kept as they are; whoever averages or scores them renormalises.

Probabilities made elsewhere may also come as NumPy files (:func:`read_predictions`):
``.npy`` holds the ``(n_samples, n_classes)`` array alone; ``.npz`` holds
``proba`` and optionally ``ids``, ``classes`` and ``labels``.

This module defines the layouts and checks them; turning a file into cells
and arrays is the private ``_parsing`` module's job (pandas' C parser where
a file reads cleanly, Python's ``csv`` with line numbers where it does not).
"""

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ensemble.prediction_files._parsing import (
    careful_columns,
    fast_columns,
    numpy_arrays,
    read_header,
    read_rows,
    typed,
)
from members.utils.files import atomic_write_bytes
from members.utils.paths import require_file

__all__ = [
    "SUM_TOLERANCE",
    "ProbabilityFile",
    "class_columns",
    "read_labels",
    "read_predictions",
    "read_probabilities",
    "read_submission",
    "write_probabilities",
    "write_submission",
]

#: How far a row of probabilities may sum from one (rounding in files) before it is refused.
SUM_TOLERANCE = 0.01


def class_columns(classes):
    """Column names of the probability columns: each class as text (``7``, ``"cat"``).

    Parameters
    ----------
    classes : array-like of shape (n_classes,)
        A fitted model's ``classes_``.

    Returns
    -------
    list of str
        One column name per class, in the order of ``classes``.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.prediction_files.files import class_columns
    >>> class_columns(np.array([0, 7]))
    ['0', '7']
    """
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

    See Also
    --------
    read_submission : Read such a file back.
    write_probabilities : Write probabilities instead of labels.

    Examples
    --------
    >>> from pathlib import Path
    >>> from ensemble.prediction_files.files import write_submission
    >>> write_submission("submission.csv", [1, 2], ["cat", "dog"])
    >>> print(Path("submission.csv").read_text())
    id,label
    1,cat
    2,dog
    <BLANKLINE>
    """
    ids, labels = _column(ids, "ids"), _column(labels, "labels")
    _check_lengths(ids, labels=labels)
    _check_distinct_names([id_column, label_column])
    _write(path, [id_column, label_column],
           ([_plain(i), _plain(label)] for i, label in zip(ids, labels, strict=True)), overwrite)


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

    See Also
    --------
    read_probabilities : Read such a file back.
    read_predictions : Read it, or an ``.npy``/``.npz`` file, for blending.

    Examples
    --------
    >>> from pathlib import Path
    >>> from ensemble.prediction_files.files import write_probabilities
    >>> write_probabilities("oof.csv", [1, 2], [[0.9, 0.1], [0.2, 0.8]], ["cat", "dog"],
    ...                     labels=["cat", "dog"])
    >>> print(Path("oof.csv").read_text())
    id,label,cat,dog
    1,cat,0.9,0.1
    2,dog,0.2,0.8
    <BLANKLINE>
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
    """What :func:`read_probabilities` or :func:`read_predictions` read.

    Parameters
    ----------
    ids : ndarray of shape (n_samples,) or None
        int64 when every id is an integer, else strings; ``None`` for a
        ``.npy`` file (or an ``.npz`` file without ``ids``).
    classes : ndarray of shape (n_classes,) or None
        The class columns' names, int64 when every name is an integer (the
        labels of integer-labelled data), else strings; ``None`` when the
        file does not name them (``.npy``).
    proba : ndarray of shape (n_samples, n_classes), float64
    labels : ndarray of shape (n_samples,) or None, default=None
        The label column, when the file has one.
    id_column : str or None, default=None
        The name of the id column (the first column of a CSV file).

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.prediction_files.files import ProbabilityFile
    >>> ProbabilityFile(ids=None, classes=None, proba=np.array([[0.5, 0.5]])).proba.shape
    (1, 2)
    """

    ids: np.ndarray | None
    classes: np.ndarray | None
    proba: np.ndarray
    labels: np.ndarray | None = None
    id_column: str | None = None


def read_probabilities(path, *, id_column="id", label_column="label", check=True):
    """Read a file :func:`write_probabilities` wrote.

    Parameters
    ----------
    path : str or os.PathLike
    id_column : str or None, default="id"
        The id column's name; it must be the first column. ``None`` takes
        the first column as the ids whatever its name (``ImageId``, ``row``).
    label_column : str or tuple of str, default="label"
        The label column's name (or names), when the file has one (right
        after the id).
    check : bool, default=True
        Check the probabilities (:func:`check_probabilities`); False leaves
        that to the caller, e.g. after checking the class columns, whose
        absence is the likelier cause of rows not summing to one.

    Returns
    -------
    ProbabilityFile

    Raises
    ------
    ValueError
        Naming the file (and the line): no id column first, no class
        columns, repeated columns or ids, a cell that is not a number, a
        probability outside [0, 1], a row that does not sum to one (within
        :data:`SUM_TOLERANCE`), a row of another length.
    FileNotFoundError
        If the file does not exist.

    See Also
    --------
    write_probabilities : Write such a file.
    read_predictions : Read a file of any of the layouts, CSV or ``.npy``.

    Examples
    --------
    >>> from ensemble.prediction_files.files import read_probabilities, write_probabilities
    >>> write_probabilities("test.csv", [1, 2], [[0.9, 0.1], [0.2, 0.8]], [0, 1])
    >>> read = read_probabilities("test.csv")
    >>> read.ids, read.classes, read.labels
    (array([1, 2]), array([0, 1]), None)
    >>> read.proba
    array([[0.9, 0.1],
           [0.2, 0.8]])
    """
    path = require_file(path, "a CSV file of predictions")
    header = read_header(path)
    if not header or (id_column is not None and header[0] != id_column):
        raise ValueError(f"{path}: the first column must be the id column {id_column!r}; "
                         f"found {header[:1]}")
    has_labels = len(header) > 1 and header[1] in _names(label_column)
    columns = header[2:] if has_labels else header[1:]
    if not columns:
        raise ValueError(f"{path} has no class columns after {', '.join(header)!r}")
    if len(set(header)) != len(header):
        raise ValueError(f"{path} repeats a column name: {header}")
    first = 2 if has_labels else 1
    ids, labels, proba = fast_columns(path, len(header), first) or careful_columns(
        path, header, first)
    if check:
        check_probabilities(path, proba, columns)
    if len(np.unique(ids)) != len(ids):
        raise ValueError(f"{path}: the ids in column {header[0]!r} repeat")
    return ProbabilityFile(ids=ids, classes=typed(columns), proba=proba, labels=labels,
                           id_column=header[0])


def read_predictions(path, *, label_column="label", check=True):
    """Read one model's probabilities from a CSV, ``.npy`` or ``.npz`` file.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``: the wide layout (:func:`read_probabilities`; the first
        column is the ids whatever its name). ``.npy``: an array of shape
        (n_samples, n_classes), nothing else. ``.npz``: ``proba`` and
        optionally ``ids``, ``classes``, ``labels``.
    label_column : str or tuple of str, default="label"
        A CSV file's label column (any of the names), when it has one.
    check : bool, default=True
        Check the probabilities (:func:`check_probabilities`), naming a
        CSV file's line or a NumPy file's row.

    Returns
    -------
    ProbabilityFile
        ``ids`` and ``classes`` are ``None`` where the file has none.

    Raises
    ------
    ValueError
        Naming the file: an unknown suffix, a damaged or pickled NumPy file,
        an array of the wrong shape, or a bad probability (as for CSV).

    See Also
    --------
    read_probabilities : The CSV layout.
    ensemble.prediction_files.sets.read_prediction_files : Read and align many models' files.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.prediction_files.files import read_predictions
    >>> np.save("model.npy", np.array([[0.9, 0.1], [0.2, 0.8]]))
    >>> read_predictions("model.npy").proba.shape
    (2, 2)
    """
    path = require_file(path, "a file of predictions")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_probabilities(path, id_column=None, label_column=label_column, check=check)
    if suffix not in (".npy", ".npz"):
        raise ValueError(f"{path}: expected a .csv, .npy or .npz file of predictions")
    arrays = numpy_arrays(path)
    if "proba" not in arrays:
        raise ValueError(f"{path} has no 'proba' array (it has {sorted(arrays)})")
    proba = arrays["proba"]
    if proba.ndim != 2 or proba.dtype.kind not in "fiu":
        raise ValueError(f"{path}: the probabilities must be a 2-D array of numbers "
                         f"(n_samples, n_classes); got shape {proba.shape}, dtype {proba.dtype}")
    proba = proba.astype(np.float64)
    classes, ids, labels = (arrays.get(key) for key in ("classes", "ids", "labels"))
    for name, values, size in (("classes", classes, proba.shape[1]),
                               ("ids", ids, len(proba)), ("labels", labels, len(proba))):
        if values is not None and values.shape != (size,):
            raise ValueError(f"{path}: {name!r} must have shape ({size},) to match the "
                             f"probabilities {proba.shape}; got {values.shape}")
    columns = class_columns(classes) if classes is not None else [str(k) for k in
                                                                   range(proba.shape[1])]
    if check:
        check_probabilities(path, proba, columns, where="row", first_row=0)
    if ids is not None and len(np.unique(ids)) != len(ids):
        raise ValueError(f"{path}: the ids repeat")
    return ProbabilityFile(ids=ids, classes=classes, proba=proba, labels=labels)


def check_probabilities(path, proba, columns, *, where="line", first_row=2):
    """Refuse NaN, values outside [0, 1] and rows not summing to one; name the file and row.

    Parameters
    ----------
    path : str or os.PathLike
        Named in the error.
    proba : ndarray of shape (n_samples, n_classes)
    columns : list of str
        The class columns' names, for the error.
    where : {"line", "row"}, default="line"
        How a row is named: the file's line (CSV) or the array's row.
    first_row : int, default=2
        The number of the first row (line 2 of a CSV file, after its header).
    """
    bad = ~np.isfinite(proba) | (proba < 0) | (proba > 1)
    if bad.any():
        row, column = np.unravel_index(np.argmax(bad), bad.shape)
        raise ValueError(f"{path}, {where} {row + first_row}, column {columns[column]!r}: "
                         f"{proba[row, column].item()!r} is not a probability in [0, 1]")
    sums = proba.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOLERANCE)
    if off.size:
        raise ValueError(
            f"{path}, {where} {off[0] + first_row}: the probabilities sum to {sums[off[0]]:.6g} "
            f"({off.size} row(s) off by more than {SUM_TOLERANCE}); each row must hold one "
            "probability per class, summing to 1")


def read_labels(path, *, label_column="label"):
    """The true labels of the out-of-fold rows, from a file of their own.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``: a column named ``label_column``; when it is not the first
        column, the first column holds the ids (``id,label``, a
        submission-like file), else the rows are matched by position (a
        Kaggle ``train.csv`` starting with its label). ``.npy``: a 1-D array
        of labels, by position.
    label_column : str or tuple of str, default="label"
        The label column (the first of the names the file has).

    Returns
    -------
    ids : ndarray of shape (n_samples,) or None
        ``None`` when the labels are matched by position.
    labels : ndarray of shape (n_samples,)
        int64 when every label is an integer, else strings.

    Examples
    --------
    >>> from pathlib import Path
    >>> from ensemble.prediction_files.files import read_labels
    >>> _ = Path("train_labels.csv").write_text("id,label\\n10,3\\n11,5\\n")
    >>> read_labels("train_labels.csv")
    (array([10, 11]), array([3, 5]))
    """
    path = require_file(path, "a file of labels")
    if path.suffix.lower() == ".npy":
        labels = numpy_arrays(path)["proba"]
        if labels.ndim != 1:
            raise ValueError(f"{path}: labels must be a 1-D array; got shape {labels.shape}")
        return None, labels
    header, rows = read_rows(path)
    found = [name for name in _names(label_column) if name in header]
    if not found:
        raise ValueError(f"{path} has no label column "
                         f"{' or '.join(map(repr, _names(label_column)))}"
                         f" (its columns: {', '.join(header[:5])}"
                         f"{', ...' if len(header) > 5 else ''})")
    column = header.index(found[0])
    labels = typed([row[column] for row in rows])
    if column == 0:
        return None, labels
    ids = typed([row[0] for row in rows])
    if len(np.unique(ids)) != len(ids):
        raise ValueError(f"{path}: the ids in column {header[0]!r} repeat")
    return ids, labels


def read_submission(path, *, id_column="id", label_column="label"):
    """Read ``id,label`` rows, as :func:`write_submission` writes them.

    Parameters
    ----------
    path : str or os.PathLike
    id_column, label_column : str, default="id", "label"
        The two columns the file must have, in this order.

    Returns
    -------
    ids : ndarray of shape (n_samples,)
        int64 when every id is an integer, else strings.
    labels : ndarray of shape (n_samples,)
        int64 when every label is an integer, else strings.

    Raises
    ------
    ValueError
        The file's columns are not ``id_column, label_column``.

    See Also
    --------
    write_submission : Write such a file.
    read_labels : Read a file of ids and true labels.

    Examples
    --------
    >>> from ensemble.prediction_files.files import read_submission, write_submission
    >>> write_submission("submission.csv", [1, 2], ["cat", "dog"])
    >>> read_submission("submission.csv")
    (array([1, 2]), array(['cat', 'dog'], dtype='<U3'))
    """
    header, rows = read_rows(path)
    if header != [id_column, label_column]:
        raise ValueError(f"{path}: expected the columns {[id_column, label_column]}; "
                         f"found {header}")
    return typed([row[0] for row in rows]), typed([row[1] for row in rows])


# --------------------------------------------------------------------- helpers
def _names(label_column):
    return (label_column,) if isinstance(label_column, str) else tuple(label_column)


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
