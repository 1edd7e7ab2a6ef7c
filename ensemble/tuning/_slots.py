"""Who runs which trial: ``n_trials`` slots, claimed by the workers sharing a study.

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

Running trials are "live" only where a killed process's trials get failed
(in memory, or in a storage with heartbeats: see :mod:`._storage`).
"""

from optuna.trial import TrialState

#: The states of a trial that counts towards ``n_trials``.
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: Seconds between two looks at the study while other workers run the last trials.
WAIT_POLL_S = 0.5
#: User attribute of a trial that was asked for but not needed (see the module docstring).
SURPLUS_ATTR = "surplus"


class SurplusTrial(Exception):
    """Raised inside the objective for a trial that is not needed."""


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
