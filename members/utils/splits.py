"""Stratified splits that keep every class on both sides, for members and combiners alike.

A member's validation split and a combiner's held-out blending split share
one rule: a fraction is rounded up and grows to one row per class where the
data allow it (every class has at least two rows), so that small data sets,
users' own image folders and scikit-learn's estimator checks (10-20 rows of
2-3 classes) split instead of failing. Imports no TensorFlow.
"""

import math
import numbers

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state


def split_size(size, n_samples):
    """Rows a ``size`` (a fraction, rounded up, or a count) takes from ``n_samples``."""
    if isinstance(size, numbers.Integral):
        return int(size)
    return int(math.ceil(size * n_samples))


def every_class_fits(y):
    """Whether a split can put every class of ``y`` on both sides: each has two rows or more."""
    _, counts = np.unique(y, return_counts=True)
    return len(counts) > 0 and counts.min() >= 2


def grown_size(n_test, y):
    """``n_test`` grown to one row per class, and capped to leave one per class on the other side.

    Call only when :func:`every_class_fits` holds.
    """
    n_classes = len(np.unique(y))
    return min(max(n_test, n_classes), len(y) - n_classes)


def stratified_split(y, n_test, random_state):
    """Indices ``(train, test)`` of a stratified split with every class on both sides.

    The split is scikit-learn's ``train_test_split(..., stratify=y)``
    whenever that already has every class on both sides (so results on
    data that split before are unchanged); otherwise, on small or lopsided
    data, one row of each class goes to each side first and the other rows
    are shared in proportion to what each class can spare.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Every class has at least two rows (see :func:`every_class_fits`).
    n_test : int
        Between the number of classes and ``n_samples`` minus that number.
    random_state : None, int or numpy RandomState

    Returns
    -------
    train, test : ndarray of int
    """
    y = np.asarray(y)
    indices = np.arange(len(y))
    classes, y_index = np.unique(y, return_inverse=True)
    train, test = train_test_split(indices, test_size=n_test, stratify=y,
                                   random_state=random_state)
    if len(np.unique(y_index[test])) == len(classes) == len(np.unique(y_index[train])):
        return train, test
    rng = check_random_state(random_state)
    counts = np.bincount(y_index)
    spare = counts - 2
    extra = _largest_remainder(n_test - len(classes), spare)
    test_parts, train_parts = [], []
    for label, n_class_test in enumerate(1 + extra):
        rows = rng.permutation(np.flatnonzero(y_index == label))
        test_parts.append(rows[:n_class_test])
        train_parts.append(rows[n_class_test:])
    return rng.permutation(np.concatenate(train_parts)), rng.permutation(np.concatenate(test_parts))


def _largest_remainder(total, capacity):
    """``total`` shared out in proportion to ``capacity``, never above it (Hamilton's method)."""
    if total <= 0 or capacity.sum() == 0:
        return np.zeros(len(capacity), dtype=int)
    exact = total * capacity / capacity.sum()
    shares = np.floor(exact).astype(int)
    order = np.argsort(-(exact - shares), kind="stable")
    for index in order[: total - shares.sum()]:
        shares[index] += 1
    return np.minimum(shares, capacity)


def validation_split(X, y, fraction, seed):
    """Carve a validation set from the member's own training data.

    Stratified, with every class on both sides, whenever every class has at
    least two samples: the fraction is rounded up and grows to one row per
    class where it would hold fewer (see :func:`stratified_split`). Otherwise
    a plain shuffled split, because a tiny or lopsided training set should
    still train.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Encoded labels.
    fraction : float
        0 disables the split.
    seed : int or None

    Returns
    -------
    X_train, y_train : ndarray
    validation : tuple (X_val, y_val) or None
    """
    n_validation = split_size(fraction, len(y))
    if fraction == 0 or n_validation < 1 or len(y) - n_validation < 1:
        return X, y, None
    if every_class_fits(y):
        train, val = stratified_split(y, grown_size(n_validation, y), seed)
        return X[train], y[train], (X[val], y[val])
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=n_validation, random_state=seed
    )
    return X_train, y_train, (X_val, y_val)


def check_holdout(holdout):
    """Refuse a ``holdout`` that is neither a fraction in (0, 1) nor a row count >= 1."""
    if isinstance(holdout, bool):
        raise ValueError(f"holdout must be a float in (0, 1) or an int >= 1, got {holdout!r}.")
    if isinstance(holdout, numbers.Integral) and holdout >= 1:
        return
    if isinstance(holdout, numbers.Real) and 0 < holdout < 1:
        return
    raise ValueError(f"holdout must be a float in (0, 1) or an int >= 1, got {holdout!r}.")


def held_out_rows(y, holdout, random_state):
    """Indices ``(train, blend)`` of the held-out split, every class on both sides.

    A fraction is rounded up and grows to one row per class where every
    class has two rows or more; a count is taken as given.
    """
    n_classes = len(np.unique(y))
    n_blend = split_size(holdout, len(y))
    problem = None
    if not every_class_fits(y):
        labels, counts = np.unique(y, return_counts=True)
        problem = f"class {labels[np.argmin(counts)].item()!r} has a single sample"
    elif isinstance(holdout, numbers.Integral) and n_blend < n_classes:
        problem = f"{n_blend} rows can't hold one of each of the {n_classes} classes"
    elif n_blend > len(y) - n_classes:
        problem = (f"holding out {n_blend} rows leaves fewer than one training row per class")
    if problem is not None:
        raise ValueError(
            f"holdout={holdout!r} cannot hold out a stratified blending set from "
            f"{len(y)} samples of {n_classes} classes: {problem}. Use another holdout, "
            "more data, cv=k, or fit(..., validation_data=(X_val, y_val))."
        )
    return stratified_split(y, grown_size(n_blend, y), random_state)
