"""Fixtures of the ensemble.tuning tests: data, and one small search several files inspect."""

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from sklearn.datasets import make_classification

from ensemble.tuning import BayesSearchCV
from helpers import shuffled_split
from helpers.tuning import tiny_member


@pytest.fixture(scope="session")
def tabular():
    return make_classification(300, n_features=8, n_informative=4, n_classes=3, random_state=0)


@pytest.fixture(scope="session")
def images(tiny_images):
    """The tiny images shuffled (they come sorted by class), and 40 rows the searches never see."""
    X, y = tiny_images
    return shuffled_split(X, y, n_train=160, seed=0)


@pytest.fixture(scope="session")
def member_search(images):
    X, y, _, _ = images
    space = {"learning_rate": FloatDistribution(1e-3, 1e-1, log=True),
             "batch_size": CategoricalDistribution([16, 32])}
    return BayesSearchCV(tiny_member(epochs=2), space, n_trials=4, random_state=0).fit(X, y)
