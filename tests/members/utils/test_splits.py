"""The validation and blending splits.

Stratified, every class on both sides, grown on small data.
"""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from members.utils.splits import (
    every_class_fits,
    grown_size,
    held_out_rows,
    stratified_split,
    validation_split,
)


def classes_on_both_sides(y, train, test):
    return set(y[train]) == set(y) == set(y[test])


@pytest.mark.parametrize("counts", [(2, 2, 16), (2, 9, 9), (3, 3, 3, 3, 8), (2, 2), (50, 2)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_stratified_split_keeps_every_class_on_both_sides_of_lopsided_data(counts, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    for n_test in range(len(counts), len(y) - len(counts) + 1):
        train, test = stratified_split(y, n_test, seed)
        assert len(test) == n_test and len(train) == len(y) - n_test
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(y)))
        assert classes_on_both_sides(y, train, test), (counts, n_test)


def test_data_that_split_before_split_exactly_as_scikit_learn_splits_them():
    y = np.repeat(np.arange(10), 60)
    train, test = stratified_split(y, 60, 7)
    expected = train_test_split(np.arange(len(y)), test_size=60, stratify=y, random_state=7)
    np.testing.assert_array_equal(train, expected[0])
    np.testing.assert_array_equal(test, expected[1])


def test_the_size_grows_to_one_row_per_class_and_leaves_one_per_class_to_train_on():
    y = np.repeat(np.arange(3), [7, 7, 6])
    assert every_class_fits(y) and not every_class_fits(np.r_[y, 3])
    assert grown_size(2, y) == 3
    assert grown_size(5, y) == 5
    assert grown_size(19, y) == 17


def test_a_members_validation_split_grows_to_one_row_per_class():
    X = np.arange(20)[:, None]
    y = np.repeat(np.arange(3), [7, 7, 6])
    X_train, y_train, (X_val, y_val) = validation_split(X, y, 0.1, seed=0)
    assert sorted(y_val.tolist()) == [0, 1, 2]  # ceil(0.1 * 20) = 2 rows grew to 3
    assert sorted(y_train.tolist()) == sorted(np.repeat(np.arange(3), [6, 6, 5]).tolist())


def test_a_class_with_a_single_row_gives_a_plain_validation_split():
    X = np.arange(11)[:, None]
    y = np.r_[np.zeros(10, int), 1]
    X_train, y_train, (X_val, y_val) = validation_split(X, y, 0.1, seed=0)
    assert len(y_val) == 2 and len(y_train) == 9


def test_the_default_blending_split_grows_to_one_row_per_class():
    y = np.repeat(np.arange(3), [7, 7, 6])
    train, blend = held_out_rows(y, 0.1, random_state=0)
    assert sorted(y[blend].tolist()) == [0, 1, 2]
    assert classes_on_both_sides(y, train, blend)


@pytest.mark.parametrize("y, holdout, message", [
    (np.r_[np.zeros(10, int), 1], 0.1, r"class 1 has a single sample"),
    (np.repeat(np.arange(4), 5), 2, r"2 rows can't hold one of each of the 4 classes"),
    (np.repeat(np.arange(2), 5), 0.9, r"leaves fewer than one training row per class"),
], ids=["single-sample-class", "count-below-the-classes", "nothing-left-to-train"])
def test_blending_splits_the_data_cannot_give_are_refused(y, holdout, message):
    with pytest.raises(ValueError, match=rf"holdout={holdout!r} cannot hold out a stratified "
                                         rf"blending set from {len(y)} samples .*{message}"):
        held_out_rows(y, holdout, random_state=0)
