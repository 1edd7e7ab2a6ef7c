"""What only an ensemble knows: member disagreement, abstention, and unfamiliar images.

Three ideas, each a few functions on NumPy arrays:

* **Where the uncertainty comes from.** :func:`decompose_uncertainty` splits
  the entropy of the blended prediction into the part every member shares
  (the expected entropy: the image is ambiguous, "aleatoric") and the part
  that is the members' disagreement (the mutual information: the members
  were never taught this, "epistemic"). Only an ensemble has the second
  part; a single network reports one number.
* **Abstaining.** :func:`accuracy_coverage_curve` and :func:`aurc` measure
  how well an uncertainty ranks the rows (answer the sure ones, abstain on
  the rest); :func:`choose_abstention_threshold` picks the threshold on
  held-out rows for a target coverage or accuracy.
* **Unfamiliar images.** :func:`ood_scores` measures how well an uncertainty
  tells images unlike the training data (out-of-distribution) from familiar
  ones: AUROC and the false-positive rate at 95 % true-positive rate.

One convention everywhere: **a larger score means less certain** (abstain
first, flag as unfamiliar first). The outputs of :func:`decompose_uncertainty`
follow it (``total``, ``expected``, ``mutual_information``); a confidence
does not, so pass ``1 - confidence`` (or ``-confidence``): only the order of
the scores matters.

Probabilities are checked rather than silently repaired: every value must
lie in [0, 1] and every row sum to one, both within
:data:`PROBABILITY_TOLERANCE` (float32 softmax rounding passes; logits,
percentages and unnormalised scores do not). What passes is clipped and
renormalised in float64 before use. Entropies use the natural logarithm,
with ``0 * log 0 = 0``.

This module is pure NumPy/SciPy/scikit-learn; it never imports TensorFlow.

References
----------
Lakshminarayanan, Pritzel and Blundell (2017), "Simple and scalable
predictive uncertainty estimation using deep ensembles", NeurIPS.
Depeweg, Hernandez-Lobato, Doshi-Velez and Udluft (2018), "Decomposition of
uncertainty in Bayesian deep learning for efficient and risk-sensitive
learning", ICML.
Geifman and El-Yaniv (2017), "Selective classification for deep neural
networks", NeurIPS.
Geifman, Uziel and El-Yaniv (2019), "Bias-reduced uncertainty estimation for
deep neural classifiers", ICLR.
Hendrycks and Gimpel (2017), "A baseline for detecting misclassified and
out-of-distribution examples in neural networks", ICLR.
"""

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.utils import Bunch

from members.utils.checks import check_member_shapes, check_real
from members.utils.docs import with_shared_docs
from members.utils.labels import label_indices
from members.utils.uncertainty import decompose_uncertainty as _decompose_checked

__all__ = [
    "PROBABILITY_TOLERANCE",
    "decompose_uncertainty",
    "accuracy_coverage_curve",
    "aurc",
    "choose_abstention_threshold",
    "ood_scores",
]

#: How far a probability may stray outside [0, 1], and a row's sum from one,
#: before the input is refused as not being probabilities.
PROBABILITY_TOLERANCE = 1e-3
#: How far below a coverage target the share of rows kept may be and still meet it:
#: float rounding of the target, never a whole row.
COVERAGE_TOLERANCE = 1e-9

#: The true-positive rate of :func:`ood_scores`' false-positive rate, in percent
#: (an integer, so that the number of unfamiliar rows it needs is exact).
_TPR_PERCENT = 95

#: The arguments of every selective-prediction score, spliced into each docstring.
_SELECTIVE = with_shared_docs({"selective": """
    y_true : array-like of shape (n_samples,)
        True labels: values of ``classes``, or column indices when
        ``classes`` is None.
    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities.
    classes : array-like of shape (n_classes,), default=None
        The labels of the columns of ``proba``; None means ``y_true``
        holds column indices ``0 .. n_classes - 1``.
    uncertainty : array-like of shape (n_samples,), default=None
        Larger means less certain: abstained on first. None uses ``1 -
        proba.max(axis=1)`` (the maximum-probability baseline of Hendrycks
        and Gimpel, 2017). Any score of :func:`decompose_uncertainty` fits.
"""})


# --- where the uncertainty comes from --------------------------------------


def decompose_uncertainty(member_probas, weights=None):
    """Split the blended prediction's entropy into the members' shared and disputed parts.

    With member probabilities ``p_m`` and weights ``w_m`` (normalised to sum
    to one), per row::

        proba              = sum_m w_m p_m                      (the blend)
        total              = H(proba)                           (predictive entropy)
        expected           = sum_m w_m H(p_m)                   (aleatoric)
        mutual_information = total - expected                   (epistemic)

    where ``H(p) = -sum_k p_k log p_k`` (natural log, ``0 log 0 = 0``). The
    mutual information between the prediction and the choice of member
    (Depeweg et al., 2018) is zero when every member predicts the same
    distribution, however flat, and grows as they disagree: two members
    each sure of a different class give ``log 2``. By the concavity of the
    entropy it is never negative; rounding below zero is clipped to 0.
    Members of zero weight contribute nothing to any of the terms.

    Parameters
    ----------
    member_probas : array-like of shape (n_members, n_samples, n_classes) or list of array-like
        Each member's probabilities on the same rows (a list of ``n_members``
        arrays of shape (n_samples, n_classes) is stacked), columns in one
        class order.
    weights : array-like of shape (n_members,), default=None
        Non-negative, finite, not all zero; normalised to sum to one. None
        weighs the members equally, as the deep ensembles of
        Lakshminarayanan et al. (2017) do.

    Returns
    -------
    Bunch
        ``proba`` : ndarray of shape (n_samples, n_classes), the blend;
        ``confidence`` : ndarray of shape (n_samples,), its largest
        probability; ``total``, ``expected``, ``mutual_information`` :
        ndarray of shape (n_samples,), in nats, with ``0 <= expected <=
        total <= log(n_classes)`` and ``mutual_information = total -
        expected``; ``n_members`` : int.

    Raises
    ------
    ValueError
        If the members' arrays differ in shape, hold no member, row or
        class, hold values that are not probabilities, or the weights are
        invalid (each problem has its own message).

    See Also
    --------
    accuracy_coverage_curve : How well one of these scores ranks the rows.
    ood_scores : How well one of these scores flags unfamiliar images.
    members.utils.uncertainty.decompose_uncertainty : The same arithmetic without
        the checks, which the members' and combiners' ``predict_uncertainty`` use.

    Examples
    --------
    Two members that agree on a flat guess, then two that are each sure of a
    different class:

    >>> import numpy as np
    >>> from ensemble.evaluation.uncertainty import decompose_uncertainty
    >>> agree = [[[0.5, 0.5]], [[0.5, 0.5]]]
    >>> disagree = [[[1.0, 0.0]], [[0.0, 1.0]]]
    >>> both = decompose_uncertainty(np.concatenate([agree, disagree], axis=1))
    >>> both.proba
    array([[0.5, 0.5],
           [0.5, 0.5]])
    >>> np.round(both.total, 4), np.round(both.mutual_information, 4)
    (array([0.6931, 0.6931]), array([0.    , 0.6931]))
    """
    stack = _member_stack(member_probas)
    weights = _member_weights(weights, stack.shape[0])
    # The arithmetic has one home, shared with the members' and combiners'
    # predict_uncertainty; this public door adds the checks of user input.
    parts = _decompose_checked(stack, weights)
    return Bunch(**parts, n_members=stack.shape[0])


# --- abstaining --------------------------------------------------------------


@_SELECTIVE
def accuracy_coverage_curve(y_true, proba, classes=None, *, uncertainty=None):
    """Accuracy on the rows kept, as rows are abstained on from the least certain.

    Each row is predicted as its most probable class (first column on
    ties). Rows are kept from the most certain: at each threshold ``t``
    (every distinct value of ``uncertainty``, ascending) the rows with
    ``uncertainty <= t`` are kept and the others abstained on. Rows that tie
    are kept or abstained on together, since no threshold separates them:
    the curve has one point per distinct value, whatever the rows' order.

    Parameters
    ----------
    %(selective)s

    Returns
    -------
    Bunch
        ``thresholds`` : ndarray of shape (n_thresholds,), the distinct
        uncertainties, ascending; ``coverage`` : ndarray of shape
        (n_thresholds,), the share of rows kept at each (increasing, ending
        at 1); ``accuracy`` : ndarray of shape (n_thresholds,), the accuracy
        on those rows (ending at the overall accuracy).

    Raises
    ------
    ValueError
        If the shapes disagree, there are no rows, a label is not in
        ``classes``, ``proba`` does not hold probabilities, or
        ``uncertainty`` holds NaN or infinite values.

    See Also
    --------
    aurc : The curve in one number.
    choose_abstention_threshold : A threshold for a target coverage or accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.uncertainty import accuracy_coverage_curve
    >>> proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.6, 0.4]])
    >>> curve = accuracy_coverage_curve([0, 0, 1, 0], proba)
    >>> curve.coverage, curve.accuracy
    (array([0.25, 0.5 , 1.  ]), array([1.  , 1.  , 0.75]))
    """
    uncertainty, correct = _selective_inputs(y_true, proba, classes, uncertainty)
    thresholds, kept, n_correct = _cumulative_by_threshold(uncertainty, correct)
    return Bunch(thresholds=thresholds, coverage=kept / len(correct), accuracy=n_correct / kept)


@_SELECTIVE
def aurc(y_true, proba, classes=None, *, uncertainty=None):
    """Area under the risk-coverage curve: the mean error rate over all coverages.

    The risk-coverage curve (Geifman and El-Yaniv, 2017) gives the error rate
    (``1 - accuracy``) of the ``k`` most certain rows against the coverage
    ``k / n``; its area (AURC, Geifman et al., 2019) is normalised as the
    mean over the ``n`` coverages ``1/n, 2/n, ..., 1``::

        aurc = (1 / n) * sum_{k=1}^{n} errors(k) / k

    so it lies in [0, 1], like an error rate. Lower is better. A score that
    says nothing (every row tied, or a random order) gets about the overall
    error rate ``r``; the best possible ranking, every error last, gets
    about ``r + (1 - r) * log(1 - r)``. Rows that tie in ``uncertainty``
    count in every order with equal chance: within a tie, ``errors(k)``
    is its expectation, so the result never depends on the rows' order.

    Parameters
    ----------
    %(selective)s

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        As :func:`accuracy_coverage_curve`.

    See Also
    --------
    accuracy_coverage_curve : The curve itself, as accuracy against coverage.

    Examples
    --------
    Four rows, the one error the least certain: the risks at coverages 1/4
    to 1 are 0, 0, 0 and 1/4.

    >>> import numpy as np
    >>> from ensemble.evaluation.uncertainty import aurc
    >>> proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]])
    >>> aurc([0, 0, 0, 1], proba)
    0.0625
    """
    uncertainty, correct = _selective_inputs(y_true, proba, classes, uncertainty)
    n_rows = len(correct)
    _, kept, n_correct = _cumulative_by_threshold(uncertainty, correct)
    errors = kept - n_correct
    # Each tie group spans positions (start, end]; inside it the expected
    # errors rise linearly from the errors before it to the errors after it.
    end = kept
    start = np.concatenate([[0], end[:-1]])
    errors_before = np.concatenate([[0], errors[:-1]])
    group = np.repeat(np.arange(len(end)), end - start)
    k = np.arange(1, n_rows + 1)
    expected_errors = errors_before[group] + (k - start[group]) * (
        (errors - errors_before)[group] / (end - start)[group])
    return float(np.mean(expected_errors / k))


def choose_abstention_threshold(uncertainty, correct, *, target_accuracy=None,
                                target_coverage=None):
    """The threshold on an uncertainty that meets a target coverage or accuracy on held-out rows.

    Rows with ``uncertainty > threshold`` are abstained on; apply it to new
    rows as ``keep = uncertainty <= threshold``. Choose it on rows the
    members did not train on (the blending rows, a validation split), and
    measure what it achieves on other rows still: the coverage and accuracy
    returned are those of the rows it was chosen on, and so optimistic.

    * ``target_coverage``: the smallest threshold that keeps at least that
      share of the rows (more, when rows tie at the threshold).
    * ``target_accuracy``: the largest threshold whose kept rows reach that
      accuracy, that is the largest coverage that does. Accuracy need not
      fall steadily with coverage, so this may keep rows less certain than
      some it would have to drop for a slightly lower target.

    Parameters
    ----------
    uncertainty : array-like of shape (n_samples,)
        Larger means less certain, as everywhere in this module.
    correct : array-like of shape (n_samples,)
        Whether each row's prediction is right: booleans, or 0 and 1.
    target_accuracy : float, default=None
        In (0, 1]. Give exactly one of the two targets.
    target_coverage : float, default=None
        In (0, 1].

    Returns
    -------
    Bunch
        ``threshold`` : float, one of the values of ``uncertainty``;
        ``coverage`` and ``accuracy`` : float, what it gives on these rows.

    Raises
    ------
    ValueError
        If not exactly one target is given, a target is outside (0, 1], the
        arrays are empty or differ in length, ``uncertainty`` is not finite,
        ``correct`` holds other values than 0 and 1, or no threshold reaches
        ``target_accuracy`` (the message gives the best accuracy there is,
        rather than a threshold that silently misses the target).

    See Also
    --------
    accuracy_coverage_curve : Every threshold with its coverage and accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.uncertainty import choose_abstention_threshold
    >>> uncertainty = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    >>> correct = np.array([True, True, True, False, True])
    >>> choice = choose_abstention_threshold(uncertainty, correct, target_accuracy=0.9)
    >>> choice.threshold, choice.coverage, choice.accuracy
    (0.3, 0.6, 1.0)
    >>> choose_abstention_threshold(uncertainty, correct, target_coverage=0.5).threshold
    0.3
    """
    if (target_accuracy is None) == (target_coverage is None):
        raise ValueError("Give exactly one of target_accuracy and target_coverage; got "
                         f"target_accuracy={target_accuracy!r}, "
                         f"target_coverage={target_coverage!r}.")
    if target_coverage is not None:
        check_real(target_coverage, "target_coverage", low=0.0, high=1.0, low_open=True)
    else:
        check_real(target_accuracy, "target_accuracy", low=0.0, high=1.0, low_open=True)
    uncertainty = _scores(uncertainty, "uncertainty")
    correct = _correct_flags(correct, len(uncertainty))
    thresholds, kept, n_correct = _cumulative_by_threshold(uncertainty, correct)
    coverage, accuracy = kept / len(correct), n_correct / kept
    if target_coverage is not None:
        # The first coverage reaching the target, a target that rounding put a hair
        # above a share of rows (1 - 0.7 is 0.30000000000000004) counting as that share.
        chosen = min(int(np.searchsorted(coverage, target_coverage - COVERAGE_TOLERANCE,
                                         side="left")), len(coverage) - 1)
    else:
        reaching = np.flatnonzero(accuracy >= target_accuracy)
        if reaching.size == 0:
            best = int(np.argmax(accuracy))
            raise ValueError(
                f"No threshold reaches target_accuracy={target_accuracy} on these "
                f"{len(correct)} rows; the highest accuracy is {accuracy[best]:.4f}, at "
                f"coverage {coverage[best]:.4f}. Lower the target or use target_coverage.")
        chosen = reaching[-1]
    return Bunch(threshold=float(thresholds[chosen]), coverage=float(coverage[chosen]),
                 accuracy=float(accuracy[chosen]))


# --- unfamiliar images -------------------------------------------------------


def ood_scores(in_scores, out_scores):
    """How well a score tells unfamiliar (out-of-distribution) rows from familiar ones.

    The unfamiliar rows are the positives, and a larger score flags a row
    as more unfamiliar: pass an uncertainty (``mutual_information``,
    ``total``) as it is, and a confidence as ``1 - confidence``.

    * ``auroc``: the area under the ROC curve
      (:func:`sklearn.metrics.roc_auc_score`), the chance that a random
      unfamiliar row scores above a random familiar one (ties count half):
      1 separates them, 0.5 is chance.
    * ``fpr_at_95_tpr``: flag every row scoring at least
      ``threshold_at_95_tpr``, the largest threshold that flags at least
      95 % of the unfamiliar rows; the share of familiar rows flagged too.
      Lower is better; 0.95 is chance.

    Parameters
    ----------
    in_scores : array-like of shape (n_in,)
        Scores of familiar rows (the test set of the training distribution).
    out_scores : array-like of shape (n_out,)
        Scores of unfamiliar rows (another data set, corrupted images).

    Returns
    -------
    Bunch
        ``auroc``, ``fpr_at_95_tpr`` and ``threshold_at_95_tpr`` : float.

    Raises
    ------
    ValueError
        If either array is empty, not 1-D, or holds NaN or infinite values.

    See Also
    --------
    decompose_uncertainty : Scores to pass here.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.uncertainty import ood_scores
    >>> result = ood_scores(in_scores=[0.1, 0.2, 0.3, 0.9], out_scores=[0.5, 0.6, 0.7, 0.8])
    >>> result.auroc, result.fpr_at_95_tpr, result.threshold_at_95_tpr
    (0.75, 0.25, 0.5)
    """
    in_scores = _scores(in_scores, "in_scores")
    out_scores = _scores(out_scores, "out_scores")
    is_out = np.concatenate([np.zeros(len(in_scores)), np.ones(len(out_scores))])
    auroc = roc_auc_score(is_out, np.concatenate([in_scores, out_scores]))
    # Integer arithmetic: ceil(0.95 * n_out) without 0.95's rounding error.
    n_flagged = -(-_TPR_PERCENT * len(out_scores) // 100)
    threshold = np.sort(out_scores)[::-1][n_flagged - 1]
    return Bunch(auroc=float(auroc), fpr_at_95_tpr=float(np.mean(in_scores >= threshold)),
                 threshold_at_95_tpr=float(threshold))


# --- shared steps --------------------------------------------------------------


def _cumulative_by_threshold(uncertainty, correct):
    """Per distinct uncertainty, ascending: the value, the rows kept and the right ones kept."""
    order = np.argsort(uncertainty, kind="stable")
    sorted_uncertainty = uncertainty[order]
    right_so_far = np.cumsum(correct[order])
    # The last position of each run of equal values: a threshold keeps whole runs.
    last = np.flatnonzero(np.append(sorted_uncertainty[1:] != sorted_uncertainty[:-1], True))
    return sorted_uncertainty[last], last + 1, right_so_far[last]


def _selective_inputs(y_true, proba, classes, uncertainty):
    """Validated ``(uncertainty, correct)`` of the rows, both of shape (n_samples,)."""
    proba = _probabilities(proba, "proba", ndim=2)
    n_samples, n_classes = proba.shape
    if classes is None:
        y_idx = label_indices(y_true, np.arange(n_classes))
    else:
        classes = np.asarray(classes)
        if classes.shape != (n_classes,):
            raise ValueError(f"classes must have shape (n_classes,) = ({n_classes},) to match "
                             f"proba of shape {proba.shape}; got shape {classes.shape}")
        y_idx = label_indices(y_true, classes)
    if len(y_idx) != n_samples:
        raise ValueError(f"y_true has {len(y_idx)} labels but proba has {n_samples} rows")
    if uncertainty is None:
        uncertainty = 1.0 - proba.max(axis=1)
    else:
        uncertainty = _scores(uncertainty, "uncertainty")
        if len(uncertainty) != n_samples:
            raise ValueError(f"uncertainty has {len(uncertainty)} values but proba has "
                             f"{n_samples} rows")
    return uncertainty, proba.argmax(axis=1) == y_idx


def _member_stack(member_probas):
    """``member_probas`` as validated float64 probabilities (n_members, n_samples, n_classes)."""
    if isinstance(member_probas, (list, tuple)):
        if len(member_probas) == 0:
            raise ValueError("member_probas holds no member; at least one is needed")
        check_member_shapes([np.shape(member) for member in member_probas])
    return _probabilities(member_probas, "member_probas", ndim=3)


def _member_weights(weights, n_members):
    """Weights normalised to sum to one (equal when None)."""
    if weights is None:
        return np.full(n_members, 1.0 / n_members)
    try:
        weights = np.array(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"weights must be an array of numbers; got {weights!r}") from exc
    if weights.shape != (n_members,):
        raise ValueError(f"weights must have shape (n_members,) = ({n_members},); got shape "
                         f"{weights.shape}")
    if not np.all(np.isfinite(weights)):
        raise ValueError(f"weights must be finite; got {weights}")
    if np.any(weights < 0):
        raise ValueError(f"weights must be non-negative; got {weights}")
    if weights.sum() == 0:
        raise ValueError("weights are all zero; at least one member needs a positive weight")
    return weights / weights.sum()


def _probabilities(values, name, *, ndim):
    """Checked probabilities whose last axis is the classes, clipped and renormalised."""
    shape_text = "(n_samples, n_classes)" if ndim == 2 else "(n_members, n_samples, n_classes)"
    parts = "row and class" if ndim == 2 else "member, row and class"
    try:
        values = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers of shape {shape_text}") from exc
    if values.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape_text}; got shape {values.shape}")
    if 0 in values.shape:
        raise ValueError(f"{name} must hold at least one {parts}; got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values")
    outside = (values < -PROBABILITY_TOLERANCE) | (values > 1 + PROBABILITY_TOLERANCE)
    if np.any(outside):
        position = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(f"{name} must hold probabilities in [0, 1]; got {values[position]} "
                         f"at {position} (logits or percentages?)")
    row_sums = values.sum(axis=-1)
    off = np.abs(row_sums - 1) > PROBABILITY_TOLERANCE
    if np.any(off):
        position = tuple(int(i) for i in np.argwhere(off)[0])
        raise ValueError(f"{name} must have rows summing to 1; the row at {position} sums "
                         f"to {row_sums[position]:.6g}")
    np.clip(values, 0.0, 1.0, out=values)
    values /= values.sum(axis=-1, keepdims=True)
    return values


def _scores(values, name):
    """A non-empty, finite, 1-D float64 array."""
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers") from exc
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return values


def _correct_flags(correct, n_samples):
    """``correct`` as a boolean array of length ``n_samples``."""
    correct = np.asarray(correct)
    if correct.shape != (n_samples,):
        raise ValueError(f"correct must have shape (n_samples,) = ({n_samples},) like "
                         f"uncertainty; got shape {correct.shape}")
    if correct.dtype != bool and not np.isin(correct, (0, 1)).all():
        raise ValueError("correct must hold booleans, or 0 and 1 only")
    return correct.astype(bool)
