"""predict_uncertainty, abstention rules and their archive, on tiny fitted ensembles."""

import numpy as np
import pytest

from ensemble import StackingEnsemble, WeightedAverageEnsemble, load, save
from ensemble.evaluation.shift import detect_unfamiliar, evaluate_under_shift
from helpers import (
    tiny_plain_and_separable,
)


def two_members():
    return tiny_plain_and_separable()


@pytest.fixture(scope="module")
def weighted(tiny_split):
    X, y, _, _ = tiny_split
    return WeightedAverageEnsemble(two_members(), weighting="equal", holdout=0.3,
                                   random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def stacking(tiny_split):
    X, y, _, _ = tiny_split
    return StackingEnsemble(two_members(), fallback=None, holdout=0.3, random_state=0).fit(X, y)


def test_the_parts_add_up_and_match_predict_proba(weighted, tiny_split):
    X_test = tiny_split[2]
    parts = weighted.predict_uncertainty(X_test)
    np.testing.assert_allclose(parts.proba, weighted.predict_proba(X_test))
    np.testing.assert_allclose(parts.confidence, parts.proba.max(axis=1))
    # A weighted average without temperature: total = expected + disagreement.
    assert weighted.temperature_ == 1.0
    np.testing.assert_allclose(parts.total, parts.expected + parts.mutual_information,
                               atol=1e-12)
    assert np.all(parts.mutual_information >= 0)
    assert np.all(parts.total <= np.log(len(weighted.classes_)) + 1e-9)
    assert parts.mutual_information.max() > 0  # two different networks disagree somewhere


def test_disagreement_is_the_members_entropies_recomputed_by_hand(weighted, tiny_split):
    X_test = tiny_split[2]
    parts = weighted.predict_uncertainty(X_test)
    p = np.stack([member.predict_proba(X_test) for member in weighted.members_])

    def entropy(q):
        return -np.sum(np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0), axis=-1)

    expected = 0.5 * entropy(p[0]) + 0.5 * entropy(p[1])
    np.testing.assert_allclose(parts.expected, expected, atol=1e-10)
    np.testing.assert_allclose(parts.mutual_information, entropy(p.mean(axis=0)) - expected,
                               atol=1e-10)


def test_a_member_that_counts_alone_cannot_disagree(weighted, tiny_split):
    parts = weighted.predict_uncertainty(tiny_split[2], member_weights=[0, 1])
    np.testing.assert_array_equal(parts.mutual_information, 0.0)
    np.testing.assert_array_equal(parts.member_weights, [0.0, 1.0])


def test_stacking_counts_its_members_equally(stacking, tiny_split):
    parts = stacking.predict_uncertainty(tiny_split[2])
    np.testing.assert_allclose(parts.member_weights, [0.5, 0.5])
    np.testing.assert_allclose(parts.proba, stacking.predict_proba(tiny_split[2]))


def test_a_members_tta_passes_are_its_small_ensemble(weighted, tiny_split):
    member = weighted.named_members_["plain"]
    parts = member.predict_uncertainty(tiny_split[2])
    assert parts.n_passes == 2  # the image and its mirror
    np.testing.assert_allclose(parts.proba, member.predict_proba(tiny_split[2]), atol=1e-7)
    assert parts.mutual_information.max() > 0
    single = weighted.named_members_["separable"].predict_uncertainty(tiny_split[2])
    assert single.n_passes == 1
    np.testing.assert_array_equal(single.mutual_information, 0.0)


@pytest.mark.parametrize("member_weights, message", [
    ("blended", "member_weights must be"),
    ([1.0], "member_weights must be 2"),
    ([0.0, 0.0], "not all zero"),
    ([1.0, np.nan], "finite"),
])
def test_bad_member_weights(weighted, tiny_split, member_weights, message):
    with pytest.raises(ValueError, match=message):
        weighted.predict_uncertainty(tiny_split[2], member_weights=member_weights)


def test_abstention_for_a_target_coverage_keeps_that_share(weighted, tiny_split):
    X_test, y_test = tiny_split[2], tiny_split[3]
    weighted.set_abstention(X_test, y_test, score="total", target_coverage=0.8)
    rule = weighted.abstention_
    assert rule["rows"] == "given" and rule["n_rows"] == len(y_test)
    abstain = weighted.predict_abstention(X_test)
    assert abstain.dtype == bool
    assert abs((1 - abstain.mean()) - rule["coverage"]) < 1e-12
    assert rule["coverage"] >= 0.8
    kept = ~abstain
    accuracy_kept = np.mean(weighted.predict(X_test)[kept] == y_test[kept])
    assert accuracy_kept == pytest.approx(rule["accuracy"])


def test_abstention_on_the_blending_rows_and_a_target_accuracy(stacking, tiny_split):
    stacking.set_abstention(score="confidence", target_accuracy=0.9)
    rule = stacking.abstention_
    assert rule["rows"] == "blending" and rule["n_rows"] == len(stacking.blend_targets_)
    assert rule["accuracy"] >= 0.9
    assert 0 < rule["coverage"] <= 1


def test_an_unreachable_target_accuracy_says_so(weighted, tiny_split):
    always_wrong = (weighted.predict(tiny_split[2]) + 1) % 4
    with pytest.raises(ValueError, match="No threshold reaches target_accuracy"):
        weighted.set_abstention(tiny_split[2], always_wrong, target_accuracy=0.5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(score="entropy", target_coverage=0.5), "score must be one of"),
    (dict(target_coverage=0.5, target_accuracy=0.5), "exactly one"),
    (dict(target_coverage=1.5), "target_coverage"),
])
def test_bad_abstention_settings(weighted, kwargs, message):
    with pytest.raises(ValueError, match=message):
        weighted.set_abstention(**kwargs)


def test_a_refit_drops_the_previous_rule_and_asking_before_a_rule_says_what_to_do(tiny_split):
    X, y, X_test, y_test = tiny_split
    model = WeightedAverageEnsemble(two_members(), weighting="equal", holdout=0.3,
                                    random_state=0).fit(X[:90], y[:90])
    model.set_abstention(X_test, y_test, target_coverage=0.5)
    model.fit(X[:90], y[:90])
    assert not hasattr(model, "abstention_")
    with pytest.raises(Exception, match="call set_abstention first"):
        model.predict_abstention(X_test)
    del model.blend_predictions_  # as an archive from before the blending rows were kept
    with pytest.raises(ValueError, match="pass X and y"):
        model.set_abstention(target_coverage=0.5)


def test_the_abstention_rule_survives_save_and_load(weighted, tiny_split, tmp_path):
    X_test, y_test = tiny_split[2], tiny_split[3]
    weighted.set_abstention(X_test, y_test, score="mutual_information", target_coverage=0.7,
                            member_weights="equal")
    save(weighted, tmp_path / "m.zip")
    loaded = load(tmp_path / "m.zip")
    assert loaded.abstention_ == weighted.abstention_
    np.testing.assert_array_equal(loaded.predict_abstention(X_test),
                                  weighted.predict_abstention(X_test))
    np.testing.assert_allclose(loaded.predict_uncertainty(X_test).mutual_information,
                               weighted.predict_uncertainty(X_test).mutual_information)


def test_shift_report_scores_members_and_ensemble(weighted, tiny_split):
    X_test, y_test = tiny_split[2], tiny_split[3]
    report = evaluate_under_shift(weighted, X_test, y_test, corruptions=["gaussian_noise",
                                                                         "rotation"],
                                  severities=(1, 5), n_resamples=50)
    assert {row["model"] for row in report.rows} == {"ensemble", "plain", "separable"}
    assert len(report.rows) == 3 * (1 + 2 * 2)
    clean = [row for row in report.rows if row["corruption"] == "clean"
             and row["model"] == "ensemble"][0]
    assert clean["accuracy"] == pytest.approx(np.mean(weighted.predict(X_test) == y_test))
    for metric, gain in report.gains.items():
        low, high = gain["interval"]
        assert low <= gain["gain"] + 1e-12 and gain["gain"] <= high + 1e-12, metric
    assert "mean shifted" in report.table()
    # Severe noise hurts more than mild noise.
    def accuracy(corruption, severity):
        return [row["accuracy"] for row in report.rows if row["corruption"] == corruption
                and row["severity"] == severity and row["model"] == "ensemble"][0]
    assert accuracy("gaussian_noise", 5) <= accuracy("gaussian_noise", 1)


def test_a_lone_member_is_scored_under_its_own_name(weighted, tiny_split):
    member = weighted.named_members_["plain"]
    report = evaluate_under_shift(member, tiny_split[2][:20], tiny_split[3][:20],
                                  corruptions=["contrast"], severities=(5,), n_resamples=10)
    assert report.models == ["PlainCNNClassifier"] and report.gains == {}
    assert {row["model"] for row in report.rows} == {"PlainCNNClassifier"}


def test_unfamiliar_images_score_higher_than_familiar_ones(weighted, tiny_split):
    X_test = tiny_split[2]
    noise = np.random.RandomState(0).randint(0, 256, size=X_test.shape).astype("uint8")
    results = detect_unfamiliar(weighted, X_test, noise)
    assert set(results) == {"max probability", "entropy", "mutual information",
                            "best member max probability", "best member entropy"}
    for result in results.values():
        assert 0 <= result.auroc <= 1 and 0 <= result.fpr_at_95_tpr <= 1
    # Noise looks nothing like the four bright squares: the blend is far less sure of it.
    assert results["max probability"].auroc > 0.8 and results["entropy"].auroc > 0.8
    # Identical images are indistinguishable: chance.
    same = detect_unfamiliar(weighted, X_test, X_test)
    assert same["entropy"].auroc == pytest.approx(0.5)
