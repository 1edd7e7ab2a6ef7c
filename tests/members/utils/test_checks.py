"""members.utils: the argument checks, seeds and member marker both packages use."""

import numpy as np
import pytest

from members.utils.checks import check_int, check_real, is_int, is_real
from members.utils.kinds import is_keras_member
from members.utils.seeds import SEED_LIMIT, seed_from


@pytest.mark.parametrize("value, expected", [(3, True), (np.int64(3), True), (True, False),
                                             (3.0, False), ("3", False)])
def test_is_int_takes_numpy_ints_and_refuses_bools(value, expected):
    assert is_int(value) is expected


def test_is_real_refuses_bools_and_by_default_non_finite_numbers():
    assert is_real(0.5) and is_real(np.float32(2)) and not is_real(True)
    assert not is_real(float("nan")) and is_real(float("nan"), finite=False)


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "2", None])
def test_check_int_names_the_parameter_in_scikit_learns_words(value):
    with pytest.raises(ValueError, match=rf"^n_jobs must be an int >= 1, got {value!r}\.$"):
        check_int(value, "n_jobs", minimum=1)


def test_check_int_returns_a_python_int():
    assert type(check_int(np.int32(4), "rounds", minimum=1)) is int


def test_check_real_states_the_interval():
    check_real(0.5, "rate", low=0.0, high=1.0, high_open=True)
    with pytest.raises(ValueError, match=r"rate must be a number in \[0.0, 1.0\), got 1.0"):
        check_real(1.0, "rate", low=0.0, high=1.0, high_open=True)


def test_seed_from_maps_ints_draws_from_random_states_and_refuses_the_rest():
    assert seed_from(None) is None
    assert seed_from(7) == 7 and seed_from(SEED_LIMIT + 7) == 7
    state = np.random.RandomState(0)
    first, second = seed_from(state), seed_from(state)
    assert first != second and 0 <= first < SEED_LIMIT
    with pytest.raises(TypeError, match="random_state must be None, an int or a numpy"):
        seed_from("0")


def test_members_are_recognised_without_being_imported_by_name():
    from sklearn.linear_model import LogisticRegression

    from members import KerasMemberClassifier, PlainCNNClassifier

    assert is_keras_member(PlainCNNClassifier())
    assert is_keras_member(KerasMemberClassifier(build_fn=None))
    assert not is_keras_member(LogisticRegression()) and not is_keras_member(PlainCNNClassifier)
