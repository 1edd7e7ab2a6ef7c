"""Applying blend weights: the weighted, rank and geometric means of member probabilities.

The weights come from :mod:`ensemble.combiners.weights` (or anywhere else:
they are checked and normalised by
:func:`~ensemble.combiners.weights.check_weights`). The input convention is
that module's: ``probas`` of shape (n_members, n_samples, n_classes), or a
list of ``n_members`` arrays of shape (n_samples, n_classes).

This module is pure NumPy; it never imports TensorFlow.
"""

import numpy as np

from ensemble.combiners.weights import EPS, _as_member_stack, check_weights
from members.utils.docs import with_shared_docs

__all__ = ["blend", "rank_blend", "geometric_blend"]

#: The two arguments every blend takes, spliced into each docstring.
_BLENDED = with_shared_docs({"Parameters": """
    probas : ndarray or list of ndarray
        Shape (n_members, n_samples, n_classes), or a list of ``n_members``
        arrays of shape (n_samples, n_classes).
    weights : array-like of shape (n_members,)
        Validated and normalised by :func:`~ensemble.combiners.weights.check_weights`.
"""})


def blend(probas, weights):
    """Weighted average of member probabilities.

    Parameters
    ----------
    probas : ndarray or list of ndarray
        Member probabilities: shape (n_members, n_samples, n_classes), or a
        list of ``n_members`` arrays of shape (n_samples, n_classes).
    weights : array-like of shape (n_members,)
        Validated and normalised by :func:`~ensemble.combiners.weights.check_weights`.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), dtype float64
        ``sum_m w_m * probas[m]`` with ``w`` normalised to sum to one.
        Members are not renormalised; if their rows sum to one, so do the
        blend's (up to rounding).

    See Also
    --------
    geometric_blend : Weighted geometric mean instead of the arithmetic one.
    rank_blend : Weighted average of ranks.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.combiners.averaging import blend
    >>> probas = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # 2 members, 1 sample, 2 classes
    >>> blend(probas, np.array([0.75, 0.25]))
    array([[0.75, 0.25]])
    """
    stack = _as_member_stack(probas)
    w = check_weights(weights, stack.shape[0])
    n_members, n_samples, n_classes = stack.shape
    # One BLAS matrix-vector product over the flattened member axis.
    return (w @ stack.reshape(n_members, -1)).reshape(n_samples, n_classes)


@_BLENDED
def rank_blend(probas, weights):
    """Weighted average of each member's per-class ranks, rows scaled to sum to one.

    The Kaggle Ensemble Guide's rank averaging: for every member and class,
    the rows are ranked by that class's probability (ties share their mean
    rank) and the rank is divided by ``n_samples``; the weighted average of
    those ranks is then divided by its row sum. Only the order of each
    member's probabilities matters, so members whose probabilities live on
    different scales (an over-confident network beside a timid linear
    model) count as their weights say. The result ranks rows well (AUC,
    top-k metrics) but is not a calibrated probability: its log loss is
    usually worse than any member's.

    Ranks are taken within ``probas``, so the same row can get another
    score in another set of rows.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), dtype float64
        Non-negative rows summing to one.

    See Also
    --------
    blend : Weighted average of the probabilities themselves.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.combiners.averaging import rank_blend
    >>> probas = np.random.default_rng(0).dirichlet([1, 1, 1], size=(2, 5))
    >>> rank_blend(probas, np.array([0.5, 0.5])).shape
    (5, 3)
    """
    from scipy.stats import rankdata

    stack = _as_member_stack(probas)
    ranks = rankdata(stack, axis=1) / stack.shape[1]
    averaged = blend(ranks, weights)
    return averaged / averaged.sum(axis=1, keepdims=True)


@_BLENDED
def geometric_blend(probas, weights):
    """Weighted geometric mean of member probabilities, renormalised (logit averaging).

    ``softmax(sum_m w_m * log(p_m))``: averaging in log space, the
    multi-class form of averaging logits. A class that any member with
    weight rules out (probability near 0) stays unlikely, where the
    arithmetic mean would keep a share of it. Each probability is clipped
    to ``[EPS, 1]`` before the logarithm, so a member's exact 0 counts as
    about ``exp(-36)``.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), dtype float64
        Positive rows summing to one.

    See Also
    --------
    blend : Weighted arithmetic mean.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.combiners.averaging import geometric_blend
    >>> probas = np.array([[[0.8, 0.2]], [[0.2, 0.8]]])
    >>> geometric_blend(probas, np.array([0.5, 0.5]))
    array([[0.5, 0.5]])
    """
    stack = _as_member_stack(probas)
    log_mean = blend(np.log(np.clip(stack, EPS, 1.0)), weights)
    # Subtracting the row maximum keeps exp() from underflowing to all zeros.
    unnormalised = np.exp(log_mean - log_mean.max(axis=1, keepdims=True))
    return unnormalised / unnormalised.sum(axis=1, keepdims=True)
