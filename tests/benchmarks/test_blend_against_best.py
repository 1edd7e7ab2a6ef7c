"""benchmarks/_common.blend_against_best: the scores blend_levers.py and demo_epochs.py print."""

import numpy as np

import _common as common


def test_a_blend_of_two_complementary_members_beats_each_and_is_scored_against_the_best():
    # Member a is right on the first half of the rows, member b on the second.
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    right, wrong = np.array([0.9, 0.1]), np.array([0.4, 0.6])
    a = np.array([right if label == 0 else right[::-1] for label in y[:4]]
                 + [wrong if label == 0 else wrong[::-1] for label in y[4:]])
    b = np.array([wrong if label == 0 else wrong[::-1] for label in y[:4]]
                 + [right if label == 0 else right[::-1] for label in y[4:]])
    weights, proba, scores = common.blend_against_best([a, b], y, [a, b], y)
    np.testing.assert_allclose(weights, [0.5, 0.5], atol=1e-3)
    np.testing.assert_allclose(proba, (a + b) / 2, atol=1e-3)
    assert scores["best_accuracy"] == 0.5
    assert scores["accuracy"] == 1.0
    assert scores["log_loss"] < scores["best_log_loss"]
