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

from ensemble.evaluation import metrics
from members.utils.checks import check_int

#: Blending rows needed to cross-fit anything (two folds of one row each).
MIN_ROWS = 2
#: How :func:`choose` picks among the cross-fitted candidates.
RULES = ("one_se", "min")
#: Floor of a true-class probability, as scikit-learn's log_loss clips float64 input.
_EPS = float(np.finfo(np.float64).eps)


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
    row_losses : dict of str to ndarray of shape (n_blend,)
        Each scored candidate's log loss on every held-out row, for
        :func:`choose`.
    """
    n_rows = len(y_indices)
    if n_rows < MIN_ROWS:
        return {}, 0, {}
    with warnings.catch_warnings():
        # "The least populated class has only 2 members": such a class is missing from
        # some held-out folds, which is fine; every training fold still holds it.
        warnings.filterwarnings("ignore", message="The least populated class",
                                category=UserWarning)
        splits = list(_splitter(y_indices, folds, random_state).split(np.zeros(n_rows),
                                                                      y_indices))
    scores, row_losses = {}, {}
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
        held_out = metrics.normalize_probabilities(held_out)
        scores[name] = {"log_loss": metrics.log_loss(y_indices, held_out, positions),
                        "accuracy": metrics.accuracy(y_indices, held_out, positions)}
        true_class = held_out[np.arange(n_rows), y_indices]
        row_losses[name] = -np.log(np.clip(true_class, _EPS, 1.0))
    return scores, len(splits), row_losses


def choose(scores, row_losses, *, rule, simplest_first, fallback):
    """The candidate to use, from the cross-fitted scores; ``fallback`` without scores.

    Parameters
    ----------
    scores, row_losses : dict
        What :func:`cross_fitted_scores` returns.
    rule : {"one_se", "min"}
        ``"min"``: the lowest cross-fitted log loss (ties to the simplest).
        ``"one_se"``: the simplest candidate whose log loss is within one
        standard error of the lowest (the standard error of the mean of
        the per-row differences between the two): a more complex rule must
        beat a simpler one by more than the noise of the blending rows.
    simplest_first : sequence of str
        Every candidate name, simplest first.
    fallback : str
        Used when nothing was scored.

    Returns
    -------
    str
    """
    if not scores:
        return fallback
    ordered = [name for name in simplest_first if name in scores]
    lowest = min(ordered, key=lambda name: scores[name]["log_loss"])
    if rule == "min":
        return lowest
    for name in ordered:
        difference = row_losses[name] - row_losses[lowest]
        error = difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else 0
        if difference.mean() <= error:
            return name
    return lowest  # pragma: no cover - the lowest is always within its own error


def check_rule(rule):
    if rule not in RULES:
        raise ValueError(f"selection_rule must be one of {RULES}, got {rule!r}.")
    return rule


def _splitter(y_indices, folds, random_state):
    n_folds = min(folds, len(y_indices))
    counts = np.bincount(y_indices)
    counts = counts[counts > 0]
    # Stratified whenever every class has 2 rows (each training fold then holds every
    # class) and some class can fill every fold; plain shuffled folds otherwise.
    stratified = counts.min() >= 2 and counts.max() >= n_folds
    return (StratifiedKFold if stratified else KFold)(
        n_splits=n_folds, shuffle=True, random_state=random_state)
