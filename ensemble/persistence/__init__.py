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

What lives here, and what it may import
---------------------------------------
``_archive`` (zip, hashes, manifest), ``_member_schema`` and
``_ensemble_schema`` (what each estimator stores and how it is rebuilt),
``_values`` (checked JSON values). It imports the public classes of
``members`` and ``ensemble.combiners``, and ``members.utils``.
"""

import json
import os

from ensemble.persistence._archive import (
    FORMAT_NAME,
    FORMAT_VERSION,
    library_version,
    local_path,
    read_verified,
    sha256,
    write_archive,
)
from ensemble.persistence._ensemble_schema import (
    ENSEMBLE_CLASSES,
    build_ensemble,
    check_ensemble_spec,
    describe_ensemble,
)
from ensemble.persistence._member_schema import (
    MEMBER_CLASSES,
    build_member,
    check_member_spec,
    describe_member,
)
from ensemble.persistence._values import checked_class_names, expect

__all__ = ["load", "save", "verify", "FORMAT_NAME", "FORMAT_VERSION"]


def save(estimator, path, *, overwrite=False):
    """Write a fitted member or ensemble to ``path`` as one zip archive.

    Parameters
    ----------
    estimator : fitted member or ensemble
        One of the four member classes,
        :class:`~ensemble.combiners.WeightedAverageEnsemble` or
        :class:`~ensemble.combiners.StackingEnsemble` (whose members are of
        the four member classes and whose meta-learner is a scikit-learn
        ``LogisticRegression``, ``RandomForestClassifier``,
        ``ExtraTreesClassifier`` or ``DecisionTreeClassifier``).
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
    >>> import numpy as np
    >>> from ensemble import save, verify
    >>> from members import PlainCNNClassifier
    >>> X = np.random.default_rng(0).integers(0, 256, size=(20, 8, 8, 1), dtype=np.uint8)
    >>> y = np.arange(20) % 2
    >>> clf = PlainCNNClassifier(stem_filters=4, filters=(8,), dense_units=8, epochs=1)
    >>> save(clf.fit(X, y), "member.zip")
    >>> verify("member.zip")["estimator"]["class"]
    'PlainCNNClassifier'
    """
    path = local_path(path, "save")
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
        spec["class_names"] = checked_class_names(class_names, len(spec["classes"]["values"]))
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": library_version("keras-ensembles"),
        "saved_with": {
            name: library_version(name) for name in ("keras", "scikit-learn", "skops", "numpy")
        },
        "estimator": spec,
        "files": {name: sha256(data) for name, data in files.items()},
    }
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    write_archive(path, files, manifest_bytes, overwrite)


def _describe(estimator, files):
    cls = type(estimator)
    if MEMBER_CLASSES.get(cls.__name__) is cls:
        return dict(kind="member", **describe_member(estimator, 0, files, "estimator"))
    if ENSEMBLE_CLASSES.get(cls.__name__) is cls:
        return dict(kind="ensemble", **describe_ensemble(estimator, files))
    raise TypeError(
        f"Can't save a {cls.__module__}.{cls.__qualname__}: only "
        f"{sorted(MEMBER_CLASSES) + sorted(ENSEMBLE_CLASSES)} are supported."
    )


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
    A member trained on 60 of scikit-learn's 8x8 digits, saved and loaded back:

    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from ensemble import load, save
    >>> from members import PlainCNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> digits = PlainCNNClassifier(input_shape=(8, 8, 1), stem_filters=4, filters=(8,),
    ...                             dense_units=8, epochs=1).fit(X[:60], y[:60])
    >>> save(digits, "digits.zip")
    >>> loaded = load("digits.zip")
    >>> loaded.classes_.tolist() == digits.classes_.tolist()
    True
    >>> np.allclose(loaded.predict_proba(X[60:70]), digits.predict_proba(X[60:70]))
    True
    """
    manifest, contents = read_verified(path)
    spec = manifest["estimator"]
    _check_estimator_spec(spec, contents)
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
    >>> from pathlib import Path
    >>> from ensemble import verify
    >>> _ = Path("not-an-archive.zip").write_bytes(b"not a zip file")
    >>> verify("not-an-archive.zip")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError: not a keras-ensembles archive
    """
    manifest, contents = read_verified(path)
    _check_estimator_spec(manifest["estimator"], contents)
    return manifest


def _check_estimator_spec(spec, contents):
    """Everything about the manifest's estimator that needs no deserialisation."""
    if "class_names" in spec:
        names = spec["class_names"]
        expect(isinstance(names, list) and all(isinstance(name, str) for name in names)
                and isinstance(spec.get("classes"), dict)
                and len(names) == len(spec["classes"].get("values") or []),
                "class_names must list one string per class")
    kind = spec.get("kind")
    if kind == "member":
        check_member_spec(spec, 0, "estimator")
        expected = {"members/0.keras"}
    elif kind == "ensemble":
        expected = check_ensemble_spec(spec, contents)
    else:
        raise ValueError(f"Invalid archive: unknown estimator kind {kind!r}.")
    unexpected = sorted(set(contents) - expected)
    missing = sorted(expected - set(contents))
    if unexpected:
        raise ValueError(f"The archive holds an unexpected entry {unexpected[0]!r}.")
    if missing:
        raise ValueError(f"The archive lacks the entry {missing[0]!r}.")


# --------------------------------------------------------------------- building
def _build(spec, contents):
    if spec["kind"] == "member":
        return build_member(spec, contents, 0, "the member")
    return build_ensemble(spec, contents)
