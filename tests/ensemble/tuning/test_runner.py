"""ensemble.tuning._runner: the trial loop's threads, timeout and failed trials."""

import time
import warnings

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from sklearn.exceptions import FitFailedWarning

from ensemble.tuning import BayesSearchCV
from helpers.tuning import C_SPACE, NoisyClassifier, SlowClassifier


def test_n_jobs_runs_trials_at_once_in_threads(tabular):
    X, y = tabular
    search = BayesSearchCV(SlowClassifier(delay=0.3), C_SPACE, n_trials=6, n_jobs=2,
                           random_state=0, refit=False).fit(X, y)
    trials = [t for t in search.study_.trials if not t.user_attrs.get("surplus")]
    assert search.n_trials_ == 6 and len(trials) == 6
    overlapping = [(a.number, b.number) for a in trials for b in trials
                   if a.number < b.number and a.datetime_start < b.datetime_complete
                   and b.datetime_start < a.datetime_complete]
    assert overlapping


def test_timeout_stops_starting_trials(tabular):
    X, y = tabular
    start = time.perf_counter()
    search = BayesSearchCV(SlowClassifier(delay=0.2), C_SPACE, n_trials=100, timeout=0.5,
                           random_state=0).fit(X, y)
    assert 1 <= search.n_trials_ < 10
    assert time.perf_counter() - start < 10
    assert hasattr(search, "best_estimator_")


def test_failing_trials_are_recorded_and_a_search_that_only_fails_stops(tabular):
    X, y = tabular
    space = {"noise": CategoricalDistribution([0.0, 2.0])}  # 2.0 makes fit raise
    with pytest.warns(FitFailedWarning, match="noise must be in"):
        search = BayesSearchCV(NoisyClassifier(), space, n_trials=6, sampler="random",
                               random_state=0, pruning=False).fit(X, y)
    results = search.cv_results_
    assert "FAIL" in results["state"] and search.n_trials_ == 6
    assert np.isnan(results["mean_test_score"][results["state"] == "FAIL"]).all()
    assert search.best_params_ == {"noise": 0.0}

    always_failing = {"noise": CategoricalDistribution([2.0, 3.0])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        with pytest.raises(ValueError, match="3 trials in a row failed and no trial of the "
                                             "study finished.*noise must be in"):
            BayesSearchCV(NoisyClassifier(), always_failing, n_trials=6).fit(X, y)


class SequenceSampler(optuna.samplers.BaseSampler):
    """Trial k gets ``values[k]`` for every parameter: a sampler whose failures come where told."""

    def __init__(self, values):
        self.values = values

    def infer_relative_search_space(self, study, trial):
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self.values[trial.number]


def test_a_failing_region_stops_a_search_only_after_many_failures_in_a_row(tabular):
    X, y = tabular
    space = {"noise": CategoricalDistribution([0.0, 2.0])}  # 2.0 makes fit raise
    # Three failures in a row once a trial finished: a failing region, not a broken search.
    sampler = SequenceSampler([0.0, 2.0, 2.0, 2.0, 2.0, 0.0, 0.0])
    with pytest.warns(FitFailedWarning):
        search = BayesSearchCV(NoisyClassifier(), space, n_trials=3, sampler=sampler,
                               pruning=False, refit=False).fit(X, y)
    assert list(search.cv_results_["state"]) == ["COMPLETE"] + ["FAIL"] * 4 + ["COMPLETE"] * 2
    # Failing for good after a finished trial: given up after max(10, n_trials) in a row.
    sampler = SequenceSampler([0.0] + [2.0] * 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        with pytest.raises(ValueError, match="^10 trials in a row failed; the last one with: "
                                             "ValueError: noise must be in"):
            BayesSearchCV(NoisyClassifier(), space, n_trials=3, sampler=sampler,
                          pruning=False).fit(X, y)
