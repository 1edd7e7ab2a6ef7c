"""Combiners that blend Keras member networks, and the tools around them.

``WeightedAverageEnsemble`` and ``StackingEnsemble`` learn how to combine
members on data the members never trained on (a held-out split, explicit
validation data, out-of-fold predictions, or prefit members).
``BayesSearchCV`` (from :mod:`ensemble.tuning`) searches their
hyper-parameters with Optuna. ``PredictionBlender`` blends predictions made
by any tool (out-of-fold and test probabilities, by model name).

The names below are imported on first use (PEP 562), so that
``ensemble.datasets``, ``ensemble.evaluation``, ``ensemble.combiners.weights``
and the command line's ``--help`` and argument errors work without paying for
TensorFlow's import.
"""

import sys

from ensemble._moved import MovedModuleFinder
from members.utils.lazy import lazy_attributes

_LAZY = {
    "BayesSearchCV": ".tuning",
    "PredictionBlender": ".prediction_files",
    "Report": ".evaluation",
    "report": ".evaluation",
    "StackingEnsemble": ".combiners",
    "WeightedAverageEnsemble": ".combiners",
    "load": ".persistence",
    "save": ".persistence",
    "verify": ".persistence",
    "import_keras_quietly": "members.utils.quiet",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(MovedModuleFinder())
