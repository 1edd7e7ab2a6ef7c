"""Several models' prediction files, checked against each other and aligned.

Kaggle-style blending starts from one pair of files per model: its
out-of-fold (OOF) probabilities on the training rows and its probabilities on
the test rows, made by this toolkit (``cv``, ``predict --proba``) or by any
other tool. Before any blending, the files must agree, and every mismatch is
an error naming the file and the id, row or column:

- one test file per OOF file (paired by position);
- the same classes in every file, named by their columns in any order; the
  arrays returned have them sorted (scikit-learn's ``classes_`` order, in
  which ``cv`` and ``predict --proba`` write them), and ``.npy`` files,
  which name none, must have their columns in that order;
- the same ids in every OOF file, and in every test file, in any order: rows
  are matched by id, in the order of the first file that has ids (files
  without ids, ``.npy``, are taken in that order by position); OOF rows are
  then sorted by id, so that the folds that score a blend, and hence its
  scores, do not depend on the order a tool wrote its rows in;
- labels for the OOF rows: a file of their own, or the label column of the
  OOF files (those that have one must agree);
- at least two OOF rows, and every probability valid
  (:func:`ensemble.prediction_files.files.read_predictions`).
"""

import functools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ensemble.prediction_files.files import (
    check_probabilities,
    class_columns,
    read_labels,
    read_predictions,
)

__all__ = ["PredictionSets", "model_name", "read_prediction_files"]

#: Read in parallel processes only above this many bytes of files: starting the
#: processes (about a second) costs more than it saves on small files.
PARALLEL_BYTES = 64 * 2**20


@dataclass
class PredictionSets:
    """Every model's OOF and test probabilities, aligned to one order of rows and classes.

    Parameters
    ----------
    names : list of str
        One name per model, from its OOF file's name (:func:`model_name`).
    classes : ndarray of shape (n_classes,)
        The order of the class columns of every array below.
    oof : dict of str to ndarray of shape (n_oof, n_classes)
    test : dict of str to ndarray of shape (n_test, n_classes)
    y : ndarray of shape (n_oof,)
        The true label of every OOF row, one of ``classes``; ``None`` when
        only test files were read.
    oof_ids, test_ids : ndarray or None
        The ids of the rows, or ``None`` where no file has ids.

    See Also
    --------
    read_prediction_files : Read them from files.
    ensemble.PredictionBlender : Blend them.

    Examples
    --------
    >>> from pathlib import Path
    >>> from ensemble.prediction_files.files import write_probabilities
    >>> from ensemble.prediction_files.sets import read_prediction_files
    >>> folder = Path("predictions")
    >>> folder.mkdir()
    >>> write_probabilities(folder / "oof_a.csv", [1, 2], [[0.9, 0.1], [0.3, 0.7]], [0, 1],
    ...                     labels=[0, 1])
    >>> write_probabilities(folder / "test_a.csv", [3], [[0.6, 0.4]], [0, 1])
    >>> sets = read_prediction_files([folder / "oof_a.csv"], [folder / "test_a.csv"])
    >>> sets.names, sets.classes, sets.y
    (['a'], array([0, 1]), array([0, 1]))
    >>> sets.oof["a"].shape, sets.test["a"].shape
    ((2, 2), (1, 2))
    """

    names: list
    classes: np.ndarray
    oof: dict
    test: dict
    y: np.ndarray | None
    oof_ids: np.ndarray | None
    test_ids: np.ndarray | None


def model_name(path):
    """A model's name from its file's name: ``oof/oof_plain.csv`` -> ``plain``.

    Parameters
    ----------
    path : str or os.PathLike
        An OOF or test file; an ``oof_``/``test_`` prefix or an
        ``_oof``/``_test`` suffix of its stem is dropped.

    Returns
    -------
    str

    Examples
    --------
    >>> from ensemble.prediction_files.sets import model_name
    >>> model_name("oof/oof_plain.csv"), model_name("residual_test.npy")
    ('plain', 'residual')
    """
    stem = Path(path).stem
    for affix in ("oof_", "test_"):
        if stem.startswith(affix) and len(stem) > len(affix):
            stem = stem[len(affix):]
    for affix in ("_oof", "_test"):
        if stem.endswith(affix) and len(stem) > len(affix):
            stem = stem[:-len(affix)]
    return stem


def read_prediction_files(oof_paths, test_paths, *, labels=None, label_column="label",
                          classes=None, n_jobs=1):
    """Read every model's OOF and test files, check that they agree, align them.

    Parameters
    ----------
    oof_paths : list of path or None
        One OOF file per model (``.csv``, ``.npy``, ``.npz``). ``None``
        reads test files only (applying a saved blend); ``classes`` is then
        needed for files that do not name theirs.
    test_paths : list of path
        The matching test files, in the same order.
    labels : path or array-like of shape (n_oof,), default=None
        The OOF rows' true labels: a file (:func:`ensemble.prediction_files.files.read_labels`)
        or an array in the order of the first OOF file. ``None`` takes the
        OOF files' label column.
    label_column : str or tuple of str, default="label"
        The label column of the OOF files and of a CSV labels file (any of
        the names, when several).
    classes : array-like of shape (n_classes,), default=None
        The classes expected (a saved blend's); files must name the same.
    n_jobs : int or None, default=1
        Processes reading files at once; ``None``: one per core when the
        files hold more than :data:`PARALLEL_BYTES`, else 1 (what the
        command line does). Parsing text is CPU-bound and holds the GIL, so
        threads would not help. The processes start a fresh interpreter,
        which imports the calling script again: call this with ``n_jobs``
        other than 1 only from a notebook or under ``if __name__ ==
        "__main__":``.

    Returns
    -------
    PredictionSets

    Raises
    ------
    ValueError
        Naming the file and the id, row or column that does not agree.

    See Also
    --------
    ensemble.prediction_files.files.read_predictions : Read one file.
    ensemble.PredictionBlender : Blend what this reads.

    Examples
    --------
    Two models' out-of-fold files and their test files:

    >>> from pathlib import Path
    >>> from ensemble.prediction_files.files import write_probabilities
    >>> from ensemble.prediction_files.sets import read_prediction_files
    >>> folder = Path("predictions")
    >>> folder.mkdir()
    >>> for name, p in [("a", 0.9), ("b", 0.6)]:
    ...     write_probabilities(folder / f"oof_{name}.csv", [1, 2], [[p, 1 - p], [1 - p, p]],
    ...                         ["cat", "dog"], labels=["cat", "dog"])
    ...     write_probabilities(folder / f"test_{name}.csv", [3], [[p, 1 - p]], ["cat", "dog"])
    >>> sets = read_prediction_files(sorted(folder.glob("oof_*.csv")),
    ...                              sorted(folder.glob("test_*.csv")))
    >>> sets.names, sets.classes.tolist()
    (['a', 'b'], ['cat', 'dog'])
    """
    oof_paths = None if oof_paths is None else [Path(p) for p in oof_paths]
    test_paths = [Path(p) for p in test_paths]
    names = _pair(oof_paths, test_paths)
    files = _read_all((oof_paths or []) + test_paths, label_column, n_jobs)
    y_given = None
    if labels is not None:
        y_given = _labels_from(labels, label_column)
    reference_classes = _reference_classes(files, classes, y_given)
    for path, file in files.items():
        # Columns first: a missing class column also makes the rows sum to less than one.
        file.proba = _columns_in_order(path, file, reference_classes)
        csv_file = path.suffix.lower() == ".csv"
        check_probabilities(path, file.proba, class_columns(reference_classes),
                            where="line" if csv_file else "row", first_row=2 if csv_file else 0)
    test_ids = _align_rows(test_paths, files)
    if oof_paths is None:
        return PredictionSets(names, reference_classes, {}, _by_name(names, test_paths, files),
                              None, None, test_ids)
    oof_ids = _align_rows(oof_paths, files, sort=True)
    if len(files[oof_paths[0]].proba) < 2:
        raise ValueError(f"{oof_paths[0]} has {len(files[oof_paths[0]].proba)} out-of-fold "
                         "row(s); learning and scoring a blend needs at least 2")
    y = _oof_labels(oof_paths, files, y_given, oof_ids, reference_classes, label_column)
    return PredictionSets(names, reference_classes, _by_name(names, oof_paths, files),
                          _by_name(names, test_paths, files), y, oof_ids, test_ids)


# --------------------------------------------------------------------- pairing
def _pair(oof_paths, test_paths):
    if not test_paths:
        raise ValueError("no test files: give one test file per model")
    if oof_paths is not None and len(oof_paths) != len(test_paths):
        if len(oof_paths) > len(test_paths):
            raise ValueError(f"{oof_paths[len(test_paths)]} has no test partner: "
                             f"{len(oof_paths)} OOF files but {len(test_paths)} test files "
                             "(one test file per OOF file, in the same order)")
        raise ValueError(f"{test_paths[len(oof_paths)]} has no OOF partner: "
                         f"{len(test_paths)} test files but {len(oof_paths)} OOF files "
                         "(one OOF file per test file, in the same order)")
    names = [model_name(path) for path in (oof_paths or test_paths)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        clashing = ", ".join(str(path) for path, name
                             in zip(oof_paths or test_paths, names, strict=True)
                             if name == repeated[0])
        raise ValueError(f"two files give the model name {repeated[0]!r} "
                         f"({clashing}); "
                         "rename one of them")
    return names


def _read_all(paths, label_column, n_jobs):
    """``{path: ProbabilityFile}``, probabilities not yet checked (see the caller)."""
    read = functools.partial(read_predictions, label_column=label_column, check=False)
    if n_jobs is None:
        size = sum(path.stat().st_size for path in paths if path.is_file())
        n_jobs = os.cpu_count() or 1 if size > PARALLEL_BYTES else 1
    n_jobs = min(n_jobs, len(paths))
    if n_jobs <= 1:
        return {path: read(path) for path in paths}
    # A fresh interpreter per worker (not fork): the caller may hold threads (TensorFlow's,
    # a notebook's) that a forked child would inherit in an unknown state.
    context = multiprocessing.get_context("forkserver" if "forkserver" in
                                          multiprocessing.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(n_jobs, mp_context=context) as pool:
        return dict(zip(paths, pool.map(read, paths), strict=True))


def _by_name(names, paths, files):
    return {name: files[path].proba for name, path in zip(names, paths, strict=True)}


# --------------------------------------------------------------------- classes
def _reference_classes(files, classes, y_given):
    if classes is not None:
        return np.asarray(classes)
    for file in files.values():
        if file.classes is not None:
            return np.sort(file.classes)
    if y_given is not None:  # only .npy files: their columns are the sorted labels
        return np.unique(y_given[1])
    # No file names its classes and no labels file: the OOF label column decides later;
    # until then the columns are numbered.
    labelled = next((f.labels for f in files.values() if f.labels is not None), None)
    if labelled is not None:
        return np.unique(labelled)
    width = next(iter(files.values())).proba.shape[1]
    return np.arange(width)


def _columns_in_order(path, file, classes):
    """The file's probability columns reordered to ``classes``."""
    expected = class_columns(classes)
    if file.classes is None:
        if file.proba.shape[1] != len(expected):
            raise ValueError(f"{path} has {file.proba.shape[1]} columns; the other files have "
                             f"{len(expected)} classes ({', '.join(expected)})")
        return file.proba
    found = class_columns(file.classes)
    missing = [name for name in expected if name not in found]
    if missing:
        raise ValueError(f"{path} has no column for class {missing[0]!r} (expected the "
                         f"classes {', '.join(expected)})")
    extra = [name for name in found if name not in expected]
    if extra:
        raise ValueError(f"{path} has a column {extra[0]!r} that is not one of the classes "
                         f"{', '.join(expected)}")
    if found == expected:
        return file.proba
    return file.proba[:, [found.index(name) for name in expected]]


# ------------------------------------------------------------------------ rows
def _align_rows(paths, files, sort=False):
    """Put every file's rows in the order of the first file with ids; return those ids.

    ``sort``: then order every file's rows by id.
    """
    reference = next((p for p in paths if files[p].ids is not None), paths[0])
    ids = files[reference].ids
    n_rows = len(files[reference].proba)
    for path in paths:
        file = files[path]
        if file.ids is None or ids is None:
            if len(file.proba) != n_rows:
                raise ValueError(f"{path} has {len(file.proba)} rows; {reference} has {n_rows}")
            continue
        _take(file, _positions(file.ids, ids, path, reference))
    if sort and ids is not None:
        by_id = np.argsort(ids, kind="stable")
        for path in paths:
            _take(files[path], by_id)
        ids = ids[by_id]
    return ids


def _take(file, rows):
    if rows is not None:
        file.proba = file.proba[rows]
        if file.labels is not None:
            file.labels = file.labels[rows]


def _positions(ids, reference_ids, path, reference):
    """Row of ``ids`` holding each of ``reference_ids`` (None when already in that order)."""
    if len(ids) == len(reference_ids) and np.array_equal(ids, reference_ids):
        return None
    if ids.dtype.kind != reference_ids.dtype.kind:  # e.g. 7 and "7": compare as text
        ids, reference_ids = ids.astype(str), reference_ids.astype(str)
    sorter = np.argsort(ids, kind="stable")
    slots = np.minimum(np.searchsorted(ids, reference_ids, sorter=sorter), len(ids) - 1)
    order = sorter[slots]
    missing = np.flatnonzero(ids[order] != reference_ids)
    if missing.size:
        raise ValueError(f"{path} has no row for id {_plain(reference_ids[missing[0]])!r} "
                         f"of {reference} (the ids differ between the files)")
    if len(ids) != len(reference_ids):
        extra = np.setdiff1d(ids, reference_ids)[0]
        raise ValueError(f"{path} has id {_plain(extra)!r}, which {reference} does not "
                         "(the ids differ between the files)")
    return order


# ---------------------------------------------------------------------- labels
def _labels_from(labels, label_column):
    """``(source, labels, ids)`` from a labels file or an array."""
    if isinstance(labels, (str, Path)):
        ids, values = read_labels(labels, label_column=label_column)
        return Path(labels), values, ids
    return "labels", np.asarray(labels), None


def _oof_labels(oof_paths, files, y_given, oof_ids, classes, label_column):
    reference = oof_paths[0]
    n_rows = len(files[reference].proba)
    if y_given is not None:
        source, y, ids = y_given
        if ids is not None and oof_ids is not None:
            order = _positions(ids, oof_ids, source, reference)
            y = y if order is None else y[order]
        elif len(y) != n_rows:
            raise ValueError(f"{source} has {len(y)} labels; {reference} has {n_rows} rows")
    else:
        labelled = [path for path in oof_paths if files[path].labels is not None]
        if not labelled:
            names = [label_column] if isinstance(label_column, str) else list(label_column)
            raise ValueError(f"no labels: {reference} has no {' or '.join(map(repr, names))} "
                             "column (nor do the other OOF files); give the labels "
                             "(--labels FILE)")
        source, y = labelled[0], files[labelled[0]].labels
        for path in labelled[1:]:
            differ = np.flatnonzero(files[path].labels.astype(str) != y.astype(str))
            if differ.size:
                row = differ[0]
                where = f"id {_plain(oof_ids[row])!r}" if oof_ids is not None else f"row {row}"
                raise ValueError(f"{path}, {where}: label {_plain(files[path].labels[row])!r} "
                                 f"differs from {_plain(y[row])!r} in {source}")
    return _as_classes(y, classes, source)


def _as_classes(y, classes, source):
    """The labels as values of ``classes`` (7 and "7" are the same class)."""
    names = class_columns(classes)
    index = {name: k for k, name in enumerate(names)}
    y_names = class_columns(y)
    unknown = next((label for label in y_names if label not in index), None)
    if unknown is not None:
        raise ValueError(f"{source}: label {unknown!r} is not one of the class columns "
                         f"{', '.join(names)}")
    return classes[np.array([index[name] for name in y_names], dtype=np.intp)]


def _plain(value):
    return value.item() if hasattr(value, "item") else value
