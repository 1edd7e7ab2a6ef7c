"""One Keras model per ensemble: parity with predict_proba, the three formats, bad input."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from ensemble import StackingEnsemble, WeightedAverageEnsemble
from ensemble.export import FORMATS, export, to_keras
from helpers import (
    TINY_TRAINING,
    build_tiny_mlp,
    make_tiny_images,
    tiny_plain,
    tiny_plain_and_separable,
)
from members import KerasMemberClassifier

#: float32 network outputs against predict_proba's float64 renormalised rows.
ATOL = 1e-5


def two_members():
    return tiny_plain_and_separable(plain_tta="flip+shift", separable_tta="flip")


@pytest.fixture(scope="module")
def weighted(tiny_split):
    """Equal weights and a temperature: every layer the export has is used."""
    X, y, _, _ = tiny_split
    return WeightedAverageEnsemble(two_members(), weighting="equal", calibration="temperature",
                                   holdout=0.3, random_state=0).fit(X, y)


def test_the_exported_ensemble_predicts_what_predict_proba_does(weighted, tiny_split):
    X_test = tiny_split[2]
    assert weighted.temperature_ != 1.0 and len(weighted.members_) == 2
    model = to_keras(weighted)
    expected = weighted.predict_proba(X_test)
    np.testing.assert_allclose(model.predict(X_test.astype("float32"), verbose=0), expected,
                               atol=ATOL)
    np.testing.assert_allclose(model.predict(X_test, verbose=0), expected, atol=ATOL)  # uint8
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"ImageTransform", "WeightedSum", "TemperatureScaling"} <= kinds
    assert "Lambda" not in kinds


def test_members_of_zero_weight_are_left_out(weighted, tiny_split):
    one = WeightedAverageEnsemble.from_blend(weighted, weighting=[1.0, 0.0])
    model = to_keras(one)
    assert not any(layer.name.startswith("separable") for layer in model.layers)
    X_test = tiny_split[2]
    np.testing.assert_allclose(model.predict(X_test, verbose=0), one.predict_proba(X_test),
                               atol=ATOL)


def test_a_keras_file_loads_in_safe_mode_and_predicts_the_same(weighted, tiny_split, tmp_path):
    path = export(weighted, tmp_path / "ensemble.keras")
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(tiny_split[2], verbose=0),
                               weighted.predict_proba(tiny_split[2]), atol=ATOL)


SERVE = """
import json, sys
import numpy as np
import tensorflow as tf
served = tf.saved_model.load(sys.argv[1])
images = np.load(sys.argv[2]).astype("float32")
print(json.dumps({"proba": served.serve(images).numpy().tolist(),
                  "project": sorted(m for m in sys.modules if m.split(".")[0]
                                    in ("ensemble", "members"))}))
"""


@pytest.mark.slow
def test_a_saved_model_serves_in_a_process_with_tensorflow_alone(weighted, tiny_split, tmp_path):
    path = export(weighted, tmp_path / "served", format="savedmodel")
    np.save(tmp_path / "images.npy", tiny_split[2])
    result = subprocess.run([sys.executable, "-c", SERVE, str(path), str(tmp_path / "images.npy")],
                            capture_output=True, text=True, timeout=300, check=True,
                            env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["project"] == [], "TensorFlow alone: nothing of this package was imported"
    np.testing.assert_allclose(out["proba"], weighted.predict_proba(tiny_split[2]), atol=ATOL)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_tflite_predicts_the_same(weighted, tiny_split, tmp_path):
    import tensorflow as tf

    path = export(weighted, tmp_path / "ensemble.tflite", format="tflite")
    interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    (name,) = runner.get_input_details()
    outputs = runner(**{name: tiny_split[2].astype("float32")})
    (proba,) = outputs.values()
    np.testing.assert_allclose(proba, weighted.predict_proba(tiny_split[2]), atol=1e-4)


def test_flat_input_takes_rows_of_pixels_as_a_csv_holds_them(weighted, tiny_split, tmp_path):
    X_test = tiny_split[2]
    rows = X_test.reshape(len(X_test), -1)
    path = export(weighted, tmp_path / "flat.keras", flat_input=True)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.input_shape == (None, 64)
    np.testing.assert_allclose(loaded.predict(rows, verbose=0), weighted.predict_proba(rows),
                               atol=ATOL)


@pytest.mark.parametrize("channels", [1, 3], ids=["grey", "colour"])
def test_one_member_exports_alone(channels):
    X, y = make_tiny_images()
    X = np.repeat(X, channels, axis=-1)
    member = tiny_plain(tta="flip", epochs=1).fit(X, y)
    np.testing.assert_allclose(to_keras(member).predict(X[:20], verbose=0),
                               member.predict_proba(X[:20]), atol=ATOL)
    # Colour rows flatten channels last, as predict_proba takes them.
    flat = to_keras(member, flat_input=True)
    np.testing.assert_allclose(flat.predict(X[:20].reshape(20, -1), verbose=0),
                               member.predict_proba(X[:20].reshape(20, -1)), atol=ATOL)


def test_a_user_network_on_flat_features_exports():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), np.arange(60) % 3
    member = KerasMemberClassifier(build_tiny_mlp, **dict(TINY_TRAINING, epochs=2)).fit(X, y)
    model = to_keras(member)
    assert model.input_shape == to_keras(member, flat_input=True).input_shape == (None, 5)
    np.testing.assert_allclose(model.predict(X, verbose=0), member.predict_proba(X), atol=ATOL)


@pytest.mark.parametrize("passthrough", [False, True], ids=["probabilities", "passthrough"])
def test_a_stacking_ensemble_exports_its_logistic_regression_as_a_dense_layer(tiny_split,
                                                                               passthrough):
    X, y, X_test, _ = tiny_split
    stacking = StackingEnsemble(two_members(), fallback=None, passthrough=passthrough,
                                holdout=0.3, random_state=0).fit(X, y)
    assert stacking.selection_ == "meta_learner"
    model = to_keras(stacking)
    assert model.get_layer("meta_learner").units == 4
    np.testing.assert_allclose(model.predict(X_test, verbose=0), stacking.predict_proba(X_test),
                               atol=ATOL)


def test_stacking_on_two_classes_and_its_best_member_alone_export_too(tiny_split):
    X, y, X_test, _ = tiny_split
    binary = StackingEnsemble(two_members(), fallback=None, holdout=0.3,
                              random_state=0).fit(X, y % 2)
    np.testing.assert_allclose(to_keras(binary).predict(X_test, verbose=0),
                               binary.predict_proba(X_test), atol=ATOL)
    alone = StackingEnsemble.from_blend(binary, fallback="best_member", selection_rule="min")
    alone.selection_ = "best_member"  # as the cross-fitting chooses on small blending sets
    model = to_keras(alone)
    assert not any(layer.name == "meta_learner" for layer in model.layers)
    np.testing.assert_allclose(model.predict(X_test, verbose=0), alone.predict_proba(X_test),
                               atol=ATOL)


def test_a_stacking_ensemble_with_a_forest_says_it_cannot_be_layers(tiny_split):
    from sklearn.ensemble import RandomForestClassifier

    X, y, _, _ = tiny_split
    forest = StackingEnsemble(two_members(), final_estimator=RandomForestClassifier(
        n_estimators=5, random_state=0), fallback=None, holdout=0.3, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="RandomForestClassifier cannot be exported as layers"):
        to_keras(forest)


def test_members_of_one_class_with_any_names_export_side_by_side(tiny_split):
    X, y, X_test, _ = tiny_split
    members = [("a/b", tiny_plain(tta="flip", random_state=0)),
               ("a_b", tiny_plain(tta="flip", random_state=1)),
               ("a b", tiny_plain(random_state=2))]
    model = WeightedAverageEnsemble(members, weighting="equal", holdout=0.3,
                                    random_state=0).fit(X, y)
    np.testing.assert_allclose(to_keras(model).predict(X_test, verbose=0),
                               model.predict_proba(X_test), atol=ATOL)


def test_a_scikit_learn_member_has_no_network_to_export(tiny_split):
    from sklearn.linear_model import LogisticRegression

    X, y, _, _ = tiny_split
    mixed = WeightedAverageEnsemble([("plain", tiny_plain()),
                                     ("linear", LogisticRegression(max_iter=200))],
                                    weighting="equal", holdout=0.3, random_state=0)
    with pytest.raises(TypeError, match="Member 'linear' is a LogisticRegression"):
        to_keras(mixed.fit(X.reshape(len(X), -1), y))


def test_what_cannot_be_exported_says_so(weighted, tiny_split, tmp_path):
    with pytest.raises(NotFittedError):
        to_keras(WeightedAverageEnsemble(two_members()))
    with pytest.raises(TypeError, match="got LogisticRegression"):
        from sklearn.linear_model import LogisticRegression

        to_keras(LogisticRegression())


def test_bad_paths_and_formats_write_nothing(weighted, tmp_path):
    assert FORMATS == ("keras", "savedmodel", "tflite")
    with pytest.raises(ValueError, match="format must be one of"):
        export(weighted, tmp_path / "m.onnx", format="onnx")
    with pytest.raises(ValueError, match="is a .keras file"):
        export(weighted, tmp_path / "m.h5")
    (tmp_path / "kept.keras").write_bytes(b"the user's")
    with pytest.raises(FileExistsError, match="already exists"):
        export(weighted, tmp_path / "kept.keras")
    assert (tmp_path / "kept.keras").read_bytes() == b"the user's"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export(weighted, tmp_path / "missing" / "m.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.keras"]
