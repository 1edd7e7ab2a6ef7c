"""The member list of a combiner: validation, parallel fitting, aligned probabilities."""

import os
import pickle

import cloudpickle
import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone, is_classifier

from members.utils.budget import BudgetTooSmallError
from members.utils.labels import label_indices

DROP = "drop"


def check_members(members):
    """Validate ``[(name, estimator), ...]`` and return the entries not dropped.

    Raises
    ------
    ValueError
        Empty list, duplicate or malformed names, or every member dropped.
    TypeError
        An entry that is not a (name, classifier) pair.
    """
    if not isinstance(members, (list, tuple)) or len(members) == 0:
        raise ValueError(
            "members must be a non-empty list of (name, estimator) tuples, got "
            f"{members!r}."
        )
    names = []
    for entry in members:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)):
            raise TypeError(f"Each member must be a (name, estimator) tuple, got {entry!r}.")
        name, estimator = entry
        if "__" in name or not name:
            raise ValueError(f"Member names must be non-empty and contain no '__', got {name!r}.")
        if estimator != DROP and not (is_classifier(estimator)
                                      and hasattr(estimator, "predict_proba")):
            raise TypeError(
                f"Member {name!r} must be a classifier with predict_proba or 'drop', got "
                f"{type(estimator).__name__}."
            )
        names.append(name)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Member names must be unique, got duplicates {duplicates}.")
    kept = [(name, estimator) for name, estimator in members if not _is_drop(estimator)]
    if not kept:
        raise ValueError("All members are 'drop': at least one member is required.")
    return kept


def _is_drop(estimator):
    return isinstance(estimator, str) and estimator == DROP


def aligned_proba(member, X, classes):
    """``member.predict_proba(X)`` with one column per entry of ``classes``.

    A member trained on a fold that lacked a class has no column for it; the
    ensemble gives it probability zero there, so every member's output lines
    up with the ensemble's ``classes_``.

    Parameters
    ----------
    member : fitted classifier
    X : array-like of shape (n_samples, ...)
    classes : ndarray of shape (n_classes,)
        Sorted, as scikit-learn's ``classes_``.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), float64
    """
    proba = np.asarray(member.predict_proba(X), dtype=np.float64)
    member_classes = np.asarray(member.classes_)
    if len(member_classes) == len(classes) and np.array_equal(member_classes, classes):
        return proba
    columns = label_indices(member_classes, classes, unknown_message=lambda missing: (
        f"a member was fitted on classes {missing} that the ensemble's y does not hold; "
        "give the ensemble data with every class its members know."))
    aligned = np.zeros((proba.shape[0], len(classes)))
    aligned[:, columns] = proba
    return aligned


def stacked_probas(members, X, classes):
    """Every member's aligned probabilities, shape (n_members, n_samples, n_classes)."""
    return np.stack([aligned_proba(member, X, classes) for member in members])


def _fit_member(estimator, X, y, n_threads, may_run_out=False):
    """Fit one member; in a worker process, first import Keras quietly and cap its threads.

    In a worker the estimator arrives pickled (bytes): unpickling it imports
    Keras, and that must happen after :func:`~members.utils.quiet.import_keras_quietly`
    or every worker prints TensorFlow's start-up lines. Parallel workers share
    the machine's cores: each gets its share rather than every worker starting
    one thread per core.
    """
    if isinstance(estimator, bytes):
        from members.utils.quiet import import_keras_quietly

        import_keras_quietly()
        estimator = pickle.loads(estimator)
    if n_threads is not None:
        _limit_tensorflow_threads(n_threads)
    try:
        return estimator.fit(X, y)
    except BudgetTooSmallError as error:
        if may_run_out:
            return error
        raise


def _limit_tensorflow_threads(n_threads):
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n_threads)
        tf.config.threading.set_inter_op_parallelism_threads(n_threads)
    except RuntimeError:
        # TensorFlow was initialised in this worker by an earlier task; the
        # setting then holds from that task.
        pass


def fit_members(jobs, *, n_jobs=None, verbose=0, description="Training members",
                may_run_out=None):
    """Fit ``(estimator, X, y)`` jobs through joblib, in order, with a progress bar.

    Any joblib backend works, so ``joblib.parallel_config(backend="dask")``
    trains on a Dask cluster.

    Parameters
    ----------
    jobs : list of (estimator, X, y)
        Unfitted estimators (already cloned) and their training data.
    n_jobs : int or None
    verbose : int
        A progress bar over the jobs when > 0.
    description : str
    may_run_out : list of bool or None
        One per job: whether a :class:`~members.utils.budget.BudgetTooSmallError` from
        that job (its ``time_limit`` ran out before one epoch finished) is
        returned in its place instead of raised. None: every error is raised.

    Returns
    -------
    list of fitted estimators (or, where ``may_run_out`` allows, errors), in
    the order of ``jobs``.
    """
    if may_run_out is None:
        may_run_out = [False] * len(jobs)
    n_workers = min(effective_n_jobs(n_jobs), len(jobs))
    threads = None if n_workers == 1 else max(1, (os.cpu_count() or 1) // n_workers)
    if n_workers > 1:
        # cloudpickle, as joblib itself would use, so that a build_fn defined in
        # a notebook or __main__ still travels to the workers.
        jobs = [(cloudpickle.dumps(estimator), X, y) for estimator, X, y in jobs]
    tasks = (delayed(_fit_member)(estimator, X, y, threads, allowed)
             for (estimator, X, y), allowed in zip(jobs, may_run_out, strict=True))
    results = Parallel(n_jobs=n_workers, return_as="generator")(tasks)
    if verbose:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(jobs), desc=description, unit="member")
    return list(results)


def clone_all(members):
    """Unfitted copies of the estimators of ``[(name, estimator), ...]``."""
    return [clone(estimator) for _, estimator in members]
