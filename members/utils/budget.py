"""Time budgets without TensorFlow: the clock, the too-small error, readable seconds.

Shared by the members' budgeted fit (``members._budget``) and the
combiners' plans (:mod:`ensemble.combiners.budget`).
"""

import math
import time

#: The clock budgets are measured with. Read it as ``budget.clock()`` (a module
#: attribute, so that tests can fake it in one place).
clock = time.monotonic


class BudgetTooSmallError(ValueError):
    """A ``time_limit`` too short to finish one epoch.

    Attributes
    ----------
    smallest_workable : float
        Seconds that would have trained at least one epoch, from the speed
        measured before the time ran out.
    reason : str
        What one epoch costs here, in a few words (for callers that phrase
        the budget their own way, as the command line does).
    epoch_seconds : float
        The first epoch's projected seconds (tracing included), NaN when
        the raiser measured none.
    """

    def __init__(self, message, smallest_workable, reason="", epoch_seconds=math.nan):
        super().__init__(message)
        self.smallest_workable = float(smallest_workable)
        self.reason = reason
        self.epoch_seconds = float(epoch_seconds)

    def __reduce__(self):
        # Rebuilt with every argument when it comes back from a joblib worker.
        return type(self), (str(self), self.smallest_workable, self.reason,
                            self.epoch_seconds)


def round_up_seconds(seconds):
    """A budget a person would type: whole seconds, rounded up to 5 s above a minute."""
    seconds = max(1.0, float(seconds))
    step = 1 if seconds < 60 else 5
    return int(math.ceil(seconds / step) * step)


def format_seconds(seconds):
    """``"45 s"``, ``"12.5 min"``, ``"1.20 h"``."""
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"
