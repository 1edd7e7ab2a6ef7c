"""A member's ``time_limit``: the epochs that fit are planned, it ends on time, resumes count."""

import json
import time

import keras
import numpy as np
import pytest

from helpers import EpochLog, epochs_begun, kill_when, tiny_plain
from members import BudgetTooSmallError, _budget, _training
from members.utils import budget

#: A long epoch cap and no early stopping: only the budget ends these fits.
UNCAPPED = dict(epochs=500, early_stopping_patience=None, learning_rate=0.01)

#: The fake clock's time, advanced by :class:`FakeSeconds` (a module global:
#: every fit works on deep copies of its callbacks).
FAKE_NOW = [0.0]


class FakeSeconds(keras.callbacks.Callback):
    """Each training batch costs ``per_batch(epoch)`` seconds of the fake clock."""

    def __init__(self, per_batch):
        super().__init__()
        self.per_batch = per_batch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        FAKE_NOW[0] += self.per_batch(self.epoch)


@pytest.fixture
def fake_clock(monkeypatch):
    FAKE_NOW[0] = 0.0
    monkeypatch.setattr(budget, "clock", lambda: FAKE_NOW[0])
    return FAKE_NOW


def last_plan(history):
    """The plan a fit ended with (a partial last epoch logs none)."""
    return [plan for plan in history["planned_epochs"] if np.isfinite(plan)][-1]


def test_the_epochs_that_fit_are_planned_to_the_step_and_the_cosine_ends_with_them(
        tiny_images, fake_clock):
    X, y = tiny_images
    # 200 rows in batches of 32: 7 batches, 7 fake seconds an epoch. Kept free at
    # the end: the batch-norm pass over all 200 rows (about one epoch) and 0.5 s.
    # 50 s: after the first epoch 35.5 s hold 5.07 more, and a remainder under
    # a tenth of an epoch is not trained. 100 s: 85.5 s hold 12.2 more, so the
    # 14th epoch trains its first step (0.21 of an epoch is 1.5 steps).
    for time_limit, expected, seconds in [(50, 6, [7.0] * 6),
                                          (100, 13 + 1 / 7, [7.0] * 13 + [1.0])]:
        fake_clock[0] = 0.0
        clf = tiny_plain(**UNCAPPED, time_limit=time_limit,
                         callbacks=[FakeSeconds(lambda epoch: 1.0)]).fit(X, y)
        assert last_plan(clf.history_) == pytest.approx(expected)
        assert len(clf.history_["epoch"]) == len(seconds)
        assert fake_clock[0] <= time_limit
        # The schedule was planned for those epochs, not for the cap of 500:
        # the rate is back at zero after the last step.
        assert clf.history_["learning_rate"][-1] < 1e-6
        assert clf.history_["seconds"] == pytest.approx(seconds)


def test_the_epoch_cap_still_holds_under_a_long_budget(tiny_images, fake_clock):
    X, y = tiny_images
    clf = tiny_plain(epochs=4, early_stopping_patience=None, time_limit=1000,
                     callbacks=[FakeSeconds(lambda epoch: 1.0)]).fit(X, y)
    assert len(clf.history_["epoch"]) == 4
    assert clf.history_["planned_epochs"][-1] == 4


def test_epochs_slower_than_planned_shorten_the_plan_and_its_cosine(tiny_images, fake_clock):
    X, y = tiny_images
    # Planned at one fake second a batch; from the fourth epoch on, batches take 3.
    clf = tiny_plain(**UNCAPPED, time_limit=100,
                     callbacks=[FakeSeconds(lambda epoch: 1.0 if epoch < 3 else 3.0)]).fit(X, y)
    planned = clf.history_["planned_epochs"]
    assert planned[2] == pytest.approx(13 + 1 / 7)  # planned at 7 s an epoch, as above
    assert last_plan(clf.history_) < planned[2]
    whole = [plan for plan in planned if np.isfinite(plan)]
    assert np.all(np.diff(whole[2:]) <= 0)  # only ever shortened
    # It ends on time, with the shortened cosine at its end, not cut off half-way
    # (its last epoch partial, on the plan's last step).
    assert len(clf.history_["epoch"]) == np.ceil(last_plan(clf.history_))
    assert clf.history_["learning_rate"][-1] < 1e-6
    assert fake_clock[0] <= 100


def test_epochs_faster_than_planned_lengthen_the_plan_with_a_margin(tiny_images, fake_clock):
    X, y = tiny_images
    # The first three epochs take 14 fake seconds (planned: 6 epochs in 100 s),
    # then 7. Kept to 6, the plan would end at 63 s and idle 37 s of the budget.
    # Lengthened at most one epoch at a time, while the time left holds the
    # extra steps 10 % slower: by two sevenths after the fourth epoch (its median
    # epoch still 14 s), then one epoch at a time to 10, then by the one step
    # that the margin leaves room for.
    clf = tiny_plain(**UNCAPPED, time_limit=100,
                     callbacks=[FakeSeconds(lambda epoch: 2.0 if epoch < 3 else 1.0)]).fit(X, y)
    planned = [plan * 7 for plan in clf.history_["planned_epochs"][:-1]]
    assert planned == pytest.approx([42, 42, 42, 44, 51, 58, 65, 70, 70, 71])  # in steps
    assert np.isnan(clf.history_["planned_epochs"][-1])  # the partial 11th epoch
    assert len(clf.history_["epoch"]) == 11
    assert clf.history_["seconds"][-1] == pytest.approx(1.0)
    assert fake_clock[0] <= 100
    # The stretched cosine still ends at zero with the last step.
    assert clf.history_["learning_rate"][-1] < 1e-6


class _Model:
    stop_training = False


def _drive(timer, epoch_seconds, steps=7):
    """Run ``timer`` through epochs of the given fake seconds; the epochs it let run."""
    timer.set_model(_Model())
    timer.set_params({"steps": steps})
    timer.on_train_begin()
    for epoch, seconds in enumerate(epoch_seconds):
        timer.on_epoch_begin(epoch)
        for step in range(steps):
            FAKE_NOW[0] += seconds / steps
            timer.on_train_batch_end(step)
            if timer.model.stop_training:
                break  # as model.fit does: the epoch ends at once
        timer.on_epoch_end(epoch, {})
        if timer.model.stop_training:
            return epoch + 1
    return len(epoch_seconds)


def test_a_resumed_plan_is_never_lengthened(fake_clock):
    # Its model.fit ends at the plan it resumed with: a longer cosine would not
    # reach zero. A fresh fit with the same epochs lengthens its plan.
    resumed = _budget.TimeBudget(100, 500, lambda epoch: 0.0, planned=5, start=0.0)
    assert _drive(resumed, [5.0] * 10) == 5 and resumed.planned == 5
    fake_clock[0] = 0.0
    fresh = _budget.TimeBudget(100, 500, lambda epoch: 0.0, start=0.0)
    _drive(fresh, [20.0] * 3 + [5.0] * 20)
    assert fresh.planned > 4  # 4 after the third epoch of 20 s


def test_a_resumed_partial_plan_ends_on_its_step(fake_clock):
    # Killed inside the partial 6th epoch of a 5 3/7-epoch plan, the resumed fit
    # (from the 5th epoch's checkpoint) trains 3 of the 6th epoch's 7 steps.
    resumed = _budget.TimeBudget(100, 500, lambda epoch: 0.0, planned=5 + 3 / 7, start=0.0)
    assert _budget.epochs_to_run(resumed.planned) == 6
    assert _drive(resumed, [7.0] * 10) == 6
    assert resumed.steps_done == 3


def test_a_fit_killed_before_its_partial_epoch_resumes_it_when_a_tenth_fits(fake_clock):
    # Five whole epochs of 7 s logged, of a 5 3/7-epoch plan: the resumed fit
    # trains the partial if a tenth of an epoch (0.7 s) fits besides the reserve.
    logs = [{"seconds": 7.0, "planned_epochs": 5 + 3 / 7}] * 5
    for left, expected in [(0.5 + 1.0 + 0.8, True), (0.5 + 1.0 + 0.5, False)]:
        timer = _budget.TimeBudget(left, 500, lambda epoch: 1.0,
                                   planned=_budget.planned_epochs(logs), start=0.0)
        assert timer.room_for_another_epoch(logs) is expected
    # Two whole epochs left still need a whole one.
    timer = _budget.TimeBudget(0.5 + 1.0 + 3.0, 500, lambda epoch: 1.0, planned=7.0, start=0.0)
    assert not timer.room_for_another_epoch(logs)


def test_a_partial_epoch_leaves_room_for_the_fixed_cost_of_an_epoch(fake_clock):
    # Epochs of 7 s, of which 2 s after the last step (a validation pass): 3 s
    # left after the whole epochs hold the 2 s and one step (1 s of 5 s a step's
    # share: 5/7 s a step), not 3/7 of an epoch.
    timer = _budget.TimeBudget(7 * 3 + 3.0 + 0.5, 500, lambda epoch: 0.0, start=0.0)
    timer.set_model(_Model())
    timer.set_params({"steps": 7})
    timer.on_train_begin()
    for epoch in range(3):
        timer.on_epoch_begin(epoch)
        for step in range(7):
            FAKE_NOW[0] += 5 / 7
            timer.on_train_batch_end(step)
        FAKE_NOW[0] += 2.0
        timer.on_epoch_end(epoch, {})
    assert timer.epoch_fixed_seconds == pytest.approx([2.0] * 3)
    assert timer.planned == pytest.approx(3 + 1 / 7)


def test_an_epoch_far_slower_than_planned_is_cut_inside(tiny_images, fake_clock):
    X, y = tiny_images
    # The third epoch's batches take 40 fake seconds: the second of them passes the deadline.
    clf = tiny_plain(**UNCAPPED, time_limit=60,
                     callbacks=[FakeSeconds(lambda epoch: 1.0 if epoch < 2 else 40.0)]).fit(X, y)
    assert len(clf.history_["epoch"]) == 3
    assert fake_clock[0] <= 60 + 2 * 40
    assert clf.predict(X).shape == y.shape  # the member is usable


def test_a_first_epoch_that_cannot_finish_stops_as_soon_as_it_is_measured(tiny_images,
                                                                          fake_clock):
    X, y = tiny_images
    # 7 batches of 10 fake seconds: a 70 s epoch cannot end by 50 s (nor would
    # 80 % of it), which its first three batches show; the safety net alone would
    # have stopped it at the deadline, spending all 50 s.
    with pytest.raises(BudgetTooSmallError,
                       match=r"needs about 70\.0 s for one epoch") as caught:
        tiny_plain(**UNCAPPED, time_limit=50,
                   callbacks=[FakeSeconds(lambda epoch: 10.0)]).fit(X, y)
    assert fake_clock[0] == pytest.approx(30.0)
    assert caught.value.epoch_seconds == pytest.approx(70.0)


def test_a_first_epoch_that_just_fits_is_not_stopped_early(tiny_images, fake_clock):
    X, y = tiny_images
    # The same 70 s epoch with 75 s: it trains, and nothing else fits after it.
    clf = tiny_plain(**UNCAPPED, time_limit=75,
                     callbacks=[FakeSeconds(lambda epoch: 10.0)]).fit(X, y)
    assert len(clf.history_["epoch"]) == 1
    assert clf.history_["planned_epochs"] == [1]


def test_a_real_budget_is_honoured_and_mostly_used(tiny_images):
    X, y = tiny_images
    start = time.monotonic()
    clf = tiny_plain(**UNCAPPED, time_limit=6).fit(X, y)
    seconds = time.monotonic() - start
    assert seconds <= 6 * 1.1  # (on a busy machine a 6 s budget has little slack)
    # Planned from measured epochs, not from a guess: most of the budget trained,
    # and the plan (shortened if the machine got busy) was carried out.
    assert sum(clf.history_["seconds"]) > 0.5 * 6
    assert len(clf.history_["epoch"]) >= 0.8 * last_plan(clf.history_)


def test_a_budget_too_small_for_one_epoch_names_the_smallest_workable_one(tiny_images):
    X, y = tiny_images
    # The budget it names does train. It is measured from the refused fit's
    # first steps, so it holds while the machine stays as busy: beside another
    # test worker, whose load changes from one second to the next, one of two
    # tries must train (a seven-batch epoch here is mostly tracing, a few
    # seconds that a busy neighbour can double).
    for attempt in range(2):
        with pytest.raises(BudgetTooSmallError, match=r"time_limit=0\.01 s is too small to "
                                                      r"train one epoch: .*smallest workable "
                                                      r"budget is about \d+ s\.") as caught:
            tiny_plain(**UNCAPPED, time_limit=0.01).fit(X, y)
        error = caught.value
        assert isinstance(error, ValueError)
        assert "\n" not in str(error)
        try:
            clf = tiny_plain(**UNCAPPED, time_limit=error.smallest_workable).fit(X, y)
        except BudgetTooSmallError:
            if attempt:
                raise
            continue
        assert len(clf.history_["epoch"]) >= 1
        break


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), "1m"])
def test_a_bad_time_limit_is_refused_before_training(tiny_images, value):
    X, y = tiny_images
    with pytest.raises((ValueError, TypeError), match="time_limit"):
        tiny_plain(time_limit=value).fit(X, y)


def test_the_planned_cosine_is_the_fixed_cosine_until_replanned():
    fixed = _training.learning_rate_schedule("cosine", 0.01, steps_per_epoch=7, epochs=6,
                                             warmup_epochs=1.0)
    planned = _budget.PlannedCosine(0.01, steps_per_epoch=7, epochs=500, warmup_epochs=1.0)
    planned.set_epochs(6)
    steps = [0, 3, 7, 10, 20, 41, 42, 60]
    assert [float(planned(step)) for step in steps] == pytest.approx(
        [float(fixed(step)) for step in steps], abs=1e-7)
    config = planned.get_config()
    assert config["epochs"] == 6.0
    assert float(_budget.PlannedCosine(**config)(20)) == pytest.approx(float(fixed(20)))


def test_a_budgeted_member_saves_and_loads(tiny_images, tmp_path):
    from ensemble import load, save

    X, y = tiny_images
    clf = tiny_plain(time_limit=30).fit(X, y)
    save(clf, tmp_path / "m.zip")
    loaded = load(tmp_path / "m.zip")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    assert loaded.history_["seconds"] == clf.history_["seconds"]


@pytest.mark.slow
def test_a_killed_budgeted_fit_resumes_with_what_its_budget_has_left(tiny_images, tmp_path):
    X, y = tiny_images
    folder = tmp_path / "ckpt"
    settings = dict(UNCAPPED, time_limit=8, checkpoint_dir=str(folder))

    def backed_up():
        state = folder / "backup" / "state.json"
        return json.loads(state.read_text()) if state.is_file() else None

    kill_when(f"""
        X, y = make_tiny_images()
        callbacks = [EpochLog({str(tmp_path / "killed.log")!r}, seconds_per_batch=0.02)]
        tiny_plain(**{settings!r}, callbacks=callbacks).fit(X, y)
    """, ready=lambda: (backed_up() or {}).get("epochs", 0) >= 3)
    before = backed_up()["history"]
    spent = sum(entry["seconds"] for entry in before)
    plan = before[-1]["planned_epochs"]

    log = tmp_path / "resumed.log"
    start = time.monotonic()
    resumed = tiny_plain(**settings, callbacks=[EpochLog(log, seconds_per_batch=0.02)]).fit(X, y)
    seconds = time.monotonic() - start

    # Only the epochs the killed fit had not finished ran, on its plan ...
    assert epochs_begun(log)[0] == len(before)
    # (shortened only, if the new process, which builds and traces the network
    # again inside what was left, runs behind it)
    # (a partial last epoch, planned or stopped by the safety net on a busy
    # machine, logs no plan)
    resumed_plans = [plan for plan in resumed.history_["planned_epochs"][len(before):]
                     if np.isfinite(plan)]
    assert np.all(np.diff([plan, *resumed_plans]) <= 0)
    assert len(before) < len(resumed.history_["epoch"]) <= np.ceil(plan)
    # ... in what the budget had left, not in a budget of its own.
    assert seconds <= 8 - spent + 1.0
    assert sum(resumed.history_["seconds"]) <= 8


def test_a_fit_killed_after_its_last_epoch_finishes_without_training_again(
        tiny_images, tmp_path, monkeypatch):
    from members import _checkpoints

    X, y = tiny_images
    settings = dict(UNCAPPED, time_limit=5, checkpoint_dir=tmp_path / "ckpt")
    real = _checkpoints.CheckpointFolder.record_finished

    def crash(*args, **kwargs):
        raise RuntimeError("killed before the fit was recorded as finished")

    monkeypatch.setattr(_checkpoints.CheckpointFolder, "record_finished", crash)
    first_log = tmp_path / "first.log"
    with pytest.raises(RuntimeError):
        tiny_plain(**settings, callbacks=[EpochLog(first_log)]).fit(X, y)
    monkeypatch.setattr(_checkpoints.CheckpointFolder, "record_finished", real)
    log = tmp_path / "again.log"
    again = tiny_plain(**settings, callbacks=[EpochLog(log)]).fit(X, y)
    # Its budget was used up: the resumed fit only finishes what the first trained.
    assert epochs_begun(log) == []
    assert len(again.history_["epoch"]) == len(epochs_begun(first_log))


def test_the_error_survives_a_trip_through_a_worker_process():
    import pickle

    error = BudgetTooSmallError("too small", 12.0, "one epoch takes 10 s", 10.0)
    back = pickle.loads(pickle.dumps(error))
    assert (str(back), back.smallest_workable, back.reason, back.epoch_seconds) == (
        "too small", 12.0, "one epoch takes 10 s", 10.0)
