"""Combiners that blend Keras member networks, and the tools around them.

``WeightedAverageEnsemble`` and ``StackingEnsemble`` learn how to combine
members on data the members never trained on (a held-out split, explicit
validation data, out-of-fold predictions, or prefit members).

The names below are imported on first use (PEP 562), so that
``ensemble.datasets``, ``ensemble.metrics``, ``ensemble.weights`` and the
command line's ``--help`` and argument errors work without paying for
TensorFlow's import.
"""

import importlib

_LAZY = {
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


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
