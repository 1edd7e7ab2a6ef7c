"""Tests for ensemble.combiners.weights: blending, validation, log-loss and Caruana weights."""

import time

import numpy as np
import pytest
from scipy.optimize import check_grad

from ensemble.combiners import weights as W
from ensemble.combiners.averaging import blend
from ensemble.combiners.weights import (
    caruana_weights,
    check_weights,
    equal_weights,
    log_loss_weights,
)
from ensemble.evaluation.metrics import log_loss


def make_members(seed, n_members=6, n_samples=2000, n_classes=5, signal=None):
    """Softmax members of different quality around one known truth.

    Member ``m`` adds ``signal[m]`` to the true class's logit on top of
    independent unit noise, so a larger signal means a better member and the
    members' errors are partly independent (blending helps).
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n_samples)
    if signal is None:
        signal = rng.uniform(0.5, 2.5, size=n_members)
    logits = rng.normal(size=(len(signal), n_samples, n_classes))
    logits[:, np.arange(n_samples), y] += np.asarray(signal)[:, None]
    proba = np.exp(logits - logits.max(axis=2, keepdims=True))
    proba /= proba.sum(axis=2, keepdims=True)
    return proba, y


def blend_loss(probas, y, w):
    """The user-facing yardstick: ensemble.evaluation.metrics.log_loss of the blend."""
    return log_loss(y, blend(probas, w), np.arange(np.shape(probas)[2]))


def member_losses(probas, y):
    return np.array([blend_loss(probas, y, e) for e in np.eye(len(probas))])


def assert_on_simplex(w, n_members):
    assert w.shape == (n_members,)
    assert w.dtype == np.float64
    assert np.all(w >= 0)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


# --- equal_weights, check_weights, blend -----------------------------------


def test_equal_weights():
    np.testing.assert_array_equal(equal_weights(4), [0.25] * 4)


def test_check_weights_normalises_and_copies():
    raw = np.array([1, 3, 0])
    out = check_weights(raw, 3)
    np.testing.assert_allclose(out, [0.25, 0.75, 0.0])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(raw, [1, 3, 0])


def test_blend_is_the_weighted_average_in_float64():
    probas, _ = make_members(0, n_members=3, n_samples=50)
    probas = probas.astype(np.float32)
    out = blend(probas, [2.0, 1.0, 1.0])
    expected = 0.5 * probas[0] + 0.25 * probas[1] + 0.25 * probas[2]
    assert out.shape == (50, 5) and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)


def test_blend_accepts_a_list_of_members():
    probas, _ = make_members(1, n_members=3, n_samples=20)
    w = [0.2, 0.3, 0.5]
    np.testing.assert_array_equal(blend(list(probas), w), blend(probas, w))


@pytest.mark.parametrize(
    "weights, match",
    [
        ([0.5, 0.5], r"weights has length 2 but there are 3 members"),
        ([0.2, 0.3, 0.4, 0.1], r"weights has length 4 but there are 3 members"),
        ([[0.2, 0.3, 0.5]], r"1-D .* got shape \(1, 3\)"),
        (0.5, r"1-D .* got shape \(\)"),
        ([0.5, -0.1, 0.6], r"non-negative; got -0.1 at index 1"),
        ([0.0, 0.0, 0.0], r"all zero"),
        ([0.5, np.nan, 0.5], r"finite; got nan at index 1"),
        ([np.inf, 0.0, 1.0], r"finite; got inf at index 0"),
        (["a", "b", "c"], r"array of numbers"),
    ],
)
def test_bad_weights_are_rejected(weights, match):
    with pytest.raises(ValueError, match=match):
        check_weights(weights, 3)
    probas, _ = make_members(2, n_members=3, n_samples=10)
    with pytest.raises(ValueError, match=match):
        blend(probas, weights)


@pytest.mark.parametrize("n_members", [0, -1, 1.0, True])
def test_bad_member_counts_are_rejected(n_members):
    with pytest.raises(ValueError, match="n_members must be an int >= 1"):
        equal_weights(n_members)
    with pytest.raises(ValueError, match="n_members must be an int >= 1"):
        check_weights([1.0], n_members)


# --- input validation shared by the solvers --------------------------------

GOOD_PROBAS = np.full((2, 3, 2), 0.5)
GOOD_Y = np.array([0, 1, 1])


@pytest.mark.parametrize(
    "probas, y, classes, match",
    [
        (np.full((3, 2), 0.5), GOOD_Y, None, r"got shape \(3, 2\)"),
        (np.full((1, 2, 3, 2), 0.5), GOOD_Y, None, r"got shape \(1, 2, 3, 2\)"),
        ([], GOOD_Y, None, "at least one member is needed"),
        (np.zeros((0, 3, 2)), GOOD_Y, None, r"at least one member.* \(0, 3, 2\)"),
        (
            [np.full((3, 2), 0.5), np.full((3, 3), 1 / 3)],
            GOOD_Y,
            None,
            r"member 0 has shape \(3, 2\), member 1 has shape \(3, 3\)",
        ),
        ([np.full(3, 0.5)], GOOD_Y, None, r"member 0 has shape \(3,\)"),
        (np.full((2, 3, 2), np.nan), GOOD_Y, None, "NaN or infinite"),
        (GOOD_PROBAS, [0, 1], None, r"y has 2 samples but probas has 3"),
        (GOOD_PROBAS, [0, 1, 2], None, r"class index 2 at position 2, outside \[0, 2\)"),
        (GOOD_PROBAS, [0, -1, 1], None, r"class index -1 at position 1"),
        (GOOD_PROBAS, [0.0, 1.0, 1.0], None, r"integer class indices .* dtype float64"),
        (GOOD_PROBAS, ["a", "b", "b"], None, r"integer class indices .* Pass classes="),
        (GOOD_PROBAS, [[0, 1, 1]], None, r"y must be 1-D"),
        (GOOD_PROBAS, ["a", "c", "b"], ["a", "b"], r"not in classes: 'c'"),
        (
            GOOD_PROBAS,
            ["a", "b", "b"],
            ["a", "b", "c"],
            r"classes must have shape .*\(2,\).* \(3,\)",
        ),
        (GOOD_PROBAS, ["a", "b"], ["a", "b"], r"y has 2 samples but probas has 3"),
        (
            np.array([[[0.5, 0.5]] * 3, [[0.5, 0.5], [0.0, 0.0], [0.5, 0.5]]]),
            GOOD_Y,
            None,
            r"member 1 has no positive probability in row 1",
        ),
    ],
)
@pytest.mark.parametrize("solver", [log_loss_weights, caruana_weights])
def test_solvers_reject_bad_input(solver, probas, y, classes, match):
    with pytest.raises(ValueError, match=match):
        solver(probas, y, classes=classes)


@pytest.mark.parametrize("rounds", [0, -5, 2.5, True, "25", None])
def test_caruana_rejects_bad_rounds(rounds):
    with pytest.raises(ValueError, match="rounds must be an int >= 1"):
        caruana_weights(GOOD_PROBAS, GOOD_Y, rounds=rounds)


# --- log_loss_weights ------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_log_loss_weights_never_worse_than_best_member_or_equal_weights(seed):
    probas, y = make_members(seed)
    w = log_loss_weights(probas, y)
    assert_on_simplex(w, len(probas))
    loss = blend_loss(probas, y, w)
    assert loss <= member_losses(probas, y).min() + 1e-12
    assert loss <= blend_loss(probas, y, equal_weights(len(probas))) + 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_log_loss_weights_satisfy_the_optimality_conditions(seed):
    # On the simplex, w minimises the convex loss iff every gradient entry is
    # >= -1 and the entries of members with positive weight equal -1
    # (since sum_m w_m * grad_m = -mean(q / q) = -1).
    probas, y = make_members(seed, n_members=8, signal=np.linspace(1.0, 2.0, 8))
    w = log_loss_weights(probas, y)
    true_p = W._true_class_matrix(probas, y, None)
    _, grad = W._loss_and_grad(w, true_p)
    assert np.all(grad >= -1 - 1e-5)
    np.testing.assert_allclose(grad[w > 1e-4], -1.0, atol=1e-5)
    assert (w > 1e-4).sum() >= 2  # the case really is interior, not a vertex


def test_log_loss_weights_recovers_a_perfect_member():
    probas, y = make_members(7, n_members=5)
    probas[3] = np.eye(5)[y]  # member 3 is right with full confidence
    w = log_loss_weights(probas, y)
    assert w[3] > 0.99
    assert_on_simplex(w, 5)


def test_log_loss_weights_fall_back_to_the_best_candidate(monkeypatch):
    probas, y = make_members(8)
    # A solver returning nonsense must not leak out: a candidate wins instead.
    monkeypatch.setattr(W, "_solve_simplex", lambda true_p: np.eye(len(true_p))[-1])
    w = log_loss_weights(probas, y)
    best = min(blend_loss(probas, y, e) for e in np.eye(len(probas)))
    best = min(best, blend_loss(probas, y, equal_weights(len(probas))))
    assert blend_loss(probas, y, w) == pytest.approx(best, abs=1e-12)


def test_log_loss_weights_with_labels_matches_indices():
    probas, y = make_members(9, n_classes=3)
    classes = np.array(["ant", "bee", "cow"])
    by_label = log_loss_weights(list(probas), classes[y], classes=classes)
    np.testing.assert_allclose(by_label, log_loss_weights(probas, y), atol=1e-12)


def test_log_loss_weights_single_member():
    probas, y = make_members(10, n_members=1)
    np.testing.assert_array_equal(log_loss_weights(probas, y), [1.0])


def test_log_loss_weights_tolerate_exact_zeros_for_the_true_class():
    # Float32 softmax underflows to exactly 0; the floor keeps the loss finite.
    probas, y = make_members(11, n_members=3)
    probas = probas.astype(np.float32)
    probas[0, :100] = np.eye(5)[(y[:100] + 1) % 5]  # confidently wrong: 0 on the truth
    w = log_loss_weights(probas, y)
    assert_on_simplex(w, 3)
    assert blend_loss(probas, y, w) <= member_losses(probas, y).min() + 1e-7


def test_gradient_matches_finite_differences():
    probas, y = make_members(12)
    true_p = W._true_class_matrix(probas, y, None)
    rng = np.random.default_rng(0)
    for _ in range(3):
        w = rng.dirichlet(np.ones(len(true_p)))
        error = check_grad(
            lambda v: W._loss_and_grad(v, true_p)[0],
            lambda v: W._loss_and_grad(v, true_p)[1],
            w,
        )
        assert error < 1e-5


def test_log_loss_weights_is_fast_enough():
    # The promise: 10 members x 10,000 rows x 10 classes in well under 0.5 s.
    probas, y = make_members(13, n_members=10, n_samples=10_000, n_classes=10)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        log_loss_weights(probas, y)
        timings.append(time.perf_counter() - start)
    assert np.median(timings) < 0.5


# --- caruana_weights -------------------------------------------------------


@pytest.mark.parametrize("rounds", [1, 7, 25])
def test_caruana_weights_are_multiples_of_one_over_rounds(rounds):
    probas, y = make_members(14)
    w = caruana_weights(probas, y, rounds=rounds)
    assert_on_simplex(w, len(probas))
    counts = w * rounds
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    assert np.round(counts).sum() == rounds


@pytest.mark.parametrize("seed", range(4))
def test_caruana_one_round_picks_the_best_member(seed):
    probas, y = make_members(seed)
    w = caruana_weights(probas, y, rounds=1)
    np.testing.assert_array_equal(w, np.eye(len(probas))[np.argmin(member_losses(probas, y))])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("rounds", [2, 5, 25])
def test_caruana_never_worse_than_the_best_member(seed, rounds):
    # Guaranteed by convexity (see the docstring), for every number of rounds.
    probas, y = make_members(seed)
    w = caruana_weights(probas, y, rounds=rounds)
    assert blend_loss(probas, y, w) <= member_losses(probas, y).min() + 1e-12


def test_caruana_loss_can_rise_between_rounds_but_stays_below_the_best_member():
    # Two complementary members, each right with 0.9 on one sample and 0.5 on
    # the other. Round 2 blends them 1:1; round 3 must add one and tilts the
    # blend 2:1, which is worse than 1:1 yet better than either member.
    probas = np.array(
        [
            [[0.9, 0.1], [0.5, 0.5]],
            [[0.5, 0.5], [0.1, 0.9]],
        ]
    )
    y = np.array([0, 1])
    w2 = caruana_weights(probas, y, rounds=2)
    w3 = caruana_weights(probas, y, rounds=3)
    np.testing.assert_allclose(w2, [0.5, 0.5])
    np.testing.assert_allclose(w3, [2 / 3, 1 / 3])
    loss2, loss3 = blend_loss(probas, y, w2), blend_loss(probas, y, w3)
    assert loss2 < loss3 <= member_losses(probas, y).min()


def test_caruana_is_deterministic_and_breaks_ties_by_lowest_index():
    probas, y = make_members(15, n_members=4)
    best = np.argmin(member_losses(probas, y))
    duplicated = np.concatenate([probas, probas])  # members m and m + 4 are equal
    w = caruana_weights(duplicated, y)
    np.testing.assert_array_equal(w, caruana_weights(duplicated, y))
    assert np.all(w[4:] == 0)
    assert w[best] > 0


def test_caruana_with_labels_matches_indices():
    probas, y = make_members(16, n_classes=3)
    classes = np.array([10, 20, 30])
    np.testing.assert_array_equal(
        caruana_weights(probas, classes[y], classes=classes), caruana_weights(probas, y)
    )
