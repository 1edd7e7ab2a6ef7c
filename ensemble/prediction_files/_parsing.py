"""Reading the CSV and NumPy files of predictions: the parsing engine behind ``files``.

:mod:`ensemble.prediction_files.files` defines the layouts (which columns,
in which order, what each holds); this module only turns a file into
cells, columns and arrays, fast where it can and carefully where it must:

* :func:`fast_columns` reads the id, label and probability columns through
  pandas' C parser, about eight times faster than NumPy's ``loadtxt``;
  anything it does not read cleanly (a ragged row, a cell that is not a
  number) falls back to
* :func:`careful_columns`, Python's ``csv`` cell by cell, whose errors name
  the file and the line;
* :func:`read_header` and :func:`read_rows` read a header, or every row
  checked against it; :func:`typed` turns a column of cells into int64 when
  every cell is an integer, else strings;
* :func:`numpy_arrays` loads an ``.npy`` or ``.npz`` file without ever
  unpickling.

Every error is a ``ValueError`` naming the file (and the line where there is
one). No TensorFlow; pandas only inside :func:`fast_columns`.
"""

import csv
import re
import zipfile

import numpy as np

from members.utils.paths import require_file

_INTEGER = re.compile(r"[+-]?[0-9]+")

#: Whole numbers up to this size survive a round trip through float64 (ids written as 7.0).
_EXACT_FLOAT_INTEGER = 2**53


def read_header(path):
    """The first non-empty row's cells, stripped: a CSV file's column names."""
    with open(path, encoding="utf-8-sig", newline="") as file:
        for row in csv.reader(file):
            if row:
                return [cell.strip() for cell in row]
    raise ValueError(f"{path} is empty; expected a header row")


def fast_columns(path, n_columns, first):
    """``(ids, labels, proba)`` through pandas' C parser, or None to read carefully.

    ``csv`` plus ``float()`` per cell reads about 1 M cells a second and
    NumPy's ``loadtxt`` about 4 M; 20 models' OOF and test files of 100,000
    rows and 10 classes are about 46 M cells. pandas' C parser reads them
    about eight times faster than ``loadtxt`` (0.07 s against 0.57 s for one
    21 MB file of 100,000 rows, ids and labels included). Anything it does
    not read cleanly (a ragged row, a cell that is not a number, an empty
    cell) goes to the careful reader, whose error names the line. Ids and
    labels that are whole numbers (``7``, also ``7.0`` as some tools write
    them) become integers; anything else stays text.
    """
    import pandas as pd

    options = dict(header=None, skiprows=1, names=range(n_columns), encoding="utf-8-sig",
                   na_filter=False, engine="c", low_memory=False)
    if int(pd.__version__.split(".")[0]) < 3:
        # pandas 3's default parser round-trips floats; before it, only this one did.
        options["float_precision"] = "round_trip"
    try:
        frame = pd.read_csv(path, dtype={column: np.float64
                                         for column in range(first, n_columns)}, **options)
        proba = frame.iloc[:, first:].to_numpy(dtype=np.float64)
        if len(proba) == 0 or np.isnan(proba).any():  # NaN: a short row, or the text "nan"
            return None
        keys = [_whole_numbers(frame[column].to_numpy()) for column in range(first)]
        as_text = [column for column, key in enumerate(keys) if key is None]
        if as_text:  # e.g. ids "1.5" or labels "coat": read again as the text written
            text = pd.read_csv(path, usecols=as_text, dtype=str, **options)
            for column in as_text:
                keys[column] = typed(text[column].tolist())
    except (ValueError, pd.errors.ParserError):  # ParserError: a row with too many cells
        return None
    return keys[0], keys[1] if first == 2 else None, proba


def _whole_numbers(values):
    """int64 for integers, or floats that are all whole and exact in float64; else None."""
    if values.dtype == np.int64:
        return values
    if (values.dtype == np.float64 and np.all(np.isfinite(values))
            and np.all(np.abs(values) < _EXACT_FLOAT_INTEGER)
            and np.all(values == np.round(values))):
        return values.astype(np.int64)
    return None


def careful_columns(path, header, first):
    """``(ids, labels, proba)`` cell by cell; an error names the first line that is wrong.

    ``first`` is the first probability column: 2 when a label column
    follows the ids, else 1 (``labels`` is then None).
    """
    _, rows = read_rows(path)
    try:
        proba = np.array([[float(cell) for cell in row[first:]] for row in rows],
                         dtype=np.float64)
    except ValueError as error:
        line = next(i for i, row in enumerate(rows, 2) if not _all_floats(row[first:]))
        raise ValueError(f"{path}, line {line}: a probability is not a number ({error})") from None
    proba = proba.reshape(len(rows), len(header) - first)
    ids = typed([row[0] for row in rows])
    labels = typed([row[1] for row in rows]) if first == 2 else None
    return ids, labels, proba


def numpy_arrays(path):
    """The arrays of an ``.npy`` (as ``proba``) or ``.npz`` file, never unpickling."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"proba": loaded}
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not a readable NumPy file without pickled objects "
                         f"({error})") from None


def read_rows(path):
    """``(header, rows)``: every non-empty row, each as long as the header (else an error)."""
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


def typed(cells):
    """int64 when every cell is an integer, else the strings."""
    cells = [cell.strip() for cell in cells]
    if cells and all(_INTEGER.fullmatch(cell) for cell in cells):
        try:
            return np.array([int(cell) for cell in cells], dtype=np.int64)
        except OverflowError:  # beyond int64: keep the text
            pass
    return np.array(cells, dtype=str)
