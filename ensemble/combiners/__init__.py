"""The combiners: Keras members trained side by side, and how their probabilities are blended.

What lives here
---------------
``WeightedAverageEnsemble`` and ``StackingEnsemble`` (private modules
``_weighted``, ``_stacking``, sharing ``_base``); the rows a combiner learns
from (``_blending_rows``: a held-out split, out-of-fold predictions, explicit
validation data or prefit members); choosing among blending rules by
cross-fitting (``_selection``). Public modules: ``weights`` (learning blend
weights), ``averaging`` (applying them: weighted, rank and geometric means),
``calibration`` (temperature scaling), ``member_list`` (checking, fitting
and stacking a list of members) and ``cascade`` (``CascadeEnsemble``: one
pass of one member answers the rows it is sure of, the ensemble the rest).

What it may import
------------------
``members`` (public names and ``members.utils``) and ``ensemble.evaluation``.
Never ``ensemble.prediction_files``, ``ensemble.tuning``, ``ensemble.cli`` or
``ensemble.persistence``: they build on this package, not the other way.

The combiner classes import TensorFlow on first use (PEP 562); the
``weights``, ``averaging`` and ``calibration`` modules never do.
"""

from members.utils.lazy import lazy_attributes

__getattr__, __dir__, __all__ = lazy_attributes(__name__, {
    "._base": ("ABSTENTION_SCORES",),
    "._stacking": ("StackingEnsemble",),
    "._weighted": ("WeightedAverageEnsemble",),
    ".cascade": ("CascadeEnsemble",),
    ".calibration": ("apply_temperature", "fit_temperature"),
    ".averaging": ("blend", "geometric_blend", "rank_blend"),
    ".weights": ("caruana_weights", "check_weights", "equal_weights", "log_loss_weights"),
})
