"""Tests for ensemble.persistence: round trips, atomic saves, and refusing hostile archives."""

import hashlib
import io
import json
import os
import socket
import zipfile

import keras
import numpy as np
import pytest
import skops.io
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from ensemble import StackingEnsemble, WeightedAverageEnsemble
from ensemble.persistence import FORMAT_NAME, FORMAT_VERSION, load, save, verify
from helpers import TINY_TRAINING, build_tiny_mlp, tiny_members, tiny_plain
from members import KerasMemberClassifier, PlainCNNClassifier

FAST = dict(TINY_TRAINING, epochs=2)


# ------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def data(tiny_images):
    X, y = tiny_images
    return X[::2], y[::2]  # 100 images: training is not what these tests are about


@pytest.fixture(scope="module")
def mlp_member(data):
    return KerasMemberClassifier(build_tiny_mlp, build_params={"units": 8}, **FAST).fit(*data)


@pytest.fixture(scope="module")
def plain_member(data):
    return tiny_plain(epochs=2).fit(*data)


@pytest.fixture(scope="module")
def weighted(data):
    return WeightedAverageEnsemble(
        [("mlp", KerasMemberClassifier(build_tiny_mlp, **FAST)), ("gone", "drop"),
         ("plain", tiny_plain(epochs=2))],
        holdout=0.25, random_state=0,
    ).fit(*data)


@pytest.fixture(scope="module")
def stacking(data):
    """String labels of object dtype, so blend_targets_ go through the unicode conversion."""
    X, y = data
    labels = np.array(["cat", "dog", "eel", "fox"], dtype=object)[y]
    return StackingEnsemble(
        [("mlp", KerasMemberClassifier(build_tiny_mlp, **FAST)), ("plain", tiny_plain(epochs=2))],
        holdout=0.25, random_state=0,
    ).fit(X, labels)


@pytest.fixture(scope="module")
def saved_member(mlp_member, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "mlp.zip"
    save(mlp_member, path)
    return path


@pytest.fixture(scope="module")
def saved_stacking(stacking, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "stacking.zip"
    save(stacking, path)
    return path


# ------------------------------------------------------------------------- helpers
def assert_same_predictions(loaded, original, X):
    """Same class, same predictions in inference mode, same classes and input width."""
    assert type(loaded) is type(original)
    np.testing.assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    assert loaded.classes_.dtype == original.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, original.classes_)
    assert loaded.n_features_in_ == original.n_features_in_


def assert_same_member(loaded, original, X):
    assert_same_predictions(loaded, original, X)
    assert loaded.input_shape_ == original.input_shape_
    assert type(loaded.input_shape_) is tuple
    assert loaded.pixel_scale_ == original.pixel_scale_
    assert loaded.history_ == original.history_
    expected = original.get_params(deep=False)
    actual = loaded.get_params(deep=False)
    if isinstance(original, KerasMemberClassifier):
        assert actual.pop("build_fn") is None  # never imported: refits need it again
        expected.pop("build_fn")
    assert actual == expected
    assert {k: type(v) for k, v in actual.items()} == {k: type(v) for k, v in expected.items()}


def assert_same_ensemble(loaded, original, X):
    assert_same_predictions(loaded, original, X)
    assert loaded.network_fits_ == original.network_fits_
    np.testing.assert_array_equal(loaded.blend_predictions_, original.blend_predictions_)
    assert loaded.blend_targets_.dtype == original.blend_targets_.dtype
    np.testing.assert_array_equal(loaded.blend_targets_, original.blend_targets_)
    assert list(loaded.named_members_) == list(original.named_members_)
    assert [loaded.named_members_[name] for name in loaded.named_members_] == loaded.members_
    for new, old in zip(loaded.members_, original.members_, strict=True):
        assert_same_member(new, old, X)
    # The members parameter keeps the names, the order and the dropped entries.
    assert [(name, est if isinstance(est, str) else type(est)) for name, est in loaded.members] == [
        (name, est if isinstance(est, str) else type(est)) for name, est in original.members]
    expected = original.get_params(deep=False)
    actual = loaded.get_params(deep=False)
    for params in (expected, actual):
        params.pop("members")
        final = params.pop("final_estimator", None)
        params["final_estimator"] = None if final is None else (type(final), final.get_params())
    assert actual == expected


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def rewrite(source, target, *, replace=None, add=None, edit_manifest=None, fix_hashes=False):
    """Copy an archive, changing entries and (optionally) re-hashing them."""
    with zipfile.ZipFile(source) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(entries.pop("manifest.json"))
    entries.update(replace or {})
    entries.update(add or {})
    if fix_hashes:
        manifest["files"] = {name: sha256(content) for name, content in entries.items()}
    if edit_manifest is not None:
        edit_manifest(manifest)
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        archive.writestr("manifest.json", json.dumps(manifest))
    return target


def model_bytes(model, folder):
    path = os.path.join(folder, "model.keras")
    model.save(path)
    with open(path, "rb") as file:
        return file.read()


# ---------------------------------------------------------------------- round trips
def test_round_trip_generic_member(mlp_member, data, tmp_path):
    path = tmp_path / "mlp.zip"
    save(mlp_member, path)
    loaded = load(path)
    assert_same_member(loaded, mlp_member, data[0])
    assert loaded.build_params == {"units": 8}
    # Refitting needs build_fn back; then the loaded member trains as usual.
    loaded.set_params(build_fn=build_tiny_mlp, epochs=1).fit(*data)


def test_round_trip_plain_member_restores_tuples(plain_member, data, tmp_path):
    path = tmp_path / "plain.zip"
    save(plain_member, path)
    loaded = load(path)
    assert_same_member(loaded, plain_member, data[0])
    assert loaded.filters == (4,)


@pytest.mark.parametrize("index", [2, 3], ids=["separable", "residual"])
def test_round_trip_other_architectures(index, data, tmp_path):
    member = tiny_members()[index].set_params(epochs=1).fit(*data)
    save(member, tmp_path / "member.zip")
    assert_same_member(load(tmp_path / "member.zip"), member, data[0])


@pytest.mark.parametrize("labels", [
    pytest.param(lambda y: np.array(["ant", "bee", "cow", "doe"])[y], id="unicode"),
    pytest.param(lambda y: np.array(["ant", "bee", "cow", "doe"], dtype=object)[y], id="object"),
    pytest.param(lambda y: y % 2 == 0, id="bool"),
    pytest.param(lambda y: (y * 2.0 - 1).astype(np.float32), id="float32"),
    pytest.param(lambda y: (y + 10).astype(np.uint8), id="uint8"),
])
def test_label_types_round_trip_exactly(labels, data, tmp_path):
    X, y = data
    member = KerasMemberClassifier(build_tiny_mlp, **dict(FAST, epochs=1)).fit(X, labels(y))
    save(member, tmp_path / "member.zip")
    loaded = load(tmp_path / "member.zip")
    assert_same_member(loaded, member, X)
    assert [type(label) for label in loaded.classes_] == [type(label) for label in member.classes_]


def test_feature_names_round_trip(data, tmp_path):
    X, y = data
    member = KerasMemberClassifier(build_tiny_mlp, **dict(FAST, epochs=1)).fit(X, y)
    # What fitting on a DataFrame with string column names sets.
    member.feature_names_in_ = np.array([f"px{i}" for i in range(64)], dtype=object)
    save(member, tmp_path / "member.zip")
    loaded = load(tmp_path / "member.zip")
    assert loaded.feature_names_in_.dtype == object
    np.testing.assert_array_equal(loaded.feature_names_in_, member.feature_names_in_)


def test_round_trip_weighted_ensemble(weighted, data, tmp_path):
    save(weighted, tmp_path / "weighted.zip")
    loaded = load(tmp_path / "weighted.zip")
    assert_same_ensemble(loaded, weighted, data[0])
    assert loaded.weights_.dtype == weighted.weights_.dtype
    np.testing.assert_array_equal(loaded.weights_, weighted.weights_)
    assert ("gone", "drop") in loaded.members
    # The kept blend still lets another combiner be fitted without training a network.
    restacked = StackingEnsemble.from_blend(loaded)
    assert restacked.predict_proba(data[0]).shape == (len(data[0]), 4)


def test_round_trip_stacking_ensemble_with_string_labels(stacking, saved_stacking, data):
    loaded = load(saved_stacking)
    assert_same_ensemble(loaded, stacking, data[0])
    assert loaded.classes_.dtype == object
    assert all(type(label) is str for label in loaded.blend_targets_)
    assert type(loaded.final_estimator_) is LogisticRegression
    assert loaded.final_estimator is None


def test_round_trip_stacking_with_a_forest_meta_learner(weighted, data, tmp_path):
    forest = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0)
    stacked = StackingEnsemble.from_blend(weighted, final_estimator=forest)
    save(stacked, tmp_path / "forest.zip")
    loaded = load(tmp_path / "forest.zip")
    assert_same_ensemble(loaded, stacked, data[0])
    # The final_estimator parameter comes back as an unfitted clone of the meta-learner.
    assert loaded.final_estimator is not loaded.final_estimator_
    assert not hasattr(loaded.final_estimator, "estimators_")


def test_class_names_travel_in_the_manifest(weighted, mlp_member, tmp_path):
    weighted.class_names_ = ("zero", "one", "two", "three")
    try:
        save(weighted, tmp_path / "named.zip")
    finally:
        del weighted.class_names_
    assert verify(tmp_path / "named.zip")["estimator"]["class_names"] == ["zero", "one", "two",
                                                                          "three"]
    assert load(tmp_path / "named.zip").class_names_ == ("zero", "one", "two", "three")
    # Archives without names (and those written before names existed) load without them.
    save(mlp_member, tmp_path / "unnamed.zip")
    assert "class_names" not in verify(tmp_path / "unnamed.zip")["estimator"]
    assert not hasattr(load(tmp_path / "unnamed.zip"), "class_names_")


def test_class_names_must_name_every_class(mlp_member, tmp_path):
    mlp_member.class_names_ = ("a", "b")
    try:
        with pytest.raises(ValueError, match="class_names_ has 2 names for 4 classes"):
            save(mlp_member, tmp_path / "bad.zip")
        mlp_member.class_names_ = ("a", "b", "c", 4)
        with pytest.raises(TypeError, match="class_names_ must be a sequence of str"):
            save(mlp_member, tmp_path / "bad.zip")
    finally:
        del mlp_member.class_names_
    assert not (tmp_path / "bad.zip").exists()


def test_a_manifest_with_bad_class_names_is_refused(saved_member, tmp_path):
    path = rewrite(saved_member, tmp_path / "names.zip", edit_manifest=lambda manifest:
                   manifest["estimator"].update(class_names=["only one"]))
    with pytest.raises(ValueError, match="class_names must list one string per class"):
        load(path)


def test_verify_returns_the_manifest(saved_stacking):
    manifest = verify(saved_stacking)
    assert manifest["format"] == FORMAT_NAME and manifest["format_version"] == FORMAT_VERSION
    assert manifest["estimator"]["class"] == "StackingEnsemble"
    assert [entry["name"] for entry in manifest["estimator"]["members"]] == ["mlp", "plain"]
    assert set(manifest["files"]) == {
        "members/0.keras", "members/1.keras", "final_estimator.skops", "blend.npz"}
    specs = manifest["estimator"]["member_specs"]
    assert specs[0]["unrestored_params"] == {"build_fn": "TinyMLPBuilder()"}


def test_params_that_json_cannot_hold_come_back_as_defaults(data, tmp_path):
    member = KerasMemberClassifier(
        build_tiny_mlp, callbacks=[keras.callbacks.TerminateOnNaN()],
        random_state=np.random.RandomState(0), class_weight={0: 1.0, 1: 2.0, 2: 1.0, 3: 1.0},
        **{k: v for k, v in FAST.items() if k != "random_state"} | {"epochs": 1},
    ).fit(*data)
    save(member, tmp_path / "member.zip")
    unrestored = verify(tmp_path / "member.zip")["estimator"]["unrestored_params"]
    assert set(unrestored) == {"build_fn", "callbacks", "random_state", "class_weight"}
    assert "TerminateOnNaN" in unrestored["callbacks"]
    loaded = load(tmp_path / "member.zip")
    assert loaded.callbacks is None and loaded.random_state is None
    assert loaded.class_weight is None
    np.testing.assert_array_equal(loaded.predict_proba(data[0]), member.predict_proba(data[0]))


# ---------------------------------------------------------------- writing safely
def test_refuses_to_overwrite(plain_member, mlp_member, data, tmp_path):
    path = tmp_path / "model.zip"
    save(plain_member, path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="model.zip"):
        save(mlp_member, path)
    assert path.read_bytes() == before
    other = tmp_path / "notes.txt"
    other.write_text("keep me")
    with pytest.raises(FileExistsError, match="notes.txt"):
        save(mlp_member, other)
    assert other.read_text() == "keep me"


def test_overwrite_replaces_atomically(plain_member, mlp_member, data, tmp_path, monkeypatch):
    path = tmp_path / "model.zip"
    save(plain_member, path)
    renames = []
    real_replace = os.replace

    def spy(source, target):
        renames.append((os.fspath(source), os.fspath(target)))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    save(mlp_member, path, overwrite=True)
    # One rename, from a temporary file in the same folder onto the target.
    assert len(renames) == 1 and renames[0][1] == os.fspath(path)
    assert os.path.dirname(renames[0][0]) == os.fspath(tmp_path)
    assert os.listdir(tmp_path) == ["model.zip"]
    assert_same_member(load(path), mlp_member, data[0])


class Crash(Exception):
    pass


def _crash_in_writestr(monkeypatch):
    real = zipfile.ZipFile.writestr
    written = []

    def writestr(self, *args, **kwargs):
        if written:  # the first entry goes in, the second one "crashes"
            raise Crash("power cut")
        written.append(args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)


def _crash_before_rename(monkeypatch):
    def replace(*args):
        raise Crash("power cut")

    monkeypatch.setattr(os, "replace", replace)


def _crash_serialising_a_member(monkeypatch):
    import ensemble.persistence._member_schema as persistence

    def model_bytes(model):
        raise Crash("power cut")

    monkeypatch.setattr(persistence, "keras_model_to_bytes", model_bytes)


@pytest.mark.parametrize("crash", [_crash_in_writestr, _crash_before_rename,
                                   _crash_serialising_a_member],
                         ids=["mid-archive", "before-rename", "serialising"])
def test_interrupted_save_leaves_the_old_archive(crash, plain_member, weighted, data, tmp_path,
                                                 monkeypatch):
    path = tmp_path / "model.zip"
    save(plain_member, path)
    before = path.read_bytes()
    with monkeypatch.context() as patch:
        crash(patch)
        with pytest.raises(Crash):
            save(weighted, path, overwrite=True)
    assert os.listdir(tmp_path) == ["model.zip"]  # no temporary file left behind
    assert path.read_bytes() == before
    assert_same_member(load(path), plain_member, data[0])


def test_interrupted_first_save_leaves_nothing(plain_member, tmp_path, monkeypatch):
    _crash_in_writestr(monkeypatch)
    with pytest.raises(Crash):
        save(plain_member, tmp_path / "model.zip")
    assert os.listdir(tmp_path) == []


def test_refuses_unfitted_estimators(tmp_path):
    with pytest.raises(NotFittedError):
        save(tiny_plain(), tmp_path / "member.zip")
    with pytest.raises(NotFittedError):
        save(WeightedAverageEnsemble([("plain", tiny_plain())]), tmp_path / "ensemble.zip")
    assert os.listdir(tmp_path) == []


def test_refuses_unsupported_estimators(weighted, data, tmp_path):
    X, y = data
    rows = X.reshape(len(X), -1)
    with pytest.raises(TypeError, match="LogisticRegression"):
        save(LogisticRegression().fit(rows, y), tmp_path / "lr.zip")
    prefit = WeightedAverageEnsemble(
        [("lr", LogisticRegression(max_iter=200).fit(rows, y))], cv="prefit").fit(rows, y)
    with pytest.raises(TypeError, match="member 'lr'"):
        save(prefit, tmp_path / "prefit.zip")
    knn = StackingEnsemble.from_blend(weighted, final_estimator=KNeighborsClassifier(3))
    with pytest.raises(TypeError, match="KNeighborsClassifier"):
        save(knn, tmp_path / "knn.zip")
    assert os.listdir(tmp_path) == []


def test_save_refuses_remote_and_hdf5_paths(plain_member, tmp_path):
    with pytest.raises(ValueError, match="local"):
        save(plain_member, "s3://bucket/model.zip")
    with pytest.raises(ValueError, match=r"\.keras"):
        save(plain_member, tmp_path / "model.h5")
    with pytest.raises(IsADirectoryError):
        save(plain_member, tmp_path, overwrite=True)


# ------------------------------------------------------------ refusing bad input
@pytest.mark.parametrize("url", ["http://example.com/model.zip", "https://example.com/m.zip",
                                 "s3://bucket/model.zip", "gs://bucket/model.zip"])
def test_load_refuses_remote_paths_without_network(url, monkeypatch):
    class NoNetwork:
        def __init__(self, *args, **kwargs):
            raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", NoNetwork)
    monkeypatch.setattr(socket, "create_connection", NoNetwork)
    with pytest.raises(ValueError, match="local"):
        load(url)
    with pytest.raises(ValueError, match="local"):
        verify(url)


@pytest.mark.parametrize("name", ["model.h5", "model.HDF5"])
def test_load_refuses_hdf5(name, tmp_path):
    (tmp_path / name).write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ValueError, match=r"only the .*\.keras"):
        load(tmp_path / name)


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.zip"):
        load(tmp_path / "missing.zip")


def test_load_directory(tmp_path):
    with pytest.raises(IsADirectoryError, match="directory"):
        load(tmp_path)


def test_load_not_a_zip(tmp_path):
    path = tmp_path / "model.zip"
    path.write_bytes(b"certainly not a zip archive\n" * 10)
    with pytest.raises(ValueError, match="not a valid zip"):
        load(path)


def test_load_truncated_zip(saved_member, tmp_path):
    path = tmp_path / "model.zip"
    path.write_bytes(saved_member.read_bytes()[: saved_member.stat().st_size // 2])
    with pytest.raises(ValueError):
        load(path)


def test_hash_mismatch_is_refused(saved_member, tmp_path):
    with zipfile.ZipFile(saved_member) as archive:
        original = archive.read("members/0.keras")
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0xFF
    path = rewrite(saved_member, tmp_path / "tampered.zip",
                   replace={"members/0.keras": bytes(tampered)})
    with pytest.raises(ValueError, match=r"SHA-256 mismatch for 'members/0\.keras'"):
        load(path)
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        verify(path)


def test_hash_mismatch_in_the_meta_learner(saved_stacking, tmp_path):
    lr = LogisticRegression(C=0.01).fit(np.eye(8), np.arange(8) % 4)
    path = rewrite(saved_stacking, tmp_path / "tampered.zip",
                   replace={"final_estimator.skops": skops.io.dumps(lr)})
    with pytest.raises(ValueError, match="final_estimator.skops"):
        load(path)


@pytest.mark.parametrize("archive, entry, label", [
    ("saved_member", "members/0.keras", "the member"),
    ("saved_stacking", "members/1.keras", "member 'plain'"),
], ids=["member", "ensemble"])
def test_lambda_layer_is_refused_and_never_runs(archive, entry, label, mlp_member, tmp_path,
                                                request):
    marker = tmp_path / "pwned"
    # A network whose Lambda layer creates a file whenever it runs (the path is a
    # constant of the lambda's code, so Keras serialises it as bytecode).
    touch = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")  # noqa: S307
    inputs = keras.Input((mlp_member.n_features_in_,))
    hidden = keras.layers.Lambda(touch)(inputs)
    outputs = keras.layers.Dense(len(mlp_member.classes_), activation="softmax")(hidden)
    evil = model_bytes(keras.Model(inputs, outputs), tmp_path)
    marker.unlink()  # building the model ran the Lambda once
    # The payload is live: Keras without safe mode runs it while loading.
    keras.saving.load_model(tmp_path / "model.keras", safe_mode=False, compile=False)
    assert marker.exists()
    marker.unlink()

    path = rewrite(request.getfixturevalue(archive), tmp_path / "evil.zip",
                   replace={entry: evil}, fix_hashes=True)
    verify(path)  # a well-formed archive: only Keras's safe mode catches this one
    with pytest.raises(ValueError, match=rf"{label} \({entry}\) refused to load: .*Lambda"):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["../evil", "/etc/evil", "members/../../evil", "..\\evil",
                                  "C:/evil"])
def test_entries_escaping_the_archive_are_refused(name, saved_member, tmp_path):
    path = rewrite(saved_member, tmp_path / "evil.zip", add={name: b"boo"}, fix_hashes=True)
    with pytest.raises(ValueError, match="escapes the archive"):
        load(path)


@pytest.mark.parametrize("fix_hashes", [False, True], ids=["unlisted", "listed"])
def test_unexpected_entries_are_refused(fix_hashes, saved_member, tmp_path):
    path = rewrite(saved_member, tmp_path / "extra.zip", add={"payload.pkl": b"\x80\x04."},
                   fix_hashes=fix_hashes)
    with pytest.raises(ValueError, match="unexpected entry 'payload.pkl'"):
        load(path)


def test_extra_member_file_is_refused(saved_member, tmp_path):
    with zipfile.ZipFile(saved_member) as archive:
        network = archive.read("members/0.keras")
    path = rewrite(saved_member, tmp_path / "extra.zip", add={"members/1.keras": network},
                   fix_hashes=True)
    with pytest.raises(ValueError, match="unexpected entry 'members/1.keras'"):
        load(path)


@pytest.mark.parametrize("where", ["estimator", "member"])
def test_classes_outside_the_allow_list_are_refused(where, saved_stacking, tmp_path):
    def edit(manifest):
        if where == "estimator":
            manifest["estimator"]["class"] = "os.system"
        else:
            manifest["estimator"]["member_specs"][1]["class"] = "builtins.eval"

    path = rewrite(saved_stacking, tmp_path / "evil.zip", edit_manifest=edit)
    with pytest.raises(ValueError, match="allow-list"):
        load(path)


def test_unknown_format_version_is_refused(saved_member, tmp_path):
    path = rewrite(saved_member, tmp_path / "future.zip",
                   edit_manifest=lambda manifest: manifest.update(format_version=2))
    with pytest.raises(ValueError, match="format_version"):
        load(path)


def test_unknown_params_are_refused(saved_member, tmp_path):
    path = rewrite(saved_member, tmp_path / "params.zip",
                   edit_manifest=lambda m: m["estimator"]["params"].update(__class__="x"))
    with pytest.raises(ValueError, match="unknown parameter"):
        load(path)


def test_meta_learner_with_untrusted_types_is_refused(saved_stacking, tmp_path):
    lr = LogisticRegression().fit(np.eye(8), np.arange(8) % 4)
    lr.hook_ = os.system  # a payload that would hand os.system to whoever loads it
    payload = skops.io.dumps(lr)
    assert any("system" in name for name in skops.io.get_untrusted_types(data=payload))
    path = rewrite(saved_stacking, tmp_path / "evil.zip",
                   replace={"final_estimator.skops": payload}, fix_hashes=True)
    with pytest.raises(ValueError, match="outside the allow-list.*system"):
        load(path)


def test_meta_learner_of_a_type_outside_the_allow_list_is_refused(saved_stacking, tmp_path):
    knn = KNeighborsClassifier(1).fit(np.eye(8), np.arange(8) % 4)
    path = rewrite(saved_stacking, tmp_path / "knn.zip",
                   replace={"final_estimator.skops": skops.io.dumps(knn)}, fix_hashes=True)
    with pytest.raises(ValueError, match="not an allowed meta-learner"):
        load(path)


def test_blend_file_with_pickled_objects_is_refused(saved_stacking, tmp_path):
    buffer = io.BytesIO()
    np.savez(buffer, predictions=np.zeros((2, 3, 4)),
             targets=np.array(["cat", "dog", "eel"], dtype=object))  # pickled
    path = rewrite(saved_stacking, tmp_path / "pickled.zip",
                   replace={"blend.npz": buffer.getvalue()}, fix_hashes=True)
    with pytest.raises(ValueError, match="blend.npz"):
        load(path)


def test_network_that_does_not_match_the_manifest_is_refused(saved_member, tmp_path):
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(4, activation="softmax")(inputs)
    other = model_bytes(keras.Model(inputs, outputs), tmp_path)
    path = rewrite(saved_member, tmp_path / "other.zip", replace={"members/0.keras": other},
                   fix_hashes=True)
    with pytest.raises(ValueError, match="64 features"):
        load(path)


def test_saved_archive_is_a_plain_zip_of_the_listed_entries(saved_member):
    with zipfile.ZipFile(saved_member) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        assert sorted(names) == ["manifest.json", "members/0.keras"]
        for name, digest in manifest["files"].items():
            assert sha256(archive.read(name)) == digest
    assert isinstance(load(saved_member), KerasMemberClassifier)
    assert not isinstance(load(saved_member), PlainCNNClassifier)


def _replace_activation(config, new_activation):
    """Point the first Dense layer's activation of a Keras config somewhere else."""
    if isinstance(config, dict):
        if config.get("class_name") == "Dense" and "activation" in config.get("config", {}):
            config["config"]["activation"] = new_activation
            return True
        return any(_replace_activation(value, new_activation) for value in config.values())
    if isinstance(config, list):
        return any(_replace_activation(value, new_activation) for value in config)
    return False


def test_config_naming_an_arbitrary_function_is_refused_and_never_imported(
        saved_member, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    # A module that creates a file when it is imported, importable from the
    # path, like a file an attacker left in the working directory.
    payload_folder = tmp_path / "payload"
    payload_folder.mkdir()
    (payload_folder / "evil_payload.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n\ndef act(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(payload_folder))
    # Keras >= 3.15.1 (the minimum in setup.cfg) imports modules named in a
    # config only from Keras itself, safe mode or not; older releases
    # imported this one. The test pins that the loader keeps refusing it.

    with zipfile.ZipFile(saved_member) as archive:
        network = archive.read("members/0.keras")
    with zipfile.ZipFile(io.BytesIO(network)) as inner:
        inner_entries = {name: inner.read(name) for name in inner.namelist()}
    config = json.loads(inner_entries["config.json"])
    assert _replace_activation(config, {
        "module": "evil_payload", "class_name": "function", "config": "act",
        "registered_name": "function",
    })
    inner_entries["config.json"] = json.dumps(config).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as inner:
        for name, content in inner_entries.items():
            inner.writestr(name, content)

    path = rewrite(saved_member, tmp_path / "evil.zip",
                   replace={"members/0.keras": buffer.getvalue()}, fix_hashes=True)
    with pytest.raises(ValueError, match=r"the member \(members/0.keras\) refused to load"):
        load(path)
    assert not marker.exists()
