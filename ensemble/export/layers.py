"""The Keras layers of an exported ensemble, registered so that a ``.keras`` file loads safely.

No ``Lambda`` layer: a saved ``Lambda`` holds Python bytecode, which Keras's
safe mode refuses to load. Each layer here is plain configuration (a
transform's name, the blend weights, a temperature). Loading a ``.keras``
export needs this module imported (``import ensemble.export.layers``), which
registers them; a SavedModel or TFLite export needs nothing of this package.
"""

import keras
from keras import ops

PACKAGE = "keras_ensembles"
#: The smallest probability the temperature's logarithm sees, as in the combiners' own
#: temperature scaling (``ensemble.combiners.calibration``).
EPS = 1e-15

#: Zero padding ``(before, after)`` of the height and width axes, and the slice
#: kept, for each one-pixel shift of test-time augmentation (as
#: ``members.utils.tta.transform_batch`` does it: the uncovered border is zero).
_SHIFTS = {
    "shift_down": (((1, 0), (0, 0)), (slice(None, -1), slice(None))),
    "shift_up": (((0, 1), (0, 0)), (slice(1, None), slice(None))),
    "shift_right": (((0, 0), (1, 0)), (slice(None), slice(None, -1))),
    "shift_left": (((0, 0), (0, 1)), (slice(None), slice(1, None))),
}
TRANSFORMS = ("identity", "flip", *_SHIFTS)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ImageTransform(keras.layers.Layer):
    """One fixed test-time transform of a batch of images ``(n, height, width, channels)``.

    Parameters
    ----------
    transform : {"identity", "flip", "shift_down", "shift_up", "shift_right", "shift_left"}
        The mirror image, or a one-pixel shift with a zero border.
    """

    def __init__(self, transform, **kwargs):
        super().__init__(**kwargs)
        if transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}.")
        self.transform = transform

    def call(self, images):
        if self.transform == "identity":
            return images
        if self.transform == "flip":
            return ops.flip(images, axis=2)
        (rows, cols), (keep_rows, keep_cols) = _SHIFTS[self.transform]
        kept = images[:, keep_rows, keep_cols, :]
        return ops.pad(kept, ((0, 0), rows, cols, (0, 0)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "transform": self.transform}


@keras.saving.register_keras_serializable(package=PACKAGE)
class WeightedSum(keras.layers.Layer):
    """``sum_m weights[m] * inputs[m]``, rows then renormalised to sum to one.

    Parameters
    ----------
    weights : list of float
        One non-negative weight per input, not all zero (normalised here).
    """

    def __init__(self, weights, **kwargs):
        super().__init__(**kwargs)
        total = float(sum(weights))
        if not weights or min(weights) < 0 or total <= 0:
            raise ValueError(f"weights must be non-negative and not all zero, got {weights!r}.")
        self.blend_weights = [float(w) / total for w in weights]

    def call(self, inputs):
        inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        blended = sum(w * x for w, x in zip(self.blend_weights, inputs, strict=True))
        return blended / ops.sum(blended, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return input_shape[0] if isinstance(input_shape, list) else input_shape

    def get_config(self):
        return {**super().get_config(), "weights": self.blend_weights}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TemperatureScaling(keras.layers.Layer):
    """Probabilities rescaled by a temperature: ``softmax(log(p) / temperature)``.

    As :func:`ensemble.combiners.calibration.apply_temperature`: the
    probabilities are clipped at :data:`EPS` before the logarithm.

    Parameters
    ----------
    temperature : float
        Positive; above 1 softens, below 1 sharpens.
    """

    def __init__(self, temperature, **kwargs):
        super().__init__(**kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}.")
        self.temperature = float(temperature)

    def call(self, proba):
        logits = ops.log(ops.maximum(proba, EPS)) / self.temperature
        return ops.softmax(logits, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}
