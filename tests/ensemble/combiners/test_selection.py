"""Blends chosen by cross-fitting over the blending rows, the best member always a candidate."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier

from ensemble import StackingEnsemble, WeightedAverageEnsemble, load, report, save
from ensemble.combiners._selection import cross_fitted_scores, fit_best_member


class FixedProbaClassifier(ClassifierMixin, BaseEstimator):
    """A prefit 'member' whose probabilities for row ``i`` (column 0 of X) are ``table[i]``."""

    def __init__(self, table=None):
        self.table = table

    def fit(self, X, y):
        self.classes_ = np.arange(self.table.shape[1])
        return self

    def predict_proba(self, X):
        return self.table[np.asarray(X)[:, 0].astype(int)]


def prefit(table):
    return FixedProbaClassifier(table).fit(None, None)


def complementary_members(n=2000, seed=0):
    """Two members each right on 70 % of the rows, wrong on different ones: their average
    is right everywhere. Also a third that guesses."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    right, wrong = np.eye(2)[y] * 0.9 + 0.05, np.eye(2)[1 - y] * 0.1 + 0.45
    first = np.where((np.arange(n) % 10 < 3)[:, None], wrong, right)
    second = np.where((np.arange(n) % 10 >= 7)[:, None], wrong, right)
    guess = rng.dirichlet([1, 1], size=n)
    X = np.arange(n)[:, None].astype(float)
    return X, y, {"first": first, "second": second, "guess": guess}


def members_from(tables):
    return [(name, prefit(table)) for name, table in tables.items()]


def test_auto_blends_members_that_complement_each_other_and_says_how():
    X, y, tables = complementary_members()
    del tables["guess"]
    ensemble = WeightedAverageEnsemble(members_from(tables), cv="prefit").fit(X[:500], y[:500])
    assert ensemble.selection_ in ("equal", "log_loss", "caruana")
    assert set(ensemble.selection_scores_) == {"equal", "best_member", "log_loss", "caruana"}
    chosen = ensemble.selection_scores_[ensemble.selection_]["log_loss"]
    assert chosen == min(entry["log_loss"] for entry in ensemble.selection_scores_.values())
    assert chosen < ensemble.selection_scores_["best_member"]["log_loss"]
    assert ensemble.selection_folds_ == 5
    # On rows it never saw, it is clearly better than either member.
    result = report(ensemble, X[500:], y[500:])
    gain = result.comparison
    assert gain["accuracy"]["verdict"] == "better" and gain["log_loss"]["verdict"] == "better"
    assert gain["accuracy"]["mcnemar_p"] < 1e-6
    text = str(result)
    assert f"Blend: {ensemble.selection_.replace('_', ' ')}" in text
    assert "Against its best member" in text and "better by" in text
    assert result.to_dict()["selection"]["chosen"] == ensemble.selection_


def test_auto_keeps_the_best_member_alone_when_the_others_only_add_noise():
    rng = np.random.default_rng(1)
    n = 600
    y = rng.integers(0, 3, size=n)
    sure = np.eye(3)[y] * 0.9 + 0.1 / 3
    tables = {"sure": sure, "noise": rng.dirichlet([0.3] * 3, size=n),
              "more noise": rng.dirichlet([0.3] * 3, size=n)}
    X = np.arange(n)[:, None].astype(float)
    ensemble = WeightedAverageEnsemble(members_from(tables), cv="prefit").fit(X[:60], y[:60])
    # The learned weights put nearly everything on "sure" too; the best member alone
    # must at least be among what was scored, and the choice never loses to it on CV.
    scores = ensemble.selection_scores_
    assert ensemble.selection_ == "best_member" and ensemble.best_member_ == "sure"
    np.testing.assert_array_equal(ensemble.weights_, [1, 0, 0])
    equal = WeightedAverageEnsemble.from_blend(ensemble, weighting="equal")
    assert scores["equal"]["log_loss"] > scores["best_member"]["log_loss"]
    assert equal.selection_ == "equal"  # a named rule is used as asked, scores kept
    assert equal.selection_scores_ == scores


def test_best_member_weighting_puts_every_weight_on_one_member():
    X, y, tables = complementary_members(n=200)
    ensemble = WeightedAverageEnsemble(members_from(tables), cv="prefit",
                                       weighting="best_member").fit(X, y)
    index = list(tables).index(ensemble.best_member_)
    np.testing.assert_array_equal(ensemble.weights_, np.eye(3)[index])
    np.testing.assert_allclose(ensemble.predict_proba(X), tables[ensemble.best_member_])
    gain = report(ensemble, X, y).comparison
    assert gain["log_loss"]["gain"] == 0 and gain["log_loss"]["interval"] == [0.0, 0.0]
    assert gain["log_loss"]["verdict"] == "no measurable difference"


@pytest.mark.parametrize("shrinkage", [0.0, 0.5, 1.0])
def test_shrinkage_pulls_learned_weights_toward_equal(shrinkage):
    X, y, tables = complementary_members(n=300)
    plain = WeightedAverageEnsemble(members_from(tables), cv="prefit",
                                    weighting="log_loss").fit(X, y)
    shrunk = WeightedAverageEnsemble.from_blend(plain, weighting="log_loss", shrinkage=shrinkage)
    np.testing.assert_allclose(shrunk.weights_, (1 - shrinkage) * plain.weights_ + shrinkage / 3)


def test_fewer_blending_rows_than_folds_use_one_fold_per_row():
    X, y, tables = complementary_members(n=40)
    ensemble = WeightedAverageEnsemble(members_from(tables), cv="prefit",
                                       selection_folds=10).fit(X[:4], y[:4])
    assert ensemble.selection_folds_ == 4
    one_row = WeightedAverageEnsemble(members_from(tables), cv="prefit").fit(
        X[:4], y[:4], validation_data=(X[:1], y[:1]))
    # Nothing to cross-fit on one row: the documented rule is equal weights.
    assert one_row.selection_ == "equal" and one_row.selection_scores_ == {}
    np.testing.assert_allclose(one_row.weights_, 1 / 3)
    assert "too few blending rows" in str(report(one_row, X, y))


def test_a_meta_learner_that_sees_one_class_in_a_fold_is_not_chosen():
    X, y, tables = complementary_members(n=60)
    y = np.zeros(60, dtype=int)
    y[0] = 1  # one row of the second class: most training folds hold a single class
    stacked = StackingEnsemble(members_from(tables), cv="prefit").fit(X, y)
    assert "meta_learner" not in stacked.selection_scores_
    assert stacked.selection_ == "best_member"
    assert np.isfinite(stacked.predict_proba(X)).all()
    alone = StackingEnsemble(members_from(tables), cv="prefit", fallback=None).fit(X, y)
    assert alone.selection_ == "meta_learner" and alone.selection_scores_ == {}
    assert "no candidate could be cross-fitted" in str(report(alone, X, y))


def test_stacking_falls_back_to_the_best_member_when_the_meta_learner_cross_fits_worse():
    X, y, tables = complementary_members(n=300)
    members = members_from(tables)
    weak = StackingEnsemble(members, cv="prefit", final_estimator=DummyClassifier()).fit(X, y)
    assert weak.selection_ == "best_member"
    assert weak.selection_scores_["best_member"]["log_loss"] < \
        weak.selection_scores_["meta_learner"]["log_loss"]
    np.testing.assert_allclose(weak.predict_proba(X), tables[weak.best_member_])
    always = StackingEnsemble(members, cv="prefit", final_estimator=DummyClassifier(),
                              fallback=None).fit(X, y)
    assert always.selection_ == "meta_learner" and "best_member" not in \
        always.selection_scores_
    np.testing.assert_allclose(always.predict_proba(X), np.full((300, 2), 0.5), atol=0.1)


def test_cross_fitted_scores_never_score_a_row_with_a_fit_that_saw_it():
    rng = np.random.default_rng(0)
    probas = rng.dirichlet([1, 1, 1], size=(2, 50))
    y = rng.integers(0, 3, size=50)
    seen = []

    def recording(probas_train, y_train, features=None):
        seen.append(len(y_train))
        return fit_best_member(probas_train, y_train)

    scores, folds, row_losses = cross_fitted_scores({"best": recording}, probas, y, folds=5)
    assert folds == 5 and seen == [40] * 5 and set(scores) == {"best"}
    assert row_losses["best"].mean() == pytest.approx(scores["best"]["log_loss"])


@pytest.mark.parametrize("combiner", [WeightedAverageEnsemble, StackingEnsemble])
def test_the_choice_and_its_scores_survive_save_and_load(combiner, tmp_path, tiny_images):
    from helpers import TINY_TRAINING, build_tiny_mlp
    from members import KerasMemberClassifier

    X, y = tiny_images
    members = [("a", KerasMemberClassifier(build_tiny_mlp, **TINY_TRAINING)),
               ("b", KerasMemberClassifier(build_tiny_mlp, build_params={"units": 4},
                                           **dict(TINY_TRAINING, epochs=1)))]
    fitted = combiner(members, holdout=0.3, random_state=0).fit(X, y)
    save(fitted, tmp_path / "model.zip")
    loaded = load(tmp_path / "model.zip")
    for name in ("selection_", "best_member_", "selection_folds_"):
        assert getattr(loaded, name) == getattr(fitted, name)
    assert loaded.selection_scores_.keys() == fitted.selection_scores_.keys()
    for name, scores in fitted.selection_scores_.items():
        assert loaded.selection_scores_[name] == pytest.approx(scores)
    np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X))
    assert "Blend:" in str(report(loaded, X, y))


def test_rare_classes_keep_every_class_in_every_training_fold():
    from ensemble.combiners._selection import _splitter

    y = np.r_[np.zeros(40, int), np.ones(2, int)]  # a class with 2 rows, 5 folds
    for train, _ in _splitter(y, 5, 0).split(np.zeros(len(y)), y):
        assert set(y[train]) == {0, 1}


@pytest.mark.parametrize(("mean_difference", "one_se_choice"), [(-0.01, "best_member"),
                                                                 (-0.2, "log_loss")])
def test_the_one_standard_error_rule_keeps_the_simpler_rule_unless_the_gain_is_clear(
        mean_difference, one_se_choice):
    from ensemble.combiners._selection import choose

    rng = np.random.default_rng(0)
    best = rng.uniform(0.2, 0.8, size=100)
    noise = rng.normal(size=100)
    learned = best + mean_difference + 0.5 * (noise - noise.mean()) / noise.std(ddof=1)
    row_losses = {"best_member": best, "log_loss": learned}
    scores = {name: {"log_loss": float(losses.mean())} for name, losses in row_losses.items()}
    order = ("best_member", "equal", "log_loss", "caruana")
    assert choose(scores, row_losses, rule="one_se", simplest_first=order,
                  fallback="equal") == one_se_choice  # standard error 0.05
    assert choose(scores, row_losses, rule="min", simplest_first=order,
                  fallback="equal") == "log_loss"
    assert choose({}, {}, rule="one_se", simplest_first=order, fallback="equal") == "equal"
