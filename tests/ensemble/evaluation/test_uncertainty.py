"""Tests for ensemble.evaluation.uncertainty: decompositions by hand, abstention, OOD scores."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from ensemble.evaluation.uncertainty import (
    accuracy_coverage_curve,
    aurc,
    choose_abstention_threshold,
    decompose_uncertainty,
    ood_scores,
)

LOG2 = math.log(2)


def entropy(*p):
    return -sum(value * math.log(value) for value in p if value > 0)


def dirichlet_members(seed, n_members=5, n_samples=200, n_classes=4):
    return np.random.default_rng(seed).dirichlet(np.ones(n_classes) * 0.5,
                                                 size=(n_members, n_samples))


# --- decompose_uncertainty ------------------------------------------------------


def test_members_that_agree_have_no_mutual_information_however_flat():
    member = np.array([[0.5, 0.5], [0.7, 0.3], [1.0, 0.0]])
    result = decompose_uncertainty([member, member, member])
    np.testing.assert_allclose(result.mutual_information, 0.0, atol=1e-15)
    np.testing.assert_allclose(result.total, [LOG2, entropy(0.7, 0.3), 0.0])
    np.testing.assert_allclose(result.expected, result.total)
    np.testing.assert_allclose(result.proba, member)
    assert result.n_members == 3


def test_two_confident_members_that_disagree_give_log_2_of_mutual_information():
    result = decompose_uncertainty([[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]])
    np.testing.assert_allclose(result.proba, [[0.5, 0.5, 0.0]])
    assert result.expected[0] == 0.0  # 0 log 0 = 0: no NaN from the exact zeros
    assert result.total[0] == pytest.approx(LOG2)
    assert result.mutual_information[0] == pytest.approx(LOG2)
    assert result.confidence[0] == 0.5


def test_a_hand_computed_row_splits_as_the_formulas_say():
    result = decompose_uncertainty(np.array([[[0.8, 0.2]], [[0.4, 0.6]]]))
    expected = (entropy(0.8, 0.2) + entropy(0.4, 0.6)) / 2
    assert result.total[0] == pytest.approx(entropy(0.6, 0.4))
    assert result.expected[0] == pytest.approx(expected)
    assert result.mutual_information[0] == pytest.approx(entropy(0.6, 0.4) - expected)
    assert result.confidence[0] == pytest.approx(0.6)


def test_weights_are_normalised_and_respected():
    members = np.array([[[0.8, 0.2]], [[0.4, 0.6]]])
    result = decompose_uncertainty(members, weights=[3, 1])
    np.testing.assert_allclose(result.proba, [[0.7, 0.3]])
    assert result.total[0] == pytest.approx(entropy(0.7, 0.3))
    assert result.expected[0] == pytest.approx(0.75 * entropy(0.8, 0.2)
                                               + 0.25 * entropy(0.4, 0.6))


def test_a_member_of_zero_weight_contributes_nothing():
    members = dirichlet_members(0, n_members=3)
    alone = decompose_uncertainty(members[:2])
    weighted = decompose_uncertainty(members, weights=[1, 1, 0])
    for key in ("proba", "confidence", "total", "expected", "mutual_information"):
        np.testing.assert_allclose(weighted[key], alone[key], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", range(3))
def test_the_parts_obey_their_bounds_on_random_members(seed):
    result = decompose_uncertainty(dirichlet_members(seed))
    assert np.all(result.mutual_information >= 0)
    assert np.all(result.total >= result.expected - 1e-12)
    assert np.all(result.total <= math.log(4) + 1e-12)
    np.testing.assert_allclose(result.mutual_information,
                               np.maximum(result.total - result.expected, 0))
    assert result.mutual_information.max() > 0.05  # random members do disagree


def test_a_list_and_float32_softmax_rounding_are_accepted():
    members = dirichlet_members(1, n_members=2)
    from_array = decompose_uncertainty(members)
    rounded = [(member * 1.000001).astype(np.float32) for member in members]
    from_list = decompose_uncertainty(rounded)
    np.testing.assert_allclose(from_list.total, from_array.total, atol=1e-5)
    np.testing.assert_allclose(from_list.proba.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("member_probas, weights, match", [
    ([], None, "holds no member"),
    ([np.full((2, 2), 0.5), np.full((3, 2), 0.5)], None, r"member 1 has shape \(3, 2\)"),
    (np.full((2, 2), 0.5), None, r"shape \(n_members, n_samples, n_classes\)"),
    (np.zeros((2, 0, 3)), None, "at least one member, row and class"),
    (np.array([[[1.5, -0.5]]]), None, r"probabilities in \[0, 1\]"),
    (np.array([[[60.0, 40.0]]]), None, "logits or percentages"),
    (np.array([[[0.5, 0.4]]]), None, "rows summing to 1"),
    (np.array([[[np.nan, 0.5]]]), None, "NaN"),
    (np.full((2, 1, 2), 0.5), [1.0], r"weights must have shape \(n_members,\) = \(2,\)"),
    (np.full((2, 1, 2), 0.5), [1.0, -1.0], "non-negative"),
    (np.full((2, 1, 2), 0.5), [0, 0], "all zero"),
    (np.full((2, 1, 2), 0.5), [np.inf, 1], "finite"),
])
def test_invalid_member_probabilities_and_weights_are_refused(member_probas, weights, match):
    with pytest.raises(ValueError, match=match):
        decompose_uncertainty(member_probas, weights)


# --- accuracy_coverage_curve and aurc ---------------------------------------------


def test_the_curve_keeps_the_most_certain_rows_first():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.65, 0.35], [0.45, 0.55]])
    curve = accuracy_coverage_curve(["a", "b", "b", "a"], proba, classes=["a", "b"])
    np.testing.assert_allclose(curve.thresholds, [0.1, 0.2, 0.35, 0.45])
    np.testing.assert_allclose(curve.coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(curve.accuracy, [1.0, 1.0, 2 / 3, 0.5])


def test_a_given_uncertainty_replaces_the_confidence():
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]])
    curve = accuracy_coverage_curve([1, 0, 0], proba, uncertainty=[0.0, 2.0, 1.0])
    np.testing.assert_allclose(curve.accuracy, [0.0, 0.5, 2 / 3])
    np.testing.assert_allclose(curve.thresholds, [0.0, 1.0, 2.0])


def test_tied_rows_are_kept_together_whatever_their_order():
    y = np.array([0, 1, 0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.6, 0.4], [0.6, 0.4], [0.3, 0.7],
                      [0.8, 0.2]])
    curve = accuracy_coverage_curve(y, proba)
    np.testing.assert_allclose(curve.coverage, [1 / 6, 2 / 6, 3 / 6, 1.0])
    np.testing.assert_allclose(curve.accuracy, [1.0, 0.5, 2 / 3, 4 / 6])
    order = np.random.default_rng(0).permutation(len(y))
    shuffled = accuracy_coverage_curve(y[order], proba[order])
    for key in ("thresholds", "coverage", "accuracy"):
        np.testing.assert_array_equal(shuffled[key], curve[key])
    assert aurc(y[order], proba[order]) == pytest.approx(aurc(y, proba), abs=1e-15)


def random_case(seed, n=2000, n_classes=3):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(n_classes), size=n)
    y = (np.cumsum(proba, axis=1) < rng.random((n, 1))).sum(axis=1)
    return np.minimum(y, n_classes - 1), proba


def test_aurc_is_the_mean_risk_over_coverages_and_orders_perfect_random_worst():
    y, proba = random_case(0)
    wrong = proba.argmax(axis=1) != y
    n, n_errors = len(y), int(wrong.sum())
    tie_breaker = np.arange(n) / (10 * n)  # below 0.1: orders rows without mixing the groups
    perfect = aurc(y, proba, uncertainty=wrong + tie_breaker)
    worst = aurc(y, proba, uncertainty=~wrong + tie_breaker)
    k = np.arange(1, n + 1)
    assert perfect == pytest.approx(np.mean(np.maximum(k - (n - n_errors), 0) / k))
    assert worst == pytest.approx(np.mean(np.minimum(k, n_errors) / k))
    rng = np.random.default_rng(1)
    randomly = np.mean([aurc(y, proba, uncertainty=rng.random(n)) for _ in range(20)])
    error_rate = n_errors / n
    assert randomly == pytest.approx(error_rate, abs=0.01)
    assert perfect < aurc(y, proba) < randomly < worst
    risk = error_rate
    assert perfect == pytest.approx(risk + (1 - risk) * math.log(1 - risk), abs=0.005)


def test_an_uncertainty_that_ties_every_row_gets_exactly_the_error_rate():
    y, proba = random_case(2, n=101)
    error_rate = np.mean(proba.argmax(axis=1) != y)
    assert aurc(y, proba, uncertainty=np.zeros(101)) == pytest.approx(error_rate, abs=1e-12)


def test_aurc_without_ties_matches_the_sorted_cumulative_risk():
    y, proba = random_case(3, n=300)
    wrong = proba.argmax(axis=1) != y
    order = np.argsort(-proba.max(axis=1), kind="stable")
    k = np.arange(1, 301)
    assert aurc(y, proba) == pytest.approx(np.mean(np.cumsum(wrong[order]) / k), abs=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(y_true=[0, 1], proba=[[0.5, 0.5]]), "y_true has 2 labels but proba has 1 rows"),
    (dict(y_true=[0, 2], proba=[[0.5, 0.5]] * 2), "not in classes"),
    (dict(y_true=[0], proba=[[0.5, 0.5]], classes=["a", "b", "c"]), r"classes must have shape"),
    (dict(y_true=[], proba=np.zeros((0, 2))), "at least one row and class"),
    (dict(y_true=[0], proba=[[2.0, -1.0]]), r"probabilities in \[0, 1\]"),
    (dict(y_true=[0], proba=[[0.5, 0.5]], uncertainty=[np.nan]), "uncertainty contains NaN"),
    (dict(y_true=[0], proba=[[0.5, 0.5]], uncertainty=[0.1, 0.2]), "uncertainty has 2 values"),
])
@pytest.mark.parametrize("function", [accuracy_coverage_curve, aurc])
def test_invalid_selective_inputs_are_refused(function, kwargs, match):
    with pytest.raises(ValueError, match=match):
        function(**kwargs)


# --- choose_abstention_threshold ----------------------------------------------------


def rows_with_errors_where_uncertain(seed, n):
    """Uncertainty uniform in [0, 1]; a row is wrong with probability 0.6 * uncertainty."""
    rng = np.random.default_rng(seed)
    uncertainty = rng.random(n)
    return uncertainty, rng.random(n) >= 0.6 * uncertainty


def test_a_coverage_target_is_met_on_the_held_out_rows_and_carries_over():
    uncertainty, correct = rows_with_errors_where_uncertain(0, 5000)
    choice = choose_abstention_threshold(uncertainty, correct, target_coverage=0.8)
    kept = uncertainty <= choice.threshold
    assert kept.mean() == choice.coverage >= 0.8
    assert choice.coverage < 0.8 + 1 / 5000 + 1e-12  # the smallest threshold that meets it
    assert choice.accuracy == correct[kept].mean()
    new_uncertainty, _ = rows_with_errors_where_uncertain(1, 5000)
    assert np.mean(new_uncertainty <= choice.threshold) == pytest.approx(0.8, abs=0.03)


def test_a_coverage_target_rounded_above_a_share_of_rows_counts_as_that_share():
    uncertainty = np.arange(10) / 10
    choice = choose_abstention_threshold(uncertainty, np.ones(10, bool), target_coverage=1 - 0.7)
    assert choice.coverage == 0.3 and choice.threshold == 0.2  # 3 rows, not 4


def test_an_accuracy_target_keeps_the_largest_coverage_that_reaches_it():
    uncertainty, correct = rows_with_errors_where_uncertain(0, 5000)
    choice = choose_abstention_threshold(uncertainty, correct, target_accuracy=0.85)
    kept = uncertainty <= choice.threshold
    assert correct[kept].mean() == choice.accuracy >= 0.85
    curve_accuracy = [correct[uncertainty <= t].mean()
                      for t in np.sort(uncertainty[uncertainty > choice.threshold])]
    assert max(curve_accuracy) < 0.85  # no larger coverage reaches the target
    # Expected accuracy at coverage c is 1 - 0.3 c: 0.85 near c = 0.5, on new rows too.
    assert choice.coverage == pytest.approx(0.5, abs=0.05)
    new_uncertainty, new_correct = rows_with_errors_where_uncertain(1, 5000)
    assert new_correct[new_uncertainty <= choice.threshold].mean() == pytest.approx(0.85,
                                                                                   abs=0.03)


def test_rows_tied_at_the_threshold_are_kept_together():
    uncertainty = np.array([0.1, 0.2, 0.2, 0.2, 0.9])
    choice = choose_abstention_threshold(uncertainty, np.ones(5, bool), target_coverage=0.3)
    assert choice.threshold == 0.2 and choice.coverage == 0.8
    full = choose_abstention_threshold(uncertainty, np.ones(5, bool), target_coverage=1.0)
    assert full.threshold == 0.9 and full.coverage == 1.0


def test_an_unreachable_accuracy_is_an_error_that_gives_the_best_there_is():
    with pytest.raises(ValueError, match=r"highest accuracy is 0\.5000, at coverage 0\.5000"):
        choose_abstention_threshold([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 0], target_accuracy=0.9)


@pytest.mark.parametrize("kwargs, match", [
    (dict(), "exactly one of target_accuracy and target_coverage"),
    (dict(target_accuracy=0.9, target_coverage=0.5), "exactly one"),
    (dict(target_coverage=0.0), r"target_coverage must be a number in \(0.0, 1.0\]"),
    (dict(target_accuracy=1.5), r"target_accuracy must be a number in \(0.0, 1.0\]"),
    (dict(target_coverage=0.5, correct=[1, 2, 0]), "booleans, or 0 and 1"),
    (dict(target_coverage=0.5, correct=[1, 0]), r"correct must have shape \(n_samples,\)"),
    (dict(target_coverage=0.5, uncertainty=[]), "non-empty 1-D"),
    (dict(target_coverage=0.5, uncertainty=[0.1, np.inf, 0.3]), "NaN or infinite"),
])
def test_invalid_threshold_arguments_are_refused(kwargs, match):
    arguments = dict(uncertainty=[0.1, 0.2, 0.3], correct=[1, 1, 0]) | kwargs
    with pytest.raises(ValueError, match=match):
        choose_abstention_threshold(**arguments)


# --- ood_scores -----------------------------------------------------------------


def test_separable_scores_give_auroc_1_and_no_false_positives():
    result = ood_scores(in_scores=np.linspace(0, 1, 50), out_scores=np.linspace(2, 3, 40))
    assert result.auroc == 1.0 and result.fpr_at_95_tpr == 0.0


def test_identical_scores_give_auroc_one_half_and_fpr_the_tpr():
    scores = np.arange(100.0)
    result = ood_scores(scores, scores)
    assert result.auroc == 0.5
    assert result.threshold_at_95_tpr == 5.0  # flags 95 of the 100 unfamiliar rows
    assert result.fpr_at_95_tpr == 0.95


def test_reversed_scores_give_auroc_0_and_flag_every_familiar_row():
    result = ood_scores(in_scores=[2.0, 3.0], out_scores=[0.0, 1.0])
    assert result.auroc == 0.0 and result.fpr_at_95_tpr == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_fpr_at_95_tpr_is_the_roc_curves_first_point_with_tpr_at_least_095(seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = rng.integers(10, 300, size=2)
    in_scores = np.round(rng.normal(0, 1, n_in), 1)  # rounded: ties across the two sets
    out_scores = np.round(rng.normal(1, 1, n_out), 1)
    labels = np.r_[np.zeros(n_in), np.ones(n_out)]
    fpr, tpr, thresholds = roc_curve(labels, np.r_[in_scores, out_scores],
                                     drop_intermediate=False)
    first = np.flatnonzero(tpr >= 0.95 - 1e-12)[0]
    result = ood_scores(in_scores, out_scores)
    assert result.fpr_at_95_tpr == pytest.approx(fpr[first], abs=1e-12)
    assert result.threshold_at_95_tpr == thresholds[first]
    assert np.mean(out_scores >= result.threshold_at_95_tpr) >= 0.95


@pytest.mark.parametrize("in_scores, out_scores, match", [
    ([], [1.0], "in_scores must be a non-empty 1-D array"),
    ([1.0], [[1.0, 2.0]], "out_scores must be a non-empty 1-D array"),
    ([np.nan], [1.0], "in_scores contains NaN"),
    (["high"], [1.0], "in_scores must be an array of numbers"),
])
def test_invalid_ood_scores_are_refused(in_scores, out_scores, match):
    with pytest.raises(ValueError, match=match):
        ood_scores(in_scores, out_scores)


def test_mutual_information_flags_rows_the_members_disagree_on():
    """The intended use: familiar rows the members agree on, unfamiliar ones they do not."""
    rng = np.random.default_rng(0)
    shared = rng.dirichlet([5, 1, 1], size=300)
    familiar = np.stack([shared] * 4)
    unfamiliar = rng.dirichlet([1, 1, 1], size=(4, 300))
    scores = [decompose_uncertainty(probas).mutual_information
              for probas in (familiar, unfamiliar)]
    assert ood_scores(*scores).auroc > 0.99
