"""Keras member networks as scikit-learn classifiers.

``PlainCNNClassifier``, ``SeparableCNNClassifier`` and ``ResidualNetClassifier``
are three architectures with different inductive biases; ``KerasMemberClassifier``
wraps a network you build yourself. All four share the training parameters
documented on :class:`KerasMemberClassifier`. ``check_image_size(member,
image_shape)`` says, before any training, whether images are large enough
for a member's network. ``BatchNormMismatchWarning`` is what a fit warns
when a member predicts its own training rows far worse than it trained.
``BudgetTooSmallError`` (a ``ValueError``) is what a fit with a
``time_limit`` too short for one epoch raises.

The classes are imported on first use (PEP 562): ``import members`` alone
does not import TensorFlow.
"""

from members.utils.lazy import lazy_attributes

__getattr__, __dir__, __all__ = lazy_attributes(__name__, {
    "._classifiers": (
        "KerasMemberClassifier", "PlainCNNClassifier", "ResidualNetClassifier",
        "SeparableCNNClassifier",
    ),
    "._wrapper": ("BatchNormMismatchWarning", "MemberClassifierBase"),
    "._sizes": ("check_image_size",),
    ".utils.budget": ("BudgetTooSmallError",),
})
