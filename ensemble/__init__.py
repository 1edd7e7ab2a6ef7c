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

__getattr__, __dir__, __all__ = lazy_attributes(__name__, {
    ".tuning": ("BayesSearchCV",),
    ".prediction_files": ("PredictionBlender",),
    # The module, not the package: ensemble.evaluation.report is also that submodule's name.
    ".evaluation.report": ("Report", "report"),
    ".combiners": ("StackingEnsemble", "WeightedAverageEnsemble"),
    ".persistence": ("load", "save", "verify"),
    "members.utils.quiet": ("import_keras_quietly",),
})

if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(MovedModuleFinder())
