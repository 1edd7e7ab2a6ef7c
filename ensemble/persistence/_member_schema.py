"""One member in an archive: its manifest entry written, checked and rebuilt, side by side."""

import numbers
import os
import tempfile

import keras
import numpy as np
from sklearn.utils.validation import check_is_fitted

from ensemble.persistence import _values
from ensemble.persistence._values import expect
from members import (
    KerasMemberClassifier,
    PlainCNNClassifier,
    ResidualNetClassifier,
    SeparableCNNClassifier,
)
from members.utils.checks import is_int, is_real
from members.utils.files import keras_model_to_bytes

#: The only classes ``load`` will build, by the name the manifest gives.
MEMBER_CLASSES = {
    cls.__name__: cls
    for cls in (KerasMemberClassifier, PlainCNNClassifier, SeparableCNNClassifier,
                ResidualNetClassifier)
}


def describe_member(member, index, files, label):
    cls = type(member)
    if MEMBER_CLASSES.get(cls.__name__) is not cls:
        raise TypeError(
            f"Can't save {label}: a {cls.__module__}.{cls.__qualname__} is not one of the "
            f"member classes {sorted(MEMBER_CLASSES)}."
        )
    check_is_fitted(member)
    params, unrestored, tuple_params = _values.split_params(member.get_params(deep=False))
    if cls is KerasMemberClassifier:
        # Stored by repr only: loading never imports code.
        params.pop("build_fn", None)
        unrestored["build_fn"] = _values.short_repr(member.build_fn)
    file_name = f"members/{index}.keras"
    files[file_name] = keras_model_to_bytes(member.model_)
    return {
        "class": cls.__name__,
        "params": params,
        "unrestored_params": unrestored,
        "tuple_params": tuple_params,
        "classes": _values.encode_labels(member.classes_, f"{label}.classes_"),
        "n_features_in": int(member.n_features_in_),
        "feature_names_in": _values.encode_feature_names(member),
        "input_shape": [int(size) for size in member.input_shape_],
        "pixel_scale": float(member.pixel_scale_),
        "history": {
            str(key): [_history_value(value) for value in values]
            for key, values in member.history_.items()
        },
    }


def check_member_spec(spec, index, label):
    expect(isinstance(spec, dict), f"{label} must be an object")
    cls = _values.allowed_class(spec.get("class"), MEMBER_CLASSES, label)
    _values.check_params_spec(spec, cls, label)
    classes = _values.decode_labels(spec.get("classes"), f"{label}.classes")
    expect(len(classes) >= 2, f"{label} must have at least two classes")
    n_features = spec.get("n_features_in")
    expect(is_int(n_features) and n_features >= 1, f"{label}.n_features_in must be an int >= 1")
    _values.check_feature_names(spec.get("feature_names_in"), n_features, label)
    shape = spec.get("input_shape")
    expect(isinstance(shape, list) and shape and all(
        is_int(size) and size >= 1 for size in shape), f"{label}.input_shape must list sizes")
    expect(int(np.prod(shape, dtype=object)) == n_features,
            f"{label}.input_shape doesn't hold n_features_in values")
    expect(is_real(spec.get("pixel_scale"), finite=False), f"{label}.pixel_scale must be a number")
    history = spec.get("history")
    expect(isinstance(history, dict) and all(
        isinstance(values, list) and all(is_real(value, finite=False) for value in values)
        for values in history.values()), f"{label}.history must map names to lists of numbers")
    return classes


def build_member(spec, contents, index, label):
    cls = MEMBER_CLASSES[spec["class"]]
    params = _values.restored_params(spec)
    if cls is KerasMemberClassifier:
        params["build_fn"] = None
    member = cls(**params)
    file_name = f"members/{index}.keras"
    model = _load_model(contents[file_name], f"{label} ({file_name})")
    classes = _values.decode_labels(spec["classes"], "classes")
    n_features = spec["n_features_in"]
    input_shape = getattr(model, "input_shape", None)
    output_shape = getattr(model, "output_shape", None)
    if (not isinstance(input_shape, tuple) or tuple(input_shape[1:]) != (n_features,)
            or not isinstance(output_shape, tuple) or output_shape[-1] != len(classes)):
        raise ValueError(
            f"{label} ({file_name}) maps {input_shape} to {output_shape}, but the manifest "
            f"says {n_features} features and {len(classes)} classes."
        )
    member.classes_ = classes
    member.n_features_in_ = n_features
    if spec.get("feature_names_in") is not None:
        member.feature_names_in_ = np.asarray(spec["feature_names_in"], dtype=object)
    member.input_shape_ = tuple(spec["input_shape"])
    member.pixel_scale_ = float(spec["pixel_scale"])
    member.history_ = {key: list(values) for key, values in spec["history"].items()}
    member.model_ = model
    return member


def _load_model(data, label):
    """A Keras model from ``.keras`` bytes, in safe mode, or ValueError."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "member.keras")
        with open(path, "wb") as file:
            file.write(data)
        try:
            model = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as error:  # noqa: BLE001 - whatever Keras refuses, we refuse
            raise ValueError(f"{label} refused to load: {error}") from error
    if not isinstance(model, keras.Model):
        raise ValueError(f"{label} refused to load: it holds no keras.Model.")
    return model


def _history_value(value):
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)
