"""Evaluation: scores, the ensemble-against-members report, gains with their noise, and plots.

What lives here
---------------
``metrics`` (accuracy, log loss, Brier score, expected calibration error,
per-class scores), ``comparison`` (the gain over the best member with a
paired bootstrap interval and McNemar's test), ``uncertainty`` (member
disagreement, abstention and unfamiliar images: what only an ensemble
knows), ``shift`` (scores on corrupted images with the gain over the best
member, and telling familiar images from unfamiliar ones), ``report``
(``Report`` and ``report``: every member beside the ensemble) and ``plots``
(matplotlib figures, imported only when used).

What it may import
------------------
NumPy, SciPy, scikit-learn, matplotlib, ``members.utils`` and
``ensemble.datasets`` (the corruptions ``shift`` applies). Nothing else of
``ensemble``: the combiners, prediction files and the command line all
score through this package, so it stays near the bottom. Nothing here
imports TensorFlow.
"""

from members.utils.lazy import lazy_attributes

_LAZY = {
    "Report": ".report",
    "ShiftReport": ".shift",
    "accuracy": ".metrics",
    "accuracy_coverage_curve": ".uncertainty",
    "aurc": ".uncertainty",
    "brier_score": ".metrics",
    "choose_abstention_threshold": ".uncertainty",
    "compare_to_best_member": ".comparison",
    "decompose_uncertainty": ".uncertainty",
    "describe_gain": ".comparison",
    "detect_unfamiliar": ".shift",
    "evaluate_under_shift": ".shift",
    "expected_calibration_error": ".metrics",
    "log_loss": ".metrics",
    "normalize_probabilities": ".metrics",
    "ood_scores": ".uncertainty",
    "per_class_scores": ".metrics",
    "plot_confusion_matrix": ".plots",
    "plot_learning_curves": ".plots",
    "plot_metrics": ".plots",
    "plot_reliability": ".plots",
    "plot_weights": ".plots",
    "report": ".report",
    "score_all": ".metrics",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
