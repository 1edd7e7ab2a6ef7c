"""benchmarks/distill.py: the rows a student is taught on, and the member it is compared with."""

import distill as bench
import numpy as np

from ensemble import WeightedAverageEnsemble
from helpers import tiny_plain
from members.utils.splits import held_out_rows


def test_the_baseline_is_the_teachers_member_trained_as_the_student_would_be(tiny_split):
    X, y, _, _ = tiny_split
    ensemble = WeightedAverageEnsemble([(f"s{k}", tiny_plain(random_state=k)) for k in (1, 2)],
                                       holdout=0.3, random_state=0).fit(X, y)
    assert bench.same_member(ensemble, tiny_plain(random_state=2)) is ensemble.members_[1]
    assert bench.same_member(ensemble, tiny_plain(random_state=3)) is None
    assert bench.same_member(ensemble, tiny_plain(random_state=1, epochs=5)) is None
    # The transfer rows are the ones the members trained on: the held-out split reproduced.
    train, _ = held_out_rows(y, 0.3, 0)
    np.testing.assert_array_equal(bench.training_rows(ensemble, y), np.sort(train))
    member = ensemble.members_[0]
    np.testing.assert_array_equal(bench.training_rows(member, y),
                                  np.sort(held_out_rows(y, 0.1, 0)[0]))
