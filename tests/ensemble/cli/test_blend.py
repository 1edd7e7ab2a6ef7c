"""`keras-ensembles blend`: prediction files from anywhere, blended into a submission.

Synthetic probabilities everywhere except the one end-to-end test, which
runs the whole Kaggle loop on the bundled sample: cv, fit and predict
--proba for the three members, a scikit-learn model's files written here,
then blend.
"""

import csv
import json

import numpy as np
import pytest

from ensemble import PredictionBlender
from ensemble.datasets import load_fashion_mnist, save_csv
from ensemble.prediction_files.files import read_probabilities, read_submission, write_probabilities
from helpers import run_cli, synthetic_predictions

CLASSES = np.array(["ant", "bee", "cat", "dog"])


def write_model_files(folder, y, oof, test, *, class_order=None, id_order=None, labels=True):
    """Each model's OOF and test CSV files; ``class_order``/``id_order`` shuffle them."""
    columns = np.arange(len(CLASSES)) if class_order is None else np.asarray(class_order)
    rows = np.arange(len(y)) if id_order is None else np.asarray(id_order)
    paths = {"oof": [], "test": []}
    for name in oof:
        paths["oof"].append(folder / f"oof_{name}.csv")
        write_probabilities(paths["oof"][-1], rows, oof[name][rows][:, columns], CLASSES[columns],
                            labels=CLASSES[y[rows]] if labels else None)
        paths["test"].append(folder / f"{name}.csv")
        write_probabilities(paths["test"][-1], 1000 + np.arange(len(test[name])),
                            test[name][:, columns], CLASSES[columns])
    return paths


@pytest.fixture
def files(tmp_path):
    y, oof, test = synthetic_predictions()
    return tmp_path, y, oof, test, write_model_files(tmp_path, y, oof, test)


def blend_json(folder, oof_paths, test_paths, *extra):
    result = run_cli("blend", "--oof", *oof_paths, "--test", *test_paths, "--json", *extra,
                     cwd=folder)
    return json.loads(result.stdout)


def test_blend_prints_scores_weights_cv_score_and_correlation(files):
    folder, y, oof, test, paths = files
    result = run_cli("blend", "--oof", *paths["oof"], "--test", *paths["test"],
                     "--output", "submission.csv", "--save-blend", "blend.json", cwd=folder)
    table = result.stdout
    for fragment in ("model0", "model1", "model2", "log loss", "accuracy", "weight",
                     "blend (log_loss, 5-fold CV)", "Correlation"):
        assert fragment in table, table
    ids, labels = read_submission(folder / "submission.csv")
    assert ids.tolist() == list(range(1000, 1100))
    # The same blend as the Python API on the same arrays, column for column.
    api = PredictionBlender().fit(oof, CLASSES[y], classes=CLASSES)
    np.testing.assert_array_equal(labels, api.predict(test))
    saved = json.loads((folder / "blend.json").read_text())
    assert saved["models"] == ["model0", "model1", "model2"]
    np.testing.assert_allclose(saved["learned"]["weights"], api.weights_)


def test_the_json_output_has_every_number_the_table_shows(files):
    folder, y, oof, _, paths = files
    out = blend_json(folder, paths["oof"], paths["test"], "--output", "s.csv")
    api = PredictionBlender().fit(oof, CLASSES[y], classes=CLASSES)
    assert out["cv_scores"]["log_loss"] == pytest.approx(api.cv_scores_["log_loss"])
    best = min(scores["log_loss"] for scores in out["model_scores"].values())
    assert out["cv_scores"]["log_loss"] < best
    assert np.asarray(out["correlation"]).shape == (3, 3)
    assert sum(out["weights"].values()) == pytest.approx(1.0)
    assert out["fallback"] is None
    assert out["gain"]["log_loss"]["gain"] == pytest.approx(api.comparison_["log_loss"]["gain"])
    assert len(out["gain"]["accuracy"]["interval"]) == 2 and "mcnemar_p" in out["gain"]["accuracy"]


def test_blend_says_when_the_best_model_alone_is_used(tmp_path):
    y, oof, test = synthetic_predictions(strengths=(4.0, 0.2, 0.1))
    paths = write_model_files(tmp_path, y, oof, test)
    result = run_cli("blend", "--oof", *paths["oof"], "--test", *paths["test"], "--method",
                     "equal", "--output", "s.csv", "--proba", cwd=tmp_path)
    assert "Used: model0 alone" in result.stdout
    assert "The cross-validated blend, on the OOF rows. Against its best member" in result.stdout
    proba = read_probabilities(tmp_path / "s.csv")
    np.testing.assert_allclose(np.asarray(proba.proba), test["model0"], atol=1e-6)
    kept = blend_json(tmp_path, paths["oof"], paths["test"], "--method", "equal",
                      "--no-fallback", "--output", "k.csv")
    assert kept["fallback"] is None


def test_files_from_elsewhere_blend_to_the_same_result_as_aligned_files(files):
    folder, y, oof, test, paths = files
    aligned = blend_json(folder, paths["oof"], paths["test"], "--output", "aligned.csv",
                         "--proba")
    shuffled_dir = folder / "shuffled"
    shuffled_dir.mkdir()
    id_order = np.random.default_rng(1).permutation(len(y))
    shuffled = write_model_files(shuffled_dir, y, oof, test, class_order=[2, 0, 3, 1],
                                 id_order=id_order)
    # One model as .npy files, without ids, labels or class names: rows in the order of the
    # first OOF file (as a notebook would save them beside it), classes sorted.
    np.save(shuffled_dir / "oof_model2.npy", oof["model2"][id_order])
    np.save(shuffled_dir / "model2.npy", test["model2"])
    oof_paths = shuffled["oof"][:2] + [shuffled_dir / "oof_model2.npy"]
    test_paths = shuffled["test"][:2] + [shuffled_dir / "model2.npy"]
    elsewhere = blend_json(shuffled_dir, oof_paths, test_paths, "--output", "other.csv",
                           "--proba")
    # Rows are sorted by id before blending, so the folds and the solver see the same arrays.
    assert elsewhere["weights"] == aligned["weights"]
    assert elsewhere["cv_scores"] == aligned["cv_scores"]
    first, second = (read_probabilities(path) for path in (folder / "aligned.csv",
                                                            shuffled_dir / "other.csv"))
    np.testing.assert_array_equal(first.classes, second.classes)
    np.testing.assert_allclose(first.proba, second.proba, rtol=1e-12)


def test_labels_from_a_file_of_their_own_matched_by_id(tmp_path):
    y, oof, test = synthetic_predictions()
    paths = write_model_files(tmp_path, y, oof, test, labels=False)
    order = np.random.default_rng(2).permutation(len(y))
    with open(tmp_path / "labels.csv", "w", newline="") as file:
        csv.writer(file).writerows([["id", "label"]] + [[i, CLASSES[y[i]]] for i in order])
    out = blend_json(tmp_path, paths["oof"], paths["test"], "--labels", "labels.csv",
                     "--output", "s.csv")
    api = PredictionBlender().fit(oof, CLASSES[y], classes=CLASSES)
    assert out["cv_scores"]["log_loss"] == pytest.approx(api.cv_scores_["log_loss"])


@pytest.mark.parametrize("method", ["caruana", "rank", "geomean", "stacking", "equal"])
def test_apply_reproduces_the_blend_it_saved(files, method):
    folder, _, _, _, paths = files
    run_cli("blend", "--oof", *paths["oof"], "--test", *paths["test"], "--method", method,
            "--output", "learned.csv", "--proba", "--save-blend", "blend.json", "--quiet",
            cwd=folder)
    out = json.loads(run_cli("blend", "--apply", "blend.json", "--test", *paths["test"],
                             "--output", "applied.csv", "--proba", "--json", cwd=folder).stdout)
    assert out["method"] == method and out["applied"] == "blend.json"
    assert (folder / "applied.csv").read_text() == (folder / "learned.csv").read_text()


def test_kaggle_column_names_and_numbering(files):
    folder, _, _, _, paths = files
    run_cli("blend", "--oof", *paths["oof"], "--test", *paths["test"], "--id-column", "ImageId",
            "--label-column", "Label", "--id-start", "1", "--output", "digits.csv", "--quiet",
            cwd=folder)
    # The OOF files' column is 'label' (as cv writes it); 'Label' names the one written.
    ids, labels = read_submission(folder / "digits.csv", id_column="ImageId", label_column="Label")
    assert ids.tolist() == list(range(1, 101)) and set(labels) <= set(CLASSES)


# --- the whole Kaggle loop through the command line ---------------------------


@pytest.mark.slow
@pytest.mark.eager  # fits of a few steps each: 17 s instead of 39 s
def test_cv_predict_proba_and_a_sklearn_model_blend_into_a_submission(tmp_path):
    """cv -> fit + predict --proba -> the test's own scikit-learn files -> blend -> submission."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    (X_train, y_train), (X_test, _), _ = load_fashion_mnist("sample")
    X_train, y_train, X_test = X_train[:240], y_train[:240], X_test[:60]
    train_ids = np.arange(240) * 7  # not row numbers: rows are matched by these
    save_csv(tmp_path / "train.csv", X_train, y_train, ids=train_ids)
    save_csv(tmp_path / "test.csv", X_test, ids=5000 + np.arange(60))
    members = ["plain", "residual"]  # two architectures: the loop is the same for three
    quick = ["--epochs", "1", "--seed", "0", "--quiet"]
    run_cli("cv", "--data", "train.csv", "--folds", "2", "--members", ",".join(members),
            "--out-dir", "oof", *quick, cwd=tmp_path)
    for name in members:
        run_cli("fit", "--data", "train.csv", "--members", name, "--output", f"{name}.zip",
                *quick, cwd=tmp_path)
        run_cli("predict", f"{name}.zip", "--data", "test.csv", "--proba",
                "--output", f"test_{name}.csv", "--quiet", cwd=tmp_path)

    pixels = X_train.reshape(240, -1) / 255.0
    logistic = LogisticRegression(C=0.05, max_iter=300)
    oof = cross_val_predict(logistic, pixels, y_train, cv=2, method="predict_proba")
    test = logistic.fit(pixels, y_train).predict_proba(X_test.reshape(60, -1) / 255.0)
    write_probabilities(tmp_path / "oof_logistic.csv", train_ids, oof, logistic.classes_,
                        labels=y_train)
    write_probabilities(tmp_path / "test_logistic.csv", 5000 + np.arange(60), test,
                        logistic.classes_)

    oof_files = [f"oof/oof_{name}.csv" for name in members] + ["oof_logistic.csv"]
    test_files = [f"test_{name}.csv" for name in members] + ["test_logistic.csv"]
    out = json.loads(run_cli("blend", "--oof", *oof_files, "--test", *test_files,
                             "--output", "submission.csv", "--json", cwd=tmp_path).stdout)
    assert out["models"] == members + ["logistic"]
    best = min(scores["log_loss"] for scores in out["model_scores"].values())
    # At most the best model's: equal to it (to float rounding) when the weights pick one model.
    assert out["cv_scores"]["log_loss"] <= best + 1e-12
    ids, labels = read_submission(tmp_path / "submission.csv")
    assert ids.tolist() == (5000 + np.arange(60)).tolist()
    assert set(labels) <= set(range(10))
