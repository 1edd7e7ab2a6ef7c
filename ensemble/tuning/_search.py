"""Bayesian hyper-parameter search with Optuna, as a scikit-learn meta-estimator."""

import os
import socket
import threading
import time

import numpy as np
import optuna
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ensemble.tuning._fingerprints import check_distributions, open_study, search_fingerprint
from ensemble.tuning._results import results_table, top_trials, trial_counts
from ensemble.tuning._runner import TrialRunner
from ensemble.tuning._samplers import check_sampler, make_pruner, make_sampler
from ensemble.tuning._search_report import SearchReport
from ensemble.tuning._slots import FINISHED, SURPLUS_ATTR, SurplusTrial, count_trials, is_surplus
from ensemble.tuning._storage import check_storage, resolve_storage, running_trials_are_live
from ensemble.tuning._trials import make_splits, run_trial, suggest
from ensemble.tuning.studies import optuna_quiet
from members.utils.checks import check_int, is_real
from members.utils.seeds import seed_from
from members.utils.splits import check_holdout


class BayesSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Bayesian search over hyper-parameters with Optuna, pruning hopeless trials.

    Each trial draws parameters from ``param_distributions`` (Optuna's
    sampler proposes them from the scores of the trials so far), fits a
    clone of ``estimator`` on the training part of each split and scores it
    on the validation part. A Keras member reports its validation score
    after every epoch, and the pruner stops trials that trail the others;
    combiners and other estimators are judged after each split. The study
    may live in a database that several processes or machines share, and
    an interrupted search resumes from it.

    Parameters
    ----------
    estimator : estimator object
        A member, a combiner, or any scikit-learn classifier; cloned for
        every fit.
    param_distributions : dict of str to optuna.distributions.BaseDistribution
        Parameter names (nested names such as ``plain__learning_rate`` reach
        a combiner's members) and Optuna distributions:
        ``FloatDistribution(1e-4, 1e-2, log=True)``, ``IntDistribution(1, 3)``,
        ``CategoricalDistribution(["adam", "sgd"])``.
    n_trials : int, default=10
        Finished trials (complete or pruned) the study must hold when ``fit``
        returns, counting those already in a stored study and those other
        processes run: a resumed search runs only the missing ones, and
        several processes together run exactly ``n_trials``. Failed trials
        don't count; the search gives up (``ValueError``) when a process's
        first 3 trials in a row fail while no trial of the study has finished,
        or when ``max(10, n_trials)`` of its trials fail in a row.
    timeout : float or None, default=None
        Seconds after which this ``fit`` starts no new trial.
    cv : int, cross-validation splitter or None, default=None
        None: one stratified holdout split (``holdout``). An int or a
        splitter: every trial is scored on the mean over the folds.
    holdout : float or int, default=0.2
        Share (or count) of the rows held out, stratified, to score trials
        when ``cv`` is None.
    scoring : str, callable or None, default=None
        A scikit-learn scorer (greater is better, e.g. ``"neg_log_loss"``);
        None uses the estimator's ``score`` (accuracy for classifiers).
    sampler : {"tpe", "gp", "random"} or optuna.samplers.BaseSampler, default="tpe"
        ``"tpe"``: Optuna's tree-structured Parzen estimator (with
        ``constant_liar`` for parallel workers). ``"gp"``: Gaussian-process
        Bayesian optimisation, which needs PyTorch (not a dependency of this
        package): without it ``fit`` raises ``ImportError`` before any
        training. ``"random"``: random search. The first ``n_trials // 3``
        trials (3 to 10) are random for the model-based samplers.
    pruning : bool or optuna.pruners.BasePruner, default=True
        True: ``MedianPruner`` (stop a trial whose score at a step is below
        the median of earlier trials at that step; not before 2-5 trials
        finished, never at the first step). A Keras member is judged after
        every epoch of its first split; other estimators (combiners) after
        every split of ``cv``, so with a single holdout split they are
        never pruned. False disables pruning.
    storage : None, str or optuna.storages.BaseStorage, default=None
        None: in memory, a fresh study per ``fit``. A SQLAlchemy URL
        (``"sqlite:///study.db"``, PostgreSQL, ...): a study shared by every
        process using it, built by :func:`study_storage` (heartbeats, so
        that a killed process's running trial is released 30 s after its
        last heartbeat, or after its start if it sent none).
    study_name : str or None, default=None
        The study's name in ``storage``; None: generated in memory, the
        estimator's class name in a database. Resuming a stored study with
        another search space, scoring, estimator class, estimator
        parameters that are not searched (``epochs``, ...; ``verbose``,
        ``n_jobs``, ``callbacks`` and logging folders may change), ``cv``,
        or ``holdout`` and ``random_state`` (without ``cv``) is refused:
        the trials' scores would not compare.
    refit : bool, default=True
        Refit the best parameters on all of ``X`` (``best_estimator_``).
    random_state : int, RandomState or None, default=None
        Seeds the holdout split and the sampler's random trials (drawn from
        the seed and the trial number, so that processes sharing a study
        draw different points). Processes sharing a study must use the same
        value: every trial must be scored on the same rows.
    n_jobs : int, default=1
        Trials run at once, in threads of this process (TensorFlow releases
        the GIL while training). Results then depend on timing. For more
        processes or machines, run several searches on one ``storage``.
    tensorboard_dir : str, os.PathLike or None, default=None
        Log every trial to TensorBoard's HParams dashboard: one run folder
        per trial (``trial_0007``) with its parameters, state, score, epochs
        and per-step scores.
    verbose : int or bool, default=0
        A progress bar over trials when > 0 (or True).

    Attributes
    ----------
    best_params_ : dict
        Parameters of the best complete trial.
    best_score_ : float
        Its score (mean over the splits).
    best_trial_ : optuna.trial.FrozenTrial
    best_index_ : int
        Its row in ``cv_results_``.
    best_estimator_ : estimator
        ``estimator`` with ``best_params_``, fitted on all of ``X``
        (only when ``refit``).
    refit_time_ : float
    cv_results_ : dict of ndarray
        One entry per trial (trials of other processes included), in trial
        order: ``number``, ``state`` ("COMPLETE", "PRUNED", "FAIL"),
        ``params``, ``param_<name>`` (masked where a trial has none),
        ``mean_test_score``, ``std_test_score``, ``split<k>_test_score``
        (NaN unless complete), ``rank_test_score``, ``epochs`` (epochs
        trained, over all splits; 0 for estimators without epochs),
        ``fit_time`` (seconds, all splits), ``worker`` (``host:pid`` of the
        process that ran it).
    study_ : optuna.Study
    n_trials_ : int
        Finished trials in the study.
    n_splits_ : int
    scorer_ : callable
    classes_ : ndarray of shape (n_classes,)
        From ``best_estimator_``.
    n_features_in_ : int
        From ``best_estimator_`` (only when ``refit`` and the estimator has it).

    See Also
    --------
    ensemble.tuning.spaces.default_search_space : Preset spaces of the built-in members.
    ensemble.tuning.study_storage : A study database that several processes share.
    sklearn.model_selection.RandomizedSearchCV : scikit-learn's random search.

    Notes
    -----
    The estimator (and a combiner's members) must have no
    ``checkpoint_dir``: every trial would write to the same folder, and a
    pruned trial's partial fit would be taken for a finished one.

    Examples
    --------
    >>> from optuna.distributions import FloatDistribution, IntDistribution
    >>> from ensemble.tuning import BayesSearchCV
    >>> from members import PlainCNNClassifier
    >>> search = BayesSearchCV(
    ...     PlainCNNClassifier(epochs=5, random_state=0),
    ...     {"learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
    ...      "dense_units": IntDistribution(32, 256, log=True)},
    ...     n_trials=20, storage="sqlite:///tune.db", study_name="plain", random_state=0)

    Any scikit-learn classifier can be searched; three quick trials:

    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BayesSearchCV(LogisticRegression(max_iter=500),
    ...                        {"C": FloatDistribution(1e-2, 1e2, log=True)},
    ...                        n_trials=3, random_state=0)
    >>> sorted(search.fit(X, y).best_params_), search.predict(X[:2]).shape
    (['C'], (2,))
    """

    def __init__(self, estimator, param_distributions, *, n_trials=10, timeout=None, cv=None,
                 holdout=0.2, scoring=None, sampler="tpe", pruning=True, storage=None,
                 study_name=None, refit=True, random_state=None, n_jobs=1, tensorboard_dir=None,
                 verbose=0):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.timeout = timeout
        self.cv = cv
        self.holdout = holdout
        self.scoring = scoring
        self.sampler = sampler
        self.pruning = pruning
        self.storage = storage
        self.study_name = study_name
        self.refit = refit
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.tensorboard_dir = tensorboard_dir
        self.verbose = verbose

    # ------------------------------------------------------------------------- fit
    def fit(self, X, y):
        """Run the missing trials of the study, then refit the best parameters on all data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : object
        """
        self._check_params()
        # Nothing of an earlier fit survives (a refit=False fit must not keep its best_estimator_).
        for name in [name for name in vars(self)
                     if (name.endswith("_") and not name.startswith("_")) or name == "_trials"]:
            delattr(self, name)
        if not (hasattr(X, "shape") or hasattr(X, "iloc")):
            X = np.asarray(X)  # rows are taken by index for every split
        y = np.asarray(y)
        if len(y) != _n_rows(X):
            raise ValueError(f"X has {_n_rows(X)} samples but y has {len(y)}.")
        scorer = check_scoring(self.estimator, scoring=self.scoring)
        seed = seed_from(self.random_state)
        splits = make_splits(X, y, cv=self.cv, holdout=self.holdout,
                             classifier=is_classifier(self.estimator), random_state=seed)

        storage = resolve_storage(self.storage)
        with optuna_quiet():
            study = self._open_study(storage, seed, splits)
            self._run_trials(study, storage, X, y, splits, scorer)
        self._set_results(study, len(splits), scorer)
        if self.refit:
            start = time.perf_counter()
            self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_).fit(X, y)
            self.refit_time_ = time.perf_counter() - start
        return self

    def _open_study(self, storage, seed, splits):
        name = self.study_name
        if name is None and not isinstance(storage, optuna.storages.InMemoryStorage):
            name = type(self.estimator).__name__  # a stable name, so that a rerun resumes
        return open_study(storage, name, make_sampler(self.sampler, self.n_trials, seed),
                          make_pruner(self.pruning, self.n_trials), self._fingerprint(seed, splits))

    def _fingerprint(self, seed, splits=None):
        """What the study must be created with: :func:`._fingerprints.search_fingerprint`."""
        return search_fingerprint(self.param_distributions, self.scoring, self.estimator,
                                  cv=self.cv, holdout=self.holdout, random_state=seed,
                                  splits=splits)


    def _run_trials(self, study, storage, X, y, splits, scorer):
        """The missing trials, by this process (and any other sharing the study)."""
        live_running = running_trials_are_live(storage)
        objective = _Objective(self.estimator, self.param_distributions, X, y, splits, scorer,
                               study=study, n_trials=self.n_trials, live_running=live_running)
        if self.tensorboard_dir is not None:
            from ensemble.tuning._tensorboard import write_experiment

            write_experiment(self.tensorboard_dir, self.param_distributions,
                             _score_name(self.estimator, self.scoring))
        with _TrialProgress(study, self.n_trials, live_running, self.verbose > 0) as progress:
            TrialRunner(study, objective, self.n_trials, timeout=self.timeout, n_jobs=self.n_jobs,
                        live_running=live_running, storage=storage,
                        on_trial_end=self._trial_end_handler(progress)).run()

    def _trial_end_handler(self, progress):
        def on_trial_end(trial):
            if self.tensorboard_dir is not None:
                from ensemble.tuning._tensorboard import write_trial

                write_trial(self.tensorboard_dir, trial)
            progress.update(trial)

        return on_trial_end

    def _set_results(self, study, n_splits, scorer):
        # One snapshot of the study: other processes may add trials while this one reads
        # them, and report() must show the trials the best was chosen from.
        trials = [trial for trial in study.get_trials(deepcopy=True)
                  if not trial.user_attrs.get(SURPLUS_ATTR)]
        self.study_ = study
        self.cv_results_ = results_table(trials, list(self.param_distributions), n_splits)
        self._trials = trials
        complete = [trial for trial in trials if trial.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            raise ValueError(
                f"No trial of study {study.study_name!r} completed ({trial_counts(trials)}); "
                "there are no best parameters. Run more trials or prune less."
            )
        # The best score, the earliest trial among equals (as Optuna's best_trial).
        self.best_trial_ = max(complete, key=lambda trial: (trial.value, -trial.number))
        self.best_params_ = dict(self.best_trial_.params)
        self.best_score_ = float(self.best_trial_.value)
        numbers = self.cv_results_["number"]
        self.best_index_ = int(np.flatnonzero(numbers == self.best_trial_.number)[0])
        self.n_trials_ = sum(trial.state in FINISHED for trial in trials)
        self.n_splits_ = n_splits
        self.scorer_ = scorer

    def _check_params(self):
        """Clear errors for bad settings, before any training."""
        if not (hasattr(self.estimator, "fit") and hasattr(self.estimator, "get_params")):
            raise TypeError(f"estimator must be a scikit-learn estimator, got {self.estimator!r}.")
        check_distributions(self.param_distributions, set(self.estimator.get_params(deep=True)),
                            self.estimator)
        _check_no_checkpoint_dir(self.estimator)
        check_int(self.n_trials, "n_trials", minimum=1)
        check_int(self.n_jobs, "n_jobs", minimum=1)
        if not isinstance(self.verbose, bool):
            check_int(self.verbose, "verbose", minimum=0)
        if self.timeout is not None and not (is_real(self.timeout) and self.timeout > 0):
            raise ValueError(f"timeout must be None or a number > 0, got {self.timeout!r}.")
        if self.cv is None:
            check_holdout(self.holdout)
        check_sampler(self.sampler)
        make_pruner(self.pruning, self.n_trials)
        check_storage(self.storage)
        if self.study_name is not None and not isinstance(self.study_name, str):
            raise TypeError(f"study_name must be None or a str, got {self.study_name!r}.")
        if not isinstance(self.refit, bool):
            raise ValueError(f"refit must be True or False, got {self.refit!r}.")
        if self.tensorboard_dir is not None and not isinstance(self.tensorboard_dir,
                                                               (str, os.PathLike)):
            raise TypeError(f"tensorboard_dir must be None, a str or a path, got "
                            f"{self.tensorboard_dir!r}.")

    # ---------------------------------------------------------------------- report
    def report(self, X, y, *, top=5):
        """The best trials, and the best trial's validation score beside its score on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Data the search never saw (not the data passed to ``fit``).
        y : array-like of shape (n_samples,)
        top : int, default=5
            Trials listed: the best complete ones, then the pruned ones.

        Returns
        -------
        SearchReport
            ``print(report)`` shows two tables; ``.to_dict()`` the numbers.
        """
        self._check_refitted("report")
        trials = self._trials  # as fit left the study: other processes may have gone on
        return SearchReport(
            score_name=_score_name(self.estimator, self.scoring),
            trials=top_trials(trials, top),
            best_trial=self.best_trial_.number,
            validation_score=self.best_score_,
            unseen_score=float(self.score(X, y)),
            n_unseen=len(y),
            counts=trial_counts(trials),
        )

    # ---------------------------------------------------------------- delegation
    @available_if(lambda self: _best_estimator_has(self, "predict"))
    def predict(self, X):
        """``best_estimator_.predict(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples in the layout the searched estimator takes.

        Returns
        -------
        ndarray of shape (n_samples,)
            The predicted class of each sample.
        """
        self._check_refitted("predict")
        return self.best_estimator_.predict(X)

    @available_if(lambda self: _best_estimator_has(self, "predict_proba"))
    def predict_proba(self, X):
        """``best_estimator_.predict_proba(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        self._check_refitted("predict_proba")
        return self.best_estimator_.predict_proba(X)

    def score(self, X, y):
        """The search's score (``scoring``) of ``best_estimator_`` on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)

        Returns
        -------
        float
        """
        self._check_refitted("score")
        return self.scorer_(self.best_estimator_, X, y)

    @property
    def classes_(self):
        """``best_estimator_.classes_``."""
        self._check_refitted("classes_")
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self):
        """``best_estimator_.n_features_in_``."""
        self._check_refitted("n_features_in_")
        return self.best_estimator_.n_features_in_

    def _check_refitted(self, what):
        check_is_fitted(self)
        if not hasattr(self, "best_estimator_"):
            raise AttributeError(
                f"{what} needs the best estimator refitted on all the data; this search was "
                "fitted with refit=False."
            )

    def __sklearn_is_fitted__(self):
        return hasattr(self, "best_params_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags


class _Objective:
    """What Optuna calls for each trial: claim a slot, suggest, fit, score, prune."""

    def __init__(self, estimator, distributions, X, y, splits, scorer, *, study, n_trials,
                 live_running):
        self.estimator = estimator
        self.distributions = distributions
        self.X, self.y, self.splits, self.scorer = X, y, splits, scorer
        # A trial runs only if it is among the first n_trials of the study (see ._slots).
        self.study, self.n_trials, self.live_running = study, n_trials, live_running

    def __call__(self, trial):
        if is_surplus(self.study, trial.number, self.n_trials, self.live_running):
            trial.set_user_attr(SURPLUS_ATTR, True)
            raise SurplusTrial(f"trial {trial.number} is not needed")
        trial.set_user_attr("worker", _worker())
        estimator = clone(self.estimator).set_params(**suggest(trial, self.distributions))
        try:
            result = run_trial(estimator, trial, self.X, self.y, self.splits, self.scorer)
        except Exception as error:
            trial.set_user_attr("error", f"{type(error).__name__}: {' '.join(str(error).split())}")
            raise
        trial.set_user_attr("epochs", int(result.epochs))
        trial.set_user_attr("fit_time", float(result.fit_time))
        trial.set_user_attr("split_scores", [float(score) for score in result.fold_scores])
        if result.pruned_step is not None:
            trial.set_user_attr("pruned_step", int(result.pruned_step))
            raise optuna.TrialPruned(f"pruned after step {result.pruned_step}")
        return float(np.mean(result.fold_scores))


class _TrialProgress:
    """A tqdm bar over the study's finished trials (other processes' included)."""

    def __init__(self, study, n_trials, live_running, enabled):
        self.study = study
        self.n_trials = n_trials
        self.live_running = live_running
        self.enabled = enabled
        self.bar = None
        self._lock = threading.Lock()

    def __enter__(self):
        if self.enabled:
            from tqdm.auto import tqdm

            finished, _ = count_trials(self.study, self.live_running)
            self.bar = tqdm(total=self.n_trials, initial=min(finished, self.n_trials),
                            desc="Trials", unit="trial", leave=False, dynamic_ncols=True)
        return self

    def update(self, trial):
        if self.bar is None:
            return
        with self._lock:
            finished, _ = count_trials(self.study, self.live_running)
            self.bar.n = min(finished, self.n_trials)
            postfix = {"last": f"{trial.number} {trial.state.name.lower()}"}
            try:
                postfix["best"] = f"{self.study.best_value:.4f}"
            except ValueError:  # no complete trial yet
                pass
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.refresh()

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.bar.close()


def _worker():
    """Who runs a trial (``cv_results_["worker"]``): processes sharing a study tell theirs apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _best_estimator_has(search, attr):
    if not getattr(search, "refit", True):
        return False
    estimator = getattr(search, "best_estimator_", search.estimator)
    return hasattr(estimator, attr)


def _score_name(estimator, scoring):
    if isinstance(scoring, str):
        return scoring
    if scoring is None:
        return "accuracy" if is_classifier(estimator) else "score"
    return getattr(scoring, "__name__", "score")


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _check_no_checkpoint_dir(estimator):
    """Refuse a ``checkpoint_dir`` on the estimator or any nested one (a combiner's members)."""
    folders = {name: value for name, value in estimator.get_params(deep=True).items()
               if name.rsplit("__", 1)[-1] == "checkpoint_dir" and value is not None}
    if folders:
        name, folder = next(iter(folders.items()))
        raise ValueError(
            f"estimator parameter {name}={str(folder)!r}: a searched estimator must not "
            "checkpoint, since trials would share one folder (a pruned trial's partial fit "
            "would be taken for a finished one). Set it to None while searching."
        )
