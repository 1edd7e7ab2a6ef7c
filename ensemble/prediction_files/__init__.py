"""Prediction files: read, write and blend probabilities made by any tool.

What lives here
---------------
``files`` (the one wide CSV layout: an id column, one probability column per
class, an optional label column; submissions), ``_parsing`` (the fast and
the careful CSV readers behind it), ``sets`` (out-of-fold and test files
paired by model name and aligned by id) and ``PredictionBlender`` (private
module ``_blender``: learns how to blend those files, and falls back to the
best model when blending does not pay).

What it may import
------------------
``ensemble.evaluation``, the weight functions of ``ensemble.combiners``
(``weights``, ``averaging``) and ``members.utils``. Never a Keras member:
nothing here imports TensorFlow.
"""

from members.utils.lazy import lazy_attributes

__getattr__, __dir__, __all__ = lazy_attributes(__name__, {
    "._blender": ("PredictionBlender",),
    ".sets": ("PredictionSets", "model_name", "read_prediction_files"),
    ".files": (
        "ProbabilityFile", "class_columns", "read_labels", "read_predictions",
        "read_probabilities", "read_submission", "write_probabilities", "write_submission",
    ),
})
