"""PredictionBlender and the rank and geometric-mean averages, on synthetic probabilities."""

import json

import numpy as np
import pytest
from sklearn.base import clone

from ensemble import PredictionBlender
from ensemble.combiners.averaging import geometric_blend, rank_blend
from ensemble.combiners.weights import log_loss_weights
from ensemble.evaluation import metrics
from helpers import synthetic_predictions

METHODS = ["log_loss", "caruana", "equal", "rank", "geomean", "stacking"]


@pytest.fixture(scope="module")
def data():
    return synthetic_predictions()


@pytest.mark.parametrize("method", METHODS)
def test_every_method_predicts_rows_summing_to_one_and_survives_json(data, method):
    y, oof, test = data
    blender = PredictionBlender(method).fit(oof, y)
    proba = blender.predict_proba(test)
    assert proba.shape == (100, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba >= 0)
    restored = PredictionBlender.from_dict(json.loads(json.dumps(blender.to_dict())))
    np.testing.assert_allclose(restored.predict_proba(test), proba, rtol=1e-12)
    np.testing.assert_array_equal(restored.predict(test), blender.predict(test))


def test_log_loss_weights_are_the_shared_solvers_and_beat_the_best_model(data):
    y, oof, _ = data
    blender = PredictionBlender().fit(oof, y)
    # Equal up to float rounding (a weight of 0 may come out as 2e-17 on one path).
    np.testing.assert_allclose(blender.weights_, log_loss_weights(list(oof.values()), y),
                               atol=1e-12)
    best = min(scores["log_loss"] for scores in blender.model_scores_.values())
    assert blender.cv_scores_["log_loss"] < best
    assert blender.weights_[0] > blender.weights_[2]  # the surest model counts most


def test_the_blend_is_scored_on_rows_its_weights_never_saw(data):
    y, oof, _ = data
    blender = PredictionBlender("stacking").fit(oof, y)
    stack = np.stack(list(oof.values()))
    in_sample = metrics.log_loss(y, blender.predict_proba(oof), blender.classes_)
    # The logistic regression fits its own rows better than held-out ones.
    assert blender.cv_scores_["log_loss"] > in_sample
    assert blender.oof_blend_.shape == stack.shape[1:]
    assert blender.cv_scores_["log_loss"] == pytest.approx(
        metrics.log_loss(y, blender.oof_blend_, blender.classes_))


def test_correlation_is_one_for_a_copied_model_and_below_for_others(data):
    y, oof, _ = data
    blender = PredictionBlender("equal").fit(dict(oof, copy=oof["model0"]), y)
    corr = blender.correlation_
    assert corr.shape == (4, 4)
    assert corr[0, 3] == pytest.approx(1.0) and corr[0, 1] < 0.9


def test_labels_and_classes_may_be_strings(data):
    y, oof, test = data
    names = np.array(["boot", "coat", "dress", "shirt"])
    blender = PredictionBlender().fit(oof, names[y])
    assert blender.classes_.tolist() == names.tolist()
    np.testing.assert_array_equal(blender.predict(test),
                                  names[PredictionBlender().fit(oof, y).predict(test)])


class FakeFrame:
    """What the blender uses of a DataFrame (pandas' or any other library's)."""

    def __init__(self, values, columns):
        self.values, self.columns = np.asarray(values), list(columns)

    def to_numpy(self):
        return self.values


def test_dataframe_columns_name_the_classes_in_any_order(data):
    y, oof, test = data
    order = [2, 0, 3, 1]
    frames = {name: FakeFrame(p[:, order], [str(k) for k in order]) for name, p in oof.items()}
    blender = PredictionBlender().fit(frames, y, classes=np.arange(4))
    np.testing.assert_allclose(blender.weights_, PredictionBlender().fit(oof, y).weights_)


def test_it_clones_and_has_params():
    blender = PredictionBlender("caruana", rounds=10, cv=3, random_state=1)
    assert clone(blender).get_params() == {"method": "caruana", "rounds": 10, "cv": 3,
                                           "random_state": 1, "fallback": "best_model"}


def test_geometric_blend_is_the_renormalised_weighted_geometric_mean():
    a = np.array([[0.5, 0.5], [0.9, 0.1]])
    b = np.array([[0.2, 0.8], [0.6, 0.4]])
    expected = np.sqrt(a * b) / np.sqrt(a * b).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(geometric_blend([a, b], [1, 1]), expected)
    np.testing.assert_allclose(geometric_blend([a, b], [1, 0]), a)


def test_rank_blend_depends_only_on_the_order_of_each_models_probabilities():
    rng = np.random.default_rng(0)
    a, b = rng.dirichlet(np.ones(3), size=(2, 20))
    squashed = a ** 3 / (a ** 3).sum(axis=1, keepdims=True)  # another scale, mostly same order
    ranked = rank_blend([a, b], [0.5, 0.5])
    np.testing.assert_allclose(ranked.sum(axis=1), 1.0)
    column_order = np.argsort(a, axis=0)
    same_order = np.all(np.argsort(squashed, axis=0) == column_order)
    assert same_order == np.allclose(rank_blend([squashed, b], [0.5, 0.5]), ranked)


@pytest.mark.parametrize("call, error, message", [
    (lambda y, oof: PredictionBlender("median").fit(oof, y), ValueError, "method must be one of"),
    (lambda y, oof: PredictionBlender(cv=1).fit(oof, y), ValueError, "cv must be an int >= 2"),
    (lambda y, oof: PredictionBlender().fit(list(oof.values()), y), TypeError,
     "must be a non-empty dict"),
    (lambda y, oof: PredictionBlender().fit(oof, y[:-1]), ValueError, "y has 299 labels"),
    (lambda y, oof: PredictionBlender().fit({k: v[:1] for k, v in oof.items()}, y[:1],
                                            classes=np.arange(4)),
     ValueError, "at least 2 OOF rows"),
    (lambda y, oof: PredictionBlender().fit(dict(oof, bad=oof["model0"] * 2), y), ValueError,
     "model 'bad', row 0"),
    (lambda y, oof: PredictionBlender().fit(oof, y).predict_proba({"model0": oof["model0"]}),
     ValueError, r"missing \['model1', 'model2'\]"),
    (lambda y, oof: PredictionBlender.from_dict({"format": "other"}), ValueError,
     "not a saved blend"),
], ids=["method", "cv", "not-a-dict", "y-length", "one-row", "above-one", "missing-model",
        "not-a-blend"])
def test_bad_input_is_refused(data, call, error, message):
    y, oof, _ = data
    with pytest.raises(error, match=message):
        call(y, oof)


def test_a_blend_that_cross_validates_worse_than_the_best_model_falls_back_to_it():
    y, oof, test = synthetic_predictions(strengths=(4.0, 0.2, 0.1))
    blender = PredictionBlender("equal").fit(oof, y)
    assert blender.fallback_ == "model0"
    assert blender.model_scores_["model0"]["log_loss"] < blender.cv_scores_["log_loss"]
    np.testing.assert_allclose(blender.predict_proba(test), test["model0"])
    restored = PredictionBlender.from_dict(json.loads(json.dumps(blender.to_dict())))
    assert restored.fallback_ == "model0"
    np.testing.assert_allclose(restored.predict_proba(test), test["model0"])
    # The comparison says by how much the blend loses, with its interval.
    assert blender.comparison_["log_loss"]["gain"] < 0
    assert blender.comparison_["log_loss"]["verdict"] == "worse"
    kept = PredictionBlender("equal", fallback=None).fit(oof, y)
    assert kept.fallback_ is None
    assert not np.allclose(kept.predict_proba(test), test["model0"])


def test_a_blend_that_helps_keeps_the_blend(data):
    y, oof, _ = data
    blender = PredictionBlender().fit(oof, y)
    assert blender.fallback_ is None
    assert blender.comparison_["log_loss"]["gain"] > 0


def test_a_saved_blend_naming_an_unknown_fallback_is_refused(data):
    y, oof, _ = data
    saved = PredictionBlender().fit(oof, y).to_dict()
    saved["fallback"] = "elsewhere"
    with pytest.raises(ValueError, match="its fallback 'elsewhere' is not one of its models"):
        PredictionBlender.from_dict(saved)
