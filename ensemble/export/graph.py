"""One Keras model that predicts what a fitted ensemble (or member) predicts."""

import re

import keras
import numpy as np
from sklearn.utils.validation import check_is_fitted

from ensemble.combiners import StackingEnsemble, WeightedAverageEnsemble
from ensemble.export.layers import ImageTransform, TemperatureScaling, WeightedSum
from members.utils.kinds import is_keras_member
from members.utils.tta import resolve_tta


def to_keras(estimator, *, flat_input=False):
    """The fitted ensemble or member as one ``keras.Model`` from images to probabilities.

    Every member that counts (non-zero blend weight) runs every test-time
    transform it predicts with; the passes are averaged, the members
    blended with the ensemble's weights, and its temperature applied, all
    as layers. The pixel scaling each member learned stays inside its
    network, so the model takes raw pixels as ``predict_proba`` does.

    Parameters
    ----------
    estimator : fitted ensemble or member
        A :class:`~ensemble.combiners.WeightedAverageEnsemble`, a
        :class:`~ensemble.combiners.StackingEnsemble` whose meta-learner is
        a ``LogisticRegression`` (or that predicts with its best member),
        or one of the package's members.

    flat_input : bool, default=False
        Take each image as one flat row of ``height * width * channels``
        values (row-major, channels last: a CSV row of pixels), reshaped
        inside the model.

    Returns
    -------
    keras.Model
        Input: a float32 batch of shape ``(n, *input_shape_)`` (images
        ``(n, height, width, channels)``; flat rows for members fitted on
        flat features), or ``(n, height * width * channels)`` with
        ``flat_input``. Output: ``(n, n_classes)`` probabilities in the
        order of ``classes_``, equal to ``predict_proba`` up to float32
        rounding (about 1e-6). Unlike ``predict_proba`` it takes one
        layout (images, or flat rows with ``flat_input``) and does not
        check its input: keep pixels in the range the model was fitted on.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.
    TypeError
        If it is not one of the package's estimators, or a stacking
        ensemble whose meta-learner is not a (multinomial) logistic
        regression.
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
    if isinstance(estimator, (WeightedAverageEnsemble, StackingEnsemble)):
        return _ensemble_model(estimator, flat_input)
    if is_keras_member(estimator):
        check_is_fitted(estimator)
        inputs, images = _inputs(tuple(estimator.input_shape_), flat_input)
        return keras.Model(inputs, _member_output(estimator, images, "member"),
                           name=f"{type(estimator).__name__}_export")
    raise TypeError(f"to_keras exports the package's ensembles and members, got "
                    f"{type(estimator).__name__}.")


def _inputs(shape, flat_input):
    """The model's input, and the images it becomes (the same tensor unless ``flat_input``)."""
    if len(shape) == 1:  # flat features: one layout either way
        inputs = keras.Input(shape=shape, name="pixels" if flat_input else "images")
        return inputs, inputs
    if not flat_input:
        inputs = keras.Input(shape=shape, name="images")
        return inputs, inputs
    inputs = keras.Input(shape=(int(np.prod(shape)),), name="pixels")
    return inputs, keras.layers.Reshape(shape, name="images")(inputs)


def _ensemble_model(ensemble, flat_input=False):
    check_is_fitted(ensemble)
    names = list(ensemble.named_members_)
    used = _members_that_count(ensemble, names)
    members = [ensemble.members_[i] for i in used]
    for i, member in zip(used, members, strict=True):
        if not is_keras_member(member):
            raise TypeError(f"Member {names[i]!r} is a {type(member).__name__}, not a Keras "
                            "member of this package: it has no network to export.")
    inputs, images = _inputs(_common_input_shape(ensemble, members), flat_input)
    layer_names = _layer_names([names[i] for i in used])
    outputs = [_member_output(member, images, layer_name)
               for member, layer_name in zip(members, layer_names, strict=True)]
    if isinstance(ensemble, WeightedAverageEnsemble):
        proba = WeightedSum([float(ensemble.weights_[i]) for i in used], name="blend")(outputs)
    elif ensemble.selection_ == "best_member":
        (proba,) = outputs
    else:
        proba = _meta_learner_output(ensemble, outputs, images)
    temperature = float(getattr(ensemble, "temperature_", 1.0))
    if temperature != 1.0:
        proba = TemperatureScaling(temperature, name="temperature")(proba)
    return keras.Model(inputs, proba, name="ensemble_export")


def _members_that_count(ensemble, names):
    """Positions of the members the prediction uses: non-zero weight, or stacking's choice."""
    if isinstance(ensemble, WeightedAverageEnsemble):
        return [int(i) for i in np.flatnonzero(np.asarray(ensemble.weights_) > 0)]
    if ensemble.selection_ == "best_member":
        return [names.index(ensemble.best_member_)]
    return list(range(len(names)))


def _common_input_shape(ensemble, members):
    """The one input shape of the members, whose classes are the ensemble's."""
    shapes = {tuple(member.input_shape_) for member in members}
    if len(shapes) != 1:
        raise ValueError(f"The members take inputs of different shapes {sorted(shapes)}; one "
                         "exported model takes one input.")
    for member in members:
        if not np.array_equal(member.classes_, ensemble.classes_):
            raise ValueError(f"A member's classes {member.classes_.tolist()} differ from the "
                             f"ensemble's {ensemble.classes_.tolist()}.")
    return shapes.pop()


def _meta_learner_output(ensemble, outputs, inputs):
    """A stacking ensemble's logistic regression as one dense softmax layer.

    Its features are the members' probabilities side by side (and the input
    rows with ``passthrough``), as ``StackingEnsemble`` builds them.
    """
    features = keras.layers.Concatenate(name="meta_features")(outputs)
    if ensemble.passthrough:
        rows = keras.layers.Reshape((int(np.prod(inputs.shape[1:])),), name="rows")(inputs)
        features = keras.layers.Concatenate(name="meta_features_and_rows")([features, rows])
    kernel, bias = _softmax_weights(ensemble.final_estimator_, len(ensemble.classes_),
                                    int(features.shape[-1]))
    dense = keras.layers.Dense(len(ensemble.classes_), activation="softmax", name="meta_learner")
    proba = dense(features)
    dense.set_weights([kernel, bias])
    return proba


def _softmax_weights(estimator, n_classes, n_features):
    """``(kernel, bias)`` of the softmax layer that predicts what ``estimator`` does.

    Only a logistic regression over every class is linear with a softmax (two
    classes: a sigmoid, which is the softmax of ``[0, z]``); the check on
    random features also refuses one-versus-rest fits.
    """
    name = type(estimator).__name__
    if not hasattr(estimator, "coef_") or name != "LogisticRegression":
        raise TypeError(f"A StackingEnsemble whose meta-learner is a {name} cannot be exported "
                        "as layers: only a LogisticRegression meta-learner can.")
    if not np.array_equal(estimator.classes_, np.arange(n_classes)):
        raise TypeError("The meta-learner saw only some classes; it cannot be exported as one "
                        "softmax layer.")
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    intercept = np.asarray(estimator.intercept_, dtype=np.float64)
    if n_classes == 2:
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
    probe = np.random.default_rng(0).random((8, n_features))
    logits = probe @ coef.T + intercept
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    if not np.allclose(softmax, estimator.predict_proba(probe), atol=1e-6):
        raise TypeError("The LogisticRegression meta-learner is not a multinomial softmax (a "
                        "one-versus-rest fit?); it cannot be exported as one layer.")
    return coef.T.astype("float32"), intercept.astype("float32")


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
    -> network``; the augmentation layers (Keras's ``Random*`` layers) do
    nothing at inference, but their random ops stay in an exported graph
    (TFLite cannot convert them). Any other layer there might act at
    inference, so it is refused rather than left out. The result has a name
    of its own, so that two members of one class do not bring two layers of
    one name into the exported graph.
    """
    network = member.model_.layers[-1]
    for layer in member.model_.layers[1:-1]:
        if not isinstance(layer, (keras.layers.Reshape, keras.layers.Rescaling)) \
                and not type(layer).__name__.startswith("Random"):
            raise TypeError(f"The {type(layer).__name__} layer {layer.name!r} of "
                            f"{type(member).__name__}'s augmentation may act at prediction "
                            "time; only Keras's Random* augmentation layers can be left out "
                            "of an export.")
    inputs = keras.Input(shape=tuple(member.input_shape_), name=f"{name}_input")
    x = inputs
    if member.pixel_scale_ != 1.0:
        x = keras.layers.Rescaling(member.pixel_scale_, name=f"{name}_pixel_scale")(x)
    return keras.Model(inputs, network(x), name=f"{name}_network")


def _layer_names(member_names):
    """Member names as unique Keras layer names (letters, digits, ``_``, ``.`` and ``-``)."""
    cleaned, seen = [], set()
    for name in member_names:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "member"
        candidate, k = base, 1
        while candidate in seen:
            k += 1
            candidate = f"{base}_{k}"
        seen.add(candidate)
        cleaned.append(candidate)
    return cleaned
