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

__getattr__, __dir__, __all__ = lazy_attributes(__name__, {
    # Not the function report: once imported, the submodule of that name shadows it here
    # (it is ensemble.report, and ensemble.evaluation.report.report).
    ".report": ("Report",),
    ".shift": ("ShiftReport", "detect_unfamiliar", "evaluate_under_shift"),
    ".metrics": (
        "accuracy", "brier_score", "expected_calibration_error", "log_loss",
        "normalize_probabilities", "per_class_scores", "score_all",
    ),
    ".uncertainty": (
        "accuracy_coverage_curve", "aurc", "choose_abstention_threshold", "decompose_uncertainty",
        "ood_scores",
    ),
    ".comparison": ("compare_to_best_member", "describe_gain"),
    ".plots": (
        "plot_accuracy_coverage", "plot_confusion_matrix", "plot_learning_curves",
        "plot_metrics", "plot_reliability", "plot_shift", "plot_weights",
    ),
})
