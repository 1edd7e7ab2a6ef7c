"""Small estimators and settings the ensemble.tuning tests search."""

import time

import numpy as np
from optuna.distributions import FloatDistribution
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import RidgeClassifier
from sklearn.naive_bayes import GaussianNB

from helpers import build_tiny_mlp
from members import KerasMemberClassifier

#: A tiny perceptron trained with SGD: learning rate 0.01 learns the tiny images
#: in a few epochs, 3.0 diverges to chance level (the "bad region" of a space).
TINY_SGD = dict(pixel_scale="auto", epochs=4, batch_size=32, optimizer="sgd",
                validation_fraction=0.0, early_stopping_patience=None, reduce_lr_patience=None,
                random_state=0)
GOOD_LR, BAD_LR = 0.01, 3.0


def tiny_member(**params):
    return KerasMemberClassifier(build_tiny_mlp, **dict(TINY_SGD, **params))


class SlowClassifier(ClassifierMixin, BaseEstimator):
    """A ridge classifier (alpha = 1 / C) taking ``delay`` seconds to fit: trials that overlap."""

    def __init__(self, C=1.0, delay=0.0):
        self.C = C
        self.delay = delay

    def fit(self, X, y):
        time.sleep(self.delay)
        self.model_ = RidgeClassifier(alpha=1 / self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


class NoisyClassifier(ClassifierMixin, BaseEstimator):
    """Naive Bayes whose predictions are replaced by random labels at rate ``noise``."""

    def __init__(self, noise=0.0):
        self.noise = noise

    def fit(self, X, y):
        if not 0 <= self.noise <= 1:
            raise ValueError(f"noise must be in [0, 1], got {self.noise}")
        self.model_ = GaussianNB().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        rng = np.random.RandomState(0)
        labels = self.model_.predict(X)
        noisy = rng.rand(len(labels)) < self.noise
        labels[noisy] = rng.choice(self.classes_, noisy.sum())
        return labels


C_SPACE = {"C": FloatDistribution(1e-3, 1e2, log=True)}
