"""--time-limit: what a command leaves its training, and what it says about the budget."""

import time

from joblib import effective_n_jobs

from ensemble.cli._options import CliError
from ensemble.combiners.budget import BLEND_RESERVE_SHARE, EPOCHS_FACTOR, rounds
from members.utils.budget import BudgetTooSmallError, format_seconds, round_up_seconds

#: What a command keeps for its work after training (saving the archive,
#: scoring the test split): a share of the budget plus a few seconds.
AFTER_TRAINING_SHARE = 0.02
AFTER_TRAINING_SECONDS = 3.0


def after_training(time_limit):
    return AFTER_TRAINING_SHARE * time_limit + AFTER_TRAINING_SECONDS


def training_seconds(args):
    """Seconds ``--time-limit`` leaves for training now, or None without one.

    The budget counts the whole command, from the start of ``main``
    (loading the data included), and keeps :func:`after_training` for what
    follows the training.
    """
    if args.time_limit is None:
        return None
    spent = time.monotonic() - getattr(args, "started", time.monotonic())
    left = args.time_limit - spent - after_training(args.time_limit)
    if left <= 0:
        smallest = round_up_seconds(2 * (spent + after_training(args.time_limit)))
        raise CliError(
            f"--time-limit {format_seconds(args.time_limit)} is too small to train anything "
            f"here: it is used up before training (starting and loading the data took "
            f"{spent:.1f} s); the smallest workable --time-limit is more than "
            f"{format_seconds(smallest)}")
    return left


def epochs_note(args):
    """Which wins when both --time-limit and --epochs are given (None otherwise)."""
    if args.time_limit is None or args.epochs is None:
        return None
    return (f"--time-limit wins over --epochs: each member trains the epochs that fit its "
            f"share of the budget, up to {EPOCHS_FACTOR} x --epochs "
            f"({EPOCHS_FACTOR * args.epochs}).")


def too_small(args, error, training_budget, fits_per_fit=1):
    """A :class:`BudgetTooSmallError` in the terms of ``--time-limit``, on one line.

    ``fits_per_fit``: how many times the failing fit's budget the training
    budget must hold (cv: its member fits run in rounds, one fold after
    another; fit's combiner has already scaled its error to the whole fit).
    """
    overhead = args.time_limit - training_budget
    needed = error.smallest_workable * fits_per_fit / (1 - BLEND_RESERVE_SHARE)
    smallest = round_up_seconds((needed + overhead) / (1 - AFTER_TRAINING_SHARE))
    return CliError(
        f"--time-limit {format_seconds(args.time_limit)} is too small to train anything "
        f"here: {error.reason}; the smallest workable --time-limit is about "
        f"{format_seconds(smallest)}")


def member_rounds(n_folds, n_members, n_jobs):
    """Member fits one after another in cv: folds in turn, each fold's members on the workers."""
    return n_folds * rounds(n_members, effective_n_jobs(n_jobs))


def member_share(training_budget, n_folds, n_members, n_jobs):
    """Seconds for each member fit of a cv run in ``training_budget``."""
    return training_budget * (1 - BLEND_RESERVE_SHARE) / member_rounds(n_folds, n_members, n_jobs)


__all__ = ["BudgetTooSmallError", "after_training", "epochs_note", "member_rounds",
           "member_share", "too_small", "training_seconds"]
