"""The Python API on images that are not Fashion-MNIST: 8x8 digits and 32x32 colour images.

Default members (one epoch) and both combiners (over two small members: the
members' defaults are covered on their own) fit, predict, and come back
from an archive predicting the same, with their class names.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from ensemble import StackingEnsemble, WeightedAverageEnsemble, load, save
from helpers import TINY_TRAINING, tiny_plain
from members import PlainCNNClassifier, ResidualNetClassifier, SeparableCNNClassifier

MEMBERS = {"plain": PlainCNNClassifier, "separable": SeparableCNNClassifier,
           "residual": ResidualNetClassifier}
COMBINERS = {"weighted": WeightedAverageEnsemble, "stacking": StackingEnsemble}


def digits():
    """scikit-learn's 8x8 digits (values 0..16) as grey uint8 images, 200 of them."""
    data = load_digits()
    X = np.round(data.images[:200] * (255 / 16)).astype(np.uint8)[..., None]
    return X, data.target[:200]


def colour_images():
    """120 random 32x32 RGB images whose class (a name) is their brightest channel."""
    rng = np.random.default_rng(0)
    index = np.arange(120) % 3
    X = rng.integers(0, 100, size=(120, 32, 32, 3))
    X[np.arange(120), :, :, index] += 150
    return X.astype(np.uint8), np.array(["red", "green", "blue"])[index]


DATA = {"digits-8x8": digits, "colour-32x32x3": colour_images}


def assert_round_trip(model, X, path):
    model.class_names_ = tuple(f"class {label}" for label in model.classes_)
    save(model, path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.class_names_ == model.class_names_
    np.testing.assert_array_equal(loaded.classes_, model.classes_)


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("name", sorted(MEMBERS))
def test_default_members_fit_predict_and_come_back_from_an_archive(name, data, tmp_path):
    X, y = DATA[data]()
    member = MEMBERS[name](epochs=1, random_state=0).fit(X, y)
    assert member.input_shape_ == X.shape[1:]
    predicted = member.predict(X[:10])
    assert set(predicted) <= set(y)
    assert_round_trip(member, X[:20], tmp_path / "member.zip")


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("name", sorted(COMBINERS))
def test_both_combiners_fit_predict_and_come_back_from_an_archive(name, data, tmp_path):
    X, y = DATA[data]()
    small = dict(TINY_TRAINING, epochs=2)
    ensemble = COMBINERS[name]([("plain", tiny_plain(**small)),
                                ("separable", SeparableCNNClassifier(stem_filters=4, filters=(8,),
                                                                     **small))],
                               random_state=0).fit(X, y)
    np.testing.assert_array_equal(ensemble.classes_, np.unique(y))
    proba = ensemble.predict_proba(X[:10])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert_round_trip(ensemble, X[:20], tmp_path / "ensemble.zip")


def test_an_ensemble_seeded_once_fits_the_same_way_twice():
    """Members without a seed of their own get one from the ensemble's random_state."""
    X, y = digits()

    def fitted():
        member = tiny_plain(epochs=1, random_state=None)
        return WeightedAverageEnsemble([("plain", member)], random_state=3).fit(X[:80], y[:80])

    first, second = fitted(), fitted()
    np.testing.assert_array_equal(first.predict_proba(X[80:100]), second.predict_proba(X[80:100]))
    assert first.members[0][1].random_state is None  # the parameter is left alone
    assert isinstance(first.members_[0].random_state, int)
