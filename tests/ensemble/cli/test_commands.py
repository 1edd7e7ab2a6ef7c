"""The keras-ensembles command line as a user drives it.

The first fit and the installed script run in a fresh process, as users run
them; the other commands run through ``ensemble.cli.main`` in this process
(see ``helpers.run_cli``), to spare a TensorFlow start-up per command.
"""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from ensemble.datasets import load_fashion_mnist, save_csv
from helpers import QUICK_TRAINING, assert_one_line_error, read_csv, run_cli


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """`fit` once on the sample: two quick members, log-loss weights."""
    folder = tmp_path_factory.mktemp("cli")
    result = run_cli("fit", "--members", "plain,separable", "--output", "model.zip", "--json",
                     *QUICK_TRAINING, cwd=folder, process=True)
    return folder, result


# --- fit -> evaluate -> predict ---------------------------------------------


def test_fit_saves_a_loadable_archive_and_reports_on_the_test_split(fitted):
    folder, result = fitted
    out = json.loads(result.stdout)
    assert (folder / "model.zip").is_file()
    assert out["n_train"] == 300 and out["members"] == ["plain", "separable"]
    assert sum(out["weights"].values()) == pytest.approx(1.0)
    names = [row["name"] for row in out["test_report"]["rows"]]
    assert names[:3] == ["plain", "separable", "ensemble"]
    # With a learned temperature other than 1, the blend before it is shown too.
    assert names[3:] in ([], ["ensemble (no temperature)"])
    assert out["test_report"]["n_samples"] == 2000
    assert "I0000" not in result.stderr and "oneDNN" not in result.stderr
    assert "Traceback" not in result.stderr


def test_fit_on_fashion_mnist_mirrors_the_images_by_default(fitted):
    from ensemble import load

    folder, _ = fitted
    members = load(folder / "model.zip").members_
    # --horizontal-flip auto: clothes look the same mirrored; so does the prediction's average.
    assert [member.horizontal_flip for member in members] == [True, True]
    assert all(member.tta == "auto" for member in members)


@pytest.mark.parametrize("data, option, expected", [
    ("sample", "auto", True), ("full", "auto", True), ("train.csv", "auto", False),
    ("photos/train", "auto", False), ("train.csv", "on", True), ("sample", "off", False),
])
def test_horizontal_flip_option(data, option, expected):
    from argparse import Namespace

    from ensemble.cli._build import horizontal_flip

    assert horizontal_flip(Namespace(data=data, horizontal_flip=option)) is expected


def test_fit_shows_progress_and_prints_members_beside_the_ensemble(tmp_path):
    result = run_cli("fit", "--members", "plain", "--output", "m.zip", *QUICK_TRAINING,
                     cwd=tmp_path)
    assert "Training members" in result.stderr and "epoch" in result.stderr  # progress bars
    assert "Trained in" in result.stdout and "saved to m.zip" in result.stdout
    table = result.stdout.split("Test split")[1]
    assert "plain" in table and "ensemble" in table and "accuracy" in table


def test_evaluate_reports_every_member_writes_the_plots_and_agrees_with_fit(fitted):
    folder, fit_result = fitted
    result = run_cli("evaluate", "model.zip", "--plots", "figures", "--json", cwd=folder)
    out = json.loads(result.stdout)
    rows = out["report"]["rows"]
    assert [row["name"] for row in rows] == ["plain", "separable", "ensemble"]
    assert out["split"] == "test" and out["report"]["n_samples"] == 2000
    written = sorted(p.name for p in (folder / "figures").iterdir())
    assert written == ["accuracy_coverage.png", "confusion_matrix.png", "learning_curves.png",
                       "metrics.png", "reliability.png", "weights.png"]
    for name in written:
        assert (folder / "figures" / name).read_bytes()[:4] == b"\x89PNG"
    # The gain over the best member, with its interval and McNemar's test.
    gain = out["gain"]
    assert gain["n_samples"] == 2000 and gain["confidence"] == 0.95
    for metric in ("accuracy", "log_loss"):
        low, high = gain[metric]["interval"]
        assert low <= gain[metric]["gain"] <= high
        assert gain[metric]["best_member"] in ("plain", "separable")
    assert 0 <= gain["accuracy"]["mcnemar_p"] <= 1
    assert out["report"]["selection"]["chosen"] in ("equal", "best_member", "log_loss",
                                                    "caruana")
    assert set(out["report"]["selection"]["scores"]) == {"equal", "best_member", "log_loss",
                                                         "caruana"}
    text = run_cli("evaluate", "model.zip", cwd=folder).stdout
    assert "\nBlend: " in text and gain["summary"] in text
    # The loaded archive scores exactly as the ensemble did when fit saved it.
    for before, after in zip(json.loads(fit_result.stdout)["test_report"]["rows"], rows,
                             strict=True):
        assert after["accuracy"] == pytest.approx(before["accuracy"])
        assert after["log_loss"] == pytest.approx(before["log_loss"], rel=1e-6)


def test_evaluate_of_an_ensemble_equal_to_its_member_shows_no_difference(tmp_path):
    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist("sample")
    np.savez(tmp_path / "data.npz", X_train=X_train[:200], y_train=y_train[:200],
             X_test=X_test[:300], y_test=y_test[:300])
    run_cli("fit", "--data", "data.npz", "--members", "plain", "--epochs", "1",
            "--output", "one.zip", cwd=tmp_path)
    out = json.loads(run_cli("evaluate", "one.zip", "--data", "data.npz", "--json",
                             cwd=tmp_path).stdout)
    for metric in ("accuracy", "log_loss"):
        entry = out["gain"][metric]
        assert entry["best_member"] == "plain"
        assert entry["gain"] == 0 and entry["interval"] == [0.0, 0.0]
        assert entry["verdict"] == "no measurable difference"
    assert out["gain"]["accuracy"]["mcnemar_p"] == 1.0


def test_predict_writes_ids_and_labels_then_probabilities(fitted, tmp_path):
    folder, _ = fitted
    (_, _), (X_test, y_test), _ = load_fashion_mnist("sample")
    save_csv(tmp_path / "test.csv", X_test[:50])  # unlabelled, as a Kaggle test file
    run_cli("predict", folder / "model.zip", "--data", "test.csv", "--output", "labels.csv",
            "--id-start", "1", cwd=tmp_path)
    run_cli("predict", folder / "model.zip", "--data", "test.csv", "--proba",
            "--output", "proba.csv", cwd=tmp_path)
    header, rows = read_csv(tmp_path / "labels.csv")
    assert header == ["id", "label"]
    assert [int(row[0]) for row in rows] == list(range(1, 51))
    labels = np.array([int(row[1]) for row in rows])
    header, rows = read_csv(tmp_path / "proba.csv")
    assert header == ["id"] + [str(k) for k in range(10)]  # one column per class, by its label
    proba = np.array([[float(v) for v in row[1:]] for row in rows])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(proba.argmax(axis=1), labels)


def test_stacking_on_npz_data_with_a_holdout_count(tmp_path):
    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist("sample")
    np.savez(tmp_path / "data.npz", X_train=X_train[:200], y_train=y_train[:200],
             X_test=X_test[:100], y_test=y_test[:100])
    out = json.loads(run_cli("fit", "--data", "data.npz", "--members", "plain", "--combiner",
                             "stacking", "--holdout", "40", "--epochs", "1", "--output", "s.zip",
                             "--json", cwd=tmp_path).stdout)
    assert out["combiner"] == "StackingEnsemble" and out["weights"] is None
    assert out["n_train"] == 200 and out["test_report"]["n_samples"] == 100
    out = json.loads(run_cli("evaluate", "s.zip", "--data", "data.npz", "--plots", "figs",
                             "--json", cwd=tmp_path).stdout)
    # No weights.png: a stacking ensemble has no blend weights to draw.
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "accuracy_coverage.png", "confusion_matrix.png", "learning_curves.png", "metrics.png",
        "reliability.png"]


def test_the_console_script_is_installed(tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "keras-ensembles")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, cwd=tmp_path,
                            check=False)
    assert result.returncode == 0 and "fit" in result.stdout and "cv" in result.stdout


# --- cv ------------------------------------------------------------------------


def test_cv_writes_out_of_fold_files_covering_every_row_once(tmp_path):
    (X_train, y_train), _, _ = load_fashion_mnist("sample")
    save_csv(tmp_path / "train.csv", X_train[:300], y_train[:300])  # the Kaggle layout
    result = run_cli("cv", "--data", "train.csv", "--folds", "3", "--members", "plain,separable",
                     "--out-dir", "oof", "--json", "--epochs", "1", "--seed", "0", cwd=tmp_path)
    out = json.loads(result.stdout)
    folder = tmp_path / "oof"
    _, fold_rows = read_csv(folder / "folds.csv")
    folds = {int(row): int(fold) for row, fold in fold_rows}
    assert sorted(folds) == list(range(300)) and set(folds.values()) == {0, 1, 2}
    for model in ("plain", "separable", "ensemble"):
        header, rows = read_csv(folder / f"oof_{model}.csv")
        # The wide layout predict --proba writes and blend reads: classes name their columns.
        assert header == ["id", "label"] + [str(k) for k in range(10)]
        assert sorted(int(row[0]) for row in rows) == list(range(300)), "each row exactly once"
        labels = {int(row[0]): int(row[1]) for row in rows}
        assert [labels[i] for i in range(300)] == y_train[:300].tolist()
        proba = np.array([[float(v) for v in row[2:]] for row in rows])
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    _, score_rows = read_csv(folder / "cv_scores.csv")
    assert len(score_rows) == 3 * 3
    assert set(out["summary"]) == {"plain", "separable", "ensemble"}
    for scores in out["summary"].values():
        assert 0 <= scores["accuracy_mean"] <= 1 and scores["log_loss_mean"] > 0


def test_quiet_prints_nothing(fitted, tmp_path):
    folder, _ = fitted
    result = run_cli("predict", folder / "model.zip", "--data", "sample", "--output", "p.csv",
                     "--quiet",
                     cwd=tmp_path)
    assert result.stdout == "" and result.stderr == ""
    assert (tmp_path / "p.csv").is_file()


# --- help and errors ---------------------------------------------------------


@pytest.mark.parametrize("command", ["fit", "cv", "evaluate", "predict"])
def test_every_command_has_help_with_examples(command, tmp_path):
    result = run_cli(command, "--help", cwd=tmp_path)
    assert "examples:" in result.stdout and "--json" in result.stdout
    assert "--quiet" in result.stdout and "--seed" in result.stdout


@pytest.mark.parametrize("args, fragments", [
    (["cv", "--folds", "1", "--out-dir", "x"], ["--folds", "at least 2 folds"]),
    (["fit", "--holdout", "1.5", "-o", "m.zip"], ["--holdout", "fraction"]),
    (["fit", "--members", "plain,vgg", "-o", "m.zip"], ["unknown member", "vgg"]),
    (["fit", "--epochs", "0", "-o", "m.zip"], ["--epochs", "positive integer"]),
    (["fit", "--n-jobs", "0", "-o", "m.zip"], ["--n-jobs"]),
    (["fit"], ["--output"]),
    (["predict", "model.zip", "-o", "p.csv"], ["--data"]),
    (["train"], ["invalid choice", "train"]),
])
def test_bad_option_values_are_one_line_usage_errors(args, fragments, tmp_path):
    result = run_cli(*args, cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert_one_line_error(result, *fragments)


def test_missing_files_are_one_line_errors(tmp_path):
    assert_one_line_error(run_cli("evaluate", "nothere.zip", cwd=tmp_path, check=False),
                           "nothere.zip", "does not exist")
    assert_one_line_error(run_cli("fit", "--data", "nothere.csv", "-o", "m.zip", cwd=tmp_path,
                                   check=False), "nothere.csv")
    assert_one_line_error(run_cli("fit", "-o", "no/such/folder/m.zip", cwd=tmp_path,
                                   check=False), "does not exist")


def test_wrong_csv_columns_are_a_one_line_error(tmp_path):
    (tmp_path / "bad.csv").write_text("id,value\n1,2\n")
    result = run_cli("fit", "--data", "bad.csv", "-o", "m.zip", cwd=tmp_path, check=False)
    assert_one_line_error(result, "bad.csv", "pixel1")


def test_unlabelled_data_cannot_train(tmp_path):
    (X_train, _), _, _ = load_fashion_mnist("sample")
    save_csv(tmp_path / "unlabelled.csv", X_train[:20])
    result = run_cli("cv", "--data", "unlabelled.csv", "--out-dir", "oof", cwd=tmp_path,
                     check=False)
    assert_one_line_error(result, "no labels")


def test_an_archive_that_fails_verification_is_a_one_line_error(fitted, tmp_path):
    folder, _ = fitted
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(folder / "model.zip") as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.endswith(".keras"):
                data = data + b"\0"  # the manifest's SHA-256 no longer matches
            target.writestr(info, data)
    result = run_cli("predict", tampered, "--data", "sample", "--output", "p.csv", cwd=tmp_path,
                     check=False)
    assert_one_line_error(result, "SHA-256")
    assert not (tmp_path / "p.csv").exists()
    (tmp_path / "garbage.zip").write_bytes(b"not a zip")
    assert_one_line_error(run_cli("evaluate", "garbage.zip", cwd=tmp_path, check=False),
                           "garbage.zip")


def test_outputs_are_never_overwritten_without_overwrite(fitted, tmp_path):
    folder, _ = fitted
    (tmp_path / "taken.csv").write_text("mine\n")
    result = run_cli("predict", folder / "model.zip", "--data", "sample", "--output", "taken.csv",
                     cwd=tmp_path, check=False)
    assert_one_line_error(result, "taken.csv", "--overwrite")
    assert (tmp_path / "taken.csv").read_text() == "mine\n"
    (tmp_path / "model.zip").write_bytes(b"previous model")
    result = run_cli("fit", "-o", "model.zip", *QUICK_TRAINING, cwd=tmp_path, check=False)
    assert_one_line_error(result, "model.zip", "already exists")
    assert (tmp_path / "model.zip").read_bytes() == b"previous model"
    run_cli("predict", folder / "model.zip", "--data", "sample", "--output", "taken.csv",
            "--overwrite", "--quiet", cwd=tmp_path)
    assert read_csv(tmp_path / "taken.csv")[0] == ["id", "label"]


def test_input_errors_are_reported_before_tensorflow_is_imported(tmp_path):
    """Fast failure: no multi-second TensorFlow import just to say a file is missing."""
    code = ("import sys; from ensemble.cli import main; rc = main(['evaluate', 'nothere.zip']); "
            "print(rc, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["1", "False"]
