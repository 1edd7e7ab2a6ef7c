"""ensemble.report: members beside the ensemble, as data and as a table."""

import json

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from ensemble import StackingEnsemble, WeightedAverageEnsemble, report
from ensemble.evaluation import metrics


@pytest.fixture(scope="module")
def fitted():
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)
    members = [("logistic", LogisticRegression(max_iter=500)), ("bayes", GaussianNB())]
    return WeightedAverageEnsemble(members, calibration=None, random_state=0).fit(X, y), X, y


def test_one_row_per_member_and_one_for_the_ensemble(fitted):
    ensemble, X, y = fitted
    result = report(ensemble, X, y)
    assert [row["name"] for row in result.rows] == ["logistic", "bayes", "WeightedAverageEnsemble"]
    assert [row["kind"] for row in result.rows] == ["member", "member", "ensemble"]
    assert [row["weight"] for row in result.rows[:2]] == pytest.approx(list(ensemble.weights_))
    expected = metrics.score_all(y, ensemble.predict_proba(X), ensemble.classes_)
    assert {key: result.rows[-1][key] for key in expected} == pytest.approx(expected)
    assert result.n_samples == len(y)


def test_other_combiners_get_rows_and_the_table_prints_them(fitted):
    ensemble, X, y = fitted
    stacking = StackingEnsemble.from_blend(ensemble)
    result = report(ensemble, X, y, name="learned", others={"stacked": stacking})
    text = str(result)
    for name in ("logistic", "bayes", "learned", "stacked", "accuracy", "log loss", "ECE"):
        assert name in text
    table, *notes = result.to_markdown().split("\n\n")
    assert table.count("\n") == 1 + 4
    assert notes[0].startswith("Blend: ") and notes[1].startswith("Against its best member")
    json.dumps(result.to_dict())  # plain data


def test_a_learned_temperature_adds_a_row_for_the_blend_before_it(fitted):
    uncalibrated, X, y = fitted
    calibrated = WeightedAverageEnsemble.from_blend(uncalibrated, calibration="temperature")
    assert calibrated.temperature_ != 1.0
    rows = report(calibrated, X, y, name="blend").rows
    assert [row["name"] for row in rows[-2:]] == ["blend", "blend (no temperature)"]
    expected = metrics.score_all(y, uncalibrated.predict_proba(X), uncalibrated.classes_)
    assert {key: rows[-1][key] for key in expected} == pytest.approx(expected)
    assert rows[-2]["accuracy"] == rows[-1]["accuracy"]  # scaling never changes the ranking


def test_each_member_predicts_once_per_report(fitted):
    ensemble, X, y = fitted
    calls = []
    for member in ensemble.members_:
        original = member.predict_proba
        member.predict_proba = lambda X, original=original: calls.append(1) or original(X)
    try:
        report(ensemble, X, y)
    finally:
        for member in ensemble.members_:
            del member.predict_proba
    assert len(calls) == len(ensemble.members_)


def test_combiners_from_one_blend_run_each_member_once_and_score_as_their_predict_proba(fitted):
    ensemble, X, y = fitted
    others = {"equal": WeightedAverageEnsemble.from_blend(ensemble, weighting="equal"),
              "stacked": StackingEnsemble.from_blend(ensemble)}
    independent = WeightedAverageEnsemble(ensemble.members, weighting="equal",
                                          random_state=1).fit(X, y)
    others["refitted"] = independent  # its own members: predicted separately
    calls = []
    for member in ensemble.members_:
        original = member.predict_proba
        member.predict_proba = lambda X, original=original: calls.append(1) or original(X)
    try:
        rows = report(ensemble, X, y, others=others).rows
    finally:
        for member in ensemble.members_:
            del member.predict_proba
    assert len(calls) == len(ensemble.members_)
    for row, (name, other) in zip(rows[-3:], others.items(), strict=True):
        expected = metrics.score_all(y, other.predict_proba(X), other.classes_)
        assert row["name"] == name
        assert {key: row[key] for key in expected} == pytest.approx(expected)


def test_member_probabilities_of_the_wrong_shape_are_refused(fitted):
    ensemble, X, _ = fitted
    members, _, proba = ensemble.scored_probas(X)
    np.testing.assert_allclose(ensemble.proba_from_member_probas(members, X), proba)
    with pytest.raises(ValueError, match="members must have shape"):
        ensemble.proba_from_member_probas(members[:1], X)


def test_a_single_member_gets_one_row(fitted):
    _, X, y = fitted
    member = GaussianNB().fit(X, y)
    rows = report(member, X, y).rows
    assert len(rows) == 1 and rows[0]["kind"] == "member"
    assert rows[0]["accuracy"] == pytest.approx(np.mean(member.predict(X) == y))
