"""Is the ensemble better than its best member? The gain, its 95 % interval, McNemar's test.

A gain of +0.0004 accuracy on 10,000 test images is 4 images: inside the
noise of which images happen to be in the test set. So every gain is
reported with a paired bootstrap interval over the test rows (the rows are
resampled with replacement, the same rows for the ensemble and the member,
and the gain recomputed each time), and the accuracy gain also with
McNemar's exact test (do the rows only the ensemble gets right outnumber
the rows only the member gets right by more than chance?).

The best member is chosen on the rows being scored, per metric (the most
accurate member for the accuracy gain, the lowest log loss for the log
loss gain): the strongest competitor the ensemble could be compared with,
which biases the comparison slightly against the ensemble.

Pure NumPy/SciPy; no TensorFlow.
"""

import numpy as np
from scipy.stats import binomtest

from ensemble.evaluation import metrics
from members.utils.checks import check_int, check_real
from members.utils.labels import label_indices

__all__ = ["compare_to_best_member", "describe_gain"]

#: Resamples of the paired bootstrap; the interval's ends move by about
#: 0.0005 accuracy between seeds at 2,000 on 10,000 rows.
N_RESAMPLES = 2000
#: Floor of a true-class probability, as scikit-learn's log_loss clips float64 input.
_EPS = float(np.finfo(np.float64).eps)
#: Per-row log-loss differences below this are float rounding, not a difference.
_ROUNDING = 1e-9
#: Row indices drawn at once by the bootstrap (memory: 8 bytes each, 80 MB).
_CHUNK_VALUES = 10_000_000


def compare_to_best_member(y, ensemble_proba, member_probas, classes, *,
                           n_resamples=N_RESAMPLES, confidence=0.95, random_state=0):
    """The ensemble's gain over its best member in accuracy and log loss, with intervals.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels, values of ``classes``.
    ensemble_proba : array-like of shape (n_samples, n_classes)
    member_probas : dict of str to array-like of shape (n_samples, n_classes)
        Each member's probabilities on the same rows, columns in the order
        of ``classes``.
    classes : array-like of shape (n_classes,)
    n_resamples : int, default=2000
        Resamples of the paired bootstrap.
    confidence : float, default=0.95
        Coverage of the percentile intervals.
    random_state : int, default=0
        Seeds the resampling: the same call gives the same interval.

    Returns
    -------
    dict
        ``"accuracy"`` and ``"log_loss"``, each a dict with ``best_member``
        (its name), ``member`` and ``ensemble`` (their scores), ``gain``
        (positive when the ensemble is better: accuracy ensemble minus
        member, log loss member minus ensemble), ``interval`` ([low, high]
        of the gain) and ``verdict`` (``"better"``, ``"worse"`` or ``"no
        measurable difference"``: whether the interval excludes 0, and for
        accuracy also McNemar's p below ``1 - confidence``); the
        accuracy entry also ``mcnemar_p`` (exact two-sided p-value),
        ``ensemble_only_right`` and ``member_only_right`` (rows). Also
        ``n_samples``, ``confidence``, ``n_resamples`` and ``summary`` (the
        result in one sentence, see :func:`describe_gain`).

    Raises
    ------
    ValueError
        No members, arrays of different lengths, or labels outside ``classes``.

    See Also
    --------
    ensemble.report : Prints this under the members-beside-ensemble table.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.comparison import compare_to_best_member
    >>> y = np.array([0, 1] * 50)
    >>> right = np.eye(2)[y] * 0.8 + 0.1          # right on every row
    >>> half = np.where(np.arange(100)[:, None] < 50, right, right[:, ::-1])
    >>> result = compare_to_best_member(y, right, {"half": half}, classes=[0, 1])
    >>> result["accuracy"]["gain"], result["accuracy"]["verdict"]
    (0.5, 'better')
    >>> result["accuracy"]["member_only_right"], result["accuracy"]["ensemble_only_right"]
    (0, 50)
    """
    n_resamples = check_int(n_resamples, "n_resamples", minimum=1)
    check_real(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    confidence = float(confidence)
    if not member_probas:
        raise ValueError("member_probas must name at least one member.")
    classes = np.asarray(classes)
    y_idx = label_indices(y, classes)
    if len(y_idx) == 0:
        raise ValueError("cannot compare on zero samples: y is empty.")
    ensemble_proba = _checked(ensemble_proba, y_idx, classes, "ensemble_proba")
    members = {name: _checked(proba, y_idx, classes, f"member {name!r}")
               for name, proba in member_probas.items()}
    rows = np.arange(len(y_idx))
    correct = {name: (proba.argmax(axis=1) == y_idx).astype(float)
               for name, proba in members.items()}
    losses = {name: -np.log(np.clip(proba[rows, y_idx], _EPS, 1.0))
              for name, proba in members.items()}
    ensemble_correct = (ensemble_proba.argmax(axis=1) == y_idx).astype(float)
    ensemble_loss = -np.log(np.clip(ensemble_proba[rows, y_idx], _EPS, 1.0))

    # Ties go to the member listed first.
    most_accurate = max(correct, key=lambda name: correct[name].mean())
    lowest_loss = min(losses, key=lambda name: losses[name].mean())
    rng = np.random.default_rng(random_state)
    accuracy_gain = ensemble_correct - correct[most_accurate]
    loss_gain = losses[lowest_loss] - ensemble_loss
    # Rows whose losses differ by float rounding only (an ensemble that is one member,
    # renormalised) are no gain: without this their common sign would make one.
    loss_gain[np.abs(loss_gain) < _ROUNDING] = 0.0
    low, high = _paired_bootstrap(np.stack([accuracy_gain, loss_gain]), n_resamples,
                                  confidence, rng)
    only_ensemble = int(np.sum((ensemble_correct == 1) & (correct[most_accurate] == 0)))
    only_member = int(np.sum((ensemble_correct == 0) & (correct[most_accurate] == 1)))
    mcnemar_p = _mcnemar_exact(only_ensemble, only_member)
    accuracy = _gain_entry(most_accurate, correct[most_accurate].mean(),
                           ensemble_correct.mean(), accuracy_gain.mean(), low[0], high[0])
    if mcnemar_p >= 1 - confidence:
        # With few rows that differ the bootstrap interval is too narrow (4 rows of 2,000
        # only the ensemble gets right give an interval above 0, McNemar p = 0.125): an
        # accuracy difference counts only when the exact test agrees.
        accuracy["verdict"] = "no measurable difference"
    result = {
        "n_samples": int(len(y_idx)), "confidence": confidence, "n_resamples": n_resamples,
        "accuracy": {
            **accuracy, "mcnemar_p": mcnemar_p,
            "ensemble_only_right": only_ensemble, "member_only_right": only_member,
        },
        "log_loss": _gain_entry(lowest_loss, losses[lowest_loss].mean(), ensemble_loss.mean(),
                                loss_gain.mean(), low[1], high[1]),
    }
    result["summary"] = describe_gain(result)
    return result


def describe_gain(comparison):
    """The comparison of :func:`compare_to_best_member` in one sentence of plain words.

    Parameters
    ----------
    comparison : dict
        What :func:`compare_to_best_member` returns.

    Returns
    -------
    str
        For example ``"Against its best member: accuracy no measurable
        difference (+0.0004, 95 % interval -0.0021 to +0.0029, McNemar p =
        0.78); log loss better by 0.0026 (95 % interval +0.0011 to
        +0.0042)."``
    """
    percent = f"{comparison['confidence'] * 100:g} %"
    parts = []
    for key, title in (("accuracy", "accuracy"), ("log_loss", "log loss")):
        entry = comparison[key]
        interval = (f"{percent} interval {entry['interval'][0]:+.4f} to "
                    f"{entry['interval'][1]:+.4f}")
        if key == "accuracy":
            interval += f", McNemar p = {entry['mcnemar_p']:.2g}"
        if entry["verdict"] == "no measurable difference":
            parts.append(f"{title} no measurable difference ({entry['gain']:+.4f}, {interval})")
        else:
            parts.append(f"{title} {entry['verdict']} by {abs(entry['gain']):.4f} ({interval})")
    names = {comparison["accuracy"]["best_member"], comparison["log_loss"]["best_member"]}
    who = " and ".join(sorted(names))
    return f"Against its best member ({who}): " + "; ".join(parts) + "."


def _gain_entry(name, member, ensemble, gain, low, high):
    verdict = ("better" if low > 0 else "worse" if high < 0 else "no measurable difference")
    return {"best_member": str(name), "member": float(member), "ensemble": float(ensemble),
            "gain": float(gain), "interval": [float(low), float(high)], "verdict": verdict}


def _paired_bootstrap(per_row_gains, n_resamples, confidence, rng):
    """Percentile interval of each row of ``per_row_gains``' mean over resampled columns."""
    n_samples = per_row_gains.shape[1]
    means = np.empty((per_row_gains.shape[0], n_resamples))
    chunk = max(1, _CHUNK_VALUES // n_samples)
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        rows = rng.integers(0, n_samples, size=(size, n_samples))
        means[:, start:start + size] = per_row_gains[:, rows].mean(axis=2)
    tail = (1.0 - confidence) / 2 * 100
    return (np.percentile(means, tail, axis=1), np.percentile(means, 100 - tail, axis=1))


def _mcnemar_exact(only_first, only_second):
    """Two-sided exact McNemar p-value: a binomial test on the discordant rows."""
    discordant = only_first + only_second
    if discordant == 0:
        return 1.0
    return float(binomtest(only_first, discordant, 0.5).pvalue)


def _checked(proba, y_idx, classes, label):
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape != (len(y_idx), len(classes)):
        raise ValueError(f"{label} must have shape {(len(y_idx), len(classes))} "
                         f"(samples, classes), got {proba.shape}.")
    return metrics.normalize_probabilities(proba)
