"""Members inside scikit-learn's tools: clone, Pipeline, search, CV, pickling.

Seeds across fresh processes: tests/test_determinism.py.
"""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from helpers import tiny_members, tiny_plain


def test_clone_keeps_every_fit_setting():
    original = tiny_plain(epochs=7, learning_rate=0.003, early_stopping_patience=None,
                          class_weight="balanced", checkpoint_dir="somewhere")
    cloned = clone(original)
    assert cloned.get_params() == original.get_params()
    assert cloned.set_params(epochs=2).epochs == 2 and original.epochs == 7


@pytest.mark.parametrize("member", tiny_members(), ids=lambda m: type(m).__name__)
def test_pickle_and_joblib_round_trips_give_identical_probabilities(member, tiny_images, tmp_path):
    X, y = tiny_images
    member.set_params(epochs=2).fit(X, y)
    expected = member.predict_proba(X)
    restored = pickle.loads(pickle.dumps(member))
    np.testing.assert_array_equal(restored.predict_proba(X), expected)
    joblib.dump(member, tmp_path / "member.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "member.joblib").predict_proba(X),
                                  expected)
    np.testing.assert_array_equal(restored.classes_, member.classes_)
    assert restored.history_ == member.history_


def test_pipeline_and_cross_val_score(tiny_images):
    X, y = tiny_images
    flatten = FunctionTransformer(lambda images: images.reshape(len(images), -1))
    pipeline = make_pipeline(flatten, tiny_plain(epochs=4))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.shape == (3,)
    assert scores.mean() > 0.4  # four balanced classes: chance is 0.25


def test_grid_search_with_two_processes(tiny_images):
    X, y = tiny_images
    search = GridSearchCV(
        tiny_plain(), {"epochs": [1, 3]}, cv=2, n_jobs=2
    ).fit(X.reshape(len(X), -1), y)
    assert len(search.cv_results_["params"]) == 2
    assert search.best_estimator_.epochs == search.best_params_["epochs"]
    assert len(search.best_estimator_.history_["epoch"]) <= search.best_params_["epochs"]


@pytest.mark.slow
def test_repeated_fits_do_not_accumulate_keras_state(tiny_images):
    import keras

    X, y = tiny_images
    for _ in range(3):
        tiny_plain(epochs=1).fit(X, y)
    # clear_session resets Keras's name counters: a new layer gets a fresh name.
    tiny_plain(epochs=1).fit(X, y)
    assert keras.layers.Dense(2).name == "dense"
