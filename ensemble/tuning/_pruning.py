"""Pruning from inside a member's epoch loop: a Keras callback that reports to an Optuna trial.

Imported only when the searched estimator is a Keras member, so searches of
other estimators never import TensorFlow.
"""

import keras
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from members.utils.inputs import flatten_images
from members.utils.prediction import predict_in_batches


class EpochScoreReporter(keras.callbacks.Callback):
    """Score the network on the search's validation rows every epoch; stop it when pruned.

    The value reported to the trial is the search's own score (``scoring``)
    on the search's validation split, not the member's ``val_loss``: the
    pruner then compares trials on the very number they are ranked by, and
    pruning works whatever the member's ``validation_fraction`` is (0
    leaves no ``val_loss``). A pruned fit stops through
    ``model.stop_training``, as Keras callbacks should; the search turns
    :attr:`pruned_epoch` into ``optuna.TrialPruned`` after ``fit`` returns.

    Members train on deep copies of their callbacks, so this callback
    returns itself from ``copy.deepcopy``: the copy a fit uses is this very
    object, with the trial it reports to and the :attr:`pruned_epoch` the
    search reads afterwards. One reporter serves one fit of one trial.

    Parameters
    ----------
    trial : optuna.trial.Trial
    scorer : callable
        ``scorer(estimator, X, y) -> float``, greater is better.
    X_valid : array-like of shape (n_valid, ...)
        The search's validation rows, as the member receives them.
    y_valid : array-like of shape (n_valid,)
    classes : ndarray of shape (n_classes,)
        The labels of the rows the member trains on, sorted: the order of
        the network's outputs.

    Attributes
    ----------
    scores : list of float
        The score after each finished epoch.
    pruned_epoch : int or None
        The epoch (from 0) after which the trial was pruned.
    """

    def __init__(self, trial, scorer, X_valid, y_valid, classes):
        super().__init__()
        self.trial = trial
        self.scorer = scorer
        self.X_valid = X_valid
        self.y_valid = y_valid
        self.classes = classes
        self.scores = []
        self.pruned_epoch = None

    def __deepcopy__(self, memo):
        return self

    def on_train_begin(self, logs=None):
        self.scores = []
        self.pruned_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        network = NetworkAsClassifier(self.model, self.classes)
        # A diverged network (NaN outputs) scores NaN, which the pruners
        # prune, instead of failing the trial inside a metric.
        diverged = not np.isfinite(network.predict_proba(self.X_valid)).all()
        score = float("nan") if diverged else float(self.scorer(network, self.X_valid,
                                                                self.y_valid))
        self.scores.append(score)
        self.trial.report(score, step=epoch)
        if self.trial.should_prune():
            self.pruned_epoch = epoch
            self.model.stop_training = True


class NetworkAsClassifier(ClassifierMixin, BaseEstimator):
    """A network in the middle of training, seen as a fitted classifier by scikit-learn scorers.

    A member's network takes flat raw rows and outputs one probability per
    entry of ``classes`` (sorted labels), so the member's own prediction
    path applies unchanged.
    """

    def __init__(self, model, classes):
        self.model = model
        self.classes = classes
        self._last = None  # (X, proba): the reporter and its scorer ask for the same rows

    @property
    def classes_(self):
        return self.classes

    def __sklearn_is_fitted__(self):
        return True

    def predict_proba(self, X):
        if self._last is None or self._last[0] is not X:
            rows, _ = flatten_images(X)
            proba = np.asarray(predict_in_batches(self.model, np.asarray(rows)), dtype=np.float64)
            self._last = (X, proba / proba.sum(axis=1, keepdims=True))
        return self._last[1]

    def predict(self, X):
        return self.classes[np.argmax(self.predict_proba(X), axis=1)]


def attach_reporter(member, trial, scorer, X_valid, y_valid, classes):
    """Add an :class:`EpochScoreReporter` after ``member``'s own callbacks; return it."""
    reporter = EpochScoreReporter(trial, scorer, X_valid, y_valid, classes)
    own = member.get_params()["callbacks"]
    own = [] if own is None else [own] if isinstance(own, keras.callbacks.Callback) else list(own)
    member.set_params(callbacks=own + [reporter])
    return reporter
