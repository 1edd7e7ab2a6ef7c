"""ensemble.tuning's studies: samplers and pruners; studies shared by processes, resumed, refused.

The modules under test: ``_samplers``, ``_storage`` (heartbeats), ``_slots`` and ``_fingerprints``.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState
from sklearn.datasets import make_classification

from ensemble.tuning import BayesSearchCV, study_storage
from ensemble.tuning._storage import HEARTBEAT_ATTR
from helpers.tuning import C_SPACE, NoisyClassifier, SlowClassifier, tiny_member

# --- samplers and pruners ---------------------------------------------------------


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
            trials = optuna.load_study(study_name="shared", storage=storage).get_trials()
        except KeyError:  # the worker has not created the study yet
            continue
        states = [t.state for t in trials]
        # Killed once its running trial sent its first heartbeat: the resumed search fails
        # it through Optuna's public fail_stale_trials (the heartbeat stops).
        beating = [t for t in trials if t.state == TrialState.RUNNING
                   and t.system_attrs.get(HEARTBEAT_ATTR)]
        if states.count(TrialState.COMPLETE) >= 3 and beating:
            worker.send_signal(signal.SIGKILL)  # in the middle of a trial
            worker.communicate()
            break
    else:
        worker.kill()
        pytest.fail("the worker never finished 3 trials")
    killed = [t for t in optuna.load_study(study_name="shared", storage=storage).trials
              if t.state == TrialState.RUNNING]
    assert len(killed) == 1 and killed[0].system_attrs.get(HEARTBEAT_ATTR)

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
            study_id = storage.get_study_id_from_name("stale")
            for trial in study.get_trials(states=(TrialState.RUNNING,)):
                trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
                storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
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

    from ensemble.tuning._storage import Heartbeats, release_stale_trials

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
    assert all(t.system_attrs.get(HEARTBEAT_ATTR) for t in study.get_trials()
               if t.state == TrialState.COMPLETE), "every trial run records its first heartbeat"
    # One that started within the grace period may still be about to send its heartbeat.
    study.add_trial(running_trial(datetime.datetime.now()))
    release_stale_trials(study, storage)
    assert study.get_trials()[-1].state == TrialState.RUNNING
    # A live one: started long ago, but its heartbeat is fresh.
    study.add_trial(running_trial(datetime.datetime.now() - datetime.timedelta(minutes=10)))
    Heartbeats(study, storage).trial_started(study.get_trials()[-1])
    release_stale_trials(study, storage)
    assert [t.state for t in study.get_trials()[-2:]] == [TrialState.RUNNING] * 2


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

    from ensemble.tuning._fingerprints import search_fingerprint

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
    # A Keras member's functions are told apart by their code
    # (members.utils.fingerprints.stable_repr).
    settings = fingerprint(None, tiny_member(build_params={"units": 8}))["estimator_params"]
    assert settings["epochs"] == "4" and settings["build_params"] == "{'units': 8}"
    assert "TinyMLPBuilder" in settings["build_fn"] and "verbose" not in settings
