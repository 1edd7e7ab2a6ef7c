"""Keras member networks as scikit-learn classifiers.

``PlainCNNClassifier``, ``SeparableCNNClassifier`` and ``ResidualNetClassifier``
are three architectures with different inductive biases; ``KerasMemberClassifier``
wraps a network you build yourself. All four share the training parameters
documented on :class:`KerasMemberClassifier`.

The classes are imported on first use (PEP 562): ``import members`` alone
does not import TensorFlow.
"""

import importlib

_LAZY = {
    "KerasMemberClassifier": "._classifiers",
    "PlainCNNClassifier": "._classifiers",
    "ResidualNetClassifier": "._classifiers",
    "SeparableCNNClassifier": "._classifiers",
    "MemberClassifierBase": "._wrapper",
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
