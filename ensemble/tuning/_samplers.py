"""Samplers and pruners: which points a study tries, and which trials it stops early."""

import copy
import importlib.util
import threading

import numpy as np
import optuna

#: The samplers known by name.
SAMPLERS = ("tpe", "gp", "random")


def check_sampler(sampler):
    """Refuse an unknown sampler name, or "gp" without PyTorch, before anything trains.

    Parameters
    ----------
    sampler : {"tpe", "gp", "random"} or optuna.samplers.BaseSampler
        A sampler's name, or a sampler of your own (always accepted).

    Raises
    ------
    ValueError
        An unknown name.
    ImportError
        ``"gp"`` while PyTorch, which Optuna's ``GPSampler`` is built on, is not installed.

    Examples
    --------
    >>> from ensemble.tuning.studies import check_sampler
    >>> check_sampler("tpe")
    >>> check_sampler("bayes")
    Traceback (most recent call last):
    ...
    ValueError: sampler must be one of ('tpe', 'gp', 'random') or an optuna sampler, got 'bayes'.
    """
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
