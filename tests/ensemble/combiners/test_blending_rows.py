"""Blending data: members allowed to run out of time are left out of every stage."""

import numpy as np
import pytest

from ensemble.combiners._blending_rows import blending_data
from helpers import tiny_plain
from members import BudgetTooSmallError


def _data(tiny_images, named_members, **source):
    X, y = tiny_images
    settings = dict(holdout=0.25, cv=None, validation_data=None, n_jobs=None, random_state=0)
    settings.update(source)
    return blending_data(named_members, X, X.reshape(len(X), -1), y, np.unique(y),
                         may_run_out={"no_time"}, **settings)


def _members():
    # 0.01 s cannot hold one epoch: the member refuses with BudgetTooSmallError.
    # It comes first, so that slicing the stages as if it were last would fail.
    return [("no_time", tiny_plain(epochs=1, time_limit=0.01)), ("net", tiny_plain(epochs=1))]


# Not with worker processes: two more TensorFlow processes slowed the timed
# budget tests beside this one past their race shares in CI (an error comes
# back from a worker as test_budget's parallel too-small test shows).
@pytest.mark.parametrize("source", [{}, {"cv": 2}], ids=["holdout", "out-of-fold"])
def test_a_member_allowed_to_run_out_is_left_out_of_every_stage(tiny_images, source):
    data = _data(tiny_images, _members(), **source)
    assert list(data.left_out) == ["no_time"]
    assert isinstance(data.left_out["no_time"], BudgetTooSmallError)
    assert len(data.members) == 1 and data.members[0].time_limit is None
    assert data.probas.shape[0] == 1
    # Every blending row has the kept member's predictions (no hole from a fold).
    np.testing.assert_allclose(data.probas.sum(axis=2), 1.0, atol=1e-5)
    assert data.network_fits == (2 * 3 if "cv" in source else 2)


def test_a_member_not_allowed_to_run_out_still_fails_the_fit(tiny_images):
    X, y = tiny_images
    members = [("net", tiny_plain(epochs=1)), ("short", tiny_plain(epochs=1, time_limit=0.01))]
    with pytest.raises(BudgetTooSmallError, match="too small to train one epoch"):
        blending_data(members, X, X.reshape(len(X), -1), y, np.unique(y), holdout=0.25,
                      cv=None, validation_data=None, n_jobs=None, random_state=0,
                      may_run_out={"no_time"})


def test_when_every_member_runs_out_the_fit_fails_with_their_error(tiny_images):
    X, y = tiny_images
    members = [("no_time", tiny_plain(epochs=1, time_limit=0.01))]
    with pytest.raises(BudgetTooSmallError, match="too small to train one epoch"):
        blending_data(members, X, X.reshape(len(X), -1), y, np.unique(y), holdout=0.25,
                      cv=None, validation_data=None, n_jobs=None, random_state=0,
                      may_run_out={"no_time"})
