"""The combiners: where blending data comes from, learned weights, stacking, sklearn tools."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ensemble import StackingEnsemble, WeightedAverageEnsemble
from ensemble.combiners import averaging
from ensemble.combiners import weights as blend_weights
from ensemble.evaluation import metrics
from helpers import TINY_TRAINING, build_tiny_mlp, tiny_plain
from members import KerasMemberClassifier


class RecordingLogisticRegression(LogisticRegression):
    """Remembers the first feature (a row id) of every row it was fitted on."""

    def fit(self, X, y):
        self.fitted_row_ids_ = np.asarray(X)[:, 0].copy()
        return super().fit(X, y)


@pytest.fixture(scope="module")
def tabular():
    X, y = make_classification(n_samples=400, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    return X, y


def fast_members():
    """Cheap scikit-learn members: the combiners accept any probabilistic classifier."""
    return [("logistic", LogisticRegression(max_iter=500)), ("bayes", GaussianNB())]


COMBINERS = [WeightedAverageEnsemble, StackingEnsemble]


# ------------------------------------------------------------------ blending data
@pytest.mark.parametrize("combiner", COMBINERS)
def test_members_never_train_on_the_blending_rows(combiner, tabular):
    X, y = tabular
    X = np.column_stack([np.arange(len(X)), X])  # row ids in column 0
    members = [("a", RecordingLogisticRegression(max_iter=500)), ("b", GaussianNB())]
    ensemble = combiner(members, holdout=0.25, random_state=0).fit(X, y)
    blend_ids = set(np.flatnonzero(np.isin(np.arange(len(X)),
                                           ensemble.named_members_.a.fitted_row_ids_,
                                           invert=True)))
    assert len(blend_ids) == 100
    assert ensemble.blend_predictions_.shape == (2, 100, 3)
    assert not blend_ids & set(ensemble.named_members_.a.fitted_row_ids_.astype(int))


def test_holdout_count_and_explicit_validation_data(tabular):
    X, y = tabular
    by_count = WeightedAverageEnsemble(fast_members(), holdout=40, random_state=0).fit(X, y)
    assert by_count.blend_predictions_.shape[1] == 40
    explicit = WeightedAverageEnsemble(fast_members()).fit(X[:300], y[:300],
                                                           validation_data=(X[300:], y[300:]))
    np.testing.assert_array_equal(explicit.blend_targets_, y[300:])
    np.testing.assert_allclose(explicit.blend_predictions_[0],
                               explicit.members_[0].predict_proba(X[300:]))


def test_out_of_fold_predictions_cover_every_row_once(tabular):
    X, y = tabular
    ensemble = StackingEnsemble(fast_members(), cv=4).fit(X, y)
    assert ensemble.blend_predictions_.shape == (2, len(y), 3)
    np.testing.assert_array_equal(ensemble.blend_targets_, y)
    np.testing.assert_allclose(ensemble.blend_predictions_.sum(axis=2), 1.0)
    assert ensemble.network_fits_ == 2 * (4 + 1)


def test_a_class_missing_from_a_fold_still_aligns_with_classes(tabular):
    X, y = tabular
    # Each fold's test rows are one class, so each fold's members never saw it.
    folds = [(np.flatnonzero(y != label), np.flatnonzero(y == label)) for label in range(3)]
    ensemble = WeightedAverageEnsemble(fast_members(), cv=folds).fit(X, y)
    for label in range(3):
        rows = y == label
        assert np.all(ensemble.blend_predictions_[:, rows, label] == 0)
    np.testing.assert_allclose(ensemble.blend_predictions_.sum(axis=2), 1.0)
    np.testing.assert_array_equal(ensemble.classes_, [0, 1, 2])


def test_prefit_members_are_used_as_they_are(tabular):
    X, y = tabular
    fitted = [("logistic", LogisticRegression(max_iter=500).fit(X[:300], y[:300])),
              ("bayes", GaussianNB().fit(X[:300], y[:300]))]
    ensemble = WeightedAverageEnsemble(fitted, cv="prefit").fit(X[300:], y[300:])
    assert ensemble.members_[0] is fitted[0][1]
    assert ensemble.network_fits_ == 0
    assert ensemble.blend_predictions_.shape == (2, 100, 3)


def test_prefit_refuses_unfitted_members(tabular):
    from sklearn.exceptions import NotFittedError

    X, y = tabular
    with pytest.raises(NotFittedError, match="cv='prefit' needs fitted members"):
        WeightedAverageEnsemble(fast_members(), cv="prefit").fit(X, y)


# ------------------------------------------------------------------ weighting
@pytest.mark.parametrize("seed", range(3))
def test_log_loss_weights_never_lose_to_best_member_or_equal_weights(seed):
    X, y = make_classification(n_samples=500, n_features=10, n_informative=6, n_classes=4,
                               random_state=seed)
    members = fast_members() + [("shallow", LogisticRegression(C=0.01, max_iter=500))]
    ensemble = WeightedAverageEnsemble(members, weighting="log_loss", holdout=0.3,
                                       random_state=seed).fit(X, y)
    probas, targets = ensemble.blend_predictions_, ensemble.blend_targets_

    def loss(weights):
        return metrics.log_loss(targets, averaging.blend(probas, weights), ensemble.classes_)

    learned = loss(ensemble.weights_)
    assert learned <= loss(blend_weights.equal_weights(3)) + 1e-9
    for member in range(3):
        assert learned <= loss(np.eye(3)[member]) + 1e-9
    assert np.all(ensemble.weights_ >= 0) and ensemble.weights_.sum() == pytest.approx(1)


def test_caruana_weights_are_multiples_of_one_over_rounds(tabular):
    X, y = tabular
    ensemble = WeightedAverageEnsemble(fast_members(), weighting="caruana",
                                       random_state=0).fit(X, y)
    counts = ensemble.weights_ * 25
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    assert ensemble.weights_.sum() == pytest.approx(1)


def test_explicit_and_equal_weights(tabular):
    X, y = tabular
    explicit = WeightedAverageEnsemble(fast_members(), weighting=[3, 1], calibration=None,
                                       random_state=0).fit(X, y)
    np.testing.assert_allclose(explicit.weights_, [0.75, 0.25])
    expected = (0.75 * explicit.members_[0].predict_proba(X)
                + 0.25 * explicit.members_[1].predict_proba(X))
    np.testing.assert_allclose(explicit.predict_proba(X), expected)
    equal = WeightedAverageEnsemble.from_blend(explicit, weighting="equal")
    np.testing.assert_allclose(equal.weights_, [0.5, 0.5])


class FitCounter:
    """Counts member fits through a Keras callback that appends to a file."""

    def __init__(self, path):
        self.path = path

    def callback(self):
        import keras

        path = self.path

        class CountFits(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                with open(path, "a") as file:
                    file.write("fit\n")

        return CountFits()

    @property
    def count(self):
        return len(self.path.read_text().split()) if self.path.exists() else 0


def counted_members(counter):
    return [
        ("mlp", KerasMemberClassifier(build_tiny_mlp, callbacks=[counter.callback()],
                                      **dict(TINY_TRAINING, epochs=2))),
        ("plain", tiny_plain(epochs=2, callbacks=[counter.callback()])),
    ]


def test_switching_combiner_from_kept_predictions_trains_no_network(tiny_images, tmp_path):
    X, y = tiny_images
    counter = FitCounter(tmp_path / "fits.txt")
    learned = WeightedAverageEnsemble(counted_members(counter), holdout=0.25,
                                      random_state=0).fit(X, y)
    assert counter.count == 2 and learned.network_fits_ == 2
    caruana = WeightedAverageEnsemble.from_blend(learned, weighting="caruana")
    stacking = StackingEnsemble.from_blend(learned)
    assert counter.count == 2
    assert caruana.network_fits_ == stacking.network_fits_ == 0
    assert stacking.predict_proba(X).shape == (len(X), 4)
    with pytest.raises(ValueError, match="passthrough needs the raw features"):
        StackingEnsemble.from_blend(learned, passthrough=True)


def test_out_of_fold_fits_each_member_k_plus_one_times(tiny_images, tmp_path):
    X, y = tiny_images
    counter = FitCounter(tmp_path / "fits.txt")
    ensemble = StackingEnsemble(counted_members(counter), cv=3).fit(X, y)
    assert counter.count == 2 * (3 + 1) == ensemble.network_fits_


def test_prefit_keras_members_fit_nothing(tiny_images, tmp_path):
    X, y = tiny_images
    counter = FitCounter(tmp_path / "fits.txt")
    members = [(name, member.fit(X[::2], y[::2])) for name, member in counted_members(counter)]
    assert counter.count == 2
    ensemble = StackingEnsemble(members, cv="prefit").fit(X[1::2], y[1::2])
    assert counter.count == 2 and ensemble.network_fits_ == 0


# ------------------------------------------------------------------- stacking
def test_stacking_uses_logistic_regression_on_member_probabilities(tabular):
    X, y = tabular
    ensemble = StackingEnsemble(fast_members(), random_state=0).fit(X, y)
    assert isinstance(ensemble.final_estimator_, LogisticRegression)
    assert ensemble.final_estimator_.n_features_in_ == 2 * 3
    with_raw = StackingEnsemble(fast_members(), passthrough=True, random_state=0).fit(X, y)
    assert with_raw.final_estimator_.n_features_in_ == 2 * 3 + 8


def test_stacking_handles_string_labels_and_custom_meta_learner(tabular):
    X, y = tabular
    labels = np.array(["cat", "dog", "emu"])[y]
    ensemble = StackingEnsemble(fast_members(), final_estimator=GaussianNB(), cv=3).fit(X, labels)
    np.testing.assert_array_equal(ensemble.classes_, ["cat", "dog", "emu"])
    assert set(ensemble.predict(X)) <= {"cat", "dog", "emu"}
    assert ensemble.score(X, labels) > 0.6


# ------------------------------------------------------------ shared behaviour
@pytest.mark.parametrize("combiner", COMBINERS)
def test_transform_puts_member_probabilities_side_by_side(combiner, tabular):
    X, y = tabular
    ensemble = combiner(fast_members(), random_state=0).fit(X, y)
    side_by_side = ensemble.transform(X[:5])
    assert side_by_side.shape == (5, 2 * 3)
    np.testing.assert_allclose(side_by_side[:, 3:], ensemble.members_[1].predict_proba(X[:5]))
    np.testing.assert_allclose(ensemble.predict_proba(X).sum(axis=1), 1.0)


@pytest.mark.parametrize("combiner", COMBINERS)
def test_dropped_members_are_left_out(combiner, tabular):
    X, y = tabular
    members = fast_members() + [("off", "drop")]
    ensemble = combiner(members, random_state=0).fit(X, y)
    assert list(ensemble.named_members_) == ["logistic", "bayes"]
    ensemble.set_params(bayes="drop").fit(X, y)
    assert list(ensemble.named_members_) == ["logistic"]


def test_nested_parameters_reach_the_members():
    ensemble = WeightedAverageEnsemble([("plain", tiny_plain()), ("mlp", GaussianNB())])
    params = ensemble.get_params()
    assert params["plain__epochs"] == 3 and params["plain"] is ensemble.members[0][1]
    ensemble.set_params(plain__epochs=5, weighting="equal")
    assert ensemble.members[0][1].epochs == 5 and ensemble.weighting == "equal"


def test_grid_search_over_combiner_and_member_parameters(tiny_images):
    X, y = tiny_images
    ensemble = WeightedAverageEnsemble(
        [("mlp", KerasMemberClassifier(build_tiny_mlp, **dict(TINY_TRAINING, epochs=2))),
         ("plain", tiny_plain(epochs=1))], holdout=0.25, random_state=0)
    search = GridSearchCV(ensemble, {"plain__epochs": [1, 3], "weighting": ["equal", "log_loss"]},
                          cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    best_epochs = search.best_estimator_.named_members_.plain.epochs
    assert best_epochs == search.best_params_["plain__epochs"]


def test_cross_val_score_and_pipeline(tabular):
    X, y = tabular
    pipeline = make_pipeline(StandardScaler(), StackingEnsemble(fast_members(), random_state=0))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.mean() > 0.6


@pytest.mark.parametrize("params, fit_kwargs, error, message", [
    ({"weighting": "best"}, {}, ValueError, "weighting must be one of"),
    ({"weighting": [1, 2, 3]}, {}, ValueError, "weights"),
    ({"weighting": [-1, 2]}, {}, ValueError, "negative"),
    ({"weighting": [0, 0]}, {}, ValueError, "zero"),
    ({"holdout": 1.5}, {}, ValueError, "holdout must be"),
    ({"holdout": 0}, {}, ValueError, "holdout must be"),
    ({"cv": 3}, {"validation_data": "val"}, ValueError, "either cv"),
    ({}, {"validation_data": "val"}, ValueError, "validation_data must be a tuple"),
])
def test_bad_combiner_settings(tabular, params, fit_kwargs, error, message):
    X, y = tabular
    with pytest.raises(error, match=message):
        WeightedAverageEnsemble(fast_members(), random_state=0, **params).fit(X, y, **fit_kwargs)


@pytest.mark.parametrize("members, error, message", [
    ([], ValueError, "non-empty list"),
    ([("a", "drop")], ValueError, "All members are 'drop'"),
    ([("a", GaussianNB()), ("a", GaussianNB())], ValueError, "unique"),
    ([("a__b", GaussianNB())], ValueError, "no '__'"),
    ([("a", StandardScaler())], TypeError, "classifier with predict_proba"),
    ([GaussianNB()], TypeError, r"\(name, estimator\) tuple"),
])
def test_bad_member_lists(tabular, members, error, message):
    X, y = tabular
    with pytest.raises(error, match=message):
        StackingEnsemble(members).fit(X, y)


def test_holdout_too_small_to_stratify(tabular):
    X, y = tabular
    with pytest.raises(ValueError, match="cannot hold out a stratified blending set"):
        WeightedAverageEnsemble(fast_members(), holdout=2).fit(X, y)


def test_a_failed_fit_keeps_the_fitted_ensemble(tabular):
    X, y = tabular
    ensemble = WeightedAverageEnsemble(fast_members(), random_state=0).fit(X, y)
    before = ensemble.predict_proba(X)
    with pytest.raises(ValueError):
        ensemble.set_params(weighting="nonsense").fit(X, y)
    np.testing.assert_array_equal(ensemble.predict_proba(X), before)
    assert ensemble.weights_.shape == (2,)


def test_a_prefit_member_with_a_class_absent_from_y_is_refused_by_name(tabular):
    X, y = tabular
    fitted = [("lr", LogisticRegression(max_iter=500).fit(X, y))]
    kept = y != y.max()
    with pytest.raises(ValueError, match=rf"a member was fitted on classes \[{y.max()}\]"):
        WeightedAverageEnsemble(fitted, cv="prefit").fit(X[kept], y[kept])
