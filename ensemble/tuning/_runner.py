"""The trial loop: run trials until the study holds ``n_trials`` finished ones.

Failed trials don't count, and the loop gives up (``ValueError``) only on a
search that looks misconfigured: when a worker's last
:data:`FAILURES_BEFORE_ANY_FINISHED` trials failed while no trial of the
study has finished yet, or when ``max(MAX_CONSECUTIVE_FAILURES, n_trials)``
of its trials failed in a row whatever the study holds. A space with a
failing region (too wide a layer for memory, a diverging learning rate)
therefore goes on once any trial finished.

A trial that another worker marked failed while it still ran (its heartbeat
came later than the grace period allows, see :mod:`._storage`) is *lost*: its
result can't be recorded, so the worker warns, drops it and carries on; its
slot is run again.
"""

import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

from optuna.trial import TrialState
from sklearn.exceptions import FitFailedWarning

from ensemble.tuning._slots import SURPLUS_ATTR, WAIT_POLL_S, count_trials
from ensemble.tuning._storage import Heartbeats

#: Failed trials in a row, in one worker, after which the search gives up while no
#: trial of the study has finished: a search whose every trial fails is misconfigured.
FAILURES_BEFORE_ANY_FINISHED = 3
#: Failed trials in a row (or ``n_trials`` if more) after which the search gives up
#: even though some trials finished: it would otherwise never end.
MAX_CONSECUTIVE_FAILURES = 10


class TrialRunner:
    """Run the trials of a study, in ``n_jobs`` threads, until it holds ``n_trials`` finished ones.

    Parameters
    ----------
    study : optuna.Study
    objective : callable
        ``objective(trial) -> float``.
    n_trials : int
        Finished (complete or pruned) trials the study must hold.
    timeout : float or None
        Seconds after which no new trial starts.
    n_jobs : int
        Worker threads.
    live_running : bool
        Whether running trials hold a slot (see :mod:`._slots`).
    storage : optuna.storages.BaseStorage
        The storage ``study`` was created with: its heartbeats tell killed
        trials (see :mod:`._storage`).
    on_trial_end : callable
        Called with every finished or failed trial this process ran (from
        the worker's thread).
    """

    def __init__(self, study, objective, n_trials, *, timeout, n_jobs, live_running, storage,
                 on_trial_end):
        self.study = study
        self.heartbeats = Heartbeats(study, storage)
        self.objective = objective
        self.n_trials = n_trials
        self.timeout = timeout
        self.n_jobs = n_jobs
        self.live_running = live_running
        self.on_trial_end = on_trial_end
        self._stop = threading.Event()

    def run(self):
        """Run trials until the study is done, time is up, or a worker fails."""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        if self.n_jobs == 1:
            self._work(deadline)
            return
        with ThreadPoolExecutor(max_workers=self.n_jobs) as pool:
            futures = [pool.submit(self._work, deadline) for _ in range(self.n_jobs)]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                self._stop.set()  # the other workers finish their trial, then stop
                raise

    def _work(self, deadline):
        failures = 0
        try:
            while not self._stop.is_set() and (deadline is None or time.monotonic() < deadline):
                self.heartbeats.release_stale()
                finished, running = count_trials(self.study, self.live_running)
                if finished >= self.n_trials:
                    return
                if finished + running >= self.n_trials:
                    # The last trials run elsewhere; one may still fail and free its slot.
                    time.sleep(WAIT_POLL_S)
                    continue
                trial = self._one_trial()
                if trial is None:  # surplus or lost: it neither counts nor failed
                    continue
                failures = failures + 1 if trial.state == TrialState.FAIL else 0
                self._check_failures(failures, trial)
        except BaseException:
            self._stop.set()
            raise

    def _check_failures(self, failures, trial):
        """Give up on a search that looks misconfigured (see the module docstring)."""
        if failures >= FAILURES_BEFORE_ANY_FINISHED:
            finished, _ = count_trials(self.study, live_running=False)
            if finished == 0:
                raise ValueError(
                    f"{failures} trials in a row failed and no trial of the study finished; the "
                    f"last one with: {failure_reason(trial)}. Check the estimator and the "
                    "search space."
                )
        if failures >= max(MAX_CONSECUTIVE_FAILURES, self.n_trials):
            raise ValueError(
                f"{failures} trials in a row failed; the last one with: {failure_reason(trial)}. "
                "Check the estimator and the search space."
            )

    def _one_trial(self):
        """Run one trial; return it, or None when it was surplus or lost."""
        started, ended = [], []

        def objective(trial):
            started.append(trial)
            self.heartbeats.trial_started(trial)  # before anything else: see ._storage
            return self.objective(trial)

        try:
            self.study.optimize(objective, n_trials=1, catch=(Exception,),
                                callbacks=[lambda study, trial: ended.append(trial)])
        except ValueError:
            # "Cannot tell a FAIL trial": another worker failed it as stale meanwhile.
            lost = self._lost_trial(started)
            if lost is None:
                raise
            warnings.warn(
                f"Trial {lost.number} was marked failed by another worker while it ran (its "
                "heartbeat came later than the grace period allows: a loaded machine, or a "
                "grace period too short for the heartbeat interval); its result is dropped and "
                "its slot run again.", RuntimeWarning, stacklevel=2)
            self.on_trial_end(lost)
            return None
        trial = ended[0]
        if trial.user_attrs.get(SURPLUS_ATTR):
            return None
        if trial.state == TrialState.FAIL:
            warnings.warn(f"Trial {trial.number} failed: {failure_reason(trial)}",
                          FitFailedWarning, stacklevel=2)
        self.on_trial_end(trial)
        return trial

    def _lost_trial(self, started):
        """The trial this worker ran, as stored, if another worker failed it; else None."""
        if not started:
            return None
        number = started[-1].number
        failed = self.study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        return next((trial for trial in failed if trial.number == number), None)


def failure_reason(trial):
    """Why a trial failed, as recorded by the objective (or the NaN score Optuna refuses)."""
    return trial.user_attrs.get("error", "its score was NaN")
