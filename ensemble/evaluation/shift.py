"""Shifted and unfamiliar images: where an ensemble is known to earn its cost.

Two measurements, each with the ensemble beside its members:

* :func:`evaluate_under_shift`: accuracy, log loss and expected calibration
  error (ECE) on corrupted copies of labelled images (every corruption of
  :mod:`ensemble.datasets.corruptions` at every severity), and the
  ensemble's gain over its best member averaged over all of them, with a
  95 % interval from a bootstrap over the *images* (each resample keeps an
  image's every corrupted copy together: copies of one image are not
  independent evidence).
* :func:`detect_unfamiliar`: how well the ensemble's confidence, entropy and
  members' disagreement (mutual information) tell the images it was made
  for from unfamiliar ones (AUROC, false-positive rate at 95 % true-positive
  rate), beside its best member's confidence and entropy.

Works with anything that has ``classes_`` and ``predict_proba``; a combiner
(``scored_probas``, ``named_members_``) also gets its members' rows, and
:func:`detect_unfamiliar` needs ``predict_uncertainty`` (combiners and
members have it).
"""

from dataclasses import dataclass, field

import numpy as np

from ensemble.datasets.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from ensemble.evaluation import metrics
from ensemble.evaluation.report import format_table
from ensemble.evaluation.uncertainty import ood_scores
from members.utils.checks import check_int, check_real
from members.utils.labels import label_indices

__all__ = ["ShiftReport", "best_member_name", "detect_unfamiliar", "evaluate_under_shift"]

#: The ensemble's row in every table.
ENSEMBLE = "ensemble"

_EPS = float(np.finfo(np.float64).eps)


@dataclass
class ShiftReport:
    """Each model's scores on every corrupted copy of the images, and the ensemble's gains.

    Attributes
    ----------
    rows : list of dict
        One per (corruption, severity, model): ``corruption``, ``severity``,
        ``model`` (a member's name, ``"ensemble"``, or a lone member's
        class name), ``accuracy``, ``log_loss``, ``ece``. The clean images
        are ``corruption="clean"``, ``severity=0``.
    averages : dict of str to dict
        Per model, each metric averaged over every corruption and severity
        (the clean images not included).
    clean : dict of str to dict
        Per model, the metrics on the clean images.
    gains : dict of str to dict
        Per metric (``accuracy``, ``log_loss``, ``ece``): ``best_member``
        (the member with the best shifted average of that metric),
        ``member``, ``ensemble``, ``gain`` (ensemble minus member; positive
        is better for accuracy, negative for log loss and ECE),
        ``interval`` (the bootstrap interval of the gain over images) and
        ``verdict``. Empty for a model without members.
    other_gains : dict of str to dict
        The same for each of ``others`` (other blends of the same members).
    n_images, corruptions, severities, n_resamples, confidence
        What was measured.
    models : list of str
        The table's models: the ensemble, then ``others``, then the members.
    """

    rows: list
    averages: dict
    clean: dict
    gains: dict
    n_images: int
    corruptions: tuple
    severities: tuple
    n_resamples: int
    confidence: float
    models: list = field(default_factory=list)
    other_gains: dict = field(default_factory=dict)

    def table(self):
        """Per corruption (averaged over severities) and overall: every model's three metrics."""
        header = ["corruption"] + [f"{model} {short}" for model in self.models
                                   for short in ("acc", "loss", "ECE")]
        lines = []
        for corruption in ("clean",) + tuple(self.corruptions):
            picked = [row for row in self.rows if row["corruption"] == corruption]
            lines.append([corruption] + [
                f"{np.mean([r[metric] for r in picked if r['model'] == model]):.4f}"
                for model in self.models for metric in ("accuracy", "log_loss", "ece")])
        lines.append(["mean shifted"] + [f"{self.averages[model][metric]:.4f}"
                                          for model in self.models
                                          for metric in ("accuracy", "log_loss", "ece")])
        return format_table(header, lines)

    def gain_lines(self):
        """One sentence per metric: the ensemble against its best member under shift."""
        lines = []
        for metric, gain in self.gains.items():
            low, high = gain["interval"]
            lines.append(
                f"{metric} under shift: ensemble {gain['ensemble']:.4f} vs best member "
                f"{gain['best_member']} {gain['member']:.4f}, gain {gain['gain']:+.4f} "
                f"({self.confidence:.0%} interval {low:+.4f} to {high:+.4f}, bootstrap over "
                f"{self.n_images} images): {gain['verdict']}.")
        return lines

    def to_dict(self):
        """JSON-ready: rows, averages, clean scores, gains and what was measured."""
        return {"rows": self.rows, "averages": self.averages, "clean": self.clean,
                "gains": self.gains, "other_gains": self.other_gains, "n_images": self.n_images,
                "corruptions": list(self.corruptions), "severities": list(self.severities),
                "n_resamples": self.n_resamples, "confidence": self.confidence}


def evaluate_under_shift(model, X, y, *, corruptions=None, severities=SEVERITIES,
                         random_state=0, n_resamples=1000, confidence=0.95, n_bins=15,
                         others=None):
    """Score a model and its members on every corruption of ``X`` at every severity.

    Parameters
    ----------
    model : fitted classifier
        An ensemble (its members are scored too) or any classifier with
        ``classes_`` and ``predict_proba`` that takes images.
    X : ndarray of uint8, shape (n_images, height, width[, channels])
        Clean labelled images, as ``model`` was trained on.
    y : array-like of shape (n_images,)
        Their labels, values of ``model.classes_``.
    corruptions : sequence of str, default=None
        Names from :data:`ensemble.datasets.corruptions.CORRUPTIONS`;
        ``None``: all of them.
    severities : sequence of int, default=(1, 2, 3, 4, 5)
    random_state : int, default=0
        Seeds the corruptions (each corruption and severity its own stream)
        and the bootstrap.
    n_resamples : int, default=1000
        Bootstrap resamples (over images) of the gains' intervals.
    confidence : float, default=0.95
    n_bins : int, default=15
        Bins of the expected calibration error.
    others : dict of str to fitted ensemble, default=None
        Other blends of the same fitted members (from
        ``type(model).from_blend(model, ...)``: equal weights, a
        temperature), scored from the same member predictions at no extra
        network cost.

    Returns
    -------
    ShiftReport

    Notes
    -----
    Cost: one prediction of every member per corruption and severity
    (``len(corruptions) * len(severities) + 1`` passes over ``X``).
    """
    corruptions = tuple(CORRUPTIONS if corruptions is None else corruptions)
    unknown = sorted(set(corruptions) - set(CORRUPTIONS))
    if unknown or not corruptions:
        raise ValueError(f"corruptions must be a non-empty subset of {list(CORRUPTIONS)}, "
                         f"got unknown {unknown}.")
    severities = tuple(severities)
    if not severities or any(s not in SEVERITIES for s in severities):
        raise ValueError(f"severities must be a non-empty subset of {list(SEVERITIES)}, "
                         f"got {list(severities)}.")
    check_int(random_state, "random_state", minimum=0)
    check_int(n_resamples, "n_resamples", minimum=1)
    check_real(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    X = np.asarray(X)
    y_idx = label_indices(y, model.classes_)
    if len(y_idx) != len(X) or len(X) == 0:
        raise ValueError(f"X and y must hold the same number of images (at least one), got "
                         f"{len(X)} and {len(y_idx)}.")

    others = dict(others or {})
    conditions = [("clean", 0)] + [(c, s) for c in corruptions for s in severities]
    names, scores = _scores_per_condition(model, others, X, y_idx, conditions, random_state)
    rows, table = _metric_rows(names, scores, conditions, n_bins)
    shifted = slice(1, None)
    averages = {name: {metric: float(np.mean(table[metric][m, shifted]))
                       for metric in table} for m, name in enumerate(names)}
    clean = {name: {metric: float(table[metric][m, 0]) for metric in table}
             for m, name in enumerate(names)}
    n_members = len(names) - len(others) - 1
    gains, other_gains = {}, {}
    if n_members > 0:
        resampled = _resampled_metrics({key: value[:, shifted] for key, value in scores.items()},
                                        n_bins, n_resamples, np.random.default_rng(random_state))
        for index, name in enumerate(names[n_members:], start=n_members):
            found = _gains(names[:n_members], name, index, averages, resampled, confidence)
            if name == ENSEMBLE:
                gains = found
            else:
                other_gains[name] = found
    return ShiftReport(rows=rows, averages=averages, clean=clean, gains=gains,
                       n_images=len(X), corruptions=corruptions, severities=severities,
                       n_resamples=n_resamples, confidence=confidence,
                       models=[names[-1]] + list(others) + names[:n_members],
                       other_gains=other_gains)


def detect_unfamiliar(model, X_familiar, X_unfamiliar, *, member_weights="blend"):
    """How well each uncertainty score flags unfamiliar images: AUROC and FPR at 95 % TPR.

    Parameters
    ----------
    model : fitted ensemble or member
        Anything with ``predict_uncertainty`` (an ensemble's members are
        compared too: its best member's confidence and entropy).
    X_familiar : ndarray
        Images like the training data (its test set).
    X_unfamiliar : ndarray
        Images of the same shape the model should not be sure about
        (another data set, held-out classes, noise).
    member_weights : {"blend", "equal"} or array-like, default="blend"
        Passed to an ensemble's ``predict_uncertainty``.

    Returns
    -------
    dict of str to sklearn.utils.Bunch
        Per score (``"max probability"``, ``"entropy"``, ``"mutual
        information"``, and for an ensemble ``"best member max probability"``
        and ``"best member entropy"``): ``auroc``, ``fpr_at_95_tpr`` and
        ``threshold_at_95_tpr`` (see
        :func:`ensemble.evaluation.uncertainty.ood_scores`). The unfamiliar
        images are the positives; a score of 1 - confidence is used for the
        max-probability rows.
    """
    is_ensemble = hasattr(model, "named_members_")
    kwargs = {"member_weights": member_weights} if is_ensemble else {}
    familiar = model.predict_uncertainty(X_familiar, **kwargs)
    unfamiliar = model.predict_uncertainty(X_unfamiliar, **kwargs)
    results = {
        "max probability": ood_scores(1 - familiar.confidence, 1 - unfamiliar.confidence),
        "entropy": ood_scores(familiar.total, unfamiliar.total),
        "mutual information": ood_scores(familiar.mutual_information,
                                         unfamiliar.mutual_information),
    }
    if is_ensemble:
        member = model.named_members_[best_member_name(model)]
        inside = member.predict_uncertainty(X_familiar)
        outside = member.predict_uncertainty(X_unfamiliar)
        results["best member max probability"] = ood_scores(1 - inside.confidence,
                                                            1 - outside.confidence)
        results["best member entropy"] = ood_scores(inside.total, outside.total)
    return results


def best_member_name(model):
    """The member a combiner found best on its blending rows.

    ``best_member_`` where the combiner chose by cross-fitting; otherwise
    the member of the largest weight (or the first).

    Parameters
    ----------
    model : fitted ensemble

    Returns
    -------
    str
    """
    if getattr(model, "best_member_", None) in model.named_members_:
        return model.best_member_
    weights = getattr(model, "weights_", None)
    names = list(model.named_members_)
    return names[int(np.argmax(weights))] if weights is not None else names[0]


def _scores_per_condition(model, others, X, y_idx, conditions, random_state):
    """Per model (members, ``others``, the ensemble last): true-class probability, correct, top p.

    Returns arrays of shape (n_models, n_conditions, n_images).
    """
    # A lone member is scored under its class name: there is no ensemble to speak of.
    own = ENSEMBLE if hasattr(model, "named_members_") else type(model).__name__
    names = list(getattr(model, "named_members_", {})) + list(others) + [own]
    shape = (len(names), len(conditions), len(X))
    scores = {"true_p": np.empty(shape), "correct": np.empty(shape, dtype=bool),
              "confidence": np.empty(shape)}
    rows = np.arange(len(X))
    for index, (corruption, severity) in enumerate(conditions):
        images = X if corruption == "clean" else corrupt(
            X, corruption, severity, random_state=np.random.default_rng([random_state, index]))
        for m, proba in enumerate(_probas(model, others, images)):
            proba = metrics.normalize_probabilities(proba)
            scores["true_p"][m, index] = proba[rows, y_idx]
            scores["correct"][m, index] = np.argmax(proba, axis=1) == y_idx
            scores["confidence"][m, index] = proba.max(axis=1)
    return names, scores


def _probas(model, others, images):
    """Each member's probabilities, then each of ``others``', then the model's own."""
    if hasattr(model, "scored_probas"):
        members, _, proba = model.scored_probas(images)
        blends = [other.proba_from_member_probas(members, images) for other in others.values()]
        return list(members) + blends + [proba]
    if others:
        raise ValueError("others needs an ensemble whose members they share.")
    return [model.predict_proba(images)]


def _metric_rows(names, scores, conditions, n_bins):
    table = {"accuracy": scores["correct"].mean(axis=2),
             "log_loss": -np.log(np.maximum(scores["true_p"], _EPS)).mean(axis=2),
             "ece": _ece(scores["confidence"], scores["correct"], n_bins)}
    rows = [{"corruption": corruption, "severity": severity, "model": name,
             **{metric: float(table[metric][m, c]) for metric in table}}
            for c, (corruption, severity) in enumerate(conditions)
            for m, name in enumerate(names)]
    return rows, table


def _ece(confidence, correct, n_bins, images=None):
    """Expected calibration error per (model, condition), over the chosen images.

    ``confidence`` and ``correct`` have shape (n_models, n_conditions,
    n_images); ``images`` (a bootstrap resample, with repeats) picks the
    columns. The same binning as :func:`ensemble.evaluation.metrics.expected_calibration_error`.
    """
    if images is not None:
        confidence, correct = confidence[..., images], correct[..., images]
    n_models, n_conditions, n_images = confidence.shape
    inner_edges = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    bins = np.digitize(confidence, inner_edges, right=True)
    # One bincount for every (model, condition) pair: offset each pair's bins.
    pair = np.arange(n_models * n_conditions).reshape(n_models, n_conditions, 1)
    flat = (pair * n_bins + bins).ravel()
    gap = np.bincount(flat, weights=(correct - confidence).ravel(),
                      minlength=n_models * n_conditions * n_bins)
    gap = np.abs(gap.reshape(n_models, n_conditions, n_bins)).sum(axis=2)
    return gap / n_images


LOWER_IS_BETTER = {"accuracy": False, "log_loss": True, "ece": True}


def _resampled_metrics(scores, n_bins, n_resamples, rng):
    """Each model's metrics on bootstrap resamples of the images: metric -> (n_models, n_resamples).

    An image is resampled with all its corrupted copies (the shifted
    conditions pooled), so the interval reflects which images were drawn.
    """
    per_image = {"accuracy": scores["correct"].mean(axis=1),
                 "log_loss": -np.log(np.maximum(scores["true_p"], _EPS)).mean(axis=1)}
    n_models, _, n_images = scores["correct"].shape
    resampled = {metric: np.empty((n_models, n_resamples)) for metric in LOWER_IS_BETTER}
    for r in range(n_resamples):
        images = rng.integers(0, n_images, size=n_images)
        for metric, values in per_image.items():
            resampled[metric][:, r] = values[:, images].mean(axis=1)
        resampled["ece"][:, r] = _ece(scores["confidence"], scores["correct"], n_bins,
                                      images).mean(axis=1)
    return resampled


def _gains(members, blend_name, blend_row, averages, resampled, confidence):
    """A blend minus the best member (on the shifted averages), per metric, with its interval."""
    tail = (1.0 - confidence) / 2 * 100
    gains = {}
    for metric, lower in LOWER_IS_BETTER.items():
        member_scores = [averages[name][metric] for name in members]
        best = int(np.argmin(member_scores) if lower else np.argmax(member_scores))
        difference = resampled[metric][blend_row] - resampled[metric][best]
        low, high = np.percentile(difference, [tail, 100 - tail])
        better = high < 0 if lower else low > 0
        worse = low > 0 if lower else high < 0
        member, value = member_scores[best], averages[blend_name][metric]
        gains[metric] = {"best_member": members[best], "member": member, "ensemble": value,
                         "gain": value - member, "interval": [float(low), float(high)],
                         "verdict": ("better" if better else "worse" if worse
                                     else "no measurable difference")}
    return gains
