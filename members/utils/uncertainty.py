"""Total, expected and disagreement uncertainty of several probability predictions of the same rows.

Shared by members (whose test-time augmentation passes act as a small
ensemble) and combiners (whose members do); pure NumPy.
"""

import numpy as np
from sklearn.utils import Bunch


def entropy(proba):
    """Shannon entropy of each row, in nats, with ``0 log 0 = 0``.

    Parameters
    ----------
    proba : ndarray of shape (..., n_classes)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> from members.utils.uncertainty import entropy
    >>> entropy(np.array([[1.0, 0.0], [0.5, 0.5]])).round(4).tolist()
    [0.0, 0.6931]
    """
    proba = np.asarray(proba, dtype=np.float64)
    # where=: log is never evaluated at 0, so no warning and no NaN from 0 * -inf.
    logs = np.log(proba, out=np.zeros_like(proba), where=proba > 0)
    return 0.0 - np.sum(proba * logs, axis=-1)  # 0.0 - x, not -x: no -0.0 for a sure row


def decompose_uncertainty(member_probas, weights=None):
    """Split the uncertainty of a weighted average of predictions into its two parts.

    With weights :math:`w_m` (non-negative, summing to one) and member
    probabilities :math:`p_m(x)`, the blend is :math:`\\bar p = \\sum_m w_m p_m`
    and, per row,

    * ``total`` :math:`= H(\\bar p)`, the entropy of the blend (all the
      uncertainty in the prediction);
    * ``expected`` :math:`= \\sum_m w_m H(p_m)`, what the members are unsure
      of on average (aleatoric: noise, ambiguous images);
    * ``mutual_information`` :math:`= H(\\bar p) - \\sum_m w_m H(p_m) \\ge 0`,
      how much the members disagree (epistemic: what more training data or
      another model could settle). Zero when every member predicts the same
      distribution; at most :math:`\\log` (number of members or classes).

    This is the decomposition of Depeweg et al. (2018) used for deep
    ensembles by Lakshminarayanan et al. (2017); entropies are in nats.

    Parameters
    ----------
    member_probas : array-like of shape (n_members, n_samples, n_classes)
        Each member's probabilities of the same rows; rows sum to one.
    weights : array-like of shape (n_members,), default=None
        Non-negative, not all zero; normalised to sum to one. ``None``:
        equal weights. A member of weight 0 counts for nothing.

    Returns
    -------
    sklearn.utils.Bunch
        ``proba`` (the blend, shape (n_samples, n_classes)) and, each of
        shape (n_samples,), ``confidence`` (the blend's largest
        probability), ``total``, ``expected`` and ``mutual_information``.

    Examples
    --------
    Two confident members that disagree: all of the uncertainty is
    disagreement.

    >>> import numpy as np
    >>> from members.utils.uncertainty import decompose_uncertainty
    >>> parts = decompose_uncertainty(np.array([[[1.0, 0.0]], [[0.0, 1.0]]]))
    >>> parts.total.round(4).tolist(), parts.expected.tolist()
    ([0.6931], [0.0])
    >>> parts.mutual_information.round(4).tolist()
    [0.6931]
    """
    probas = np.asarray(member_probas, dtype=np.float64)
    if probas.ndim != 3 or 0 in probas.shape:
        raise ValueError("member_probas must have shape (n_members, n_samples, n_classes) with "
                         f"no empty axis, got shape {probas.shape}.")
    weights = _normalised_weights(weights, len(probas))
    blend = np.tensordot(weights, probas, axes=1)
    total = entropy(blend)
    expected = np.tensordot(weights, entropy(probas), axes=1)
    # Jensen: total >= expected; rounding can leave -1e-16, which is 0.
    mutual_information = np.maximum(total - expected, 0.0)
    return Bunch(proba=blend, confidence=blend.max(axis=1), total=total, expected=expected,
                 mutual_information=mutual_information)


def _normalised_weights(weights, n_members):
    if weights is None:
        return np.full(n_members, 1.0 / n_members)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n_members,):
        raise ValueError(f"weights must have shape ({n_members},), one per member, got "
                         f"{weights.shape}.")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(f"weights must be finite, non-negative and not all zero, got "
                         f"{weights.tolist()}.")
    return weights / weights.sum()
