"""`keras-ensembles tune` as a user drives it.

The first study runs in a fresh process, the rest in this one.
"""

import argparse
import importlib.util
import json
import shutil

import numpy as np
import optuna
import pytest

from ensemble.cli import tune
from ensemble.datasets import load_fashion_mnist, save_csv
from helpers import assert_one_line_error, run_cli

#: A study that finishes in seconds: 200 rows, 1 epoch per trial.
QUICK = ["--n-train", "200", "--epochs", "1", "--seed", "0", "--scoring", "neg_log_loss",
         "--holdout", "0.25"]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """A 3-trial study of the plain CNN in ./tune.db, with every output option."""
    folder = tmp_path_factory.mktemp("tune")
    result = run_cli("tune", "--trials", "3", "--timeout", "600", "--output", "best.zip",
                     "--tensorboard-dir", "tb", "--json", *QUICK, cwd=folder, process=True)
    return folder, json.loads(result.stdout), result


@pytest.mark.slow
def test_tune_runs_a_study_in_a_sqlite_file_and_scores_its_best_on_the_test_split(tuned):
    folder, out, result = tuned
    assert out["command"] == "tune" and out["member"] == "plain"
    assert out["storage"] == "sqlite:///tune.db" and out["study_name"] == "plain"
    assert (folder / "tune.db").is_file()
    assert out["resumed"] is False and out["n_trials"] == 3 and out["finished_before"] == 0
    report = out["report"]
    assert report["score_name"] == "neg_log_loss" and out["best_score"] < 0
    assert report["validation_score"] == out["best_score"]
    assert report["n_unseen"] == 2000 and "test split" in out["unseen_data"]
    assert report["gap"] == pytest.approx(report["validation_score"] - report["unseen_score"])
    assert [row["number"] for row in report["trials"]][0] == out["best_trial"]
    assert set(out["best_params"]) == {"learning_rate", "weight_decay", "dropout", "dense_units",
                                      "convs_per_stage"}
    assert sum(report["counts"].values()) == 3
    assert "Traceback" not in result.stderr and "oneDNN" not in result.stderr

    # The refitted best member, saved, carries the best parameters.
    import ensemble

    best = ensemble.load(folder / "best.zip")
    assert type(best).__name__ == "PlainCNNClassifier"
    for name, value in out["best_params"].items():
        assert best.get_params()[name] == pytest.approx(value)
    # One HParams run per trial.
    assert sorted(p.name for p in (folder / "tb").iterdir() if p.is_dir()) == [
        "trial_0000", "trial_0001", "trial_0002"]


@pytest.mark.slow
def test_rerunning_resumes_the_study_and_runs_only_the_missing_trials(tuned, tmp_path):
    folder, _, _ = tuned
    shutil.copy(folder / "tune.db", tmp_path / "tune.db")
    result = run_cli("tune", "--trials", "4", "--sampler", "random", "--no-pruning", *QUICK,
                     cwd=tmp_path)
    stdout = result.stdout
    assert "Resuming study 'plain' in tune.db: 3 of 4 trials finished" in stdout
    assert "Study 'plain' in tune.db: 4 finished trials, 1 of them new" in stdout
    # The final tables: the top trials, then the best trial's validation vs unseen score.
    table = stdout.split("Top 4 trials")[1]
    assert "trial" in table and "state" in table and "epochs" in table and "params" in table
    rows = [line.split() for line in table.split("\n\n")[0].splitlines()[3:]]
    assert [row[1] in ("COMPLETE", "PRUNED") for row in rows] == [True] * 4
    assert "validation (chose trial" in stdout and "unseen data (2000 rows)" in stdout
    assert "Best parameters: learning_rate=" in stdout
    assert "Trials" in result.stderr  # the progress bar
    study = optuna.load_study(study_name="plain", storage=f"sqlite:///{tmp_path / 'tune.db'}")
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,
                                        optuna.trial.TrialState.PRUNED))) == 4


@pytest.mark.slow
def test_a_study_is_not_resumed_with_other_settings_or_a_misspelt_parameter(tuned, tmp_path):
    folder, _, _ = tuned
    shutil.copy(folder / "tune.db", tmp_path / "tune.db")
    result = run_cli("tune", "--trials", "4", *QUICK, "--epochs", "2", cwd=tmp_path, check=False)
    assert_one_line_error(result, "study 'plain' in tune.db was run with other settings",
                          "epochs 1 (now 2)", "--study-name", status=1)
    # The search's own fingerprint (holdout, seed) and the command line's data settings.
    result = run_cli("tune", "--trials", "4", *QUICK, "--holdout", "0.3", "--n-train", "150",
                     cwd=tmp_path, check=False)
    assert_one_line_error(result, "n_train 200 (now 150)", "holdout 0.25 (now 0.3)", status=1)

    (tmp_path / "typo.json").write_text(
        json.dumps({"learning_rat": {"type": "float", "low": 1e-4, "high": 1e-2}}))
    result = run_cli("tune", "--space", "typo.json", "--storage", "new.db", *QUICK, cwd=tmp_path,
                     check=False)
    assert_one_line_error(result, "Invalid parameter 'learning_rat'",
                          "PlainCNNClassifier", status=1)
    assert not (tmp_path / "new.db").exists(), "refused before any study was created"


@pytest.mark.parametrize("args, status, fragments", [
    (["--trials", "0"], 2, ["--trials", "positive integer"]),
    (["--timeout", "-5"], 2, ["--timeout", "positive number of seconds"]),
    (["--timeout", "inf"], 2, ["--timeout", "finite positive number of seconds", "'inf'"]),
    (["--timeout", "nan"], 2, ["--timeout", "finite positive number of seconds", "'nan'"]),
    (["--timeout", "soon"], 2, ["--timeout", "expected a number of seconds", "'soon'"]),
    (["--member", "vgg"], 2, ["invalid choice", "vgg"]),
    (["--sampler", "cmaes"], 2, ["invalid choice", "cmaes"]),
    (["--space", "nothere.json"], 1, ["nothere.json", "does not exist"]),
    (["--space", "bad.json"], 1, ["bad.json", "'learning_rate'", "low <= high"]),
    (["--space", "broken.json"], 1, ["broken.json", "not valid JSON"]),
    (["--storage", "no/such/study.db"], 1, ["no/such", "does not exist"]),
    (["--output", "taken.zip"], 1, ["taken.zip", "--overwrite"]),
    (["--data", "nothere.csv"], 1, ["nothere.csv"]),
])
def test_bad_input_is_a_one_line_error_before_anything_trains(args, status, fragments, tmp_path):
    (tmp_path / "bad.json").write_text(
        '{"learning_rate": {"type": "float", "low": 1, "high": 0.1}}')
    (tmp_path / "broken.json").write_text('{"learning_rate": ')
    (tmp_path / "taken.zip").write_bytes(b"mine")
    result = run_cli("tune", *args, cwd=tmp_path, check=False)
    assert_one_line_error(result, *fragments, status=status)
    assert not (tmp_path / "tune.db").exists()
    assert (tmp_path / "taken.zip").read_bytes() == b"mine"


def test_the_gp_sampler_without_pytorch_says_what_to_install(tmp_path):
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("PyTorch is installed: the GP sampler works")
    result = run_cli("tune", "--sampler", "gp", cwd=tmp_path, check=False)
    assert_one_line_error(result, "--sampler gp", "PyTorch", "pip install torch", "tpe", status=1)


def test_help_documents_the_search_space_format(tmp_path):
    result = run_cli("tune", "--help", cwd=tmp_path)
    for fragment in ("examples:", "--json", "--quiet", "--seed", "--storage", "--study-name",
                     "search spaces:", '"type": "float"', '"type": "categorical"', "resumes"):
        assert fragment in result.stdout, fragment
    assert "tune" in run_cli("--help", cwd=tmp_path).stdout


def test_a_file_without_a_test_split_gives_up_a_fifth_of_its_rows_as_unseen(tmp_path):
    (X, y), _, _ = load_fashion_mnist("sample")
    save_csv(tmp_path / "train.csv", X[:100], y[:100])
    args = argparse.Namespace(data=str(tmp_path / "train.csv"), n_train=None, seed=0,
                              command="tune", image_size=None, color_mode="auto",
                              image_shape=None, label_column=None, id_column=None)
    data, X_search, y_search, X_unseen, y_unseen, name = tune._training_and_unseen(args)
    assert data.image_shape == (28, 28, 1)
    assert len(y_search) == 80 and len(y_unseen) == 20
    assert "20 rows (20%) held out" in name
    assert sorted(np.unique(y_unseen)) == sorted(np.unique(y[:100]))  # stratified


def test_a_storage_path_is_a_sqlite_url_and_a_url_is_kept(tmp_path):
    assert tune.storage_url(str(tmp_path / "s.db")) == f"sqlite:///{tmp_path / 's.db'}"
    assert tune.storage_url("postgresql://u@host/db") == "postgresql://u@host/db"
