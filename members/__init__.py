"""Keras member networks as scikit-learn classifiers.

``PlainCNNClassifier``, ``SeparableCNNClassifier`` and ``ResidualNetClassifier``
are three architectures with different inductive biases; ``KerasMemberClassifier``
wraps a network you build yourself. All four share the training parameters
documented on :class:`KerasMemberClassifier`.
"""

from ._classifiers import (
    KerasMemberClassifier,
    PlainCNNClassifier,
    ResidualNetClassifier,
    SeparableCNNClassifier,
)
from ._wrapper import MemberClassifierBase

__all__ = [
    "KerasMemberClassifier",
    "MemberClassifierBase",
    "PlainCNNClassifier",
    "ResidualNetClassifier",
    "SeparableCNNClassifier",
]
