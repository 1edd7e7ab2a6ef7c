"""Scores for predicted class probabilities.

Every scoring function takes the same three arguments:

``y_true`` : array-like of shape (n_samples,)
    True labels, of any kind scikit-learn accepts (integers, strings, ...).
``proba`` : ndarray of shape (n_samples, n_classes)
    Predicted probabilities; column ``k`` is the probability of ``classes[k]``.
``classes`` : array-like of shape (n_classes,)
    The labels the columns of ``proba`` stand for, normally a fitted
    classifier's ``classes_`` (sorted, as scikit-learn keeps it). Any order
    is accepted: columns are matched to labels through ``classes``, never by
    sorting.

Probabilities are passed through :func:`normalize_probabilities` first, so
float32 softmax output whose rows sum to ``1.0000001`` is scored as the
distribution it stands for instead of being rejected.

This module is pure NumPy/SciPy/scikit-learn; it never imports TensorFlow.
"""

import numpy as np
from sklearn.metrics import log_loss as _sklearn_log_loss

from members.utils.checks import check_int
from members.utils.docs import with_shared_docs
from members.utils.labels import as_classes, label_indices

__all__ = [
    "normalize_probabilities",
    "accuracy",
    "log_loss",
    "brier_score",
    "expected_calibration_error",
    "score_all",
    "per_class_scores",
]

#: The three arguments every score takes, spliced into each docstring.
_SCORED_ARGUMENTS = """
    y_true : array-like of shape (n_samples,)
        True labels.
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
        Labels of the columns of ``proba``.
"""
_SCORED = with_shared_docs({"Parameters": _SCORED_ARGUMENTS})


def normalize_probabilities(proba):
    """Return a float64 copy of ``proba`` clipped to [0, 1] with rows summing to one.

    Float32 softmax outputs can exceed 1 or sum to slightly more or less than
    one by rounding; scikit-learn 1.9's ``log_loss`` raises on values above 1
    and warns about rows that do not sum to one.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), dtype float64
        A new array; ``proba`` is not modified.

    Raises
    ------
    ValueError
        If ``proba`` is not 2-D, holds NaN or infinite values, or has a row
        that is all zero (or all negative) after clipping, which cannot be
        renormalised.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.metrics import normalize_probabilities
    >>> normalize_probabilities(np.array([[0.6, 0.6], [1.2, -0.1]]))
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    proba = np.array(proba, dtype=np.float64)  # always a copy
    if proba.ndim != 2:
        raise ValueError(
            f"proba must be 2-D of shape (n_samples, n_classes); got shape {proba.shape}"
        )
    if not np.all(np.isfinite(proba)):
        raise ValueError("proba contains NaN or infinite values")
    np.clip(proba, 0.0, 1.0, out=proba)
    row_sums = proba.sum(axis=1, keepdims=True)
    zero_rows = np.flatnonzero(row_sums[:, 0] == 0.0)
    if zero_rows.size:
        raise ValueError(
            f"proba has {zero_rows.size} row(s) with no positive probability "
            f"(first at row {zero_rows[0]}); they cannot be renormalised"
        )
    proba /= row_sums
    return proba


@_SCORED
def accuracy(y_true, proba, classes):
    """Fraction of samples whose most probable class is the true one.

    Ties go to the first column, as in ``classes[np.argmax(proba, axis=1)]``,
    which is what scikit-learn classifiers' ``predict`` does.

    Returns
    -------
    float
        In [0, 1].

    See Also
    --------
    score_all : All four scores at once.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.metrics import accuracy
    >>> proba = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
    >>> accuracy(["cat", "dog", "dog"], proba, classes=["cat", "dog"])
    0.6666666666666666
    """
    y_idx, proba = _validate(y_true, proba, classes)
    return _accuracy(y_idx, proba)


@_SCORED
def log_loss(y_true, proba, classes):
    """Mean negative log-likelihood of the true labels (natural log).

    Computed by :func:`sklearn.metrics.log_loss` after
    :func:`normalize_probabilities`, so probabilities are clipped to
    ``[eps, 1 - eps]`` with ``eps`` the float64 machine epsilon (about
    2.2e-16) and an exact 0 for the true class costs about 36.0, not infinity.

    Returns
    -------
    float
        Non-negative; 0 only for perfect confident predictions.

    See Also
    --------
    score_all : All four scores at once.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.metrics import log_loss
    >>> proba = np.array([[0.5, 0.5], [0.5, 0.5]])
    >>> round(log_loss([0, 1], proba, classes=[0, 1]), 4)
    0.6931
    """
    y_idx, proba = _validate(y_true, proba, classes)
    return _log_loss(y_idx, proba)


@_SCORED
def brier_score(y_true, proba, classes):
    """Multiclass Brier score (Brier, 1950).

    The mean over samples of the squared Euclidean distance between the
    predicted distribution and the one-hot encoding of the true label::

        mean_i sum_k (proba[i, k] - [y_i == classes[k]])**2

    Its range is [0, 2]: 0 for confident correct predictions, 2 for
    confident wrong ones. Note this is the original multiclass definition;
    for two classes it is twice scikit-learn's ``brier_score_loss`` on the
    positive class.

    Returns
    -------
    float
        In [0, 2].

    See Also
    --------
    score_all : All four scores at once.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.metrics import brier_score
    >>> brier_score([0, 1], np.array([[1.0, 0.0], [0.5, 0.5]]), classes=[0, 1])
    0.25
    """
    y_idx, proba = _validate(y_true, proba, classes)
    return _brier(y_idx, proba)


@with_shared_docs({"scored": _SCORED_ARGUMENTS})
def expected_calibration_error(y_true, proba, classes, n_bins=15):
    """Top-label expected calibration error (Guo et al., 2017).

    Each sample's confidence is its largest predicted probability and its
    prediction the corresponding class (first column on ties). Confidences
    are grouped into ``n_bins`` equal-width bins ``((b-1)/n_bins, b/n_bins]``
    and the ECE is::

        sum_b (n_b / n_samples) * |accuracy_b - mean_confidence_b|

    Empty bins contribute nothing.

    Parameters
    ----------
    %(scored)s
    n_bins : int, default=15
        Number of equal-width confidence bins; must be a positive integer.

    Returns
    -------
    float
        In [0, 1]; 0 for a perfectly calibrated model (up to binning).

    See Also
    --------
    score_all : All four scores at once.
    ensemble.evaluation.plots.plot_reliability : The reliability diagram behind this score.

    Examples
    --------
    Always 80 % confident and right four times out of five: calibrated.

    >>> import numpy as np
    >>> from ensemble.evaluation.metrics import expected_calibration_error
    >>> proba = np.tile([0.8, 0.2], (5, 1))
    >>> round(expected_calibration_error([0, 0, 0, 0, 1], proba, classes=[0, 1]), 10)
    0.0
    """
    n_bins = check_int(n_bins, "n_bins", minimum=1)
    y_idx, proba = _validate(y_true, proba, classes)
    return _ece(y_idx, proba, n_bins)


@_SCORED
def score_all(y_true, proba, classes):
    """All four scores at once, validating and normalising the input once.

    Returns
    -------
    dict
        ``{"accuracy", "log_loss", "brier", "ece"}`` mapped to Python floats;
        ``"ece"`` uses the default 15 bins.

    See Also
    --------
    per_class_scores : Recall and precision per class.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.metrics import score_all
    >>> scores = score_all([0, 1], np.array([[0.9, 0.1], [0.2, 0.8]]), classes=[0, 1])
    >>> sorted(scores)
    ['accuracy', 'brier', 'ece', 'log_loss']
    >>> scores["accuracy"]
    1.0
    """
    y_idx, proba = _validate(y_true, proba, classes)
    return {
        "accuracy": _accuracy(y_idx, proba),
        "log_loss": _log_loss(y_idx, proba),
        "brier": _brier(y_idx, proba),
        "ece": _ece(y_idx, proba, 15),
    }


def per_class_scores(y_true, proba, classes):
    """Recall and precision of the predicted classes (the most probable), one row per class.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    proba : ndarray of shape (n_samples, n_classes)
    classes : array-like of shape (n_classes,)

    Returns
    -------
    list of dict
        One per entry of ``classes``, in that order: ``"label"`` (the class,
        a Python scalar), ``"n_samples"`` (its true samples), ``"recall"``
        (the share of them predicted as it; NaN without samples) and
        ``"precision"`` (the share of the samples predicted as it that are
        it; NaN when none is).

    See Also
    --------
    score_all : The four overall scores.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.metrics import per_class_scores
    >>> proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    >>> for row in per_class_scores(["a", "b", "b"], proba, classes=["a", "b"]):
    ...     print(row["label"], row["n_samples"], row["recall"], row["precision"])
    a 1 1.0 0.5
    b 2 0.5 1.0
    """
    y_idx, proba = _validate(y_true, proba, classes)
    predicted = np.argmax(proba, axis=1)
    n_classes = proba.shape[1]
    support = np.bincount(y_idx, minlength=n_classes)
    n_predicted = np.bincount(predicted, minlength=n_classes)
    hits = np.bincount(y_idx[predicted == y_idx], minlength=n_classes)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, hits / support, np.nan)
        precision = np.where(n_predicted > 0, hits / n_predicted, np.nan)
    labels = as_classes(classes).tolist()
    return [{"label": label, "n_samples": int(support[k]), "recall": float(recall[k]),
             "precision": float(precision[k])} for k, label in enumerate(labels)]


# --- validated kernels: y_idx is (n_samples,) int, proba normalised float64 ---


def _accuracy(y_idx, proba):
    return float(np.mean(np.argmax(proba, axis=1) == y_idx))


def _log_loss(y_idx, proba):
    # Integer indices with labels=arange keep the columns in our order;
    # passing the raw labels would make scikit-learn sort them.
    return float(_sklearn_log_loss(y_idx, proba, labels=np.arange(proba.shape[1])))


def _brier(y_idx, proba):
    squared = np.sum(proba**2, axis=1)
    true_p = proba[np.arange(proba.shape[0]), y_idx]
    # sum_k (p_k - o_k)^2 = sum_k p_k^2 - 2 p_true + 1, without a one-hot matrix.
    return float(np.mean(squared - 2.0 * true_p + 1.0))


def _ece(y_idx, proba, n_bins):
    confidence = np.max(proba, axis=1)
    correct = (np.argmax(proba, axis=1) == y_idx).astype(np.float64)
    inner_edges = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    # right=True gives the half-open bins ((b-1)/n, b/n], so confidence 1.0
    # lands in the last bin and no bin starts at an exact 0.
    bin_of = np.digitize(confidence, inner_edges, right=True)
    counts = np.bincount(bin_of, minlength=n_bins)
    gap = np.bincount(bin_of, weights=correct - confidence, minlength=n_bins)
    # |sum(correct - conf)| / n = (n_b / n) * |acc_b - conf_b|
    return float(np.sum(np.abs(gap[counts > 0])) / proba.shape[0])


# --- validation -------------------------------------------------------------


def _validate(y_true, proba, classes):
    """Check shapes and labels; return (class indices, normalised proba)."""
    classes = as_classes(classes)
    if len(classes) < 2:
        raise ValueError(
            f"classes must hold at least 2 labels; got shape {classes.shape}"
        )
    proba_arr = np.asarray(proba)
    if proba_arr.ndim != 2 or proba_arr.shape[1] != len(classes):
        raise ValueError(
            f"proba must have shape (n_samples, n_classes) = (n_samples, {len(classes)}) "
            f"to match classes of shape {classes.shape}; got shape {proba_arr.shape}"
        )
    y_idx = label_indices(y_true, classes)
    if y_idx.shape[0] != proba_arr.shape[0]:
        raise ValueError(
            f"y_true has shape {y_idx.shape} but proba has shape {proba_arr.shape}; "
            "they must have the same number of samples"
        )
    if y_idx.shape[0] == 0:
        raise ValueError("cannot score zero samples: y_true and proba are empty")
    return y_idx, normalize_probabilities(proba_arr)
