"""Values inside the manifest: labels with their dtype, JSON-safe parameters, shared checks."""

import inspect
import numbers

import numpy as np

from members.utils.checks import is_int, is_real

_REPR_LIMIT = 2000


# ------------------------------------------------------------- structural checks
def checked_class_names(names, n_classes):
    """``class_names_`` as a JSON list: one string per class."""
    if isinstance(names, str) or not all(isinstance(name, str) for name in names):
        raise TypeError("class_names_ must be a sequence of str, one per class.")
    names = list(names)
    if len(names) != n_classes:
        raise ValueError(f"class_names_ has {len(names)} names for {n_classes} classes.")
    return names


def check_params_spec(spec, cls, label):
    allowed = set(_param_names(cls))
    params = spec.get("params")
    unrestored = spec.get("unrestored_params", {})
    tuple_params = spec.get("tuple_params", [])
    expect(isinstance(params, dict), f"{label}.params must be an object")
    expect(isinstance(unrestored, dict) and all(
        isinstance(value, str) for value in unrestored.values()),
        f"{label}.unrestored_params must map names to strings")
    expect(isinstance(tuple_params, list), f"{label}.tuple_params must be a list")
    for name in list(params) + list(unrestored):
        expect(name in allowed, f"{label} has an unknown parameter {name!r} for {cls.__name__}")
    for name in tuple_params:
        expect(isinstance(params.get(name), list), f"{label}.tuple_params names a non-list")
    expect(_is_plain_json(params), f"{label}.params must be plain JSON values")


def allowed_class(name, allowed, label):
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(
            f"The archive names the class {name!r} for {label}, which is not in the allow-list "
            f"{sorted(allowed)}."
        )
    return allowed[name]


def restored_params(spec):
    params = dict(spec["params"])
    for name in spec.get("tuple_params", []):
        params[name] = tuple(params[name])
    return params


# ------------------------------------------------------------------ labels, params
def encode_labels(labels, label, values=True):
    """{"dtype", "element" (object arrays), "values"} for a 1-d label array."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise TypeError(f"{label} must be 1-d, got shape {labels.shape}.")
    kind = labels.dtype.kind
    if kind in "biufU":
        encoded = {"dtype": labels.dtype.str}
    elif kind == "O":
        encoded = {"dtype": "|O", "element": _object_element(labels, label)}
    else:
        raise TypeError(f"Can't save {label} of dtype {labels.dtype}.")
    if values:
        encoded["values"] = labels.tolist()
    return encoded


def _object_element(labels, label):
    items = labels.tolist()
    if all(isinstance(item, str) for item in items):
        return "str"
    if all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        return "int"
    raise TypeError(
        f"Can't save {label}: an object array must hold only strings or only ints."
    )


def plain_label_array(labels):
    """Object labels as a unicode or int64 array, which np.savez writes without pickle."""
    if labels.dtype.kind != "O":
        return labels
    if _object_element(labels, "blend_targets_") == "str":
        return labels.astype(str) if len(labels) else np.array([], dtype="<U1")
    return labels.astype(np.int64)


def restore_label_array(array, spec):
    if spec["dtype"] == "|O":
        expected_kind = "U" if spec["element"] == "str" else "i"
        expect(array.dtype.kind == expected_kind, "blend targets have the wrong dtype")
        restored = np.empty(len(array), dtype=object)
        restored[:] = array.tolist()
        return restored
    expect(array.dtype.str == spec["dtype"], "blend targets have the wrong dtype")
    return array


def decode_labels(spec, label, values=True):
    expect(isinstance(spec, dict) and isinstance(spec.get("dtype"), str),
            f"{label} must give a dtype")
    if spec["dtype"] == "|O":
        element = spec.get("element")
        expect(element in ("str", "int"), f"{label}: object labels must be 'str' or 'int'")
        check = (lambda v: isinstance(v, str)) if element == "str" else is_int
        dtype = None
    else:
        try:
            dtype = np.dtype(spec["dtype"])
        except (TypeError, ValueError):
            raise ValueError(f"Invalid archive: {label} has an unknown dtype.") from None
        expect(dtype.kind in "biufU" and dtype.str == spec["dtype"],
                f"{label}: unsupported dtype {spec['dtype']!r}")
        check = {"b": lambda v: isinstance(v, bool), "i": is_int, "u": is_int,
                 "f": lambda v: is_real(v, finite=False),
                 "U": lambda v: isinstance(v, str)}[dtype.kind]
    if not values:
        return None
    items = spec.get("values")
    expect(isinstance(items, list) and all(check(item) for item in items),
            f"{label}: values don't match the dtype")
    if dtype is None:
        labels = np.empty(len(items), dtype=object)
        labels[:] = items
        return labels
    try:
        labels = np.array(items, dtype=dtype)
    except (OverflowError, ValueError):
        raise ValueError(f"Invalid archive: {label} values don't fit the dtype.") from None
    expect(labels.tolist() == items, f"{label}: values don't fit the dtype")
    return labels


def encode_feature_names(estimator):
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def check_feature_names(names, n_features, label):
    expect(names is None or (isinstance(names, list) and len(names) == n_features
                              and all(isinstance(name, str) for name in names)),
            f"{label}.feature_names_in must be null or n_features_in strings")


def split_params(params):
    """(JSON params, {name: repr} of the others, names of tuple-valued params)."""
    plain, unrestored, tuple_params = {}, {}, []
    for name, value in sorted(params.items()):
        ok, converted = _to_json(value)
        if ok:
            plain[name] = converted
            if isinstance(value, tuple):
                tuple_params.append(name)
        else:
            unrestored[name] = short_repr(value)
    return plain, unrestored, tuple_params


def _to_json(value):
    """(True, JSON value) when ``value`` survives a JSON round trip, else (False, None)."""
    if value is None or isinstance(value, (bool, str)):
        return True, value
    if isinstance(value, np.bool_):
        return True, bool(value)
    if isinstance(value, numbers.Integral):
        return True, int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return (True, value) if np.isfinite(value) else (False, None)
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "biufU":
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        items = [_to_json(item) for item in value]
        if all(ok for ok, _ in items):
            return True, [item for _, item in items]
        return False, None
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        items = {key: _to_json(item) for key, item in value.items()}
        if all(ok for ok, _ in items.values()):
            return True, {key: item for key, (_, item) in items.items()}
    return False, None


def _is_plain_json(value):
    if value is None or isinstance(value, (bool, str)) or is_real(value, finite=False):
        return True
    if isinstance(value, list):
        return all(_is_plain_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_plain_json(item) for key, item in value.items())
    return False


def _param_names(cls):
    return [name for name, parameter in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and parameter.kind != parameter.VAR_KEYWORD]


def short_repr(value):
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT] + "...<truncated>"


def float_dtype(text):
    try:
        return isinstance(text, str) and np.dtype(text).kind == "f" and np.dtype(text).str == text
    except (TypeError, ValueError):
        return False


def expect(condition, message):
    if not condition:
        raise ValueError(f"Invalid archive: {message}.")
