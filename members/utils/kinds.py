"""Recognising a Keras member without importing TensorFlow.

``ensemble`` treats Keras members specially in a few places (a tuning trial
reports each epoch's score; a search describes a member's function-valued
parameters by their code). Testing ``isinstance(x, MemberClassifierBase)``
would import the member module, and with it TensorFlow, even when a user
tunes a scikit-learn model. Every member class derives from
:class:`KerasMember`, defined here, where importing it costs nothing.
"""


class KerasMember:
    """Marker base class of every Keras member classifier (no behaviour of its own)."""

    __slots__ = ()


def is_keras_member(value):
    """Whether ``value`` is a Keras member estimator (of any member class)."""
    return isinstance(value, KerasMember)
