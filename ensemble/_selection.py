"""Choosing a combination by cross-fitting over the blending rows, the best member a candidate.

Weights fitted on a few hundred blending rows can over-fit them: a learned
blend scored on the rows it was fitted to looks better than it is, and can
lose on new data to its own best member. So every combiner scores its
candidate rules the way :class:`ensemble.PredictionBlender` scores a blend:
each rule is fitted on k - 1 folds of the blending rows and predicts the
k-th, and the rule with the lowest log loss over those held-out
predictions wins, then is fitted again on every blending row. The best
member alone (the member with the lowest log loss on the blending rows) is
always among the candidates, so a blend is chosen only when it predicts
held-out rows better than that member does.

A candidate is a function ``fit(probas, y_indices, features) -> combine``,
where ``combine(probas, features)`` returns probabilities of shape
(n_samples, n_classes) from member probabilities of shape (n_members,
n_samples, n_classes). Pure NumPy and scikit-learn; no TensorFlow.

Small data: the folds are stratified when every class has at least two
rows (so that every training fold holds every class), and plain shuffled
folds otherwise; there are never more folds than rows. With fewer than
:data:`MIN_ROWS` blending rows nothing is cross-fitted
(:func:`cross_fitted_scores` returns no scores) and the combiners fall
back to the rule their docstrings name. A candidate that cannot be fitted
on a fold (a meta-learner that sees a single class) is not chosen, and its
score is left out.
"""

import warnings

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from members._shared.checks import check_int

from . import metrics

#: Blending rows needed to cross-fit anything (two folds of one row each).
MIN_ROWS = 2


def check_folds(folds):
    """``folds`` as an int >= 2, or a clear error."""
    return check_int(folds, "selection_folds", minimum=2)


def best_member_index(probas, y_indices):
    """The member whose probabilities have the lowest log loss on these rows."""
    losses = [member_log_loss(proba, y_indices) for proba in probas]
    return int(np.argmin(losses))


def member_log_loss(proba, y_indices):
    positions = np.arange(proba.shape[1])
    return metrics.log_loss(y_indices, proba, positions)


def fit_best_member(probas, y_indices, features=None):
    """The best-member-alone candidate: fitted, it returns that member's probabilities."""
    index = best_member_index(probas, y_indices)
    return lambda new_probas, new_features=None: new_probas[index]


def cross_fitted_scores(candidates, probas, y_indices, features=None, *, folds=5,
                        random_state=0):
    """Each candidate's log loss and accuracy over held-out folds of the blending rows.

    Parameters
    ----------
    candidates : dict of str to callable
        ``fit(probas, y_indices, features) -> combine`` per candidate name.
    probas : ndarray of shape (n_members, n_blend, n_classes)
    y_indices : ndarray of shape (n_blend,)
        Class positions.
    features : ndarray of shape (n_blend, n_features) or None, default=None
        The blending rows' raw features, for candidates that read them.
    folds : int, default=5
        At most this many folds (never more than rows).
    random_state : int or None, default=0
        Shuffles the rows into folds.

    Returns
    -------
    scores : dict of str to dict
        ``{"log_loss": ..., "accuracy": ...}`` for each candidate that could
        be fitted on every fold; empty with fewer than :data:`MIN_ROWS` rows.
    n_folds : int
        Folds used (0 when nothing was cross-fitted).
    """
    n_rows = len(y_indices)
    if n_rows < MIN_ROWS:
        return {}, 0
    with warnings.catch_warnings():
        # "The least populated class has only 2 members": such a class is missing from
        # some held-out folds, which is fine; every training fold still holds it.
        warnings.filterwarnings("ignore", message="The least populated class",
                                category=UserWarning)
        splits = list(_splitter(y_indices, folds, random_state).split(np.zeros(n_rows),
                                                                      y_indices))
    scores = {}
    for name, fit in candidates.items():
        held_out = np.zeros(probas.shape[1:])
        try:
            for train, test in splits:
                combine = fit(probas[:, train], y_indices[train],
                              None if features is None else features[train])
                held_out[test] = combine(probas[:, test],
                                         None if features is None else features[test])
        except ValueError:
            continue  # e.g. a meta-learner given a single class: it cannot be chosen
        positions = np.arange(probas.shape[2])
        scores[name] = {"log_loss": metrics.log_loss(y_indices, held_out, positions),
                        "accuracy": metrics.accuracy(y_indices, held_out, positions)}
    return scores, len(splits)


def choose(scores, fallback):
    """The candidate with the lowest cross-fitted log loss; ``fallback`` without scores.

    Ties go to the candidate listed first in ``scores``.
    """
    if not scores:
        return fallback
    return min(scores, key=lambda name: scores[name]["log_loss"])


def _splitter(y_indices, folds, random_state):
    n_folds = min(folds, len(y_indices))
    counts = np.bincount(y_indices)
    counts = counts[counts > 0]
    # Stratified whenever every class has 2 rows (each training fold then holds every
    # class) and some class can fill every fold; plain shuffled folds otherwise.
    stratified = counts.min() >= 2 and counts.max() >= n_folds
    return (StratifiedKFold if stratified else KFold)(
        n_splits=n_folds, shuffle=True, random_state=random_state)
