"""Where a combiner's blending data comes from: one mechanism for every combiner.

Four sources, chosen by the combiner's parameters:

- ``holdout`` (default): a stratified share of ``(X, y)`` is held out; the
  members train on the rest and the combiner learns on their predictions for
  the held-out rows.
- ``validation_data=(X_val, y_val)`` passed to ``fit``: the members train on
  all of ``(X, y)``; the combiner learns on their predictions for ``X_val``.
- ``cv=k`` or a splitter: out-of-fold predictions; every member is trained k
  times on k-1 folds and predicts the remaining fold, then once more on all
  the data (k + 1 fits per member) for prediction.
- ``cv="prefit"``: the members are already fitted and are used as they are;
  the combiner learns on their predictions for ``(X, y)`` (or
  ``validation_data`` when given). Nothing is trained but the combiner.

In every case the members never train on the rows whose predictions the
combiner learns from.
"""

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import check_cv, train_test_split
from sklearn.utils.validation import check_is_fitted

from ._members import fit_members, stacked_probas

PREFIT = "prefit"


@dataclass
class BlendingData:
    """Fitted members and their predictions on rows they never trained on.

    Attributes
    ----------
    members : list of fitted estimators
        The members the ensemble predicts with.
    probas : ndarray of shape (n_members, n_blend, n_classes)
    targets : ndarray of shape (n_blend,)
        Original labels of the blending rows.
    features : ndarray of shape (n_blend, n_features)
        Flat raw features of the blending rows.
    network_fits : int
        How many member fits this took (0 for prefit members).
    """

    members: list
    probas: np.ndarray
    targets: np.ndarray
    features: np.ndarray
    network_fits: int


def check_source(holdout, cv, validation_data):
    """Refuse ambiguous or invalid combinations of the blending-data options."""
    if cv is not None and not _is_prefit(cv) and validation_data is not None:
        raise ValueError(
            "Pass either cv (out-of-fold blending) or validation_data, not both."
        )
    if cv is None and validation_data is None:
        _check_holdout(holdout)


def _is_prefit(cv):
    return isinstance(cv, str) and cv == PREFIT


def _check_holdout(holdout):
    if isinstance(holdout, bool):
        raise ValueError(f"holdout must be a float in (0, 1) or an int >= 1, got {holdout!r}.")
    if isinstance(holdout, numbers.Integral) and holdout >= 1:
        return
    if isinstance(holdout, numbers.Real) and 0 < holdout < 1:
        return
    raise ValueError(f"holdout must be a float in (0, 1) or an int >= 1, got {holdout!r}.")


def blending_data(members, X, X_rows, y, classes, *, holdout, cv, validation_data,
                  n_jobs, random_state, verbose):
    """Fit (or take) the members and predict the rows the combiner learns from.

    Parameters
    ----------
    members : list of estimators
        Unfitted templates (cloned here), or fitted members when ``cv="prefit"``.
    X : ndarray of shape (n_samples, ...)
        What the members are trained on (images keep their shape).
    X_rows : ndarray of shape (n_samples, n_features)
        The same rows, flat, kept for stacking's passthrough.
    y : ndarray of shape (n_samples,)
    classes : ndarray of shape (n_classes,)
    holdout, cv, validation_data, n_jobs, random_state, verbose
        As documented on the combiners.

    Returns
    -------
    BlendingData
    """
    check_source(holdout, cv, validation_data)
    if _is_prefit(cv):
        return _prefit(members, X, X_rows, y, classes, validation_data)
    if validation_data is not None:
        X_val, X_val_rows, y_val = validation_data
        fitted = fit_members([(clone(m), X, y) for m in members], n_jobs=n_jobs, verbose=verbose)
        probas = stacked_probas(fitted, X_val, classes)
        return BlendingData(fitted, probas, y_val, X_val_rows, len(fitted))
    if cv is not None:
        return _out_of_fold(members, X, X_rows, y, classes, cv, n_jobs, verbose)
    return _held_out(members, X, X_rows, y, classes, holdout, n_jobs, random_state, verbose)


def _prefit(members, X, X_rows, y, classes, validation_data):
    for member in members:
        try:
            check_is_fitted(member)
        except NotFittedError as error:
            raise NotFittedError(
                f"cv='prefit' needs fitted members, but {type(member).__name__} is not fitted."
            ) from error
    if validation_data is not None:
        X, X_rows, y = validation_data
    return BlendingData(list(members), stacked_probas(members, X, classes), y, X_rows, 0)


def _held_out(members, X, X_rows, y, classes, holdout, n_jobs, random_state, verbose):
    indices = np.arange(len(y))
    try:
        train, blend = train_test_split(
            indices, test_size=holdout, stratify=y, random_state=random_state
        )
    except ValueError as error:
        raise ValueError(
            f"holdout={holdout!r} cannot hold out a stratified blending set from "
            f"{len(y)} samples of {len(classes)} classes ({error}). Use a larger holdout, "
            "more data, cv=k, or fit(..., validation_data=(X_val, y_val))."
        ) from None
    jobs = [(clone(m), X[train], y[train]) for m in members]
    fitted = fit_members(jobs, n_jobs=n_jobs, verbose=verbose)
    probas = stacked_probas(fitted, X[blend], classes)
    return BlendingData(fitted, probas, y[blend], X_rows[blend], len(fitted))


def _out_of_fold(members, X, X_rows, y, classes, cv, n_jobs, verbose):
    splitter = check_cv(cv, y, classifier=True)
    folds = list(splitter.split(X_rows, y))
    covered = np.concatenate([test for _, test in folds])
    if len(covered) != len(y) or len(np.unique(covered)) != len(y):
        raise ValueError(
            "cv must be a partition: every sample in exactly one test fold, as KFold and "
            "StratifiedKFold give."
        )
    # One joblib call for all k * n_members fold fits and the n_members final
    # fits, so that parallel workers stay busy across folds.
    jobs = [(clone(m), X[train], y[train]) for train, _ in folds for m in members]
    jobs += [(clone(m), X, y) for m in members]
    fitted = fit_members(jobs, n_jobs=n_jobs, verbose=verbose)
    n_members = len(members)
    probas = np.zeros((n_members, len(y), len(classes)))
    for fold, (_, test) in enumerate(folds):
        fold_members = fitted[fold * n_members:(fold + 1) * n_members]
        probas[:, test] = stacked_probas(fold_members, X[test], classes)
    return BlendingData(fitted[-n_members:], probas, y, X_rows, len(jobs))
