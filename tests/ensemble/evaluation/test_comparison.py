"""The ensemble's gain over its best member, with a paired-bootstrap interval and McNemar's test."""

import numpy as np
import pytest
from scipy.stats import binomtest

from ensemble.evaluation.comparison import compare_to_best_member, describe_gain


def labelled(n=2000, seed=0, n_classes=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_classes, size=n), rng


def noisy(y, rng, strength):
    """Probabilities that lean toward the true class by ``strength``."""
    logits = rng.normal(size=(len(y), 3)) + strength * np.eye(3)[y]
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_a_clear_gain_is_called_better_with_an_interval_that_excludes_zero():
    y, rng = labelled()
    weak, strong = noisy(y, rng, 1.0), noisy(y, rng, 3.0)
    result = compare_to_best_member(y, strong, {"weak": weak}, classes=[0, 1, 2])
    for key in ("accuracy", "log_loss"):
        entry = result[key]
        assert entry["verdict"] == "better" and entry["gain"] > 0
        assert entry["interval"][0] > 0 and entry["interval"][0] < entry["gain"] < \
            entry["interval"][1]
    assert result["accuracy"]["mcnemar_p"] < 1e-10
    assert "accuracy better by" in result["summary"] and "log loss better by" in result["summary"]


def test_an_ensemble_equal_to_a_member_shows_no_difference():
    y, rng = labelled()
    member = noisy(y, rng, 1.5)
    result = compare_to_best_member(y, member, {"a": member, "b": noisy(y, rng, 0.5)},
                                    classes=[0, 1, 2])
    for key in ("accuracy", "log_loss"):
        assert result[key]["best_member"] == "a"
        assert result[key]["gain"] == 0 and result[key]["interval"] == [0.0, 0.0]
        assert result[key]["verdict"] == "no measurable difference"
    assert result["accuracy"]["mcnemar_p"] == 1.0
    assert describe_gain(result).startswith("Against its best member (a): accuracy no "
                                            "measurable difference (+0.0000")


def test_a_tiny_difference_on_noisy_rows_is_no_measurable_difference():
    y, rng = labelled(n=1000)
    member = noisy(y, rng, 1.0)
    nudged = member.copy()
    flipped = np.flatnonzero(member.argmax(axis=1) != y)[:2]  # 2 rows of 1,000 fixed
    nudged[flipped] = np.eye(3)[y[flipped]] * 0.5 + 0.5 / 3
    result = compare_to_best_member(y, nudged, {"member": member}, classes=[0, 1, 2])
    assert result["accuracy"]["gain"] == pytest.approx(0.002)
    assert result["accuracy"]["verdict"] == "no measurable difference"
    assert result["accuracy"]["ensemble_only_right"] == 2
    assert result["accuracy"]["mcnemar_p"] == pytest.approx(binomtest(2, 2, 0.5).pvalue)


def test_the_best_member_is_chosen_per_metric_and_labels_of_any_kind_work():
    y_idx, rng = labelled(n=500)
    labels = np.array(["cat", "dog", "eel"])
    sharp_but_wrong_often = noisy(y_idx, rng, 1.2) ** 4
    sharp_but_wrong_often /= sharp_but_wrong_often.sum(axis=1, keepdims=True)
    calibrated = noisy(y_idx, rng, 1.2)
    result = compare_to_best_member(labels[y_idx], calibrated,
                                    {"sharp": sharp_but_wrong_often, "calibrated": calibrated},
                                    classes=labels)
    assert result["log_loss"]["best_member"] == "calibrated"
    assert result["n_samples"] == 500


def test_the_interval_is_reproducible_and_covers_the_gain():
    y, rng = labelled(n=300)
    a, b = noisy(y, rng, 1.0), noisy(y, rng, 1.1)
    first = compare_to_best_member(y, a, {"b": b}, classes=[0, 1, 2], random_state=3)
    again = compare_to_best_member(y, a, {"b": b}, classes=[0, 1, 2], random_state=3)
    assert first == again
    low, high = first["log_loss"]["interval"]
    assert low <= first["log_loss"]["gain"] <= high


@pytest.mark.parametrize(("call", "message"), [
    (lambda y, p: compare_to_best_member(y, p, {}, classes=[0, 1, 2]),
     "member_probas must name at least one member"),
    (lambda y, p: compare_to_best_member(y, p[:5], {"a": p}, classes=[0, 1, 2]),
     r"ensemble_proba must have shape \(20, 3\)"),
    (lambda y, p: compare_to_best_member(y, p, {"a": p[:, :2]}, classes=[0, 1, 2]),
     r"member 'a' must have shape \(20, 3\)"),
    (lambda y, p: compare_to_best_member(y, p, {"a": p}, classes=[0, 1, 2], confidence=1.0),
     r"confidence must be a number in \(0.0, 1.0\)"),
])
def test_bad_input_is_a_clear_error(call, message):
    y, rng = labelled(n=20)
    with pytest.raises(ValueError, match=message):
        call(y, noisy(y, rng, 1.0))
