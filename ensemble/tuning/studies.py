"""A stored study, looked at from outside a search: before it is resumed, or to report on it.

:class:`~ensemble.tuning.BayesSearchCV` creates, checks and resumes its
study itself. A program that opens the study first (the command line says
whether a study is new or resumed, and what differs in its own option names
before any training) needs the same checks and names; they are here.

Names
-----
FINISHED : tuple of optuna.trial.TrialState
    The states of a trial that counts towards a search's ``n_trials``
    (complete and pruned).
FINGERPRINT_ATTR : str
    The study user attribute in which a search records what it searches
    (see :func:`changes_since_recorded`).
check_distributions, check_sampler
    Clear errors for a search space or a sampler, before anything trains.
changes_since_recorded
    How a search differs from the one a stored study was created by.
optuna_quiet
    Optuna's per-trial log lines kept off the terminal.

Examples
--------
>>> import optuna
>>> from ensemble.tuning.studies import FINISHED, optuna_quiet
>>> with optuna_quiet():
...     study = optuna.create_study(direction="maximize")
...     study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
>>> len(study.get_trials(states=FINISHED))
3
"""

import contextlib

import optuna

from ensemble.tuning import _fingerprints, _slots
from ensemble.tuning._fingerprints import check_distributions, fingerprint_changes
from ensemble.tuning._samplers import check_sampler
from members.utils.seeds import seed_from

__all__ = ["FINGERPRINT_ATTR", "FINISHED", "changes_since_recorded", "check_distributions",
           "check_sampler", "optuna_quiet"]

#: The states of a trial that counts towards a search's ``n_trials``: complete and pruned.
FINISHED = _slots.FINISHED
#: The study user attribute in which a search records what it searches, checked on resume.
FINGERPRINT_ATTR = _fingerprints.FINGERPRINT_ATTR


@contextlib.contextmanager
def optuna_quiet():
    """Keep Optuna's per-trial INFO lines off the terminal; the search reports itself.

    Optuna's verbosity is set to ``ERROR`` inside the ``with`` block and set
    back afterwards.

    Yields
    ------
    None
    """
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def changes_since_recorded(search, recorded):
    """How ``search`` differs from a study's recorded fingerprint, as short texts.

    The command line asks before it runs a resumed study, to say what
    differs in its own option names; :meth:`BayesSearchCV.fit
    <ensemble.tuning.BayesSearchCV.fit>` refuses such a study anyway.

    Parameters
    ----------
    search : BayesSearchCV
        The search about to run (its settings are checked first).
    recorded : dict
        The fingerprint a study recorded when it was created: its user
        attribute :data:`FINGERPRINT_ATTR`.

    Returns
    -------
    list of str
        ``["epochs 1 (now 2)", "holdout 0.2 (now 0.3)", ...]``; empty when
        the search continues the recorded one.
    """
    search._check_params()
    return fingerprint_changes(recorded, search._fingerprint(seed_from(search.random_state)))
