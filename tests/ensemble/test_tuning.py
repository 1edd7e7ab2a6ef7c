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

from conftest import build_tiny_mlp
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
    trials = search.study_.trials
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
        with pytest.raises(ValueError, match="3 trials in a row failed.*noise must be in"):
            BayesSearchCV(NoisyClassifier(), always_failing, n_trials=6).fit(X, y)


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
])
def test_bad_settings_are_refused_before_any_training(params, error, match, tabular):
    X, y = tabular
    settings = dict(param_distributions=C_SPACE, n_trials=2)
    settings.update(params)
    with pytest.raises(error, match=match):
        BayesSearchCV(_MustNotFit(), **settings).fit(X, y)


# --- storage: shared, resumed, refused --------------------------------------------

WORKER_SCRIPT = '''
import json, sys, time
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
        time.sleep(self.delay)
        self.model_ = RidgeClassifier(alpha=1 / self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self
    def predict(self, X):
        return self.model_.predict(X)

url, n_trials, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
X, y = make_classification(300, n_features=8, n_informative=4, n_classes=3, random_state=0)
storage = study_storage(url, heartbeat_interval=1, grace_period=2)
search = BayesSearchCV(SlowClassifier(delay=delay), {"C": FloatDistribution(1e-3, 1e2, log=True)},
                       n_trials=n_trials, storage=storage, study_name="shared", random_state=0)
search.fit(X, y)
print(json.dumps({"n_trials": search.n_trials_, "best": search.best_trial_.number,
                  "best_params": search.best_params_, "tensorflow": "tensorflow" in sys.modules}))
'''


def start_worker(folder, url, n_trials, delay):
    script = folder / "worker.py"
    script.write_text(WORKER_SCRIPT)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, str(script), url, str(n_trials), str(delay)],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def finish(worker):
    stdout, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 0, stderr
    return json.loads(stdout)


def test_two_processes_share_one_study_and_finish_exactly_n_trials(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    workers = [start_worker(tmp_path, url, n_trials=10, delay=0.2) for _ in range(2)]
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
    storage = study_storage(url, heartbeat_interval=1, grace_period=2)
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
    search = BayesSearchCV(SlowClassifier(delay=0.1), C_SPACE, n_trials=8, storage=storage,
                           study_name="shared", random_state=0).fit(X, y)
    trials = search.study_.trials
    assert search.n_trials_ == 8
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) == 8
    # The killed trial's heartbeat stopped: it was failed, and its slot run again.
    assert trials[killed[0].number].state == TrialState.FAIL
    assert "FAIL" in search.cv_results_["state"]
    assert len({t.user_attrs.get("worker") for t in trials if "worker" in t.user_attrs}) == 2


def test_a_stored_study_is_resumed_only_with_the_same_search(tmp_path, tabular):
    X, y = tabular
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=3, storage=url,
                          random_state=0).fit(X, y)
    assert first.study_.study_name == "SlowClassifier"  # the default name in a database
    again = BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=5, storage=url,
                          random_state=0).fit(X, y)
    assert again.n_trials_ == 5 and len(again.study_.trials) == 5  # 2 more, not 5
    other_space = {"C": FloatDistribution(1e-2, 1e2, log=True)}
    with pytest.raises(ValueError, match="was created with another search_space"):
        BayesSearchCV(SlowClassifier(), other_space, n_trials=6, storage=url).fit(X, y)
    with pytest.raises(ValueError, match="another scoring"):
        BayesSearchCV(SlowClassifier(), C_SPACE, n_trials=6, storage=url,
                      scoring="balanced_accuracy").fit(X, y)
    assert len(optuna.load_study(study_name="SlowClassifier", storage=url).trials) == 5


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
