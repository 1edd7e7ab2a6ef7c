"""Temperature scaling of the blend (ensemble.combiners.calibration, the ``calibration`` option)."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from ensemble import StackingEnsemble, WeightedAverageEnsemble, load, save
from ensemble.combiners.calibration import apply_temperature, fit_temperature
from ensemble.evaluation import metrics


class OverConfident(ClassifierMixin, BaseEstimator):
    """A logistic regression whose probabilities are sharpened to the power ``sharpness``."""

    def __init__(self, sharpness=4.0):
        self.sharpness = sharpness

    def fit(self, X, y):
        self.model_ = LogisticRegression(max_iter=500).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        proba = self.model_.predict_proba(X) ** self.sharpness
        return proba / proba.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def noisy():
    X, y = make_classification(n_samples=1200, n_features=8, n_informative=4, n_classes=3,
                               flip_y=0.15, random_state=0)
    return X[:800], y[:800], X[800:], y[800:]


def test_temperature_one_changes_nothing_and_scaling_keeps_the_ranking():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    np.testing.assert_array_equal(apply_temperature(proba, 1.0), proba)
    sharper = apply_temperature(proba, 0.5)
    np.testing.assert_allclose(sharper.sum(axis=1), 1.0)
    assert (sharper.argmax(axis=1) == proba.argmax(axis=1)).all()
    assert sharper.max() > proba.max()


def test_fit_temperature_recovers_the_sharpening():
    rng = np.random.RandomState(0)
    logits = rng.normal(size=(5000, 4)) * 2
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(4, p=row) for row in true])
    over = apply_temperature(true, 1 / 3)  # three times too confident
    assert fit_temperature(over, y) == pytest.approx(3.0, rel=0.1)


def test_the_temperature_lowers_the_blend_log_loss_of_an_over_confident_member(noisy):
    X, y, X_test, y_test = noisy
    members = [("sharp", OverConfident()), ("bayes", GaussianNB())]
    raw = WeightedAverageEnsemble(members, calibration=None, holdout=0.3, random_state=0).fit(X, y)
    scaled = WeightedAverageEnsemble(members, calibration="temperature", holdout=0.3,
                                     random_state=0).fit(X, y)
    assert raw.temperature_ == 1.0
    assert scaled.temperature_ > 1.2  # softens the over-confident blend
    np.testing.assert_array_equal(scaled.weights_, raw.weights_)  # learned after the weights
    before = metrics.log_loss(y_test, raw.predict_proba(X_test), raw.classes_)
    after = metrics.log_loss(y_test, scaled.predict_proba(X_test), scaled.classes_)
    assert after < before - 0.02
    np.testing.assert_array_equal(scaled.predict(X_test), raw.predict(X_test))


def test_from_blend_and_stacking_learn_their_own_temperature(noisy):
    X, y, _, _ = noisy
    members = [("sharp", OverConfident()), ("bayes", GaussianNB())]
    fitted = WeightedAverageEnsemble(members, calibration=None, holdout=0.3,
                                     random_state=0).fit(X, y)
    assert WeightedAverageEnsemble.from_blend(fitted).temperature_ == 1.0  # off by default
    assert WeightedAverageEnsemble.from_blend(
        fitted, calibration="temperature").temperature_ > 1.2
    stacked = StackingEnsemble.from_blend(fitted, calibration="temperature")
    assert 0.05 <= stacked.temperature_ <= 20


def test_the_temperature_survives_save_and_load(noisy, tmp_path):
    from helpers import TINY_TRAINING, build_tiny_mlp
    from members import KerasMemberClassifier

    X, y, X_test, _ = noisy
    members = [("a", KerasMemberClassifier(build_tiny_mlp, **TINY_TRAINING)),
               ("b", KerasMemberClassifier(build_tiny_mlp, **dict(TINY_TRAINING, random_state=1)))]
    fitted = WeightedAverageEnsemble(members, calibration="temperature", holdout=0.3,
                                     random_state=0).fit(X, y)
    save(fitted, tmp_path / "blend.zip")
    loaded = load(tmp_path / "blend.zip")
    assert loaded.temperature_ == fitted.temperature_
    np.testing.assert_allclose(loaded.predict_proba(X_test), fitted.predict_proba(X_test),
                               atol=1e-12)
