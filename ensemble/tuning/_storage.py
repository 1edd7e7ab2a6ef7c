"""Where a study lives, and how a trial whose process was killed gets its slot back.

Running trials of a killed process would hold their slots forever (see
:mod:`._slots`). Shared storages therefore record a heartbeat (Optuna's
``heartbeat_interval``), and every worker, before it counts the trials,
fails

* the running trials whose heartbeat is older than the grace period, with
  Optuna's public :func:`optuna.storages.fail_stale_trials`;
* the running trials that never sent one (a process killed between asking
  for its trial and its first heartbeat) and started longer than the grace
  period ago (by the clock of the machine that started them: keep the
  clocks of machines sharing a study in step). Optuna's own check skips
  them, and it has no public query telling whether a trial has a heartbeat
  record, so every trial this project runs records its first heartbeat
  itself (:meth:`Heartbeats.trial_started`, before anything else) and then
  marks itself with the trial system attribute :data:`HEARTBEAT_ATTR`: a
  running trial without that mark never reached its first heartbeat.

A resumed study thus continues with exactly the missing trials. A live
trial whose heartbeat came late (a loaded machine) may be failed that way
too: its worker then drops its result and the slot is run again (see
:mod:`._runner`). A storage without heartbeats (one you built without
``heartbeat_interval``) can't tell a killed trial from a slow one: there
running trials are not counted, and several processes may overshoot
``n_trials`` by one each.

Only Optuna's public API is used: the storage methods of
:class:`optuna.storages.BaseStorage` and :class:`optuna.storages.RDBStorage`
(``get_study_id_from_name``, ``get_trial_id_from_study_id_trial_number``,
``set_trial_state_values``, ``set_trial_system_attr``, ``record_heartbeat``,
``get_heartbeat_interval``, ``get_heartbeat_stale_trial_callback``) and
:func:`optuna.storages.fail_stale_trials`.
"""

import copy
import datetime
import threading
import time
import warnings

import optuna
import sqlalchemy
from optuna.storages import InMemoryStorage, RDBStorage
from optuna.trial import TrialState

#: Seconds between two heartbeats of a running trial in a shared storage.
HEARTBEAT_INTERVAL_S = 10
#: Seconds without a heartbeat after which a running trial counts as killed.
GRACE_PERIOD_S = 30
#: Seconds a SQLite writer waits for another process's lock before failing.
SQLITE_TIMEOUT_S = 60
#: Attempts at opening a database that other processes may be creating at the same moment.
STORAGE_ATTEMPTS = 5
#: Trial system attribute: the trial recorded its first heartbeat (see the module docstring).
HEARTBEAT_ATTR = "keras_ensembles:heartbeat"


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


def heartbeat_interval(storage):
    """Seconds between two heartbeats in ``storage``, or None when it records none."""
    get_interval = getattr(storage, "get_heartbeat_interval", None)
    if get_interval is None or not callable(getattr(storage, "record_heartbeat", None)):
        return None
    return get_interval()


def grace_period(storage):
    """Seconds without a heartbeat after which a running trial of ``storage`` counts as killed.

    An :class:`optuna.storages.RDBStorage` says (``grace_period``); Optuna's
    default, twice the heartbeat interval, stands for any other storage and
    for one built without a grace period.
    """
    grace = getattr(storage, "grace_period", None)
    return 2 * heartbeat_interval(storage) if grace is None else grace


def running_trials_are_live(storage):
    """Whether a running trial in ``storage`` is surely being worked on.

    True in memory (only this process sees it) and with heartbeats (killed
    trials get failed); elsewhere a running trial may be a killed one.
    """
    if isinstance(storage, InMemoryStorage):
        return True
    return (isinstance(storage, optuna.storages.BaseStorage)
            and heartbeat_interval(storage) is not None)


class Heartbeats:
    """The heartbeats of one study's trials: recorded when a trial starts, checked by every worker.

    Optuna's :class:`optuna.Study` keeps its storage to itself, so the
    storage the study was created with is given alongside it.

    Parameters
    ----------
    study : optuna.Study
    storage : optuna.storages.BaseStorage
        The storage ``study`` was created with (or loaded from).
    """

    def __init__(self, study, storage):
        self.study = study
        self.storage = storage
        self.interval = heartbeat_interval(storage)
        self._study_id = None
        self._lock = threading.Lock()

    @property
    def enabled(self):
        """Whether the storage records heartbeats."""
        return self.interval is not None

    def trial_id(self, number):
        """The storage's id of the study's trial ``number`` (public storage queries only)."""
        with self._lock:
            if self._study_id is None:
                self._study_id = self.storage.get_study_id_from_name(self.study.study_name)
        return self.storage.get_trial_id_from_study_id_trial_number(self._study_id, number)

    def trial_started(self, trial):
        """Record the first heartbeat of ``trial``, which this process runs, then mark it.

        Call it before anything else of the trial. Optuna's heartbeat thread
        records the same heartbeat at about the same moment; the storage
        keeps one record whichever comes first, and once this returns the
        trial has one: a running trial without :data:`HEARTBEAT_ATTR` never
        got that far.
        """
        if not self.enabled:
            return
        trial_id = self.trial_id(trial.number)
        self.storage.record_heartbeat(trial_id)
        self.storage.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, True)

    def release_stale(self):
        """Fail the running trials whose process stopped sending heartbeats, or never sent one.

        See the module docstring. The failed trials are handed to the
        storage's ``heartbeat_stale_trial_callback``, if it has one, as
        Optuna does with those it fails itself.
        """
        if not self.enabled:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)
        started_before = (datetime.datetime.now()
                          - datetime.timedelta(seconds=grace_period(self.storage)))
        never_beat = [trial.number for trial in self.study.get_trials(
                          deepcopy=False, states=(TrialState.RUNNING,))
                      if not trial.system_attrs.get(HEARTBEAT_ATTR)
                      and trial.datetime_start is not None
                      and trial.datetime_start < started_before]
        callback = getattr(self.storage, "get_heartbeat_stale_trial_callback", lambda: None)()
        for number in never_beat:
            trial_id = self.trial_id(number)
            try:
                failed = self.storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # it ended meanwhile, or another worker failed it first
            if failed and callback is not None:
                callback(self.study, copy.deepcopy(self.storage.get_trial(trial_id)))


def release_stale_trials(study, storage):
    """Fail the running trials of ``study`` that were killed (see :meth:`Heartbeats.release_stale`).

    Parameters
    ----------
    study : optuna.Study
    storage : optuna.storages.BaseStorage
        The storage ``study`` was created with (or loaded from).
    """
    Heartbeats(study, storage).release_stale()
