"""fit --cascade-tolerance saves a cascade rule; predict --cascade applies it."""

import json

import numpy as np
import pytest

from ensemble import load
from ensemble.combiners.cascade import CascadeEnsemble
from ensemble.datasets import load_fashion_mnist
from helpers import QUICK_TRAINING, assert_one_line_error, read_csv, run_cli


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cascade")
    result = run_cli("fit", "--members", "plain,separable", "--cascade-tolerance", "0.01",
                     "--output", "model.zip", *QUICK_TRAINING, "--json", cwd=folder)
    return folder, json.loads(result.stdout)


def test_fit_saves_the_rule_chosen_on_the_blending_rows(saved):
    folder, out = saved
    rule = out["cascade"]
    assert rule["n_rows"] == 30  # --holdout 0.1 of --n-train 300
    assert rule["tolerance"] == 0.01
    assert rule["accuracy"] >= rule["ensemble_accuracy"] - 0.01
    assert load(folder / "model.zip").cascade_ == rule


def test_predict_applies_the_rule_and_counts_the_rows_of_each_stage(saved):
    folder, _ = saved
    result = run_cli("predict", "model.zip", "--data", "sample", "--cascade", "--output",
                     "p.csv", "--json", cwd=folder)
    out = json.loads(result.stdout)
    model = load(folder / "model.zip")
    (_, _), (X_test, _), _ = load_fashion_mnist("sample")
    proba, stages = CascadeEnsemble.from_rule(model).predict_stages(X_test)
    first = f"{model.cascade_['first_member']} (one pass)"
    assert out["cascade"]["rows_per_stage"] == {first: int(np.sum(stages == 0)),
                                                "ensemble": int(np.sum(stages == 1))}
    header, rows = read_csv(folder / "p.csv")
    assert header == ["id", "label"]
    written = [int(row[1]) for row in rows]
    assert written == model.classes_[proba.argmax(axis=1)].tolist()


@pytest.mark.parametrize("args, fragments", [
    (["--cascade", "--uncertainty"], ["--uncertainty does not go with --cascade"]),
    (["--cascade", "--abstain"], ["--abstain does not go with --cascade"]),
], ids=["uncertainty", "abstain"])
def test_cascade_refuses_columns_of_the_whole_ensemble(saved, args, fragments):
    folder, _ = saved
    result = run_cli("predict", "model.zip", "--data", "sample", *args, "--output", "x.csv",
                     cwd=folder, check=False)
    assert_one_line_error(result, *fragments)
    assert not (folder / "x.csv").exists()


def test_a_model_without_a_rule_says_how_to_get_one(saved):
    folder, _ = saved
    run_cli("fit", "--members", "plain,separable", "--output", "plain.zip", *QUICK_TRAINING,
            cwd=folder)
    result = run_cli("predict", "plain.zip", "--data", "sample", "--cascade", "--output",
                     "y.csv", cwd=folder, check=False)
    assert_one_line_error(result, "no cascade rule", "--cascade-tolerance")
    assert not (folder / "y.csv").exists()


def test_a_rule_that_never_answers_early_is_null_in_json_not_infinity():
    from ensemble.cli.fit import _json_rule

    rule = {"first_member": "plain", "threshold": float("inf"), "tolerance": 0.0}
    assert json.loads(json.dumps(_json_rule(rule)))["threshold"] is None
    assert _json_rule(dict(rule, threshold=0.5))["threshold"] == 0.5
