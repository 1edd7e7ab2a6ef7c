"""Members inside scikit-learn's tools: clone, Pipeline, search, CV, pickling, seeds."""

import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from conftest import tiny_members, tiny_plain


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
    np.testing.assert_array_equal(joblib.load(tmp_path / "member.joblib").predict_proba(X), expected)
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


#: Each configuration fitted in one child process, which prints one digest per line:
#: a TensorFlow start-up per process, not per configuration.
DETERMINISM_SCRIPT = textwrap.dedent("""
    import hashlib, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    from members import PlainCNNClassifier, ResidualNetClassifier
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(3), 40)
    X = rng.randint(0, 256, size=(120, 8, 8, 1)).astype("uint8")
    X[y == 1, :4] //= 2
    for cls, params in {configurations!r}:
        clf = eval(cls)(**params, epochs=3, batch_size=16, validation_fraction=0.25,
                        random_state={seed})
        proba = clf.fit(X, y).predict_proba(X)
        print(cls, hashlib.sha256(proba.tobytes()).hexdigest())
""")

DETERMINISM_CONFIGURATIONS = [
    ("PlainCNNClassifier", dict(filters=(4,), dense_units=8, dropout=0.5)),
    ("ResidualNetClassifier", dict(stem_filters=4, filters=(4, 8), dropout=0.5)),
    ("PlainCNNClassifier", dict(filters=(4,), dense_units=8, random_shift=0.25,
                                horizontal_flip=True, label_smoothing=0.1, tta="flip+shift")),
]


def _digests(seed):
    script = DETERMINISM_SCRIPT.format(configurations=DETERMINISM_CONFIGURATIONS, seed=seed)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    names = {cls for cls, _ in DETERMINISM_CONFIGURATIONS}
    return [line for line in out.splitlines() if line.split(" ")[0] in names]


@pytest.mark.slow
def test_same_seed_same_probabilities_in_fresh_processes():
    """Plain, residual and an augmented member (shifts, flips, label smoothing, TTA)."""
    first, second = _digests(7), _digests(7)
    assert len(first) == len(DETERMINISM_CONFIGURATIONS)
    assert first == second
    # The seed really drives the result, for every configuration.
    other_seed = _digests(8)
    assert all(a != b for a, b in zip(first, other_seed))


@pytest.mark.slow
def test_repeated_fits_do_not_accumulate_keras_state(tiny_images):
    import keras

    X, y = tiny_images
    for _ in range(3):
        tiny_plain(epochs=1).fit(X, y)
    # clear_session resets Keras's name counters: a new layer gets a fresh name.
    tiny_plain(epochs=1).fit(X, y)
    assert keras.layers.Dense(2).name == "dense"
