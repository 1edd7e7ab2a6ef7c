"""One trial of a search: suggest parameters, fit on each split, score, report, prune."""

import time
from dataclasses import dataclass, field

import numpy as np
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from sklearn.base import clone
from sklearn.model_selection import check_cv, train_test_split

from members.utils.inputs import flatten_images
from members.utils.kinds import is_keras_member


@dataclass
class TrialResult:
    """What one trial's fits gave.

    Attributes
    ----------
    fold_scores : list of float
        Score on the validation rows of each split that finished.
    epochs : int
        Training epochs over all its fits (0 for estimators that are not
        Keras networks).
    fit_time : float
        Seconds spent fitting and scoring.
    pruned_step : int or None
        The step (epoch of the first split for a member, split otherwise)
        after which the pruner stopped the trial.
    """

    fold_scores: list = field(default_factory=list)
    epochs: int = 0
    fit_time: float = 0.0
    pruned_step: int = None


def suggest(trial, distributions):
    """The trial's values for every parameter of the search space."""
    return {name: _suggest_one(trial, name, distribution)
            for name, distribution in distributions.items()}


def _suggest_one(trial, name, distribution):
    if isinstance(distribution, FloatDistribution):
        return trial.suggest_float(name, distribution.low, distribution.high,
                                   step=distribution.step, log=distribution.log)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(name, distribution.low, distribution.high,
                                 step=distribution.step, log=distribution.log)
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    raise TypeError(f"Unsupported distribution for {name!r}: {distribution!r}.")


def make_splits(X, y, *, cv, holdout, classifier, random_state):
    """``[(train_rows, valid_rows), ...]``: one stratified holdout split, or ``cv``'s folds.

    Every trial is scored on these same rows, so that their scores compare.
    """
    X_rows, _ = flatten_images(X)
    if cv is None:
        try:
            train, valid = train_test_split(np.arange(len(y)), test_size=holdout,
                                            stratify=y if classifier else None,
                                            random_state=random_state)
        except ValueError as error:
            raise ValueError(
                f"holdout={holdout!r} cannot hold out a stratified validation set from "
                f"{len(y)} samples ({error}). Use a larger holdout, more data, or cv=k."
            ) from None
        return [(train, valid)]
    return list(check_cv(cv, y, classifier=classifier).split(X_rows, y))


def take_rows(X, rows):
    """Rows of an array or DataFrame, keeping images N-d."""
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def epochs_trained(fitted):
    """Epochs of the networks in a fitted member or combiner; 0 for other estimators."""
    history = getattr(fitted, "history_", None)
    if isinstance(history, dict):
        return len(history.get("epoch", history.get("loss", [])))
    return sum(epochs_trained(member) for member in getattr(fitted, "members_", []) or [])


def run_trial(estimator, trial, X, y, splits, scorer):
    """Fit and score ``estimator`` on every split, reporting to ``trial`` as it goes.

    A Keras member reports its score on the first split's validation rows
    after every epoch (see :class:`~ensemble.tuning._pruning.EpochScoreReporter`);
    any other estimator (a combiner, a scikit-learn model) reports the mean
    score of the splits done after each split. Either way the trial's pruner
    may stop it; the remaining splits are then skipped.

    Returns
    -------
    TrialResult
    """
    result = TrialResult()
    start = time.perf_counter()
    member = is_keras_member(estimator)
    for fold, (train, valid) in enumerate(splits):
        X_train, y_train = take_rows(X, train), y[train]
        X_valid, y_valid = take_rows(X, valid), y[valid]
        model = clone(estimator)
        reporter = None
        if member and fold == 0:
            from ensemble.tuning._pruning import attach_reporter

            reporter = attach_reporter(model, trial, scorer, X_valid, y_valid, np.unique(y_train))
        model.fit(X_train, y_train)
        result.epochs += epochs_trained(model)
        if reporter is not None and reporter.pruned_epoch is not None:
            result.pruned_step = reporter.pruned_epoch
            break
        result.fold_scores.append(float(scorer(model, X_valid, y_valid)))
        if not member:
            trial.report(float(np.mean(result.fold_scores)), step=fold)
            if trial.should_prune():
                result.pruned_step = fold
                break
    result.fit_time = time.perf_counter() - start
    return result
