"""A member's time budget: plan the epochs that fit, stop before the time runs out.

A member fitted with ``time_limit`` measures its own first epoch (no extra
probe: the warm-up epoch is the probe; a combiner's race has a probe of its
own, see :mod:`ensemble.combiners.budget`) and then plans the epochs that
fit in what is left, to the step: a plan of 13.6 epochs trains 13 whole ones
and stops six tenths into the 14th, so that the end of a budget that does
not hold a whole further epoch still trains instead of idling. A cosine
schedule is planned for that length
(:class:`PlannedCosine`, whose length is a variable set after the first
epoch, so nothing is traced twice), and :class:`TimeBudget` shortens the
plan (and the cosine with it) if later epochs run slower than planned, so
that training still ends on time with the rate at zero, and lengthens it
(by at most an epoch at a time) when they run faster, so that the time is
not left idle. A first epoch
whose first steps show that it cannot end before the deadline stops at once
(the fit is then refused with the smallest workable budget) instead of
spending the whole budget first. Every epoch's seconds are logged, so a
resumed fit knows what the interrupted one spent.

What a fit costs besides its epochs (building the network before the first
epoch, the precise batch-norm pass after the last) is inside the budget
too: the deadline counts from the start of ``fit``, and the batch-norm pass
is reserved from measured speed.
"""

import keras
import numpy as np

from members.utils import budget

#: Keys a budgeted fit adds to every epoch's logs (and so to ``history_``).
SECONDS_KEY = "seconds"
PLANNED_KEY = "planned_epochs"

#: Seconds kept free at the end of a member's budget besides the measured
#: batch-norm pass: saving the finished model, returning from ``fit``.
END_MARGIN_SECONDS = 0.5

#: A plan is lengthened only when the time left holds the extra steps even if
#: the next ones run this much slower than the last three (no flapping on noise).
LENGTHEN_MARGIN = 0.1

#: A fresh fit stops inside its first epoch as soon as its measured steps say
#: that even this share of the projected epoch would not end before the deadline
#: (the share allows for early steps that run slower than the rest).
FAIL_FAST_SHARE = 0.8

#: A plan's last, partial epoch is at least this share of an epoch (a shorter
#: remainder is left idle: the epoch's end, its validation pass and checkpoint
#: writes, costs about as much as it would train).
MIN_PARTIAL_EPOCH = 0.1


def spent_seconds(previous_logs):
    """Training seconds an interrupted fit recorded (0 for a fresh fit)."""
    return float(np.nansum([entry.get(SECONDS_KEY, 0.0) for entry in previous_logs]))


def planned_epochs(previous_logs):
    """The plan an interrupted fit made (maybe ending in a partial epoch), or None."""
    for entry in reversed(previous_logs):
        if np.isfinite(entry.get(PLANNED_KEY, np.nan)):
            return float(entry[PLANNED_KEY])
    return None


def epochs_to_run(planned):
    """The epochs ``model.fit`` starts for a plan: its partial last one included."""
    return int(np.ceil(planned - 1e-9))


@keras.saving.register_keras_serializable(package="keras_ensembles")
class PlannedCosine(keras.optimizers.schedules.LearningRateSchedule):
    """A linear warm-up then a half cosine to 0, over a length that can be set while training.

    The same curve as the fixed cosine schedule of
    :func:`members._training.learning_rate_schedule`; its length in epochs
    is a variable, so that a budgeted fit can set it after timing its first
    epoch without tracing the training step again. The warm-up is at most
    half of the planned length.

    Parameters
    ----------
    learning_rate : float
        The peak, reached at the end of the warm-up.
    steps_per_epoch : int
    epochs : float
        The length until planned (the epoch cap); a plan's may end in a
        partial epoch.
    warmup_epochs : float
    """

    def __init__(self, learning_rate, steps_per_epoch, epochs, warmup_epochs):
        self.learning_rate = float(learning_rate)
        self.steps_per_epoch = int(steps_per_epoch)
        self.warmup_epochs = float(warmup_epochs)
        self.epochs = keras.Variable(float(epochs), dtype="float32", trainable=False,
                                     name="planned_epochs")

    def set_epochs(self, epochs):
        self.epochs.assign(float(epochs))

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        total = ops.maximum(1.0, self.epochs * self.steps_per_epoch)
        warmup = ops.minimum(float(round(self.steps_per_epoch * self.warmup_epochs)),
                             ops.floor(total / 2.0))
        rising = self.learning_rate * step / ops.maximum(warmup, 1.0)
        progress = ops.clip((step - warmup) / ops.maximum(total - warmup, 1.0), 0.0, 1.0)
        falling = 0.5 * self.learning_rate * (1.0 + ops.cos(np.pi * progress))
        return ops.where(step < warmup, rising, falling)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "steps_per_epoch": self.steps_per_epoch,
                "epochs": float(keras.ops.convert_to_numpy(self.epochs)),
                "warmup_epochs": self.warmup_epochs}


class TimeBudget(keras.callbacks.Callback):
    """Plan the epochs that fit after the first one; stop before the deadline.

    Goes first among the callbacks: it writes each epoch's seconds and the
    plan into the epoch's logs, which the log writer after it records.

    Parameters
    ----------
    deadline : float
        :data:`clock` time by which ``fit`` must have returned.
    max_epochs : int
        The member's ``epochs``: the plan never exceeds it.
    reserve : callable
        ``reserve(epoch_seconds)``: seconds to keep free after the last
        epoch (the batch-norm pass), from the measured epoch length.
    schedule : PlannedCosine or None
        Told the planned length; None for schedules that need none.
    planned : float or None
        The plan of the interrupted fit this one resumes.
    start : float or None
        :data:`clock` time at which ``fit`` began: the first epoch's logged
        seconds count from there (building the network included), later
        ones from the previous epoch's end (the checkpoint writes included),
        so that the logged seconds add up to what the fit spent.
    """

    def __init__(self, deadline, max_epochs, reserve, schedule=None, planned=None, start=None):
        super().__init__()
        self.start = start
        self.deadline = float(deadline)
        self.max_epochs = int(max_epochs)
        self.reserve = reserve
        self.schedule = schedule
        self.planned = planned
        # A resumed fit keeps the plan its schedule was made for (shortened if need be).
        self.resumed = planned is not None
        self.replans_left = 0 if self.resumed else 3
        self.epoch_seconds = []
        # Each whole epoch's cost besides its training steps (the validation
        # pass, the checkpoint writes): a partial epoch costs it all the same.
        self.epoch_fixed_seconds = []
        self.previous_end = None
        self.steps_per_epoch = None
        if schedule is not None and planned is not None:
            schedule.set_epochs(planned)

    def on_train_begin(self, logs=None):
        self.steps_per_epoch = self.params.get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_start = budget.clock()
        self.steps_done = 0
        self.first_step_end = self.last_step_end = None

    def on_train_batch_end(self, batch, logs=None):
        now = budget.clock()
        self.steps_done = batch + 1
        if self.first_step_end is None:
            self.first_step_end = now
        self.last_step_end = now
        # A safety net for an epoch far slower than the last: stop inside it
        # (the first epoch only after three steps, to measure what one costs).
        measuring = not self.epoch_seconds and self.steps_done < 3
        # Stopped here, the epoch still runs its validation pass and checkpoint writes.
        if not measuring and (now > self.deadline - self._reserve_now() - self._next_fixed()
                              or self._first_epoch_cannot_finish()):
            self.model.stop_training = True
        if self._plan_ends_here():
            # The plan's partial last epoch: its cosine reached zero at this step.
            self.model.stop_training = True

    def _plan_ends_here(self):
        """Whether a partial epoch has reached the plan's last step.

        Not at an epoch's last step: the epoch's end decides then (a plan it
        lengthens goes on into the next epoch).
        """
        if (self.planned is None or not self.steps_per_epoch
                or self.steps_done >= self.steps_per_epoch):
            return False
        step = self.epoch * self.steps_per_epoch + self.steps_done
        return step >= round(self.planned * self.steps_per_epoch)

    def on_epoch_end(self, epoch, logs=None):
        now = budget.clock()
        seconds = now - self.epoch_start
        since = self.previous_end if self.previous_end is not None else self.start
        if logs is not None:
            logs[SECONDS_KEY] = now - (self.epoch_start if since is None else since)
        if self.steps_per_epoch and self.steps_done < self.steps_per_epoch:
            return  # stopped inside the epoch: not the length of a whole one
        # From the previous epoch's end: what the callbacks after it cost (the
        # checkpoint writes) counts too. The first epoch, without its tracing.
        self.epoch_seconds.append(self._untraced_length(seconds, now)
                                  if self.previous_end is None else now - self.previous_end)
        # After the last step: this epoch's validation pass; before the first,
        # the previous epoch's checkpoint writes (callbacks after this one).
        self.epoch_fixed_seconds.append(
            (now - self.last_step_end if self.last_step_end is not None else 0.0)
            + (self.epoch_start - self.previous_end if self.previous_end is not None else 0.0))
        self.previous_end = now
        if self.replans_left:
            # After each of the first three epochs (the first one's validation
            # pass still carried tracing): early enough in the schedule that its
            # new length barely moves the rate.
            self.replans_left -= 1
            self._set_plan(self._plan(epoch))
        elif self._plan(epoch) < self.planned:
            # Epochs slowed down (a busy machine): the cosine is shortened to the
            # epochs that still fit, so that it still ends at zero when time is
            # up.
            self._set_plan(self._plan(epoch))
        elif not self.resumed and self._plan(epoch, slower_by=LENGTHEN_MARGIN) > self.planned:
            # Epochs sped up (the first ones ran beside other work, or slower
            # than the rest): the time left holds more steps even if the next
            # ones run a tenth slower. Idling it would waste it (a member once
            # ended 103 s of 556 before its share for want of this). At most an
            # epoch at a time: stretching the cosine raises the rate for the
            # epochs left, by little for one epoch (after 5 of 6, from 7 % of
            # the peak to 19 %), by much for several at once (6 to 9: to 50 %).
            # A resumed fit keeps its plan: its model.fit ends there.
            self._set_plan(min(self.planned + 1,
                               self._plan(epoch, slower_by=LENGTHEN_MARGIN)))
        if logs is not None:
            logs[PLANNED_KEY] = self.planned
        if epoch + 1 >= self.planned:
            self.model.stop_training = True

    def _set_plan(self, epochs):
        self.planned = epochs
        if self.schedule is not None:
            self.schedule.set_epochs(epochs)

    def room_for_another_epoch(self, previous_logs):
        """Whether the time left holds the next epoch, as long as the interrupted fit's last ones.

        An interrupted fit that used up its budget (killed while it saved its
        last epoch) has nothing left to train: its resumption only finishes.
        When what its plan has left is a partial epoch, the time left must
        hold :data:`MIN_PARTIAL_EPOCH` of one: the new process spent some of
        that partial's time building the network again, and the safety net
        stops the partial on time (its rate near zero by then).
        """
        lengths = [entry[SECONDS_KEY] for entry in previous_logs[-3:]
                   if np.isfinite(entry.get(SECONDS_KEY, np.nan))]
        if not lengths:
            return True
        epoch = float(np.median(lengths))
        needed = epoch
        if self.planned is not None and self.planned - len(previous_logs) < 1:
            needed = MIN_PARTIAL_EPOCH * epoch
        return budget.clock() + needed + self.reserve(epoch) + END_MARGIN_SECONDS <= self.deadline

    def _first_epoch_cannot_finish(self):
        """Whether a fresh fit's first epoch, projected from its steps so far, ends too late.

        A fit stopped inside its first epoch trains nothing usable (it is
        refused), so once its measured steps say that even
        :data:`FAIL_FAST_SHARE` of the projected epoch would not end before
        the deadline, it stops at once and gives the time back (a race whose
        member cannot finish an epoch then skips to its fallback sooner).
        Later epochs, and a resumed fit's, keep training until the safety
        net: a part of an epoch still trains.
        """
        if self.epoch_seconds or self.planned is not None or self.steps_done < 3:
            return False
        projected_end = self.epoch_start + FAIL_FAST_SHARE * self.projected_epoch()
        return projected_end > self.deadline - END_MARGIN_SECONDS

    def projected_epoch(self):
        """Seconds the interrupted first epoch would have taken, tracing included."""
        steps = max(self.steps_per_epoch or 1, 1)
        if self.steps_done >= 2:
            per_step = (self.last_step_end - self.first_step_end) / (self.steps_done - 1)
            return (self.first_step_end - self.epoch_start) + per_step * (steps - 1)
        return (budget.clock() - self.epoch_start) * steps / max(self.steps_done, 1)

    def _untraced_length(self, seconds, now):
        """The epoch's length without its first step, which traced the training step."""
        steps = self.steps_done
        if steps < 3 or self.first_step_end is None:
            return seconds
        per_step = (self.last_step_end - self.first_step_end) / (steps - 1)
        return per_step * steps + (now - self.last_step_end)

    def _plan(self, epoch, slower_by=0.0):
        """Epochs done plus those the time left holds (if they ran ``slower_by`` slower).

        To the step: the whole epochs that fit, then a partial one of at
        least :data:`MIN_PARTIAL_EPOCH` (an int when there is none), whose
        steps fit besides the epoch's fixed cost (validation, checkpoints).
        """
        left = max(0.0, self.deadline - budget.clock() - self._reserve_now())
        length = self._next_epoch() * (1.0 + slower_by)
        whole = epoch + 1 + int(left // length)
        steps = self.steps_per_epoch or 0
        if whole >= self.max_epochs or not steps:
            return int(min(whole, self.max_epochs))
        fixed = min(self._next_fixed(), length)
        partial = (left - (whole - epoch - 1) * length - fixed) / max(length - fixed, 1e-9)
        if partial < MIN_PARTIAL_EPOCH:
            return whole
        return whole + int(np.floor(min(partial, 1.0) * steps)) / steps

    def _next_epoch(self):
        """Expected length of the next epoch: the median of the last three."""
        return float(np.median(self.epoch_seconds[-3:]))

    def _next_fixed(self):
        """Expected cost of the next epoch besides its steps: the median of the last three."""
        return float(np.median(self.epoch_fixed_seconds[-3:])) if self.epoch_fixed_seconds else 0.0

    def _reserve_now(self):
        seconds = self._next_epoch() if self.epoch_seconds else 0.0
        return self.reserve(seconds) + END_MARGIN_SECONDS
