"""Combiners that blend Keras member networks, and the tools around them.

``WeightedAverageEnsemble`` and ``StackingEnsemble`` learn how to combine
members on data the members never trained on (a held-out split, explicit
validation data, out-of-fold predictions, or prefit members).
``BayesSearchCV`` (from :mod:`ensemble.tuning`) searches their
hyper-parameters with Optuna. ``PredictionBlender`` blends predictions made
by any tool (out-of-fold and test probabilities, by model name).

The names below are imported on first use (PEP 562), so that
``ensemble.datasets``, ``ensemble.metrics``, ``ensemble.weights`` and the
command line's ``--help`` and argument errors work without paying for
TensorFlow's import.
"""

from members._shared.lazy import lazy_attributes

_LAZY = {
    "BayesSearchCV": ".tuning",
    "PredictionBlender": "._blender",
    "Report": "._report",
    "report": "._report",
    "StackingEnsemble": "._stacking",
    "WeightedAverageEnsemble": "._weighted",
    "load": ".persistence",
    "save": ".persistence",
    "verify": ".persistence",
    "import_keras_quietly": "._quiet",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
