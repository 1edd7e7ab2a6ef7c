"""Combiners that blend Keras member networks, and the tools around them.

``WeightedAverageEnsemble`` and ``StackingEnsemble`` learn how to combine
members on data the members never trained on (a held-out split, explicit
validation data, out-of-fold predictions, or prefit members).
"""

from ._report import Report, report
from ._stacking import StackingEnsemble
from ._weighted import WeightedAverageEnsemble
from .persistence import load, save, verify

__all__ = [
    "Report", "StackingEnsemble", "WeightedAverageEnsemble", "load", "report", "save", "verify",
]
