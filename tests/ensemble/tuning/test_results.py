"""ensemble.tuning's results: ``cv_results_`` (._results) and the SearchReport (._report)."""

import json
import os

import numpy as np
import optuna
import pytest

from ensemble.tuning import BayesSearchCV, SearchReport
from helpers.tuning import C_SPACE, SlowClassifier


def test_cv_results_hold_states_epochs_times_and_ranks(member_search):
    results = member_search.cv_results_
    assert set(results["state"]) <= {"COMPLETE", "PRUNED", "FAIL"}
    assert results["epochs"].dtype.kind == "i" and (results["epochs"] >= 1).all()
    assert (results["fit_time"] > 0).all()
    assert results["rank_test_score"][member_search.best_index_] == 1
    assert all(worker.endswith(f":{os.getpid()}") for worker in results["worker"])
    assert np.all(np.isnan(results["std_test_score"][results["state"] != "COMPLETE"]))
    assert np.all(results["std_test_score"][results["state"] == "COMPLETE"] == 0)  # one split
    np.testing.assert_array_equal(results["split0_test_score"], results["mean_test_score"])


def test_the_report_puts_the_validation_score_beside_the_unseen_one(member_search, images):
    _, _, X_unseen, y_unseen = images
    report = member_search.report(X_unseen, y_unseen, top=3)
    assert isinstance(report, SearchReport)
    assert report.validation_score == member_search.best_score_
    assert report.unseen_score == pytest.approx(member_search.score(X_unseen, y_unseen))
    assert report.gap == pytest.approx(report.validation_score - report.unseen_score)
    assert report.n_unseen == len(y_unseen)
    assert report.best_trial == member_search.best_trial_.number
    assert len(report.trials) == 3 and report.trials[0]["number"] == report.best_trial
    text = str(report)
    assert "validation (chose trial" in text and f"unseen data ({len(y_unseen)} rows)" in text
    assert "biased upwards" in text and "learning_rate=" in text
    assert json.loads(json.dumps(report.to_dict()))["n_unseen"] == len(y_unseen)


def test_the_report_shows_the_study_as_fit_left_it(tmp_path, tabular):
    X, y = tabular
    url = f"sqlite:///{tmp_path / 'study.db'}"
    search = BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=2, storage=url,
                           random_state=0).fit(X, y)
    # Another process goes on with the study (here: one more trial, recorded by hand).
    study = optuna.load_study(study_name="SlowClassifier", storage=url)
    study.add_trial(optuna.trial.create_trial(params={"C": 1.0}, distributions=C_SPACE,
                                              value=2.0))
    report = search.report(X, y)
    assert report.counts == {"COMPLETE": 2, "PRUNED": 0, "FAIL": 0}
    assert [t["number"] for t in report.trials] == sorted(
        [0, 1], key=lambda n: -search.cv_results_["mean_test_score"][n])
    assert report.best_trial == search.best_trial_.number != 2
