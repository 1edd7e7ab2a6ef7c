"""Export: a fitted ensemble, or one member, as one Keras model for serving, or distilled.

An ensemble predicts with every member and every test-time transform;
serving it that way needs this package, scikit-learn and each member
rebuilt from the archive. :func:`~ensemble.export.graph.to_keras` builds
one functional ``keras.Model`` instead: the image goes in, every transform
of every member that counts, the blend weights (or a stacking ensemble's
logistic regression) and the temperature are layers, and the probabilities
come out, equal to ``predict_proba`` up to float32 rounding.
:func:`~ensemble.export.formats.export` writes it as a ``.keras`` file, a
TensorFlow SavedModel (for TF Serving, loadable with TensorFlow alone) or a
TFLite file. :func:`~ensemble.export.distillation.distill` goes further:
it trains one member on the ensemble's probabilities, so that serving
costs one network's pass instead of every member's.

What lives here
---------------
``layers`` (the registered Keras layers the exported graph uses: fixed
image transforms, a weighted sum, temperature scaling), ``graph``
(:func:`~ensemble.export.graph.to_keras`), ``formats``
(:func:`~ensemble.export.formats.export`) and ``distillation``
(:func:`~ensemble.export.distillation.distill`).

What it may import
------------------
Keras and TensorFlow, NumPy, scikit-learn, ``members``, ``members.utils``
and ``ensemble.combiners`` (the ensemble classes it exports).
"""

from members.utils.lazy import lazy_attributes

__getattr__, __dir__, __all__ = lazy_attributes(__name__, {
    ".graph": ("to_keras",),
    ".formats": ("FORMATS", "export"),
    ".distillation": ("distill",),
})
