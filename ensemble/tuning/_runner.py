"""The trial loop: run trials until the study holds ``n_trials`` finished ones."""

import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

from optuna.trial import TrialState
from sklearn.exceptions import FitFailedWarning

from ._study import (
    SURPLUS_ATTR,
    WAIT_POLL_S,
    count_trials,
    release_stale_trials,
)

#: Failed trials in a row, in one worker, after which the search gives up: a
#: search whose every trial fails is misconfigured, and would never finish.
MAX_CONSECUTIVE_FAILURES = 3


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
        Whether running trials hold a slot (see :mod:`._study`).
    on_trial_end : callable
        Called with every finished or failed trial this process ran (from
        the worker's thread).
    """

    def __init__(self, study, objective, n_trials, *, timeout, n_jobs, live_running, on_trial_end):
        self.study = study
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
                release_stale_trials(self.study)
                finished, running = count_trials(self.study, self.live_running)
                if finished >= self.n_trials:
                    return
                if finished + running >= self.n_trials:
                    # The last trials run elsewhere; one may still fail and free its slot.
                    time.sleep(WAIT_POLL_S)
                    continue
                trial = self._one_trial()
                if trial.user_attrs.get(SURPLUS_ATTR):
                    continue
                failures = failures + 1 if trial.state == TrialState.FAIL else 0
                if failures >= MAX_CONSECUTIVE_FAILURES:
                    raise ValueError(
                        f"{failures} trials in a row failed; the last one with: "
                        f"{failure_reason(trial)}. Check the estimator and the search space."
                    )
        except BaseException:
            self._stop.set()
            raise

    def _one_trial(self):
        ended = []
        self.study.optimize(self.objective, n_trials=1, catch=(Exception,),
                            callbacks=[lambda study, trial: ended.append(trial)])
        trial = ended[0]
        if trial.user_attrs.get(SURPLUS_ATTR):
            return trial
        if trial.state == TrialState.FAIL:
            warnings.warn(f"Trial {trial.number} failed: {failure_reason(trial)}",
                          FitFailedWarning, stacklevel=2)
        self.on_trial_end(trial)
        return trial


def failure_reason(trial):
    """Why a trial failed, as recorded by the objective (or the NaN score Optuna refuses)."""
    return trial.user_attrs.get("error", "its score was NaN")
