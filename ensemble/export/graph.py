"""One Keras model that predicts what a fitted weighted ensemble (or member) predicts."""

import keras
import numpy as np
from sklearn.utils.validation import check_is_fitted

from ensemble.combiners import StackingEnsemble, WeightedAverageEnsemble
from ensemble.export.layers import ImageTransform, TemperatureScaling, WeightedSum
from members.utils.kinds import is_keras_member
from members.utils.tta import resolve_tta


def to_keras(estimator):
    """The fitted ensemble or member as one ``keras.Model`` from images to probabilities.

    Every member that counts (non-zero blend weight) runs every test-time
    transform it predicts with; the passes are averaged, the members
    blended with the ensemble's weights, and its temperature applied, all
    as layers. The pixel scaling each member learned stays inside its
    network, so the model takes raw pixels as ``predict_proba`` does.

    Parameters
    ----------
    estimator : fitted WeightedAverageEnsemble or member
        A :class:`~ensemble.combiners.WeightedAverageEnsemble` whose members
        are the package's Keras members, or one such member.

    Returns
    -------
    keras.Model
        Input: a float32 batch of shape ``(n, *input_shape_)`` (images
        ``(n, height, width, channels)``; flat rows for members fitted on
        flat features). Output: ``(n, n_classes)`` probabilities in the
        order of ``classes_``, equal to ``predict_proba`` up to float32
        rounding (about 1e-6). Unlike ``predict_proba`` it does not check
        its input: reshape flat rows and keep pixels in the range the model
        was fitted on.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.
    TypeError
        If it is a stacking ensemble or not one of the package's estimators.
    ValueError
        If the members' input shapes or classes differ from each other.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.export import to_keras
    >>> from members import PlainCNNClassifier
    >>> X = np.random.default_rng(0).integers(0, 256, size=(40, 8, 8, 1), dtype=np.uint8)
    >>> y = np.arange(40) % 2
    >>> clf = PlainCNNClassifier(stem_filters=4, filters=(8,), dense_units=8, epochs=1,
    ...                          tta="flip", random_state=0).fit(X, y)
    >>> model = to_keras(clf)
    >>> proba = model.predict(X[:5].astype("float32"), verbose=0)
    >>> bool(np.allclose(proba, clf.predict_proba(X[:5]), atol=1e-5))
    True
    """
    if isinstance(estimator, StackingEnsemble):
        raise TypeError("A StackingEnsemble cannot be exported yet: only WeightedAverageEnsemble "
                        "and single members are.")
    if isinstance(estimator, WeightedAverageEnsemble):
        return _ensemble_model(estimator)
    if is_keras_member(estimator):
        check_is_fitted(estimator)
        inputs = keras.Input(shape=tuple(estimator.input_shape_), name="images")
        return keras.Model(inputs, _member_output(estimator, inputs, "member"),
                           name=f"{type(estimator).__name__}_export")
    raise TypeError(f"to_keras exports a WeightedAverageEnsemble or one of the package's "
                    f"members, got {type(estimator).__name__}.")


def _ensemble_model(ensemble):
    check_is_fitted(ensemble)
    used = [int(i) for i in np.flatnonzero(np.asarray(ensemble.weights_) > 0)]
    names = list(ensemble.named_members_)
    members = [ensemble.members_[i] for i in used]
    shapes = {tuple(member.input_shape_) for member in members}
    if len(shapes) != 1:
        raise ValueError(f"The members take inputs of different shapes {sorted(shapes)}; one "
                         "exported model takes one input.")
    for member in members:
        if not np.array_equal(member.classes_, ensemble.classes_):
            raise ValueError(f"A member's classes {member.classes_.tolist()} differ from the "
                             f"ensemble's {ensemble.classes_.tolist()}.")
    inputs = keras.Input(shape=shapes.pop(), name="images")
    outputs = [_member_output(member, inputs, names[i]) for i, member in zip(used, members,
                                                                             strict=True)]
    proba = WeightedSum([float(ensemble.weights_[i]) for i in used], name="blend")(outputs)
    temperature = float(getattr(ensemble, "temperature_", 1.0))
    if temperature != 1.0:
        proba = TemperatureScaling(temperature, name="temperature")(proba)
    return keras.Model(inputs, proba, name="ensemble_export")


def _member_output(member, inputs, name):
    """The member's averaged test-time passes on ``inputs``, rows summing to one."""
    network = _inference_network(member, name)
    passes = [network(ImageTransform(transform, name=f"{name}_{transform}")(inputs))
              for transform in resolve_tta(member.tta, member.horizontal_flip,
                                           member.input_shape_)]
    return WeightedSum([1.0] * len(passes), name=f"{name}_tta")(passes)


def _inference_network(member, name):
    """The member's pixel scaling and network, without its training-time augmentation.

    The fitted model is ``flat rows -> reshape -> pixel scale -> augmentation
    -> network``; augmentation layers do nothing at inference, but their
    random ops stay in an exported graph (TFLite cannot convert them). The
    result has a name of its own, so that two members of one class do not
    bring two layers of one name into the exported graph.
    """
    inputs = keras.Input(shape=tuple(member.input_shape_), name=f"{name}_input")
    x = inputs
    layer_names = {layer.name for layer in member.model_.layers}
    if "pixel_scale" in layer_names:
        x = member.model_.get_layer("pixel_scale")(x)
    network = member.model_.layers[-1]
    return keras.Model(inputs, network(x), name=f"{name}_network")
