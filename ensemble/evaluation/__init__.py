"""Evaluation: scores, the ensemble-against-members report, gains with their noise, and plots.

What lives here
---------------
``metrics`` (accuracy, log loss, Brier score, expected calibration error,
per-class scores), ``comparison`` (the gain over the best member with a
paired bootstrap interval and McNemar's test), ``report`` (``Report`` and
``report``: every member beside the ensemble) and ``plots`` (matplotlib
figures, imported only when used).

What it may import
------------------
NumPy, SciPy, matplotlib and ``members.utils``. Nothing else of ``ensemble``:
the combiners, prediction files and the command line all score through this
package, so it stays at the bottom. Nothing here imports TensorFlow.
"""

from members.utils.lazy import lazy_attributes

_LAZY = {
    "Report": ".report",
    "accuracy": ".metrics",
    "brier_score": ".metrics",
    "compare_to_best_member": ".comparison",
    "describe_gain": ".comparison",
    "expected_calibration_error": ".metrics",
    "log_loss": ".metrics",
    "normalize_probabilities": ".metrics",
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
