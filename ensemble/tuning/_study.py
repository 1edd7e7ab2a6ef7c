"""The Optuna side of a search: storage, sampler, pruner, and who runs which trial.

``n_trials`` is the number of *finished* trials (complete or pruned) the
study must hold, whoever ran them. Optuna's ``MaxTrialsCallback`` checks its
count only after a trial ends, so two processes that each see ``n - 1``
finished trials would both start one and finish ``n + 1``. Here a trial is
claimed instead:

1. before asking for a trial, a worker counts the finished trials and the
   live running ones; when they already make ``n_trials`` it waits for the
   running ones to end (they may fail and free their slot) instead of
   leaving;
2. after asking, the trial's number (which the storage hands out in order)
   decides: a trial with ``n_trials`` finished or live trials before it is
   surplus and ends at once as FAIL, marked ``surplus`` in its user
   attributes, without training anything.

Running trials of a killed process would hold their slots forever. Shared
storages therefore record a heartbeat (Optuna's ``heartbeat_interval``) and
every worker fails, before counting, the running trials whose heartbeat is
older than the grace period, and those that never sent one (a process killed
between asking for its trial and its first heartbeat) and started longer
than the grace period ago; a resumed study continues with exactly the
missing trials. A live trial whose heartbeat came late (a loaded machine)
may be failed that way too: its worker then drops its result and the slot
is run again (see :mod:`._runner`). A storage without heartbeats (one you
built without ``heartbeat_interval``) can't tell a killed trial from a slow
one: there running trials are not counted, and several processes may
overshoot ``n_trials`` by one each.
"""

import contextlib
import copy
import datetime
import hashlib
import importlib.util
import json
import numbers
import threading
import time
import warnings

import numpy as np
import optuna
import sqlalchemy
from optuna.distributions import BaseDistribution, distribution_to_json
from optuna.storages import InMemoryStorage, RDBStorage
from optuna.trial import TrialState

from members.utils.fingerprints import OUTPUT_ONLY_PARAMS, stable_repr, without_addresses
from members.utils.kinds import is_keras_member

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)

#: Seconds between two heartbeats of a running trial in a shared storage.
HEARTBEAT_INTERVAL_S = 10
#: Seconds without a heartbeat after which a running trial counts as killed.
GRACE_PERIOD_S = 30
#: Seconds a SQLite writer waits for another process's lock before failing.
SQLITE_TIMEOUT_S = 60
#: Attempts at opening a database that other processes may be creating at the same moment.
STORAGE_ATTEMPTS = 5
#: Seconds between two looks at the study while other workers run the last trials.
WAIT_POLL_S = 0.5

SAMPLERS = ("tpe", "gp", "random")

#: User attribute of the study recording what it searches (checked on resume).
FINGERPRINT_ATTR = "keras_ensembles_search"
#: User attribute of a trial that was asked for but not needed (see the module docstring).
SURPLUS_ATTR = "surplus"
#: Estimator parameters (nested ones by their last name part) that change neither what a
#: trial trains nor its score: a resumed study may be given other values.
PARAMS_FREE_ON_RESUME = OUTPUT_ONLY_PARAMS | {"n_jobs"}


class SurplusTrial(Exception):
    """Raised inside the objective for a trial that is not needed."""


# ------------------------------------------------------------------------ storage
def study_storage(url, *, heartbeat_interval=HEARTBEAT_INTERVAL_S, grace_period=GRACE_PERIOD_S,
                  sqlite_timeout=SQLITE_TIMEOUT_S):
    """An Optuna database storage that several processes or machines can share.

    Running trials send a heartbeat, so that a trial whose process was killed
    is failed after ``grace_period`` seconds and its slot given to another.
    SQLite writers wait ``sqlite_timeout`` seconds for each other's locks
    instead of failing with "database is locked".

    Parameters
    ----------
    url : str
        A SQLAlchemy URL: ``"sqlite:///study.db"`` (a file relative to the
        working directory; four slashes for an absolute path),
        ``"postgresql://user:password@host/db"``, ...
    heartbeat_interval : int, default=10
        Seconds between two heartbeats of a running trial.
    grace_period : int, default=30
        Seconds without a heartbeat after which a running trial counts as
        killed. Every process sharing a study should use the same values.
    sqlite_timeout : float, default=60
        Seconds an SQLite writer waits for another's lock.

    Returns
    -------
    optuna.storages.RDBStorage

    See Also
    --------
    BayesSearchCV : Takes the storage (or its URL) as ``storage``.

    Examples
    --------
    >>> from ensemble.tuning import study_storage
    >>> url = "sqlite:///study.db"
    >>> type(study_storage(url)).__name__
    'RDBStorage'
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}.")
    check_storage(url)
    sqlite = url.startswith("sqlite")
    engine_kwargs = {"connect_args": {"timeout": sqlite_timeout}} if sqlite else {}
    for attempt in range(STORAGE_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                # heartbeat_interval is marked experimental; it is what makes resuming work.
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(url, engine_kwargs=engine_kwargs,
                                  heartbeat_interval=heartbeat_interval, grace_period=grace_period)
        except sqlalchemy.exc.SQLAlchemyError:
            # Processes that create the tables of a new database at the same
            # time collide (a table or schema version another one just wrote);
            # the next attempt finds them all in place.
            if attempt == STORAGE_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def check_storage(storage):
    """Refuse a ``storage`` that is not None, a URL or an Optuna storage (connects to nothing)."""
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return
    if not isinstance(storage, str):
        raise TypeError(f"storage must be None, a SQLAlchemy URL or an optuna storage, got "
                        f"{type(storage).__name__}.")
    if "://" not in storage:
        raise ValueError(f"storage must be a SQLAlchemy URL such as 'sqlite:///study.db', "
                         f"got {storage!r}.")


def resolve_storage(storage):
    """None (in memory), a URL (:func:`study_storage`) or an Optuna storage, as a storage."""
    check_storage(storage)
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, str):
        return study_storage(storage)
    return storage


def running_trials_are_live(storage):
    """Whether a running trial in ``storage`` is surely being worked on.

    True in memory (only this process sees it) and with heartbeats (killed
    trials get failed); elsewhere a running trial may be a killed one.
    """
    if isinstance(storage, InMemoryStorage):
        return True
    return isinstance(storage, optuna.storages.BaseStorage) and _heartbeat_enabled(storage)


def _heartbeat_enabled(storage):
    interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
    return interval is not None


def release_stale_trials(study):
    """Fail the running trials whose process stopped sending heartbeats, or never sent one.

    Optuna's own check skips a running trial without any heartbeat record,
    which a process killed between ``study.ask()`` and its first heartbeat
    leaves behind; such a trial is failed here once it started more than
    the grace period ago (by the clock of the machine that started it: keep
    the clocks of machines sharing a study in step).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    storage = study._storage
    backend = getattr(storage, "_backend", storage)  # Optuna wraps an RDBStorage in a cache
    if not (isinstance(backend, RDBStorage) and _heartbeat_enabled(backend)):
        return
    grace = backend.grace_period
    grace = 2 * backend.heartbeat_interval if grace is None else grace
    started_before = datetime.datetime.now() - datetime.timedelta(seconds=grace)
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    old = [trial._trial_id for trial in running
           if trial.datetime_start is not None and trial.datetime_start < started_before]
    for trial_id in sorted(set(old) - _trials_with_heartbeat(backend, old)):
        try:
            storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # it ended meanwhile, or another worker failed it first


def _trials_with_heartbeat(storage, trial_ids):
    """Those of ``trial_ids`` that have a heartbeat record.

    Optuna has no public query for heartbeats; this reads its heartbeat
    table as its own stale-trial check does.
    """
    if not trial_ids:
        return set()
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    beat = models.TrialHeartbeatModel
    with _create_scoped_session(storage.scoped_session) as session:
        rows = session.query(beat.trial_id).filter(beat.trial_id.in_(trial_ids)).all()
    return {row[0] for row in rows}


# ---------------------------------------------------------------- sampler, pruner
def check_sampler(sampler):
    """Refuse an unknown sampler name, or "gp" without PyTorch, before anything trains."""
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return
    if not (isinstance(sampler, str) and sampler in SAMPLERS):
        raise ValueError(f"sampler must be one of {SAMPLERS} or an optuna sampler, got "
                         f"{sampler!r}.")
    if sampler == "gp" and importlib.util.find_spec("torch") is None:
        raise ImportError(
            "sampler='gp' needs PyTorch, which Optuna's GPSampler is built on: install it "
            "(pip install torch --index-url https://download.pytorch.org/whl/cpu) or use "
            "sampler='tpe'."
        )


def startup_trials(n_trials):
    """Random trials before the model-based sampler (and the pruner) take over.

    Optuna's default of 10 would make a 10-trial search a random search; a
    third of the budget, 3 to 10 trials, leaves most trials to the model.
    """
    return min(10, max(3, n_trials // 3))


def make_sampler(sampler, n_trials, seed):
    """An Optuna sampler from its name (or a copy of the one given).

    With a seed, every trial gets its own sampler seeded from the seed and
    the trial's number (:class:`TrialSeededSampler`).
    """
    check_sampler(sampler)
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return copy.deepcopy(sampler)  # a fit must not advance the caller's sampler
    build = SamplerFactory(sampler, startup_trials(n_trials))
    return build(None) if seed is None else TrialSeededSampler(build, seed)


class SamplerFactory:
    """Builds the named sampler for a seed (a class, not a closure, so that studies pickle)."""

    def __init__(self, name, n_startup):
        self.name = name
        self.n_startup = n_startup

    def __call__(self, seed):
        if self.name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if self.name == "gp":
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=self.n_startup)
        # constant_liar: trials running elsewhere count as bad guesses, so that
        # parallel workers don't all sample next to the same promising point.
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup,
                                          constant_liar=True)


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """A fresh sampler for every trial, seeded from ``(seed, trial number)``.

    A seeded sampler draws the same random numbers in every process, so
    processes sharing a study would propose the same points. Optuna's
    samplers keep no state between trials but their random generator and
    caches (everything they learn is read from the study), so one built
    per trial, seeded by the trial's number (unique in the study), keeps a
    single process's search reproducible while every process proposes
    other points.

    Parameters
    ----------
    build : callable
        ``build(seed) -> optuna.samplers.BaseSampler``.
    seed : int
    """

    def __init__(self, build, seed):
        self.build = build
        self.seed = seed
        self._samplers = {}  # trial number -> its sampler; trials may run in threads
        self._lock = threading.Lock()

    def _for(self, trial):
        with self._lock:
            if trial.number not in self._samplers:
                entropy = [self.seed, trial.number]
                seed = int(np.random.SeedSequence(entropy).generate_state(1)[0])
                self._samplers[trial.number] = self.build(seed)
            return self._samplers[trial.number]

    def before_trial(self, study, trial):
        self._for(trial).before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values):
        self._for(trial).after_trial(study, trial, state, values)
        with self._lock:
            self._samplers.pop(trial.number, None)

    def reseed_rng(self):
        pass  # every trial is seeded by its number already

    def __getstate__(self):
        return {"build": self.build, "seed": self.seed}

    def __setstate__(self, state):
        self.__init__(**state)


def make_pruner(pruning, n_trials):
    """The pruner for ``pruning``: True, False or an Optuna pruner (copied)."""
    if isinstance(pruning, optuna.pruners.BasePruner):
        return copy.deepcopy(pruning)
    if pruning is True:
        # Prune against at least 2 finished trials, more in longer searches,
        # and never on the first step: one epoch (or fold) is mostly noise.
        return optuna.pruners.MedianPruner(n_startup_trials=min(5, max(2, n_trials // 4)),
                                           n_warmup_steps=1)
    if pruning is False:
        return optuna.pruners.NopPruner()
    raise ValueError(f"pruning must be True, False or an optuna pruner, got {pruning!r}.")


# -------------------------------------------------------------------------- study
@contextlib.contextmanager
def optuna_quiet():
    """Keep Optuna's per-trial INFO lines off the terminal; the search reports itself."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def search_fingerprint(distributions, scoring, estimator, *, cv, holdout, random_state,
                       splits=None):
    """What a study searches and how its trials are scored: a resume with anything else is refused.

    Besides the search space, the scoring and the estimator's class, the
    estimator's parameters that are not searched (``epochs``, a member's
    seed, ...) and the split every trial is scored on (``cv``, or
    ``holdout`` and the seed that draws it) decide what a trial's score
    means. Parameters in :data:`PARAMS_FREE_ON_RESUME` are left out.
    Everything is plain JSON (stored in the study), and no text holds a
    memory address, so that other processes compute the same.

    Parameters
    ----------
    distributions : dict
    scoring : str, callable or None
    estimator : estimator object
    cv : int, splitter or None
    holdout : float or int
    random_state : int or None
        The seed the search draws its holdout split with.
    splits : list of (ndarray, ndarray) or None
        The splits made from ``cv`` when it is an iterable of splits rather
        than an int or a splitter: they are recorded by a digest.

    Returns
    -------
    dict
    """
    return {
        "estimator": type(estimator).__name__,
        "estimator_params": estimator_settings(estimator, distributions),
        "scoring": scoring if scoring is None or isinstance(scoring, str)
        else without_addresses(scoring),
        "cv": _cv_text(cv, splits),
        # The holdout rows depend on these only when there is no cv.
        "holdout": _json_number(holdout) if cv is None else None,
        "random_state": random_state if cv is None else None,
        "search_space": {name: json.loads(distribution_to_json(distribution))
                         for name, distribution in sorted(distributions.items())},
    }


def estimator_settings(estimator, distributions):
    """``{parameter: text}``: the estimator's parameters (nested ones too) that are not searched.

    A nested estimator (a combiner's member) appears as its class name; its
    own parameters appear under their nested names. Values are described by
    :func:`members.utils.fingerprints.stable_repr` (functions by their code) when the
    estimator is or holds a Keras member -- its module is loaded then -- and
    by their repr without memory addresses otherwise, so that a search of a
    scikit-learn model never imports TensorFlow.
    """
    params = estimator.get_params(deep=True)
    describe = _value_describer(estimator, params)
    return {name: _describe(value, describe) for name, value in sorted(params.items())
            if name not in distributions and name.rsplit("__", 1)[-1] not in PARAMS_FREE_ON_RESUME}


def _value_describer(estimator, params):
    if any(is_keras_member(value) for value in [estimator, *params.values()]):
        return stable_repr
    return without_addresses


def _describe(value, describe):
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__name__
    if isinstance(value, (list, tuple)) and any(_holds_estimator(item) for item in value):
        return "[" + ", ".join(_describe(item, describe) for item in value) + "]"
    return describe(value)


def _holds_estimator(value):
    if isinstance(value, (list, tuple)):
        return any(_holds_estimator(item) for item in value)
    return hasattr(value, "get_params") and not isinstance(value, type)


def _cv_text(cv, splits):
    if cv is None or isinstance(cv, numbers.Integral):
        return _json_number(cv)
    if hasattr(cv, "split") or splits is None:
        return without_addresses(cv)  # a splitter's repr holds its settings
    digest = hashlib.sha256()
    for train, valid in splits:
        for rows in (train, valid):
            digest.update(np.asarray(rows, dtype=np.int64).tobytes() + b"|")
    return f"{len(splits)} given splits, sha256 {digest.hexdigest()[:16]}"


def _json_number(value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)


def fingerprint_changes(recorded, fingerprint):
    """What differs between a study's recorded fingerprint and this search's, as short texts.

    Returns
    -------
    list of str
        ``["epochs 1 (now 2)", "holdout 0.2 (now 0.3)", ...]``; empty when
        they match.
    """
    changes = []
    for key, value in fingerprint.items():
        before = recorded.get(key, "missing")
        if before == value:
            continue
        if key == "estimator_params" and isinstance(before, dict):
            if recorded.get("estimator") != fingerprint["estimator"]:
                continue  # another class: its parameters differ anyway
            for name in sorted(set(before) | set(value)):
                if before.get(name) != value.get(name):
                    changes.append(f"{name} {before.get(name, 'missing')} "
                                   f"(now {value.get(name, 'missing')})")
        else:
            changes.append(f"{key} {before!r} (now {value!r})")
    return changes


def open_study(storage, study_name, sampler, pruner, fingerprint):
    """Create the study, or load it from ``storage`` if it exists and searches the same thing.

    Raises
    ------
    ValueError
        The stored study searches another space, estimator or score, scores
        its trials on another split, or minimises.
    """
    study = optuna.create_study(storage=storage, study_name=study_name, sampler=sampler,
                                pruner=pruner, direction="maximize", load_if_exists=True)
    where = f"study {study.study_name!r}"
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ValueError(f"{where} minimises its objective; a search maximises its score. "
                         "Use another study_name.")
    if FINGERPRINT_ATTR not in study.user_attrs and not study.get_trials(deepcopy=False):
        study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
        return study
    # Read again: a process starting at the same time may have just recorded it.
    recorded = study.user_attrs.get(FINGERPRINT_ATTR)
    if recorded is None:
        raise ValueError(f"{where} already holds trials of another program; use another "
                         "study_name.")
    changes = fingerprint_changes(recorded, fingerprint)
    if changes:
        raise ValueError(
            f"{where} was created with other settings, so its trials would not compare: "
            f"{'; '.join(changes)}. Resume it with the same settings, or use another "
            "study_name (the study was left as it was)."
        )
    return study


def count_trials(study, live_running):
    """``(finished, running)``: trials done, and running trials that hold a slot."""
    trials = study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))
    finished = sum(trial.state in FINISHED for trial in trials)
    running = len(trials) - finished if live_running else 0
    return finished, running


def is_surplus(study, trial_number, n_trials, live_running):
    """Whether ``n_trials`` finished or live trials precede trial ``trial_number``."""
    states = (*FINISHED, TrialState.RUNNING) if live_running else FINISHED
    earlier = sum(trial.number < trial_number
                  for trial in study.get_trials(deepcopy=False, states=states))
    return earlier >= n_trials


def check_distributions(distributions, valid_names, estimator):
    """Clear errors for a malformed search space, before any training.

    Raises
    ------
    TypeError
        Not a dict, or a value that is not an Optuna distribution.
    ValueError
        Empty, or a name that is not a parameter of ``estimator``.
    """
    if not isinstance(distributions, dict):
        raise TypeError(f"param_distributions must be a dict of {{name: optuna distribution}}, "
                        f"got {type(distributions).__name__}.")
    if not distributions:
        raise ValueError("param_distributions must name at least one parameter.")
    for name, distribution in distributions.items():
        if not isinstance(distribution, BaseDistribution):
            raise TypeError(
                f"param_distributions[{name!r}] must be an optuna distribution "
                "(optuna.distributions.FloatDistribution, IntDistribution or "
                f"CategoricalDistribution), got {distribution!r}."
            )
        if name not in valid_names:
            raise ValueError(
                f"Invalid parameter {name!r} for estimator {type(estimator).__name__}. "
                f"Valid parameters are: {sorted(valid_names)!r}."
            )
