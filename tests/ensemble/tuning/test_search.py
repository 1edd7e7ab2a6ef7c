"""ensemble.tuning: BayesSearchCV's results, pruning, shared and resumed studies, HParams logs."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import RidgeClassifier
from sklearn.naive_bayes import GaussianNB

from helpers import build_tiny_mlp
from ensemble import WeightedAverageEnsemble
from ensemble.tuning import (
    BayesSearchCV,
    SearchReport,
    default_search_space,
    load_search_space,
    study_storage,
)
from members import (
    KerasMemberClassifier,
    PlainCNNClassifier,
    ResidualNetClassifier,
    SeparableCNNClassifier,
)

#: A tiny perceptron trained with SGD: learning rate 0.01 learns the tiny images
#: in a few epochs, 3.0 diverges to chance level (the "bad region" of a space).
TINY_SGD = dict(pixel_scale="auto", epochs=4, batch_size=32, optimizer="sgd",
                validation_fraction=0.0, early_stopping_patience=None, reduce_lr_patience=None,
                random_state=0)
GOOD_LR, BAD_LR = 0.01, 3.0


def tiny_member(**params):
    return KerasMemberClassifier(build_tiny_mlp, **dict(TINY_SGD, **params))


class SlowClassifier(ClassifierMixin, BaseEstimator):
    """A ridge classifier (alpha = 1 / C) taking ``delay`` seconds to fit: trials that overlap."""

    def __init__(self, C=1.0, delay=0.0):
        self.C = C
        self.delay = delay

    def fit(self, X, y):
        time.sleep(self.delay)
        self.model_ = RidgeClassifier(alpha=1 / self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


class NoisyClassifier(ClassifierMixin, BaseEstimator):
    """Naive Bayes whose predictions are replaced by random labels at rate ``noise``."""

    def __init__(self, noise=0.0):
        self.noise = noise

    def fit(self, X, y):
        if not 0 <= self.noise <= 1:
            raise ValueError(f"noise must be in [0, 1], got {self.noise}")
        self.model_ = GaussianNB().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        rng = np.random.RandomState(0)
        labels = self.model_.predict(X)
        noisy = rng.rand(len(labels)) < self.noise
        labels[noisy] = rng.choice(self.classes_, noisy.sum())
        return labels


C_SPACE = {"C": FloatDistribution(1e-3, 1e2, log=True)}


@pytest.fixture(scope="module")
def tabular():
    return make_classification(300, n_features=8, n_informative=4, n_classes=3, random_state=0)


@pytest.fixture(scope="module")
def images(tiny_images):
    """The tiny images shuffled (they come sorted by class), and 40 rows the searches never see."""
    X, y = tiny_images
    order = np.random.RandomState(0).permutation(len(y))
    X, y = X[order], y[order]
    return X[:160], y[:160], X[160:], y[160:]


@pytest.fixture(scope="module")
def member_search(images):
    X, y, _, _ = images
    space = {"learning_rate": FloatDistribution(1e-3, 1e-1, log=True),
             "batch_size": CategoricalDistribution([16, 32])}
    return BayesSearchCV(tiny_member(epochs=2), space, n_trials=4, random_state=0).fit(X, y)


# --- results and refit -------------------------------------------------------


def test_the_best_trial_is_the_best_scored_one_and_is_refitted_on_all_data(member_search, images):
    X, y, X_unseen, _ = images
    search = member_search
    results = search.cv_results_
    complete = results["state"] == "COMPLETE"
    best_row = int(np.nanargmax(np.where(complete, results["mean_test_score"], np.nan)))
    assert search.best_index_ == best_row
    assert search.best_trial_.number == results["number"][best_row]
    assert search.best_score_ == results["mean_test_score"][best_row] == search.best_trial_.value
    assert search.best_score_ == max(t.value for t in search.study_.trials
                                     if t.state == TrialState.COMPLETE)
    assert search.best_params_ == search.best_trial_.params == results["params"][best_row]
    assert search.n_trials_ == 4 and len(results["number"]) == 4
    for name, value in search.best_params_.items():
        assert search.best_estimator_.get_params()[name] == value
        assert results[f"param_{name}"][best_row] == value
    # Fitted on all 160 rows: the same fit done by hand predicts the same (seeded, CPU).
    by_hand = clone(tiny_member(epochs=2)).set_params(**search.best_params_).fit(X, y)
    np.testing.assert_allclose(search.predict_proba(X_unseen), by_hand.predict_proba(X_unseen),
                               atol=1e-6)
    np.testing.assert_array_equal(search.predict(X_unseen), by_hand.predict(X_unseen))
    np.testing.assert_array_equal(search.classes_, np.arange(4))
    assert search.refit_time_ > 0


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


def test_a_fitted_search_pickles_with_its_study(member_search, images):
    import pickle

    _, _, X_unseen, _ = images
    restored = pickle.loads(pickle.dumps(member_search))
    assert restored.best_params_ == member_search.best_params_
    assert len(restored.study_.trials) == 4
    np.testing.assert_allclose(restored.predict_proba(X_unseen),
                               member_search.predict_proba(X_unseen), atol=1e-6)


def test_clone_and_get_params_follow_scikit_learn(tmp_path):
    storage = study_storage(f"sqlite:///{tmp_path / 'study.db'}")
    search = BayesSearchCV(tiny_member(), {"learning_rate": FloatDistribution(1e-3, 1e-1)},
                           n_trials=3, storage=storage, sampler="random", pruning=False)
    params = search.get_params()
    assert params["n_trials"] == 3 and params["estimator__learning_rate"] == 1e-3
    cloned = clone(search)
    assert cloned.get_params()["estimator__epochs"] == 4
    assert cloned.param_distributions == search.param_distributions
    assert cloned.param_distributions is not search.param_distributions
    cloned.set_params(estimator__epochs=2, n_trials=5)
    assert cloned.estimator.epochs == 2 and search.estimator.epochs == 4
    # __init__ validates nothing (scikit-learn's convention): errors come from fit.
    BayesSearchCV(None, "not a space", n_trials=-1, sampler="nope")


# --- pruning -------------------------------------------------------------------


def test_pruning_stops_trials_in_the_bad_region_and_saves_epochs(images):
    X, y, _, _ = images
    space = {"learning_rate": CategoricalDistribution([GOOD_LR, BAD_LR])}

    def search(pruning):
        # The random sampler draws the same learning rates for both runs; with seed 2
        # the bad one comes at trials 2 and 5, after the pruner's 2 start-up trials.
        return BayesSearchCV(tiny_member(), space, n_trials=6, sampler="random", pruning=pruning,
                             random_state=2, refit=False).fit(X, y)

    pruned, unpruned = search(True), search(False)
    np.testing.assert_array_equal(pruned.cv_results_["param_learning_rate"],
                                  unpruned.cv_results_["param_learning_rate"])
    states = pruned.cv_results_["state"]
    learning_rates = pruned.cv_results_["param_learning_rate"]
    assert list(learning_rates[states == "PRUNED"]) == [BAD_LR, BAD_LR]
    assert set(unpruned.cv_results_["state"]) == {"COMPLETE"}
    assert pruned.cv_results_["epochs"].sum() < unpruned.cv_results_["epochs"].sum()
    assert (pruned.cv_results_["epochs"][states == "PRUNED"] < TINY_SGD["epochs"]).all()
    assert pruned.n_trials_ == 6  # pruned trials count as finished
    assert pruned.best_params_ == {"learning_rate": GOOD_LR}
    # What the pruner judged: the search's score after every epoch, up to the pruned one.
    for trial in pruned.study_.trials:
        if trial.state == TrialState.PRUNED:
            assert sorted(trial.intermediate_values) == list(range(trial.user_attrs["epochs"]))
            assert trial.user_attrs["pruned_step"] == trial.user_attrs["epochs"] - 1


def test_other_estimators_are_pruned_between_folds(tabular):
    X, y = tabular
    space = {"noise": CategoricalDistribution([0.0, 0.9])}
    search = BayesSearchCV(NoisyClassifier(), space, n_trials=8, cv=4, sampler="random",
                           random_state=0).fit(X, y)
    results = search.cv_results_
    pruned = results["state"] == "PRUNED"
    assert pruned.any() and set(results["param_noise"][pruned]) == {0.9}
    assert search.best_params_ == {"noise": 0.0}
    assert (results["epochs"] == 0).all()  # no networks
    for trial in search.study_.trials:
        if trial.state == TrialState.PRUNED:
            assert len(trial.user_attrs["split_scores"]) < 4  # its last folds were skipped
    assert not np.isnan(results["split3_test_score"][results["state"] == "COMPLETE"]).any()


def test_a_reporter_survives_the_deep_copy_every_member_fit_makes():
    import copy

    from ensemble.tuning._pruning import EpochScoreReporter

    reporter = EpochScoreReporter(trial=object(), scorer=None, X_valid=None, y_valid=None,
                                  classes=None)
    assert copy.deepcopy(reporter) is reporter
    assert copy.deepcopy([reporter])[0] is reporter


def test_a_combiners_members_are_searched_through_nested_names(images):
    X, y, X_unseen, _ = images
    combiner = WeightedAverageEnsemble(
        [("wide", tiny_member(epochs=2)),
         ("narrow", tiny_member(epochs=2, build_params={"units": 8}))],
        holdout=0.3, random_state=0)
    space = {"wide__learning_rate": FloatDistribution(1e-3, 1e-1, log=True),
             "narrow__batch_size": CategoricalDistribution([16, 32])}
    search = BayesSearchCV(combiner, space, n_trials=2, random_state=0).fit(X, y)
    fitted = search.best_estimator_.named_members_
    assert fitted["wide"].learning_rate == search.best_params_["wide__learning_rate"]
    assert fitted["narrow"].batch_size == search.best_params_["narrow__batch_size"]
    # Epochs of both members; one holdout split: a combiner is never pruned.
    assert (search.cv_results_["epochs"] == 4).all()
    assert set(search.cv_results_["state"]) == {"COMPLETE"}
    assert search.predict_proba(X_unseen).shape == (len(X_unseen), 4)


# --- sampler, threads, timeout, failures ---------------------------------------


def test_a_seeded_search_repeats_and_random_trials_depend_on_their_number(tabular):
    X, y = tabular

    def params(seed):
        search = BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=4, sampler="random",
                               random_state=seed, refit=False).fit(X, y)
        return [p["C"] for p in search.cv_results_["params"]]

    first = params(0)
    assert params(0) == first
    assert params(1) != first
    assert len(set(first)) == 4


def test_a_sampler_and_a_pruner_of_your_own_are_used_and_left_untouched(tabular):
    X, y = tabular
    sampler = optuna.samplers.RandomSampler(seed=0)
    pruner = optuna.pruners.NopPruner()
    search = BayesSearchCV(NoisyClassifier(), {"noise": CategoricalDistribution([0.0, 0.9])},
                           n_trials=6, cv=3, sampler=sampler, pruning=pruner, refit=False)
    search.fit(X, y)
    assert set(search.cv_results_["state"]) == {"COMPLETE"}  # the NopPruner prunes nothing
    assert isinstance(search.study_.sampler, optuna.samplers.RandomSampler)
    assert search.study_.sampler is not sampler  # a copy: fitting again draws the same
    with pytest.raises(AttributeError, match="refit=False"):
        search.report(X, y)
    assert not hasattr(search, "predict")


def test_gp_sampler_needs_pytorch(tabular):
    X, y = tabular
    search = BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=4, sampler="gp", random_state=0)
    if importlib.util.find_spec("torch") is None:
        with pytest.raises(ImportError, match="pip install torch"):
            search.fit(X, y)
    else:
        assert search.fit(X, y).n_trials_ == 4


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


# --- bad input, before any training ---------------------------------------------


class _MustNotFit(SlowClassifier):
    def fit(self, X, y):  # pragma: no cover - the point is that it is never called
        raise AssertionError("fit must not be called on bad input")


@pytest.mark.parametrize("params, error, match", [
    ({"param_distributions": {"C_typo": FloatDistribution(0.1, 1)}}, ValueError,
     "Invalid parameter 'C_typo' for estimator _MustNotFit"),
    ({"param_distributions": {"C": [0.1, 1.0]}}, TypeError, "must be an optuna distribution"),
    ({"param_distributions": {}}, ValueError, "at least one parameter"),
    ({"param_distributions": [("C", FloatDistribution(0.1, 1))]}, TypeError, "must be a dict"),
    ({"n_trials": 0}, ValueError, "n_trials must be an int >= 1"),
    ({"n_trials": 2.5}, ValueError, "n_trials must be an int >= 1"),
    ({"sampler": "bayes"}, ValueError, "sampler must be one of"),
    ({"pruning": "median"}, ValueError, "pruning must be True, False or an optuna pruner"),
    ({"holdout": 1.5}, ValueError, "holdout must be a float in"),
    ({"timeout": 0}, ValueError, "timeout must be None or a number > 0"),
    ({"n_jobs": 0}, ValueError, "n_jobs must be an int >= 1"),
    ({"storage": "study.db"}, ValueError, "SQLAlchemy URL"),
    ({"storage": 3}, TypeError, "storage must be None"),
    ({"study_name": 3}, TypeError, "study_name must be None or a str"),
    ({"tensorboard_dir": 3}, TypeError, "tensorboard_dir must be None, a str or a path"),
    ({"verbose": -1}, ValueError, "verbose must be an int >= 0"),
])
def test_bad_settings_are_refused_before_any_training(params, error, match, tabular):
    X, y = tabular
    settings = dict(param_distributions=C_SPACE, n_trials=2)
    settings.update(params)
    with pytest.raises(error, match=match):
        BayesSearchCV(_MustNotFit(), **settings).fit(X, y)


def test_a_checkpoint_dir_anywhere_in_the_searched_estimator_is_refused(tmp_path, images):
    X, y, _, _ = images
    space = {"learning_rate": FloatDistribution(1e-3, 1e-1, log=True)}
    member = tiny_member(checkpoint_dir=tmp_path / "ckpt")
    with pytest.raises(ValueError, match="checkpoint_dir=.*trials would share one folder"):
        BayesSearchCV(member, space, n_trials=2).fit(X, y)
    combiner = WeightedAverageEnsemble([("a", tiny_member()), ("b", member)])
    with pytest.raises(ValueError, match="b__checkpoint_dir=.*trials would share one folder"):
        BayesSearchCV(combiner, {"a__learning_rate": space["learning_rate"]}, n_trials=2).fit(X, y)
    combiner = WeightedAverageEnsemble([("a", tiny_member())], checkpoint_dir=tmp_path / "ens")
    with pytest.raises(ValueError, match="parameter checkpoint_dir=.*share one folder"):
        BayesSearchCV(combiner, {"a__learning_rate": space["learning_rate"]}, n_trials=2).fit(X, y)
    assert not any(tmp_path.iterdir()), "refused before anything trained"


def test_verbose_true_shows_progress_and_the_fitted_search_has_n_features_in(tabular, capsys):
    X, y = tabular
    search = BayesSearchCV(GaussianNB(), {"var_smoothing": FloatDistribution(1e-9, 1e-6, log=True)},
                           n_trials=2, verbose=True, random_state=0)
    assert not hasattr(search, "n_features_in_")
    search.fit(X, y)
    assert search.n_features_in_ == X.shape[1] == search.best_estimator_.n_features_in_
    assert "Trials" in capsys.readouterr().err  # the progress bar
    search.set_params(refit=False).fit(X, y)
    with pytest.raises(AttributeError, match="refit=False"):
        search.n_features_in_


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return True


def test_a_search_without_a_complete_trial_still_keeps_its_study_and_results(tabular):
    X, y = tabular
    search = BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=3, cv=2, pruning=AlwaysPrune())
    with pytest.raises(ValueError, match="No trial of study .* completed .*'PRUNED': 3"):
        search.fit(X, y)
    assert len(search.study_.trials) == 3
    assert list(search.cv_results_["state"]) == ["PRUNED"] * 3
    assert not hasattr(search, "best_params_")


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


# --- storage: shared, resumed, refused --------------------------------------------

WORKER_SCRIPT = '''
import json, os, pathlib, sys, time
from optuna.distributions import FloatDistribution
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import RidgeClassifier
from ensemble.tuning import BayesSearchCV, study_storage

class SlowClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, C=1.0, delay=0.0):
        self.C = C
        self.delay = delay
    def fit(self, X, y):
        if not STARTED:  # the barrier: no worker finishes its first trial before all started one
            STARTED.append(True)
            pathlib.Path(f"started_{os.getpid()}").touch()
            deadline = time.monotonic() + 60
            while len(list(pathlib.Path().glob("started_*"))) < parties:
                assert time.monotonic() < deadline, "the other workers never started a trial"
                time.sleep(0.05)
        time.sleep(self.delay)
        self.model_ = RidgeClassifier(alpha=1 / self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self
    def predict(self, X):
        return self.model_.predict(X)

STARTED = []
url, n_trials, delay, parties = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
X, y = make_classification(300, n_features=8, n_informative=4, n_classes=3, random_state=0)
storage = study_storage(url, heartbeat_interval=1, grace_period=GRACE_S)
search = BayesSearchCV(SlowClassifier(delay=delay), {"C": FloatDistribution(1e-3, 1e2, log=True)},
                       n_trials=n_trials, storage=storage, study_name="shared", random_state=0)
search.fit(X, y)
print(json.dumps({"n_trials": search.n_trials_, "best": search.best_trial_.number,
                  "best_params": search.best_params_, "tensorflow": "tensorflow" in sys.modules}))
'''


#: Grace period of the tests' shared storages: heartbeats come every second, and a
#: trial counts as killed after 5 s without one (not 2: a loaded machine delays them).
GRACE_S = 5


def start_worker(folder, url, n_trials, delay, parties=1):
    """A search in another process; ``parties`` workers wait for each other in their first trial."""
    script = folder / "worker.py"
    script.write_text(WORKER_SCRIPT.replace("GRACE_S", str(GRACE_S)))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, str(script), url, str(n_trials), str(delay),
                             str(parties)],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def finish(worker):
    stdout, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 0, stderr
    return json.loads(stdout)


def test_two_processes_share_one_study_and_finish_exactly_n_trials(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    workers = [start_worker(tmp_path, url, n_trials=10, delay=0.2, parties=2) for _ in range(2)]
    outputs = [finish(worker) for worker in workers]

    study = optuna.load_study(study_name="shared", storage=url)
    trials = study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 10
    assert len({t.number for t in trials}) == len(trials)
    # Every trial that is not finished is one a worker asked for and found not needed.
    assert all(t.user_attrs.get("surplus") for t in trials if t not in finished)
    assert len({t.user_attrs["worker"] for t in finished}) == 2, "both processes ran trials"
    assert len({t.params["C"] for t in finished}) == 10, "no point was drawn twice"
    # Each process waited for the other's last trial: both refit the study's best.
    assert [out["n_trials"] for out in outputs] == [10, 10]
    assert outputs[0]["best"] == outputs[1]["best"] == study.best_trial.number
    assert not any(out["tensorflow"] for out in outputs), "a scikit-learn search imports no TF"


def test_a_killed_search_resumes_from_its_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    storage = study_storage(url, heartbeat_interval=1, grace_period=GRACE_S)
    worker = start_worker(tmp_path, url, n_trials=8, delay=0.5)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            states = [t.state for t in optuna.load_study(study_name="shared", storage=storage)
                      .get_trials(deepcopy=False)]
        except KeyError:  # the worker has not created the study yet
            continue
        if states.count(TrialState.COMPLETE) >= 3 and TrialState.RUNNING in states:
            worker.send_signal(signal.SIGKILL)  # in the middle of a trial
            worker.communicate()
            break
    else:
        worker.kill()
        pytest.fail("the worker never finished 3 trials")
    killed = [t for t in optuna.load_study(study_name="shared", storage=storage).trials
              if t.state == TrialState.RUNNING]
    assert len(killed) == 1

    X, y = make_classification(300, n_features=8, n_informative=4, n_classes=3, random_state=0)
    # The worker's very settings (delay included): another one would be refused.
    search = BayesSearchCV(SlowClassifier(delay=0.5), C_SPACE, n_trials=8, storage=storage,
                           study_name="shared", random_state=0).fit(X, y)
    trials = search.study_.trials
    assert search.n_trials_ == 8
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) == 8
    # The killed trial's heartbeat stopped: it was failed, and its slot run again.
    assert trials[killed[0].number].state == TrialState.FAIL
    assert "FAIL" in search.cv_results_["state"]
    assert len({t.user_attrs.get("worker") for t in trials if "worker" in t.user_attrs}) == 2


#: Storages whose running trials a StaleMarkingClassifier fails (once), from inside a fit.
STALE_MARKING = []


class StaleMarkingClassifier(SlowClassifier):
    """Fails the running trials while it fits, as another worker does when heartbeats come late."""

    def fit(self, X, y):
        if STALE_MARKING:
            storage = STALE_MARKING.pop()
            study = optuna.load_study(study_name="stale", storage=storage)
            for trial in study.get_trials(states=(TrialState.RUNNING,)):
                storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        return super().fit(X, y)


def test_a_trial_failed_as_stale_while_it_runs_is_dropped_and_its_slot_run_again(tmp_path,
                                                                                 tabular):
    X, y = tabular
    storage = study_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=1,
                            grace_period=GRACE_S)
    STALE_MARKING[:] = [storage]
    with pytest.warns(RuntimeWarning, match="Trial 0 was marked failed by another worker"):
        search = BayesSearchCV(StaleMarkingClassifier(), C_SPACE, n_trials=3, storage=storage,
                               study_name="stale", random_state=0).fit(X, y)
    assert not STALE_MARKING
    assert search.n_trials_ == 3
    assert list(search.cv_results_["state"]) == ["FAIL", "COMPLETE", "COMPLETE", "COMPLETE"]


def test_a_running_trial_that_never_sent_a_heartbeat_is_released_after_the_grace_period(
        tmp_path, tabular):
    import datetime

    from ensemble.tuning._study import release_stale_trials

    X, y = tabular
    storage = study_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=1,
                            grace_period=GRACE_S)

    def search(n_trials):
        return BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=n_trials, timeout=30,
                             storage=storage, study_name="s", random_state=0, refit=False)

    def running_trial(started):
        """What a process killed between study.ask() and its first heartbeat leaves behind."""
        trial = optuna.trial.create_trial(state=TrialState.RUNNING)
        trial.datetime_start = started
        return trial

    study = search(1).fit(X, y).study_
    study.add_trial(running_trial(datetime.datetime.now() - datetime.timedelta(minutes=10)))
    start = time.monotonic()
    fitted = search(2).fit(X, y)  # would wait for the killed trial until the timeout
    assert fitted.n_trials_ == 2 and time.monotonic() - start < 20
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE, TrialState.FAIL,
                                                     TrialState.COMPLETE]
    # One that started within the grace period may still be about to send its heartbeat.
    study.add_trial(running_trial(datetime.datetime.now()))
    release_stale_trials(study)
    assert study.get_trials()[-1].state == TrialState.RUNNING


def test_a_stored_study_is_resumed_only_with_the_same_search(tmp_path, tabular):
    X, y = tabular
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=3, storage=url,
                          random_state=0).fit(X, y)
    assert first.study_.study_name == "SlowClassifier"  # the default name in a database
    again = BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=5, storage=url,
                          random_state=0).fit(X, y)
    assert again.n_trials_ == 5 and len(again.study_.trials) == 5  # 2 more, not 5
    # What the trials' scores depend on must not change: refused before any trial.
    refused = [
        ({"param_distributions": {"C": FloatDistribution(1e-2, 1e2, log=True)}},
         "search_space {'C'"),
        ({"scoring": "balanced_accuracy"}, "scoring None \\(now 'balanced_accuracy'\\)"),
        ({"holdout": 0.3}, "holdout 0.2 \\(now 0.3\\)"),
        ({"random_state": 1}, "random_state 0 \\(now 1\\)"),
        ({"cv": 3}, "cv None \\(now 3\\); holdout 0.2 \\(now None\\); random_state 0"),
        ({"estimator": SlowClassifier(delay=0.01)}, "delay 0.0 \\(now 0.01\\)"),
    ]
    for change, match in refused:
        settings = dict(estimator=SlowClassifier(), param_distributions=C_SPACE, n_trials=6,
                        storage=url, random_state=0)
        settings.update(change)
        with pytest.raises(ValueError, match="was created with other settings, so its trials "
                                             f"would not compare: {match}"):
            BayesSearchCV(**settings).fit(X, y)
    assert len(optuna.load_study(study_name="SlowClassifier", storage=url).trials) == 5
    # What doesn't change the scores may: verbosity, the number of threads, the timeout.
    BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=5, storage=url, random_state=0,
                  verbose=1, n_jobs=2, timeout=60).fit(X, y)


def test_a_study_records_custom_scorers_and_estimator_functions_without_addresses():
    from sklearn.metrics import make_scorer

    from ensemble.tuning._study import search_fingerprint

    def first(y_true, y_pred):
        return 0.0

    def second(y_true, y_pred):
        return 0.0

    def fingerprint(scoring, estimator=None):
        return search_fingerprint(C_SPACE, scoring, estimator or SlowClassifier(), cv=None,
                                  holdout=0.2, random_state=0)

    one, other = fingerprint(make_scorer(first)), fingerprint(make_scorer(second))
    assert one["scoring"].startswith("make_scorer(first")
    assert other["scoring"].startswith("make_scorer(second")
    assert fingerprint(make_scorer(first, greater_is_better=False))["scoring"] != one["scoring"]
    assert fingerprint(make_scorer(first)) == one  # a new object, the same scorer
    assert " at 0x" not in json.dumps(fingerprint(first, SlowClassifier(delay=lambda: 0)))
    # A Keras member's functions are told apart by their code (members._wrapper._stable_repr).
    settings = fingerprint(None, tiny_member(build_params={"units": 8}))["estimator_params"]
    assert settings["epochs"] == "4" and settings["build_params"] == "{'units': 8}"
    assert "TinyMLPBuilder" in settings["build_fn"] and "verbose" not in settings


# --- TensorBoard ------------------------------------------------------------------


def test_every_trial_is_logged_to_tensorboard_hparams(tmp_path, tabular):
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    X, y = tabular
    space = {"C": FloatDistribution(1e-3, 1e2, log=True),
             "delay": CategoricalDistribution([0.0, 0.01])}
    search = BayesSearchCV(SlowClassifier(), space, n_trials=3, cv=2, random_state=0,
                           tensorboard_dir=tmp_path / "tb").fit(X, y)
    runs = sorted(path.name for path in (tmp_path / "tb").iterdir() if path.is_dir())
    assert runs == ["trial_0000", "trial_0001", "trial_0002"]
    assert list((tmp_path / "tb").glob("events.out.tfevents.*")), "the experiment description"
    for number, run in enumerate(runs):
        events = EventAccumulator(str(tmp_path / "tb" / run)).Reload()
        assert events.PluginTagToContent("hparams"), f"{run} has no HParams session"
        tensors = events.Tags()["tensors"]
        assert {"score", "epochs", "fit_time", "intermediate_score"} <= set(tensors)
        trial = search.study_.trials[number]
        if trial.state == TrialState.COMPLETE:
            score = tf.make_ndarray(events.Tensors("score")[0].tensor_proto)
            assert score == pytest.approx(trial.value, rel=1e-6)


# --- search spaces ---------------------------------------------------------------


@pytest.mark.parametrize("name, cls", [("plain", PlainCNNClassifier),
                                       ("separable", SeparableCNNClassifier),
                                       ("residual", ResidualNetClassifier)])
def test_every_preset_names_parameters_of_its_member(name, cls):
    space = default_search_space(name)
    assert set(space) <= set(cls().get_params())
    assert space["learning_rate"].log and space is not default_search_space(name)
    assert cls().learning_rate >= space["learning_rate"].low  # the defaults are inside the space


def test_a_json_space_reads_every_distribution_type(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps({
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        "dense_units": {"type": "int", "low": 8, "high": 64, "log": True},
        "convs_per_stage": {"type": "int", "low": 1, "high": 3},
        "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
    }))
    space = load_search_space(path)
    assert space == {
        "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
        "dropout": FloatDistribution(0.0, 0.5, step=0.1),
        "dense_units": IntDistribution(8, 64, log=True),
        "convs_per_stage": IntDistribution(1, 3),
        "optimizer": CategoricalDistribution(["adam", "sgd"]),
    }


@pytest.mark.parametrize("text, match", [
    ("{", "not valid JSON"),
    ("[]", "non-empty JSON object"),
    ('{"lr": {"type": "uniform", "low": 0, "high": 1}}', "'lr'.*\"type\" one of float, int"),
    ('{"lr": {"type": "float", "low": 0, "hi": 1}}', "'lr': unknown key\\(s\\) hi"),
    ('{"lr": {"type": "float", "low": 1, "high": 0.1}}', "'lr'.*low <= high"),
    ('{"lr": {"type": "float", "low": "a", "high": 1}}', "'lr': \"low\" must be a finite number"),
    ('{"units": {"type": "int", "low": 1.5, "high": 8}}', "\"low\" must be a finite integer"),
    ('{"lr": {"type": "float", "low": 0.1, "high": 1, "log": "yes"}}', "\"log\" must be true"),
    ('{"lr": {"type": "float", "low": 0.1, "high": 1, "step": 0}}', "\"step\" must be a positive"),
    ('{"f": {"type": "categorical", "choices": [[16, 32]]}}', "choices must be numbers"),
    ('{"f": {"type": "categorical", "choices": []}}', "non-empty list"),
])
def test_a_malformed_json_space_is_a_one_line_error_naming_the_file(text, match, tmp_path):
    path = tmp_path / "space.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as raised:
        load_search_space(path)
    assert str(raised.value).startswith(str(path)) and "\n" not in str(raised.value)


def test_importing_the_search_imports_no_tensorflow():
    code = ("import sys, ensemble, ensemble.tuning; ensemble.BayesSearchCV; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
