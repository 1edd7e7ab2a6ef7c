"""Learning blend weights for averaging member probabilities (log loss, Caruana, equal).

For anyone who already has out-of-fold (held-out) predictions of several
models, and for the project's ``WeightedAverageEnsemble``.

Input convention shared by every function here:

``probas`` : ndarray of shape (n_members, n_samples, n_classes), or a list of
    ``n_members`` arrays of shape (n_samples, n_classes)
    Member ``m``'s predicted probabilities are ``probas[m]``; all members
    share the same columns (classes).
``y`` : array-like of shape (n_samples,)
    With ``classes=None`` (the default), integer class indices in
    ``[0, n_classes)``, i.e. positions along the class axis. With
    ``classes=`` an array of shape (n_classes,) giving the label of each
    column (e.g. a classifier's ``classes_``), ``y`` holds those labels.

The loss the solvers minimise is the multiclass log loss of the blend
``sum_m w_m * probas[m]``. Each member's rows are first clipped to [0, 1]
and renormalised to sum to one, as :func:`ensemble.evaluation.metrics.log_loss` does;
then each member's probability of the true class is floored at
:data:`EPS` (the float64 machine epsilon, about 2.2e-16, the same floor
scikit-learn's ``log_loss`` applies to float64 input). The floor turns a
member's exact 0 -- common from float32 softmax underflow -- into a finite
loss (about 36 per sample) while keeping the loss convex in the weights.
The result equals ``ensemble.evaluation.metrics.log_loss`` of the blend except on
samples where the blend's own true-class probability is within a few
``EPS`` of zero, where it may be lower by at most ``log 2`` per sample.

Only the true-class column matters to log loss, so both solvers reduce the
input to the (n_members, n_samples) matrix of true-class probabilities and
never touch the other columns again.

This module is pure NumPy/SciPy; it never imports TensorFlow.
"""

import numpy as np
from scipy.optimize import minimize

from members.utils.checks import check_int, check_member_shapes
from members.utils.docs import with_shared_docs
from members.utils.labels import label_indices

__all__ = [
    "EPS",
    "equal_weights",
    "check_weights",
    "log_loss_weights",
    "caruana_weights",
]

#: What every weighting learns from, spliced into each docstring.
_LEARNED_FROM = with_shared_docs({"learned_from": """
    probas : ndarray or list of ndarray
        Member probabilities, typically out-of-fold predictions: shape
        (n_members, n_samples, n_classes), or a list of ``n_members`` arrays
        of shape (n_samples, n_classes).
    y : array-like of shape (n_samples,)
        Integer class indices into the last axis of ``probas`` when
        ``classes`` is None, else labels found in ``classes``.
"""})

#: Floor applied to each member's true-class probability (float64 machine epsilon).
EPS = float(np.finfo(np.float64).eps)


def equal_weights(n_members):
    """Uniform weights.

    Parameters
    ----------
    n_members : int
        Number of members; a positive integer.

    Returns
    -------
    ndarray of shape (n_members,), dtype float64
        Every entry ``1 / n_members``.

    Examples
    --------
    >>> from ensemble.combiners.weights import equal_weights
    >>> equal_weights(4)
    array([0.25, 0.25, 0.25, 0.25])
    """
    n_members = check_int(n_members, "n_members", minimum=1)
    return np.full(n_members, 1.0 / n_members)


def check_weights(weights, n_members):
    """Validate blend weights and normalise them to sum to one.

    Public so that combiners can validate a weight array a user passes.

    Parameters
    ----------
    weights : array-like of shape (n_members,)
        Non-negative, finite, not all zero. Need not sum to one.
    n_members : int
        The number of members the weights are for.

    Returns
    -------
    ndarray of shape (n_members,), dtype float64
        ``weights / weights.sum()``, a new array.

    Raises
    ------
    ValueError
        If ``weights`` is not 1-D of length ``n_members``, holds NaN or
        infinite values, holds a negative value, or is all zero. Each
        problem has its own message.

    Examples
    --------
    >>> from ensemble.combiners.weights import check_weights
    >>> check_weights([1, 3], n_members=2)
    array([0.25, 0.75])
    """
    n_members = check_int(n_members, "n_members", minimum=1)
    try:
        weights = np.array(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"weights must be an array of numbers; got {weights!r}") from exc
    if weights.ndim != 1:
        raise ValueError(
            f"weights must be 1-D of shape (n_members,) = ({n_members},); "
            f"got shape {weights.shape}"
        )
    if weights.shape[0] != n_members:
        raise ValueError(
            f"weights has length {weights.shape[0]} but there are {n_members} members"
        )
    bad = np.flatnonzero(~np.isfinite(weights))
    if bad.size:
        raise ValueError(
            f"weights must be finite; got {weights[bad[0]]} at index {bad[0]}"
        )
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        raise ValueError(
            f"weights must be non-negative; got {weights[negative[0]]} at index {negative[0]}"
        )
    total = weights.sum()
    if total == 0:
        raise ValueError("weights are all zero; at least one member needs a positive weight")
    return weights / total


@_LEARNED_FROM
def log_loss_weights(probas, y, *, classes=None):
    """Blend weights on the simplex that minimise log loss on ``(probas, y)``.

    Solves ``min_w -mean_i log(sum_m w_m P[m, i])`` subject to ``w >= 0``
    and ``sum(w) == 1``, where ``P[m, i]`` is member ``m``'s probability of
    sample ``i``'s true class (floored at :data:`EPS`; see the module
    docstring). The objective is convex, so the optimum is global; it is
    found with SciPy's SLSQP from equal weights, using the analytic
    gradient: each evaluation costs one matrix-vector product for the loss
    and one for the gradient.

    Guarantee: the returned weights are never worse on the given data,
    under that objective, than equal weights nor than any single member
    alone. Those ``n_members + 1`` candidates are scored next to the
    optimiser's answer and the best is returned (the optimiser's on ties),
    so a solver failure can only fall back to one of them.

    Parameters
    ----------
    %(learned_from)s
    classes : array-like of shape (n_classes,), optional
        Label of each column of the members' probabilities.

    Returns
    -------
    ndarray of shape (n_members,), dtype float64
        Non-negative weights summing to one.

    See Also
    --------
    caruana_weights : Greedy ensemble selection instead.
    ensemble.WeightedAverageEnsemble : Learns these weights on blending data.

    Notes
    -----
    Weights fitted on the same data the members were trained on will
    favour whichever member overfits most; use held-out predictions.

    Examples
    --------
    The member that is right gets all the weight:

    >>> import numpy as np
    >>> from ensemble.combiners.weights import log_loss_weights
    >>> right = np.array([[0.9, 0.1], [0.1, 0.9]])
    >>> probas = np.stack([right, 1 - right])
    >>> log_loss_weights(probas, np.array([0, 1])).round(2)
    array([1., 0.])
    """
    true_p = _true_class_matrix(probas, y, classes)
    n_members = true_p.shape[0]
    if n_members == 1:
        return np.ones(1)

    candidates = [_solve_simplex(true_p), equal_weights(n_members), *np.eye(n_members)]
    losses = [_blend_loss(w, true_p) for w in candidates]
    # argmin takes the first minimum, so the optimiser (listed first) wins ties.
    return candidates[int(np.argmin(losses))]


@_LEARNED_FROM
def caruana_weights(probas, y, *, rounds=25, classes=None):
    """Greedy forward ensemble selection with replacement (Caruana et al., 2004).

    Starting from an empty ensemble, each round adds the member -- possibly
    one already chosen -- whose addition gives the running average the
    lowest log loss (the same objective as :func:`log_loss_weights`). The
    weights are the selection counts divided by ``rounds``. 25 rounds is
    AutoGluon's default. Every round picks exactly one member and the final
    round's selection is returned (no truncation to the best prefix).

    Ties go to the lowest member index, so the result is deterministic.

    Guarantee: the returned blend's loss on the given data is at most that
    of the best single member. Round 1 picks the best member, and at every
    later round one option is to add the best member again; because log
    loss is convex, that option's loss is at most a weighted mean of the
    previous round's loss and the best member's, hence never above the
    best member's, and the greedy pick is no worse than that option. The
    loss is *not* guaranteed to fall from round to round: a round must add
    a member even when every addition makes the average worse.

    Parameters
    ----------
    %(learned_from)s
    rounds : int, default=25
        Number of selection rounds; a positive integer.
    classes : array-like of shape (n_classes,), optional
        Label of each column of the members' probabilities.

    Returns
    -------
    ndarray of shape (n_members,), dtype float64
        Multiples of ``1 / rounds`` summing to one.

    See Also
    --------
    log_loss_weights : Weights that minimise the log loss directly.

    References
    ----------
    R. Caruana, A. Niculescu-Mizil, G. Crew and A. Ksikes, "Ensemble
    selection from libraries of models", ICML 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.combiners.weights import caruana_weights
    >>> right = np.array([[0.9, 0.1], [0.1, 0.9]])
    >>> probas = np.stack([right, 1 - right])
    >>> caruana_weights(probas, np.array([0, 1]))
    array([1., 0.])
    """
    rounds = check_int(rounds, "rounds", minimum=1)
    true_p = _true_class_matrix(probas, y, classes)
    counts = np.zeros(true_p.shape[0], dtype=np.int64)
    running_sum = np.zeros(true_p.shape[1])
    for _ in range(rounds):
        # Dividing by the ensemble size would shift every candidate's loss
        # by the same log(size), so it is left out of the comparison.
        losses = -np.mean(np.log(running_sum + true_p), axis=1)
        chosen = int(np.argmin(losses))  # first minimum: lowest index on ties
        counts[chosen] += 1
        running_sum += true_p[chosen]
    return counts / rounds


# --- other averages -------------------------------------------------------


# --- objective ------------------------------------------------------------


def _blend_loss(w, true_p):
    """Objective of both solvers: -mean_i log(sum_m w_m true_p[m, i])."""
    return _loss_and_grad(w, true_p)[0]


def _loss_and_grad(w, true_p):
    """Loss and its gradient in ``w``.

    Parameters
    ----------
    w : ndarray of shape (n_members,)
    true_p : ndarray of shape (n_members, n_samples)
        True-class probabilities, each at least EPS.

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_members,)
        ``-mean_i true_p[m, i] / q_i`` with ``q = w @ true_p``.
    """
    q = w @ true_p
    # On the simplex q >= EPS already. SLSQP may probe points a hair outside
    # the bounds; flooring keeps those evaluations finite, and the floored
    # samples get zero gradient to match the floored loss.
    inside = q >= EPS
    q = np.where(inside, q, EPS)
    loss = -np.mean(np.log(q))
    grad = -(true_p @ (inside / q)) / true_p.shape[1]
    return float(loss), grad


def _solve_simplex(true_p):
    """SLSQP on the probability simplex from equal weights; returns weights on the simplex."""
    n_members = true_p.shape[0]
    result = minimize(
        _loss_and_grad,
        equal_weights(n_members),
        args=(true_p,),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n_members,
        constraints=[
            {
                "type": "eq",
                "fun": lambda w: np.sum(w) - 1.0,
                "jac": lambda w: np.ones_like(w),
            }
        ],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    # Project away SLSQP's rounding-level bound and sum violations; a failed
    # or non-finite solve falls back to equal weights, which the caller's
    # candidate comparison covers anyway.
    w = np.clip(np.nan_to_num(result.x, nan=0.0), 0.0, None)
    total = w.sum()
    if not np.isfinite(total) or total <= 0:
        return equal_weights(n_members)
    return w / total


# --- validation -----------------------------------------------------------


def _as_member_stack(probas):
    """Return a float64 array of shape (n_members, n_samples, n_classes)."""
    if isinstance(probas, (list, tuple)):
        if len(probas) == 0:
            raise ValueError("probas is empty; at least one member is needed")
        members = [np.asarray(p) for p in probas]
        check_member_shapes([member.shape for member in members])
        stack = np.stack(members).astype(np.float64, copy=False)
    else:
        stack = np.asarray(probas, dtype=np.float64)
        if stack.ndim != 3:
            raise ValueError(
                "probas must have shape (n_members, n_samples, n_classes) or be a list "
                f"of (n_samples, n_classes) arrays; got shape {stack.shape}"
            )
    if 0 in stack.shape:
        raise ValueError(
            "probas must have at least one member, sample and class; "
            f"got shape (n_members, n_samples, n_classes) = {stack.shape}"
        )
    if not np.all(np.isfinite(stack)):
        raise ValueError("probas contains NaN or infinite values")
    return stack


def _class_indices(y, classes, n_samples, n_classes):
    """Validate ``y`` and return integer class indices of shape (n_samples,)."""
    if classes is not None:
        classes = np.asarray(classes)
        if classes.shape != (n_classes,):
            raise ValueError(
                f"classes must have shape (n_classes,) = ({n_classes},) to match "
                f"probas; got shape {classes.shape}"
            )
        y_idx = label_indices(y, classes)
    else:
        y_idx = np.asarray(y)
        if y_idx.ndim != 1:
            raise ValueError(f"y must be 1-D of shape (n_samples,); got shape {y_idx.shape}")
        if y_idx.size and y_idx.dtype.kind not in "iu":
            raise ValueError(
                "y must hold integer class indices when classes is None; got dtype "
                f"{y_idx.dtype}. Pass classes= to use labels."
            )
        out_of_range = np.flatnonzero((y_idx < 0) | (y_idx >= n_classes))
        if out_of_range.size:
            raise ValueError(
                f"y holds class index {y_idx[out_of_range[0]]} at position "
                f"{out_of_range[0]}, outside [0, {n_classes}) for probas with "
                f"{n_classes} classes"
            )
    if y_idx.shape[0] != n_samples:
        raise ValueError(
            f"y has {y_idx.shape[0]} samples but probas has {n_samples} "
            "(shape (n_members, n_samples, n_classes))"
        )
    return y_idx.astype(np.intp, copy=False)


def _true_class_matrix(probas, y, classes):
    """Each member's normalised, floored true-class probability.

    Returns
    -------
    ndarray of shape (n_members, n_samples), dtype float64
        Entries in [EPS, 1].
    """
    stack = _as_member_stack(probas)
    n_members, n_samples, n_classes = stack.shape
    y_idx = _class_indices(y, classes, n_samples, n_classes)
    clipped = np.clip(stack, 0.0, 1.0)
    row_sums = clipped.sum(axis=2)  # (n_members, n_samples)
    empty = np.argwhere(row_sums == 0.0)
    if empty.size:
        m, i = empty[0]
        raise ValueError(
            f"member {m} has no positive probability in row {i}; "
            "its rows cannot be renormalised"
        )
    true_p = clipped[:, np.arange(n_samples), y_idx] / row_sums
    return np.maximum(true_p, EPS)
