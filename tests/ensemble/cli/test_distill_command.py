"""keras-ensembles distill: a student member from a saved ensemble."""

import json

import numpy as np
import pytest

from ensemble import load
from ensemble.datasets import load_fashion_mnist
from helpers import QUICK_TRAINING, assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("distill")
    run_cli("fit", "--members", "plain,separable", "--output", "model.zip", *QUICK_TRAINING,
            cwd=folder)
    return folder


def test_a_student_is_saved_scored_and_timed(saved):
    result = run_cli("distill", "model.zip", "--output", "student.zip", "--student", "plain",
                     *QUICK_TRAINING, "--temperature", "3", "--json", cwd=saved)
    out = json.loads(result.stdout)
    assert out["student"] == "PlainCNNClassifier" and out["chosen"] == "--student plain"
    assert out["temperature"] == 3.0 and out["teacher_weight"] == 0.5 and out["labelled"]
    assert out["n_train"] == 300 and out["epochs"] == 1
    rows = {row["name"]: row for row in out["test"]["report"]["rows"]}
    assert set(rows) == {"student", "teacher"}
    assert set(out["test"]["predict_seconds"]) == {"student", "teacher"}
    student = load(saved / "student.zip")
    (_, _), (X_test, y_test), _ = load_fashion_mnist("sample")
    assert rows["student"]["accuracy"] == pytest.approx(np.mean(student.predict(X_test) == y_test))
    assert student.class_names_ == load(saved / "model.zip").class_names_


def test_a_consistent_teacher_from_the_shell(saved):
    result = run_cli("distill", "model.zip", "--output", "consistent.zip", "--student", "plain",
                     *QUICK_TRAINING, "--augmented-copies", "1", "--json", cwd=saved)
    out = json.loads(result.stdout)
    assert out["augmented_copies"] == 1 and out["n_train"] == 300
    student = load(saved / "consistent.zip")
    assert (student.random_shift, student.horizontal_flip, student.tta) == (0.0, False, "flip")


def test_the_default_student_is_the_fastest_member(saved):
    result = run_cli("distill", "model.zip", "--output", "fastest.zip", *QUICK_TRAINING,
                     cwd=saved)
    assert "the fastest member here" in result.stdout
    assert "plain" in result.stdout and "separable" in result.stdout
    assert (saved / "fastest.zip").is_file()


@pytest.mark.parametrize("args, fragments", [
    (["missing.zip", "--output", "s.zip"], ["missing.zip"]),
    (["model.zip", "--output", "model.zip"], ["model.zip already exists", "--overwrite"]),
    (["model.zip", "--output", "s.zip", "--teacher-weight", "1.5"], ["[0, 1]", "1.5"]),
    (["model.zip", "--output", "s.zip", "--temperature", "0"], ["positive", "0"]),
    (["model.zip", "--output", "s.zip", "--augmented-copies", "-1"], [">= 0", "-1"]),
], ids=["missing-model", "existing-output", "weight", "temperature", "copies"])
def test_bad_input_is_a_one_line_error_and_writes_nothing(saved, args, fragments):
    before = sorted(p.name for p in saved.iterdir())
    result = run_cli("distill", *args, cwd=saved, check=False)
    assert_one_line_error(result, *fragments)
    assert sorted(p.name for p in saved.iterdir()) == before
