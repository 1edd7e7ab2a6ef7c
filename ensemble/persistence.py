"""Save and load fitted members and ensembles as one safe-to-load archive.

``save(estimator, path)`` writes a fitted member (:class:`~members.KerasMemberClassifier`,
:class:`~members.PlainCNNClassifier`, :class:`~members.SeparableCNNClassifier`,
:class:`~members.ResidualNetClassifier`) or ensemble
(:class:`~ensemble.WeightedAverageEnsemble`, :class:`~ensemble.StackingEnsemble`)
to ONE zip file; ``load(path)`` rebuilds it with identical ``predict_proba``;
``verify(path)`` runs the checks of ``load`` that need no deserialisation and
returns the manifest.

The archive
-----------
``manifest.json``
    Format name (``"keras-ensembles"``) and version (1), the library
    version, the estimator's class, its JSON-safe parameters, its fitted
    attributes (``classes_`` with their dtype, ``n_features_in_``,
    ``feature_names_in_``, for members ``input_shape_``, ``pixel_scale_``,
    ``history_``; for ensembles the member names, ``weights_``,
    ``temperature_``, ``network_fits_``, whether the blending predictions are included),
    ``class_names`` (the display name of each class, when the estimator has
    ``class_names_``) and ``files``, the SHA-256 of every other entry.
``members/<i>.keras``
    Each member's network, in Keras's ``.keras`` format.
``final_estimator.skops``
    A stacking ensemble's meta-learner, in the skops format.
``blend.npz``
    ``blend_predictions_`` and ``blend_targets_`` (plain arrays, no pickle).

``save`` writes the archive to a temporary file next to ``path``, syncs it to
disk and renames it into place, so a crash midway leaves any earlier file at
``path`` as it was; it never overwrites a file unless ``overwrite=True``.

Parameters that JSON can't hold (callbacks, a ``build_fn``, an estimator
object, a ``RandomState``, a ``class_weight`` dict keyed by non-strings, a
path object) are recorded as their ``repr`` under ``"unrestored_params"`` and
come back as the constructor's default. A :class:`~members.KerasMemberClassifier`
comes back with ``build_fn=None`` -- loading never imports code -- so it
predicts, but must be given its ``build_fn`` (``set_params(build_fn=...)``)
before it can be refitted. A stacking ensemble's ``final_estimator``
parameter, when it was set, comes back as an unfitted clone of the loaded
meta-learner.

Class names
-----------
``classes_`` are the labels as the training data spelled them (folder names,
a CSV file's label column, Fashion-MNIST's 0..9). Display names for them
travel in the optional attribute ``class_names_`` (a tuple of str, one per
class), which the command line sets from the data (Fashion-MNIST's clothing
names, an npz file's ``class_names``) and which you may set after ``fit``:
``save`` records it in the manifest and ``load`` restores it. Archives
without it (older ones included) load without the attribute; readers then
name each class by its label.

Threat model
------------
The format is meant to be safe to load from an untrusted source: nothing in
it is unpickled (the manifest is JSON, arrays are read with
``allow_pickle=False``); estimator classes are looked up in an explicit
allow-list, never imported by name; every entry's SHA-256 is checked against
the manifest before anything is deserialised; networks load with Keras's
``safe_mode`` (which refuses Lambda layers and other embedded code); the
meta-learner loads with skops, restricted to an explicit allow-list of types.
The hashes detect corruption and the tampering of single entries; they are
not signatures -- whoever can write the archive can also rewrite the
manifest, so they say nothing about who made a file. A hostile but
well-formed archive can still hold a network that predicts garbage, or
entries large enough to exhaust memory. Pickling or ``joblib.dump``-ing the
estimators also works, but loading a pickle runs arbitrary code: use it only
for files you made yourself.
"""

import hashlib
import importlib.metadata
import inspect
import io
import json
import numbers
import os
import re
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import skops.io
from sklearn.base import clone
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from members import (
    KerasMemberClassifier,
    PlainCNNClassifier,
    ResidualNetClassifier,
    SeparableCNNClassifier,
)

from members._files import (
    fsync_folder,
    keras_model_to_bytes,
    rename_no_clobber,
    set_new_file_mode,
)
from members._paths import require_file

from ._stacking import StackingEnsemble
from ._weighted import WeightedAverageEnsemble

__all__ = ["load", "save", "verify", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "keras-ensembles"
FORMAT_VERSION = 1

MANIFEST = "manifest.json"
FINAL_ESTIMATOR_FILE = "final_estimator.skops"
BLEND_FILE = "blend.npz"

#: The only classes ``load`` will build, by the name the manifest gives.
MEMBER_CLASSES = {
    cls.__name__: cls
    for cls in (KerasMemberClassifier, PlainCNNClassifier, SeparableCNNClassifier,
                ResidualNetClassifier)
}
ENSEMBLE_CLASSES = {cls.__name__: cls for cls in (WeightedAverageEnsemble, StackingEnsemble)}

#: Meta-learners a stacking archive may hold (the skops payload's top-level type).
FINAL_ESTIMATOR_TYPES = frozenset({
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
})

#: Types trusted beyond skops's defaults (scikit-learn estimators, NumPy
#: arrays and dtypes, builtins): the trees of the forest meta-learners.
#: ``skops.io.get_untrusted_types`` reports none for a LogisticRegression.
SKOPS_TRUSTED_TYPES = ("sklearn.tree._tree.Tree",)

#: The manifest is read into memory and parsed before anything else.
MAX_MANIFEST_BYTES = 16 * 2**20
#: More entries than any archive ``save`` writes for a sane number of members.
MAX_ENTRIES = 10_000

_MEMBER_FILE = re.compile(r"members/(0|[1-9][0-9]{0,5})\.keras")
_REPR_LIMIT = 2000
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


# ============================================================================ save
def save(estimator, path, *, overwrite=False):
    """Write a fitted member or ensemble to ``path`` as one zip archive.

    Parameters
    ----------
    estimator : fitted member or ensemble
        One of the four member classes, :class:`WeightedAverageEnsemble` or
        :class:`StackingEnsemble` (whose members are of the four member
        classes and whose meta-learner is in :data:`FINAL_ESTIMATOR_TYPES`).
        Its ``class_names_`` (one str per class), when set, are recorded.
    path : str or os.PathLike
        The archive to write (e.g. ``"ensemble.zip"``); its folder must exist.
    overwrite : bool, default=False
        Replace an existing file at ``path``. The replacement is atomic: a
        crash leaves the old file intact.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    IsADirectoryError
        ``path`` is a folder.
    ValueError
        A remote path (``"://"``) or an HDF5 path (``.h5``, ``.hdf5``).
    TypeError
        An estimator (or member, or meta-learner) this format can't hold.
    sklearn.exceptions.NotFittedError
        The estimator (or one of its members) isn't fitted.

    See Also
    --------
    load : Rebuild the estimator.
    verify : Check an archive without loading it.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from ensemble import save, verify
    >>> from members import PlainCNNClassifier
    >>> X = np.random.default_rng(0).integers(0, 256, size=(20, 8, 8, 1), dtype=np.uint8)
    >>> y = np.arange(20) % 2
    >>> clf = PlainCNNClassifier(stem_filters=4, filters=(8,), dense_units=8, epochs=1)
    >>> path = Path(tempfile.mkdtemp()) / "member.zip"
    >>> save(clf.fit(X, y), path)
    >>> verify(path)["estimator"]["class"]
    'PlainCNNClassifier'
    """
    path = _local_path(path, "save")
    if path.is_dir():
        raise IsADirectoryError(f"Can't save to {str(path)!r}: it is a directory.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Can't save to {str(path)!r}: its folder doesn't exist.")
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(
            f"{str(path)!r} already exists; pass overwrite=True to replace it."
        )
    files = {}
    spec = _describe(estimator, files)
    class_names = getattr(estimator, "class_names_", None)
    if class_names is not None:
        spec["class_names"] = _checked_class_names(class_names, len(spec["classes"]["values"]))
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": _version("keras-ensembles"),
        "saved_with": {
            name: _version(name) for name in ("keras", "scikit-learn", "skops", "numpy")
        },
        "estimator": spec,
        "files": {name: _sha256(data) for name, data in files.items()},
    }
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    _write_archive(path, files, manifest_bytes, overwrite)


def _describe(estimator, files):
    cls = type(estimator)
    if MEMBER_CLASSES.get(cls.__name__) is cls:
        return dict(kind="member", **_member_spec(estimator, 0, files, "estimator"))
    if ENSEMBLE_CLASSES.get(cls.__name__) is cls:
        return dict(kind="ensemble", **_ensemble_spec(estimator, files))
    raise TypeError(
        f"Can't save a {cls.__module__}.{cls.__qualname__}: only "
        f"{sorted(MEMBER_CLASSES) + sorted(ENSEMBLE_CLASSES)} are supported."
    )


def _member_spec(member, index, files, label):
    cls = type(member)
    if MEMBER_CLASSES.get(cls.__name__) is not cls:
        raise TypeError(
            f"Can't save {label}: a {cls.__module__}.{cls.__qualname__} is not one of the "
            f"member classes {sorted(MEMBER_CLASSES)}."
        )
    check_is_fitted(member)
    params, unrestored, tuple_params = _split_params(member.get_params(deep=False))
    if cls is KerasMemberClassifier:
        # Stored by repr only: loading never imports code.
        params.pop("build_fn", None)
        unrestored["build_fn"] = _short_repr(member.build_fn)
    file_name = f"members/{index}.keras"
    files[file_name] = keras_model_to_bytes(member.model_)
    return {
        "class": cls.__name__,
        "params": params,
        "unrestored_params": unrestored,
        "tuple_params": tuple_params,
        "classes": _encode_labels(member.classes_, f"{label}.classes_"),
        "n_features_in": int(member.n_features_in_),
        "feature_names_in": _encode_feature_names(member),
        "input_shape": [int(size) for size in member.input_shape_],
        "pixel_scale": float(member.pixel_scale_),
        "history": {
            str(key): [_history_value(value) for value in values]
            for key, values in member.history_.items()
        },
    }


def _ensemble_spec(ensemble, files):
    check_is_fitted(ensemble)
    params = ensemble.get_params(deep=False)
    members_param = params.pop("members")
    final_param = params.pop("final_estimator", None)
    params, unrestored, tuple_params = _split_params(params)

    names = list(ensemble.named_members_)
    if len(names) != len(ensemble.members_) or any(
        ensemble.named_members_[name] is not member
        for name, member in zip(names, ensemble.members_)
    ):
        raise ValueError("named_members_ and members_ disagree; refit the ensemble.")
    layout = _members_layout(members_param, names)
    member_specs = [
        _member_spec(member, index, files, f"member {name!r}")
        for index, (name, member) in enumerate(zip(names, ensemble.members_))
    ]
    spec = {
        "class": type(ensemble).__name__,
        "params": params,
        "unrestored_params": unrestored,
        "tuple_params": tuple_params,
        "classes": _encode_labels(ensemble.classes_, "classes_"),
        "n_features_in": int(ensemble.n_features_in_),
        "feature_names_in": _encode_feature_names(ensemble),
        "members": layout,
        "member_specs": member_specs,
        "network_fits": int(ensemble.network_fits_),
        "temperature": float(getattr(ensemble, "temperature_", 1.0)),
        "blend": _blend_spec(ensemble, files),
    }
    if isinstance(ensemble, WeightedAverageEnsemble):
        weights = np.asarray(ensemble.weights_)
        if weights.dtype.kind != "f":
            raise TypeError(f"weights_ must be floats, got dtype {weights.dtype}.")
        spec["weights"] = {"dtype": weights.dtype.str, "values": weights.tolist()}
    else:
        data = skops.io.dumps(ensemble.final_estimator_)
        try:
            _check_skops_payload(data)
        except ValueError as error:
            raise TypeError(f"Can't save this final_estimator_: {error}") from None
        files[FINAL_ESTIMATOR_FILE] = data
        # The fitted meta-learner is a fitted clone of the parameter, so an unfitted
        # clone of it restores the parameter without storing another object.
        spec["final_estimator_param"] = "none" if final_param is None else "clone_of_fitted"
    return spec


def _members_layout(members_param, names):
    """``members`` as [{"name", "index"} or {"name", "drop": true}], in the parameter's order."""
    try:
        entries = [(name, est) for name, est in members_param]
    except (TypeError, ValueError):
        entries = None
    if entries is not None:
        kept = [name for name, est in entries if not (isinstance(est, str) and est == "drop")]
        if kept == names:
            return [
                {"name": name, "drop": True} if isinstance(est, str) and est == "drop"
                else {"name": name, "index": names.index(name)}
                for name, est in entries
            ]
    # The parameter was changed after fit: keep what predicts, the fitted members.
    return [{"name": name, "index": index} for index, name in enumerate(names)]


def _blend_spec(ensemble, files):
    if not hasattr(ensemble, "blend_predictions_"):
        return {"included": False}
    predictions = np.asarray(ensemble.blend_predictions_, dtype=np.float64)
    targets = np.asarray(ensemble.blend_targets_)
    expected = (len(ensemble.members_), len(targets), len(ensemble.classes_))
    if predictions.shape != expected:
        raise ValueError(
            f"blend_predictions_ has shape {predictions.shape}, expected {expected}; "
            "refit the ensemble."
        )
    encoded = _encode_labels(targets, "blend_targets_", values=False)
    buffer = io.BytesIO()
    np.savez(buffer, predictions=predictions, targets=_plain_label_array(targets))
    files[BLEND_FILE] = buffer.getvalue()
    return {"included": True, "targets": encoded}


def _write_archive(path, files, manifest_bytes, overwrite):
    """Write the zip to a temporary file beside ``path``, fsync, then rename."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as raw:
            with zipfile.ZipFile(raw, "w") as archive:
                for name, data in files.items():
                    _write_entry(archive, name, data)
                _write_entry(archive, MANIFEST, manifest_bytes)
            raw.flush()
            os.fsync(raw.fileno())
        set_new_file_mode(temp_name, path)
        if overwrite:
            os.replace(temp_name, path)
        else:
            rename_no_clobber(temp_name, path)
        fsync_folder(path.parent)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _write_entry(archive, name, data):
    info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


# =========================================================================== load
def load(path):
    """Rebuild a member or ensemble saved by :func:`save`.

    Every check runs before anything is deserialised: the entry names, the
    format, the SHA-256 of every entry, the estimator classes (an explicit
    allow-list) and the meta-learner's types. Networks load with Keras's
    ``safe_mode``; nothing is unpickled and no code is imported by name.

    Parameters
    ----------
    path : str or os.PathLike
        A local archive written by :func:`save`.

    Returns
    -------
    estimator
        A fitted estimator whose ``predict_proba`` equals the saved one's,
        with ``class_names_`` when the archive names its classes.
        A :class:`~members.KerasMemberClassifier` comes back with
        ``build_fn=None``: it predicts, but must be given ``build_fn``
        before it can be refitted. Parameters listed under
        ``"unrestored_params"`` in the manifest take their default values.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        No file at ``path``, or a folder.
    ValueError
        A remote or HDF5 path, anything that is not a valid archive, a hash
        mismatch, a class outside the allow-list, a network that Keras's
        safe mode refuses, or a meta-learner with types outside the
        allow-list.

    See Also
    --------
    save : Write the archive.
    verify : The checks alone.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from ensemble import load, save
    >>> from members import PlainCNNClassifier
    >>> X = np.random.default_rng(0).integers(0, 256, size=(20, 8, 8, 1), dtype=np.uint8)
    >>> y = np.arange(20) % 2
    >>> clf = PlainCNNClassifier(stem_filters=4, filters=(8,), dense_units=8, epochs=1)
    >>> path = Path(tempfile.mkdtemp()) / "member.zip"
    >>> save(clf.fit(X, y), path)
    >>> loaded = load(path)
    >>> np.allclose(loaded.predict_proba(X), clf.predict_proba(X))
    True
    """
    manifest, contents = _read_verified(path)
    spec = manifest["estimator"]
    estimator = _build(spec, contents)
    if "class_names" in spec:
        estimator.class_names_ = tuple(spec["class_names"])
    return estimator


def verify(path):
    """Run every check of :func:`load` that needs no deserialisation.

    Checks the entry names, the format, the SHA-256 of every entry, the
    manifest's structure and classes, the blending arrays and the
    meta-learner's types. Keras's safe-mode check of the networks only
    happens in :func:`load`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    manifest : dict
        The archive's parsed ``manifest.json``.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, ValueError
        As :func:`load` raises them.

    See Also
    --------
    load : Verify, then rebuild the estimator.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ensemble import verify
    >>> path = Path(tempfile.mkdtemp()) / "not-an-archive.zip"
    >>> _ = path.write_bytes(b"not a zip file")
    >>> verify(path)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError: not a keras-ensembles archive
    """
    manifest, _ = _read_verified(path)
    return manifest


def _read_verified(path):
    """The manifest and the verified bytes of every entry, or an error."""
    path = _local_path(path, "load")
    require_file(path, "a keras-ensembles archive (one .zip file)")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OverflowError,
            NotImplementedError) as error:
        raise ValueError(
            f"{str(path)!r} is not a keras-ensembles archive (not a valid zip file: {error})."
        ) from None
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if len(names) > MAX_ENTRIES:
            raise ValueError(f"The archive holds {len(names)} entries, more than {MAX_ENTRIES}.")
        for name in names:
            _check_entry_name(name)
        duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
        if duplicates:
            raise ValueError(f"The archive holds duplicate entries {duplicates}.")
        if MANIFEST not in names:
            raise ValueError(f"The archive has no {MANIFEST}: not a keras-ensembles archive.")
        if archive.getinfo(MANIFEST).file_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes.")
        try:
            manifest = json.loads(_read_entry(archive, MANIFEST).decode("utf-8"))
        except (ValueError, RecursionError) as error:  # bad UTF-8, bad JSON, huge ints
            raise ValueError(f"{MANIFEST} is not valid JSON: {error}") from None
        _check_format(manifest)
        hashes = manifest["files"]
        for name in names:
            if name != MANIFEST and name not in hashes:
                raise ValueError(f"The archive holds an unexpected entry {name!r}.")
        for name in hashes:
            _check_entry_name(name)
            if name not in names:
                raise ValueError(f"The archive lacks the entry {name!r} its manifest lists.")
        contents = {}
        for name, expected in hashes.items():
            data = _read_entry(archive, name)
            if _sha256(data) != expected:
                raise ValueError(
                    f"SHA-256 mismatch for {name!r}: the entry is corrupt or was tampered with."
                )
            contents[name] = data
    _check_estimator_spec(manifest["estimator"], contents)
    return manifest, contents


def _read_entry(archive, name):
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError) as error:
        raise ValueError(f"Can't read {name!r} from the archive (corrupt zip): {error}") from None


def _check_entry_name(name):
    if (not isinstance(name, str) or not name or name.startswith(("/", "\\"))
            or "\\" in name or "\x00" in name or re.match(r"^[A-Za-z]:", name)
            or any(part in ("..", ".", "") for part in name.split("/"))):
        raise ValueError(f"The archive entry {name!r} escapes the archive (unsafe name).")
    if not (name in (MANIFEST, FINAL_ESTIMATOR_FILE, BLEND_FILE) or _MEMBER_FILE.fullmatch(name)):
        raise ValueError(f"The archive holds an unexpected entry {name!r}.")


def _check_format(manifest):
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"Not a {FORMAT_NAME} archive (the manifest names another format).")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ValueError(
            f"Unsupported {FORMAT_NAME} format_version {version!r}; this library reads "
            f"version {FORMAT_VERSION}."
        )
    files = manifest.get("files")
    _expect(isinstance(files, dict) and all(
        isinstance(name, str) and isinstance(digest, str)
        and re.fullmatch(r"[0-9a-f]{64}", digest) for name, digest in files.items()
    ), "'files' must map entry names to SHA-256 hex digests")
    _expect(MANIFEST not in files, f"'files' must not list {MANIFEST}")
    _expect(isinstance(manifest.get("estimator"), dict), "'estimator' must be an object")


# ------------------------------------------------------------- structural checks
def _checked_class_names(names, n_classes):
    """``class_names_`` as a JSON list: one string per class."""
    if isinstance(names, str) or not all(isinstance(name, str) for name in names):
        raise TypeError("class_names_ must be a sequence of str, one per class.")
    names = list(names)
    if len(names) != n_classes:
        raise ValueError(f"class_names_ has {len(names)} names for {n_classes} classes.")
    return names


def _check_estimator_spec(spec, contents):
    """Everything about the manifest's estimator that needs no deserialisation."""
    if "class_names" in spec:
        names = spec["class_names"]
        _expect(isinstance(names, list) and all(isinstance(name, str) for name in names)
                and isinstance(spec.get("classes"), dict)
                and len(names) == len(spec["classes"].get("values") or []),
                "class_names must list one string per class")
    kind = spec.get("kind")
    if kind == "member":
        _check_member_spec(spec, 0, "estimator")
        expected = {"members/0.keras"}
    elif kind == "ensemble":
        expected = _check_ensemble_spec(spec, contents)
    else:
        raise ValueError(f"Invalid archive: unknown estimator kind {kind!r}.")
    unexpected = sorted(set(contents) - expected)
    missing = sorted(expected - set(contents))
    if unexpected:
        raise ValueError(f"The archive holds an unexpected entry {unexpected[0]!r}.")
    if missing:
        raise ValueError(f"The archive lacks the entry {missing[0]!r}.")


def _check_member_spec(spec, index, label):
    _expect(isinstance(spec, dict), f"{label} must be an object")
    cls = _allowed_class(spec.get("class"), MEMBER_CLASSES, label)
    _check_params(spec, cls, label)
    classes = _decode_labels(spec.get("classes"), f"{label}.classes")
    _expect(len(classes) >= 2, f"{label} must have at least two classes")
    n_features = _check_int(spec.get("n_features_in"), f"{label}.n_features_in", minimum=1)
    _check_feature_names(spec.get("feature_names_in"), n_features, label)
    shape = spec.get("input_shape")
    _expect(isinstance(shape, list) and shape and all(
        _is_int(size) and size >= 1 for size in shape), f"{label}.input_shape must list sizes")
    _expect(int(np.prod(shape, dtype=object)) == n_features,
            f"{label}.input_shape doesn't hold n_features_in values")
    _expect(_is_real(spec.get("pixel_scale")), f"{label}.pixel_scale must be a number")
    history = spec.get("history")
    _expect(isinstance(history, dict) and all(
        isinstance(values, list) and all(_is_real(value) for value in values)
        for values in history.values()), f"{label}.history must map names to lists of numbers")
    return classes


def _check_ensemble_spec(spec, contents):
    cls = _allowed_class(spec.get("class"), ENSEMBLE_CLASSES, "estimator")
    _check_params(spec, cls, "estimator")
    for name in ("members", "final_estimator"):
        _expect(name not in spec["params"], f"{name} is not a plain parameter")
    classes = _decode_labels(spec.get("classes"), "classes")
    _expect(len(classes) >= 2, "an ensemble must have at least two classes")
    n_features = _check_int(spec.get("n_features_in"), "n_features_in", minimum=1)
    _check_feature_names(spec.get("feature_names_in"), n_features, "estimator")
    _check_int(spec.get("network_fits"), "network_fits", minimum=0)
    # Archives written before temperature scaling have none: 1 leaves the blend as it is.
    temperature = spec.get("temperature", 1.0)
    _expect(_is_real(temperature) and np.isfinite(temperature) and temperature > 0,
            "temperature must be a positive number")

    member_specs = spec.get("member_specs")
    _expect(isinstance(member_specs, list) and member_specs, "member_specs must be a list")
    for index, member_spec in enumerate(member_specs):
        member_classes = _check_member_spec(member_spec, index, f"member_specs[{index}]")
        _expect(np.isin(member_classes, classes).all(),
                f"member_specs[{index}] has classes outside the ensemble's")
        _expect(member_spec["n_features_in"] == n_features,
                f"member_specs[{index}].n_features_in differs from the ensemble's")
    layout = spec.get("members")
    _expect(isinstance(layout, list) and layout, "members must be a list")
    names, indices = [], []
    for entry in layout:
        _expect(isinstance(entry, dict) and isinstance(entry.get("name"), str)
                and entry["name"] and "__" not in entry["name"], "invalid members entry")
        names.append(entry["name"])
        if entry.get("drop") is True:
            _expect(set(entry) == {"name", "drop"}, "invalid members entry")
        else:
            _expect(set(entry) == {"name", "index"} and _is_int(entry["index"]),
                    "invalid members entry")
            indices.append(entry["index"])
    _expect(len(set(names)) == len(names), "member names must be unique")
    _expect(indices == list(range(len(member_specs))),
            "members must name every member once, in order")

    expected = {f"members/{index}.keras" for index in range(len(member_specs))}
    n_classes = len(classes)
    if cls is WeightedAverageEnsemble:
        weights = spec.get("weights")
        _expect(isinstance(weights, dict) and _float_dtype(weights.get("dtype"))
                and isinstance(weights.get("values"), list)
                and len(weights["values"]) == len(member_specs)
                and all(_is_real(value) for value in weights["values"]),
                "weights must hold one float per member")
    else:
        _expect(spec.get("final_estimator_param") in ("none", "clone_of_fitted"),
                "final_estimator_param must be 'none' or 'clone_of_fitted'")
        expected.add(FINAL_ESTIMATOR_FILE)
        if FINAL_ESTIMATOR_FILE in contents:
            _check_skops_payload(contents[FINAL_ESTIMATOR_FILE])

    blend = spec.get("blend")
    _expect(isinstance(blend, dict) and isinstance(blend.get("included"), bool),
            "blend must say whether the blending predictions are included")
    if blend["included"]:
        expected.add(BLEND_FILE)
        _decode_labels(blend.get("targets"), "blend.targets", values=False)
        if BLEND_FILE in contents:
            _read_blend(contents[BLEND_FILE], blend["targets"], len(member_specs), n_classes)
    return expected


def _check_params(spec, cls, label):
    allowed = set(_param_names(cls))
    params = spec.get("params")
    unrestored = spec.get("unrestored_params", {})
    tuple_params = spec.get("tuple_params", [])
    _expect(isinstance(params, dict), f"{label}.params must be an object")
    _expect(isinstance(unrestored, dict) and all(
        isinstance(value, str) for value in unrestored.values()),
        f"{label}.unrestored_params must map names to strings")
    _expect(isinstance(tuple_params, list), f"{label}.tuple_params must be a list")
    for name in list(params) + list(unrestored):
        _expect(name in allowed, f"{label} has an unknown parameter {name!r} for {cls.__name__}")
    for name in tuple_params:
        _expect(isinstance(params.get(name), list), f"{label}.tuple_params names a non-list")
    _expect(_is_plain_json(params), f"{label}.params must be plain JSON values")


def _allowed_class(name, allowed, label):
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(
            f"The archive names the class {name!r} for {label}, which is not in the allow-list "
            f"{sorted(allowed)}."
        )
    return allowed[name]


def _check_skops_payload(data):
    """Refuse a meta-learner whose types are outside the allow-lists."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as payload:
            schema = json.loads(payload.read("schema.json"))
        top = f"{schema['__module__']}.{schema['__class__']}"
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as error:  # noqa: BLE001 - any failure here is a bad payload
        raise ValueError(f"{FINAL_ESTIMATOR_FILE} is not a valid skops payload: {error}") from None
    if top not in FINAL_ESTIMATOR_TYPES:
        raise ValueError(
            f"{FINAL_ESTIMATOR_FILE} holds a {top}, which is not an allowed meta-learner "
            f"{sorted(FINAL_ESTIMATOR_TYPES)}."
        )
    refused = sorted(set(untrusted) - set(SKOPS_TRUSTED_TYPES))
    if refused:
        raise ValueError(
            f"{FINAL_ESTIMATOR_FILE} holds types outside the allow-list: {refused}."
        )


# --------------------------------------------------------------------- building
def _build(spec, contents):
    if spec["kind"] == "member":
        return _build_member(spec, contents, 0, "the member")
    cls = ENSEMBLE_CLASSES[spec["class"]]
    members = [
        _build_member(member_spec, contents, index, _member_label(spec, index))
        for index, member_spec in enumerate(spec["member_specs"])
    ]
    layout = [
        (entry["name"], "drop" if entry.get("drop") else members[entry["index"]])
        for entry in spec["members"]
    ]
    params = _restored_params(spec)
    params["members"] = layout
    final_estimator = None
    if cls is StackingEnsemble:
        try:
            final_estimator = skops.io.loads(contents[FINAL_ESTIMATOR_FILE],
                                             trusted=list(SKOPS_TRUSTED_TYPES))
        except Exception as error:  # noqa: BLE001
            raise ValueError(f"{FINAL_ESTIMATOR_FILE} refused to load: {error}") from error
        if not hasattr(final_estimator, "predict_proba"):
            raise ValueError(f"{FINAL_ESTIMATOR_FILE} holds no classifier with predict_proba.")
        if spec["final_estimator_param"] == "clone_of_fitted":
            params["final_estimator"] = clone(final_estimator)
    estimator = cls(**params)
    estimator.classes_ = _decode_labels(spec["classes"], "classes")
    estimator.n_features_in_ = spec["n_features_in"]
    if spec.get("feature_names_in") is not None:
        estimator.feature_names_in_ = np.asarray(spec["feature_names_in"], dtype=object)
    estimator.members_ = members
    estimator.named_members_ = Bunch(**{
        entry["name"]: members[entry["index"]] for entry in spec["members"] if "index" in entry
    })
    estimator.network_fits_ = spec["network_fits"]
    estimator.temperature_ = float(spec.get("temperature", 1.0))
    if spec["blend"]["included"]:
        predictions, targets = _read_blend(contents[BLEND_FILE], spec["blend"]["targets"],
                                           len(members), len(estimator.classes_))
        estimator.blend_predictions_ = predictions
        estimator.blend_targets_ = targets
    if cls is WeightedAverageEnsemble:
        estimator.weights_ = np.asarray(spec["weights"]["values"],
                                        dtype=np.dtype(spec["weights"]["dtype"]))
    else:
        estimator.final_estimator_ = final_estimator
    return estimator


def _member_label(spec, index):
    for entry in spec["members"]:
        if entry.get("index") == index:
            return f"member {entry['name']!r}"
    return f"member {index}"  # pragma: no cover - the checks ensure a name


def _build_member(spec, contents, index, label):
    cls = MEMBER_CLASSES[spec["class"]]
    params = _restored_params(spec)
    if cls is KerasMemberClassifier:
        params["build_fn"] = None
    member = cls(**params)
    file_name = f"members/{index}.keras"
    model = _load_model(contents[file_name], f"{label} ({file_name})")
    classes = _decode_labels(spec["classes"], "classes")
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


def _restored_params(spec):
    params = dict(spec["params"])
    for name in spec.get("tuple_params", []):
        params[name] = tuple(params[name])
    return params


def _read_blend(data, targets_spec, n_members, n_classes):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            _expect(sorted(npz.files) == ["predictions", "targets"],
                    f"{BLEND_FILE} must hold exactly 'predictions' and 'targets'")
            predictions = npz["predictions"]
            targets = npz["targets"]
    except Exception as error:  # noqa: BLE001 - corrupt npz: zip, header or shape errors
        raise ValueError(f"{BLEND_FILE} is invalid: {error}") from None
    _expect(predictions.dtype == np.float64 and predictions.ndim == 3
            and predictions.shape[0] == n_members and predictions.shape[2] == n_classes,
            f"{BLEND_FILE}: predictions must be float64 of shape (n_members, n_blend, n_classes)")
    _expect(targets.ndim == 1 and len(targets) == predictions.shape[1],
            f"{BLEND_FILE}: targets must be 1-d with one label per blending row")
    return predictions, _restore_label_array(targets, targets_spec)


# ------------------------------------------------------------------ labels, params
def _encode_labels(labels, label, values=True):
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


def _plain_label_array(labels):
    """Object labels as a unicode or int64 array, which np.savez writes without pickle."""
    if labels.dtype.kind != "O":
        return labels
    if _object_element(labels, "blend_targets_") == "str":
        return labels.astype(str) if len(labels) else np.array([], dtype="<U1")
    return labels.astype(np.int64)


def _restore_label_array(array, spec):
    if spec["dtype"] == "|O":
        expected_kind = "U" if spec["element"] == "str" else "i"
        _expect(array.dtype.kind == expected_kind, "blend targets have the wrong dtype")
        restored = np.empty(len(array), dtype=object)
        restored[:] = array.tolist()
        return restored
    _expect(array.dtype.str == spec["dtype"], "blend targets have the wrong dtype")
    return array


def _decode_labels(spec, label, values=True):
    _expect(isinstance(spec, dict) and isinstance(spec.get("dtype"), str),
            f"{label} must give a dtype")
    if spec["dtype"] == "|O":
        element = spec.get("element")
        _expect(element in ("str", "int"), f"{label}: object labels must be 'str' or 'int'")
        check = (lambda v: isinstance(v, str)) if element == "str" else _is_int
        dtype = None
    else:
        try:
            dtype = np.dtype(spec["dtype"])
        except (TypeError, ValueError):
            raise ValueError(f"Invalid archive: {label} has an unknown dtype.") from None
        _expect(dtype.kind in "biufU" and dtype.str == spec["dtype"],
                f"{label}: unsupported dtype {spec['dtype']!r}")
        check = {"b": lambda v: isinstance(v, bool), "i": _is_int, "u": _is_int,
                 "f": _is_real, "U": lambda v: isinstance(v, str)}[dtype.kind]
    if not values:
        return None
    items = spec.get("values")
    _expect(isinstance(items, list) and all(check(item) for item in items),
            f"{label}: values don't match the dtype")
    if dtype is None:
        labels = np.empty(len(items), dtype=object)
        labels[:] = items
        return labels
    try:
        labels = np.array(items, dtype=dtype)
    except (OverflowError, ValueError):
        raise ValueError(f"Invalid archive: {label} values don't fit the dtype.") from None
    _expect(labels.tolist() == items, f"{label}: values don't fit the dtype")
    return labels


def _encode_feature_names(estimator):
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def _check_feature_names(names, n_features, label):
    _expect(names is None or (isinstance(names, list) and len(names) == n_features
                              and all(isinstance(name, str) for name in names)),
            f"{label}.feature_names_in must be null or n_features_in strings")


def _split_params(params):
    """(JSON params, {name: repr} of the others, names of tuple-valued params)."""
    plain, unrestored, tuple_params = {}, {}, []
    for name, value in sorted(params.items()):
        ok, converted = _to_json(value)
        if ok:
            plain[name] = converted
            if isinstance(value, tuple):
                tuple_params.append(name)
        else:
            unrestored[name] = _short_repr(value)
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
    if value is None or isinstance(value, (bool, str)) or _is_real(value):
        return True
    if isinstance(value, list):
        return all(_is_plain_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_plain_json(item) for key, item in value.items())
    return False


def _param_names(cls):
    return [name for name, parameter in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and parameter.kind != parameter.VAR_KEYWORD]


def _history_value(value):
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)


# ------------------------------------------------------------------------ helpers
def _local_path(path, action):
    try:
        text = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}.") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "://" in text:
        raise ValueError(
            f"Can't {action} {text!r}: only local files are supported; download remote "
            "archives yourself (from a source you trust) and pass the local path."
        )
    if Path(text).suffix.lower() in (".h5", ".hdf5"):
        raise ValueError(
            f"Can't {action} {text!r}: HDF5 (.h5/.hdf5) files are not accepted; only the "
            f"{FORMAT_NAME} zip archive, built on Keras's .keras format, is."
        )
    return Path(text)


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _short_repr(value):
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT] + "...<truncated>"


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float_dtype(text):
    try:
        return isinstance(text, str) and np.dtype(text).kind == "f" and np.dtype(text).str == text
    except (TypeError, ValueError):
        return False


def _check_int(value, label, *, minimum):
    _expect(_is_int(value) and value >= minimum, f"{label} must be an int >= {minimum}")
    return value


def _expect(condition, message):
    if not condition:
        raise ValueError(f"Invalid archive: {message}.")

