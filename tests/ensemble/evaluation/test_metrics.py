"""Tests for ensemble.evaluation.metrics: hand-computed values, scikit-learn parity, errors."""

import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, brier_score_loss
from sklearn.metrics import log_loss as sklearn_log_loss

from ensemble.evaluation.metrics import (
    accuracy,
    brier_score,
    expected_calibration_error,
    log_loss,
    normalize_probabilities,
    score_all,
)

# A small case worked out by hand below.
CLASSES = np.array(["cat", "dog", "eel"])
Y = np.array(["cat", "dog", "eel", "cat"])
PROBA = np.array(
    [
        [0.7, 0.2, 0.1],  # right, confidence 0.7
        [0.1, 0.8, 0.1],  # right, confidence 0.8
        [0.3, 0.4, 0.3],  # wrong (says dog), confidence 0.4
        [0.5, 0.5, 0.0],  # tie between cat and dog: first column wins, right
    ]
)


def _sample_labels(rng, proba):
    """Draw one label index per row from the row's distribution."""
    u = rng.random(proba.shape[0])
    idx = (np.cumsum(proba, axis=1) < u[:, None]).sum(axis=1)
    return np.minimum(idx, proba.shape[1] - 1)


def _random_case(seed, n_samples=500, n_classes=4):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(n_classes), size=n_samples)
    classes = np.array([f"class_{k}" for k in range(n_classes)])
    y = classes[_sample_labels(rng, proba)]
    return y, proba, classes


# --- normalize_probabilities ----------------------------------------------


def test_normalize_fixes_float32_rounding_and_returns_float64_copy():
    proba = np.array([[0.5, 0.5000001], [1.0000001, 0.0]], dtype=np.float32)
    before = proba.copy()
    out = normalize_probabilities(proba)
    assert out.dtype == np.float64
    assert np.all(out <= 1.0) and np.all(out >= 0.0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(proba, before)


def test_normalize_clips_before_renormalising():
    out = normalize_probabilities([[1.0000000000000002, -1e-9, 0.0], [0.2, 0.2, 0.6]])
    np.testing.assert_array_equal(out[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(out[1], [0.2, 0.2, 0.6])


@pytest.mark.parametrize(
    "proba, match",
    [
        ([[0.0, 0.0], [0.5, 0.5]], r"1 row\(s\) with no positive probability \(first at row 0\)"),
        ([[0.5, 0.5], [-0.1, -0.2]], r"first at row 1"),
        ([0.5, 0.5], r"2-D .* got shape \(2,\)"),
        ([[np.nan, 1.0]], "NaN or infinite"),
        ([[np.inf, 1.0]], "NaN or infinite"),
    ],
)
def test_normalize_rejects(proba, match):
    with pytest.raises(ValueError, match=match):
        normalize_probabilities(proba)


# --- hand-computed values -------------------------------------------------


def test_accuracy_by_hand_first_column_wins_ties():
    assert accuracy(Y, PROBA, CLASSES) == 0.75


def test_log_loss_by_hand():
    expected = -(math.log(0.7) + math.log(0.8) + math.log(0.3) + math.log(0.5)) / 4
    assert log_loss(Y, PROBA, CLASSES) == pytest.approx(expected, rel=1e-12)


def test_brier_by_hand():
    # Rows: 0.09+0.04+0.01, 0.01+0.04+0.01, 0.09+0.16+0.49, 0.25+0.25+0.
    assert brier_score(Y, PROBA, CLASSES) == pytest.approx(1.44 / 4, rel=1e-12)


def test_ece_by_hand_with_right_closed_bins():
    # Bins (0, 0.5] and (0.5, 1]. Confidence 0.5 belongs to the first bin.
    # First: confidences 0.4, 0.5, one right -> |0.5 - 0.45| * 2/4 = 0.025.
    # Second: confidences 0.7, 0.8, both right -> |1 - 0.75| * 2/4 = 0.125.
    assert expected_calibration_error(Y, PROBA, CLASSES, n_bins=2) == pytest.approx(0.15)


def test_score_all_matches_single_functions_and_gives_python_floats():
    scores = score_all(Y, PROBA, CLASSES)
    assert set(scores) == {"accuracy", "log_loss", "brier", "ece"}
    assert all(type(value) is float for value in scores.values())
    assert scores["accuracy"] == accuracy(Y, PROBA, CLASSES)
    assert scores["log_loss"] == log_loss(Y, PROBA, CLASSES)
    assert scores["brier"] == brier_score(Y, PROBA, CLASSES)
    assert scores["ece"] == expected_calibration_error(Y, PROBA, CLASSES)


# --- parity with scikit-learn ---------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_and_log_loss_match_sklearn(seed):
    y, proba, classes = _random_case(seed)
    predicted = classes[np.argmax(proba, axis=1)]
    assert accuracy(y, proba, classes) == pytest.approx(accuracy_score(y, predicted))
    assert log_loss(y, proba, classes) == pytest.approx(
        sklearn_log_loss(y, proba, labels=classes), rel=1e-12
    )


def test_binary_brier_is_twice_sklearn_positive_class_brier():
    y, proba, classes = _random_case(3, n_classes=2)
    positive = proba[:, 1]
    expected = 2 * brier_score_loss(y == classes[1], positive)
    assert brier_score(y, proba, classes) == pytest.approx(expected, rel=1e-12)


def test_float32_rows_summing_above_one_are_accepted_without_warnings():
    rng = np.random.default_rng(4)
    proba = rng.dirichlet(np.ones(3), size=200).astype(np.float32)
    proba[0] = [0.5, 0.5000001, 0.0]  # sums to 1.0000001 in float32
    proba[1] = [np.float32(1.0000001), 0.0, 0.0]  # the float32 after 1.0
    assert proba[1, 0] > 1.0
    y = rng.integers(0, 3, size=200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = score_all(y, proba, np.arange(3))
    assert all(math.isfinite(value) for value in scores.values())


def test_columns_follow_classes_order_not_sorted_order():
    y = np.array(["b", "a"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])  # column 0 is "b"
    classes = np.array(["b", "a"])
    assert accuracy(y, proba, classes) == 1.0
    expected = -(math.log(0.9) + math.log(0.8)) / 2
    assert log_loss(y, proba, classes) == pytest.approx(expected)


def test_integer_labels_that_are_not_indices():
    y = np.array([10, 30, 20])
    proba = np.eye(3)
    assert accuracy(y, proba, np.array([10, 20, 30])) == pytest.approx(1 / 3)


# --- Brier and ECE properties ---------------------------------------------


def test_brier_bounds():
    y = np.array([0, 1, 2])
    perfect = np.eye(3)
    worst = np.eye(3)[[1, 2, 0]]
    assert brier_score(y, perfect, np.arange(3)) == 0.0
    assert brier_score(y, worst, np.arange(3)) == 2.0
    assert brier_score(y, np.full((3, 3), 1 / 3), np.arange(3)) == pytest.approx(2 / 3)


def test_ece_of_calibrated_data_is_near_zero():
    rng = np.random.default_rng(5)
    proba = rng.dirichlet(np.ones(4), size=50_000)
    y = _sample_labels(rng, proba)  # labels drawn from the predictions: calibrated
    assert expected_calibration_error(y, proba, np.arange(4)) < 0.01


def test_ece_of_overconfident_data_is_large():
    rng = np.random.default_rng(6)
    proba = rng.dirichlet(np.ones(4), size=50_000)
    y = _sample_labels(rng, proba)
    sharpened = proba**4  # same argmax, far higher confidence than accuracy
    sharpened /= sharpened.sum(axis=1, keepdims=True)
    ece = expected_calibration_error(y, sharpened, np.arange(4))
    assert ece > 0.15
    # Every bin is over-confident, so the ECE is the mean confidence minus accuracy.
    gap = sharpened.max(axis=1).mean() - accuracy(y, sharpened, np.arange(4))
    assert ece == pytest.approx(gap, abs=0.01)


def test_ece_is_zero_for_confident_correct_predictions():
    y = np.array([0, 1, 1])
    assert expected_calibration_error(y, np.eye(2)[y], np.arange(2)) == 0.0


# --- errors ---------------------------------------------------------------

GOOD_PROBA = np.array([[0.6, 0.4], [0.3, 0.7]])
GOOD_CLASSES = np.array(["no", "yes"])
GOOD_Y = np.array(["no", "yes"])


@pytest.mark.parametrize(
    "y, proba, classes, match",
    [
        (["no", "maybe"], GOOD_PROBA, GOOD_CLASSES, r"not in classes: 'maybe'"),
        ([0, 1], GOOD_PROBA, GOOD_CLASSES, r"not in classes: 0, 1"),
        (GOOD_Y, GOOD_PROBA[:, :1], GOOD_CLASSES, r"got shape \(2, 1\)"),
        (GOOD_Y, GOOD_PROBA[:, 0], GOOD_CLASSES, r"got shape \(2,\)"),
        (GOOD_Y, np.ones((2, 2, 1)), GOOD_CLASSES, r"got shape \(2, 2, 1\)"),
        (["no"], GOOD_PROBA, GOOD_CLASSES, r"y_true has shape \(1,\) but proba has shape \(2, 2\)"),
        ([["no", "yes"]], GOOD_PROBA, GOOD_CLASSES, r"y must be 1-D .* got shape \(1, 2\)"),
        (GOOD_Y, GOOD_PROBA, [["no", "yes"]], r"classes must be 1-D .* got shape \(1, 2\)"),
        (GOOD_Y, GOOD_PROBA, ["no", "no"], r"'no' more than once"),
        (["no", "no"], GOOD_PROBA[:, :1], ["no"], r"at least 2 labels"),
        (GOOD_Y, [[np.nan, 1.0], [0.5, 0.5]], GOOD_CLASSES, "NaN or infinite"),
        (GOOD_Y, [[0.0, 0.0], [0.5, 0.5]], GOOD_CLASSES, "no positive probability"),
        ([], np.zeros((0, 2)), GOOD_CLASSES, "zero samples"),
    ],
)
@pytest.mark.parametrize(
    "metric", [accuracy, log_loss, brier_score, expected_calibration_error, score_all]
)
def test_metrics_reject_bad_input(metric, y, proba, classes, match):
    with pytest.raises(ValueError, match=match):
        metric(y, proba, classes)


@pytest.mark.parametrize("n_bins", [0, -3, 2.5, True, "15", None])
def test_ece_rejects_bad_n_bins(n_bins):
    with pytest.raises(ValueError, match="n_bins must be an int >= 1"):
        expected_calibration_error(GOOD_Y, GOOD_PROBA, GOOD_CLASSES, n_bins=n_bins)


def test_unknown_labels_message_is_bounded():
    y = [f"label_{i}" for i in range(20)]
    with pytest.raises(ValueError, match=r"and 15 more"):
        accuracy(y, np.full((20, 2), 0.5), GOOD_CLASSES)
