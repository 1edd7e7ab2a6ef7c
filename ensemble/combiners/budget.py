"""A combiner's time budget: race the ensemble against one scaled-up member, train the winner.

With ``time_limit``, a combiner's ``fit`` does not train its members for
their own ``epochs``: it turns the seconds into a plan, measured on the
user's machine and data.

1. **The probe.** When one of the members can be scaled up (a built-in
   architecture with a half-resolution stem gets a full-resolution one),
   that member first trains three steps on the rows it would train on,
   which project its first epoch. When a race fit (its share of the
   tenth) cannot hold :data:`MIN_RACE_EPOCHS` such epochs besides building
   the network and its batch-norm pass, the race would compare warm-ups,
   not learning curves: it is not run, and the scaled-up
   member is trained (the regime where one larger model wins, below). At
   10 minutes of full Fashion-MNIST on 2 cores the race cost a fifth of
   the budget and its winner trailed that member alone by 0.0052 accuracy
   (BENCHMARKS.md, "A time budget").
2. **The race.** Otherwise two candidate plans each train for
   :data:`RACE_SHARE` of the budget on
   the same rows: the members as given (sharing that time), and the one
   scaled-up member alone. Each is scored on the blending rows (log loss of
   the equal-weight average). Ensembles beat one larger model at equal
   compute only above some model size (Kondratyuk et al. 2020), and where
   that size lies depends on the machine, the data and the budget, so it is
   measured rather than looked up. When a plan cannot finish an epoch of
   every member in its tenth, the race stops there: the other plan wins if
   it raced, and otherwise (the members as given race first) the scaled-up
   member is trained without a measurement, since with so little time the
   ensemble's members would each train only a few epochs, the regime where
   one larger model wins.
3. **The final fit.** The winner's members share what is left, less what
   the combiner's own work needs (:data:`BLEND_RESERVE_SHARE` of the
   budget, or, for a single member the probe measured, a training epoch's
   cost on the blending rows at the probe's speed plus
   :data:`BLEND_RESERVE_FLOOR_SECONDS`, when that is less); each plans the
   epochs that fit its share (to the step) from its own first epoch, up to
   :data:`EPOCHS_FACTOR` times its ``epochs`` (see ``time_limit`` on the
   members), and stops before its share runs out. The blending rows judge
   the members, so a member with a cosine schedule trains on every row but
   those, without a validation split of its own (:func:`budgeted_members`).
   When the race measured that the winner would reach that cap with time to
   spare, the winner is trained several times with different seeds instead
   (at most :data:`MAX_COPIES`), sharing the time, and blended. A copy that
   cannot finish one epoch in its share (the machine got busier than the race
   measured) is left out, and ``why`` says so; the fit goes on without it.

The plan (race scores, the choice and why, each member's seconds and
epochs) is the combiner's ``budget_plan_``. With ``checkpoint_dir`` it is
also written to ``<checkpoint_dir>/budget.json`` once the race is decided,
so that a re-run after a crash skips the race, gives every member the share
it had, and resumes the interrupted member with what its share has left.

A race at a tenth of the budget is an early learning curve: it predicts the
winner at the full budget only as far as the ranking of the two plans does
not change in between (BENCHMARKS.md, "A time budget", measures how far).
"""

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import clone
from sklearn.metrics import log_loss
from sklearn.model_selection import check_cv

from ensemble.combiners._blending_rows import blending_data, check_checkpointing
from members.utils import budget as timing
from members.utils.budget import BudgetTooSmallError, format_seconds, round_up_seconds
from members.utils.files import atomic_write_json
from members.utils.fingerprints import OUTPUT_ONLY_PARAMS, stable_repr
from members.utils.splits import held_out_rows

#: Share of the budget each candidate plan trains for in the race.
RACE_SHARE = 0.1
#: The race is run only when each of its fits can train at least this many epochs
#: of the scaled-up member besides building and tracing it and its batch-norm pass
#: (measured by a probe of a few steps): a plan that trains one epoch in its share
#: is compared on its warm-up, not on a learning curve.
MIN_RACE_EPOCHS = 2
#: The probe's ``time_limit``: it stops after the three steps that measure an epoch.
PROBE_SECONDS = 1e-3
#: Share of the budget kept for the combiner's work after the members (predicting
#: the blending rows, choosing the weights, the temperature); less for a single
#: member that the probe measured (a training epoch's cost on the blending rows
#: at its speed, plus :data:`BLEND_RESERVE_FLOOR_SECONDS`).
BLEND_RESERVE_SHARE = 0.03
#: Seconds kept besides the measured work after a single probed member (the
#: weights and temperature of one member: Python overhead).
BLEND_RESERVE_FLOOR_SECONDS = 1.0
#: Under a budget a member trains at most this many times its own ``epochs``.
EPOCHS_FACTOR = 4
#: At most this many seed copies of the chosen plan share its time (deep ensembles,
#: Lakshminarayanan et al. 2017, used five).
MAX_COPIES = 5
#: A copy's share must hold this many times its fixed costs measured in the race
#: (building, tracing, predicting), plus its own ``epochs``.
COPY_FIXED_MARGIN = 3
#: The least a final member is given, even when the race left nothing.
MIN_MEMBER_SECONDS = 0.01
#: The plan's file in the combiner's ``checkpoint_dir``.
PLAN_FILE = "budget.json"
#: Name of the members-as-given plan, and suffix of the scaled-up member.
ENSEMBLE_PLAN = "ensemble"
SCALED_PLAN = "scaled_up"
SCALED_SUFFIX = "_scaled"
#: Part of a saved plan's fingerprint. Raised whenever the same candidates
#: would train differently under the same plan (2: cosine members give up their
#: validation split), so that a plan written by older code is raced again instead
#: of half reused (its finished members' checkpoints would no longer match).
PLAN_FORMAT = 2
#: The keys of ``budget_plan_``.
PLAN_KEYS = ("time_limit", "race", "chosen", "why", "members", "seconds")


def budgeted_blending_data(combiner, kept, X, X_rows, y, classes, validation_data):
    """Fit within ``combiner.time_limit``: race, choose, train the winner.

    Parameters
    ----------
    combiner : MemberEnsembleBase
        Its ``time_limit``, ``holdout``, ``cv``, ``n_jobs``,
        ``random_state``, ``checkpoint_dir`` and ``verbose`` apply.
    kept : list of (str, estimator)
        The members not dropped.
    X, X_rows, y, classes, validation_data
        As the combiner's ``fit`` validated them.

    Returns
    -------
    data : BlendingData
        The winner's fitted members and their blending predictions.
    names : list of str
        The winner's member names, in the order of ``data.members``.
    plan : dict
        What ``budget_plan_`` holds.
    """
    start = timing.clock()
    limit = float(combiner.time_limit)
    _check_budgetable(kept)
    n_fits, workers = _fits_per_member(combiner, y, validation_data), _workers(combiner.n_jobs)
    candidates = _candidates(kept, combiner)
    folder = None if combiner.checkpoint_dir is None else Path(combiner.checkpoint_dir)
    # Before the plan is written into it: a clear error for a folder that can't be one.
    check_checkpointing(folder, [name for name, _ in kept], combiner.holdout, combiner.cv,
                        validation_data, combiner.random_state)
    fingerprint = None if folder is None else _fingerprint(combiner, candidates, X, y,
                                                           validation_data)
    plan = _saved_plan(folder, fingerprint)
    if plan is None:
        plan = _race(combiner, candidates, limit, n_fits, workers, X, X_rows, y, classes,
                     validation_data)
        plan["time_limit"] = limit
        members = dict(candidates)[plan["chosen"]]
        left = limit - (timing.clock() - start) - _blend_reserve(
            plan, members, limit, n_fits, _blending_share(combiner, X, y, validation_data))
        copies, why_copies = _copies(plan, members, left, n_fits, workers)
        if why_copies:
            plan["why"] += f"; {why_copies}"
        share = _member_share(plan, members, left, copies, n_fits, workers)
        # Nothing left still tries: a member that cannot finish one epoch says,
        # from what it measured, which budget would have (BudgetTooSmallError).
        share = max(share, MIN_MEMBER_SECONDS)
        plan["members"] = _member_entries(members, copies, round(share, 3))
        if folder is not None:
            # Without a race nothing has made the folder yet.
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_json(folder / PLAN_FILE, {"fingerprint": fingerprint, "plan": plan})
    _say(combiner, describe_plan(plan))
    members = budgeted_members(_planned_members(dict(candidates)[plan["chosen"]], plan),
                               {entry["name"]: entry["time_limit"] for entry in plan["members"]},
                               held_out_elsewhere=True)
    # A seed copy whose share cannot hold one epoch (the machine got busier
    # than the race measured) is left out rather than failing the whole fit.
    copies = [entry["name"] for entry in plan["members"] if "copy_of" in entry]
    try:
        data = _blending(combiner, members, folder, X, X_rows, y, classes, validation_data,
                         may_run_out=copies)
    except BudgetTooSmallError as error:
        raise _too_small(limit, error, plan, n_fits, workers) from None
    if data.left_out:
        members = _leave_out(plan, members, data.left_out, data.members)
        if folder is not None:
            # A re-run then loads the members that trained and retrains none.
            atomic_write_json(folder / PLAN_FILE, {"fingerprint": fingerprint, "plan": plan})
    _record_training(plan, data.members)
    plan["seconds"] = round(timing.clock() - start, 3)
    return data, [name for name, _ in members], plan


# ------------------------------------------------------------------ candidates
def _check_budgetable(kept):
    for name, member in kept:
        if "time_limit" not in member.get_params(deep=False):
            raise TypeError(
                f"time_limit needs members that take a time_limit (the classes in members); "
                f"member {name!r} ({type(member).__name__}) has none. Fit without time_limit."
            )


def _candidates(kept, combiner):
    """``[(plan name, members)]``: the members as given, and one scaled-up member if any."""
    candidates = [(ENSEMBLE_PLAN, list(kept))]
    weighting = getattr(combiner, "weighting", "auto")
    if not isinstance(weighting, str):
        return candidates  # explicit weights are for the members as given
    for name, member in kept:
        scaled = scaled_up(member)
        if scaled is not None:
            candidates.append((SCALED_PLAN, [(name + SCALED_SUFFIX, scaled)]))
            break
    return candidates


def scaled_up(member):
    """The member with a full-resolution stem, or None if it has no half-resolution one.

    A stride-1 stem runs every stage at twice the resolution: four times the
    compute per epoch, and on Fashion-MNIST the most accurate single member
    measured on 2 cores (BENCHMARKS.md).

    Parameters
    ----------
    member : estimator

    Returns
    -------
    estimator or None
        An unfitted clone.
    """
    if member.get_params(deep=False).get("stem_strides") != 2:
        return None
    return clone(member).set_params(stem_strides=1)


def budgeted_members(members, shares, *, held_out_elsewhere=False):
    """Clones with their share of a budget, and room to train longer than their ``epochs``.

    Parameters
    ----------
    members : list of (str, estimator)
        Members that take a ``time_limit``.
    shares : dict
        Seconds for each member, by name.
    held_out_elsewhere : bool, default=False
        The members are judged on rows held out by someone else: a
        combiner's blending rows, its out-of-fold predictions or its
        ``validation_data``. A member with a cosine schedule then trains on
        every row it is given (``validation_fraction=0``): under a budget
        its own validation split only picks the best epoch of a cosine
        planned to end on time (the last, or nearly), and it cost the
        member a tenth of its rows: at 10 minutes on full Fashion-MNIST the
        budget's member trained on 48,600 rows and trailed the same member
        alone on 54,000 by 0.0030 accuracy, McNemar p = 0.047, at 14
        epochs each (BENCHMARKS.md, "A time budget"). Without a validation
        split the best epoch is chosen on the training loss. Other
        schedules keep their split: a plateau schedule reads it.

    Returns
    -------
    list of (str, estimator)
        Unfitted clones with ``time_limit`` set to their share and
        ``epochs`` to :data:`EPOCHS_FACTOR` times their own. Early
        stopping's patience becomes that cap too: the plan or the time
        ends training (a cosine schedule planned for N epochs does its best
        work in its last, low-rate ones, which a patience of a few epochs
        on a noisy validation loss would cut off), and the best epoch is
        still the one kept. With ``held_out_elsewhere``, cosine members
        have ``validation_fraction=0``.
    """
    budgeted = []
    for name, member in members:
        params = member.get_params(deep=False)
        cap = EPOCHS_FACTOR * int(params["epochs"])
        settings = {"time_limit": shares[name], "epochs": cap}
        if params.get("early_stopping_patience") is not None:
            settings["early_stopping_patience"] = cap
        if (held_out_elsewhere and params.get("lr_schedule") == "cosine"
                and params.get("validation_fraction")):
            settings["validation_fraction"] = 0.0
        budgeted.append((name, clone(member).set_params(**settings)))
    return budgeted


# ---------------------------------------------------------------------- copies
def _copies(plan, members, left, n_fits, workers):
    """How many seed copies of the chosen members use the time, and why: ``(count, why)``.

    A budgeted member trains at most :data:`EPOCHS_FACTOR` times its
    ``epochs``. When the race measured that the winner would reach that cap
    well before its share ends (a long budget, or small data), the time
    left over would be idle; instead the winner is trained several times
    with different seeds, each for an equal part of the time, and blended:
    a deep ensemble (Lakshminarayanan et al. 2017). On full Fashion-MNIST
    at one hour, two copies tested at 0.1485 log loss against 0.1687 for
    one member trained to its cap (one seed; BENCHMARKS.md, "Seed copies
    when the epoch cap binds"). A copy is added only
    while each copy's share still holds :data:`COPY_FIXED_MARGIN` times its
    fixed costs and its own ``epochs``, as measured in the race. (The fixed
    costs include predicting the blending rows, which happens after a
    member's deadline: the cap is judged with that much to spare.)

    One copy when the race did not run, when the cap is not reached, or when
    copies would run side by side where the race ran one fit per worker
    (``n_jobs`` above the number of fits): their epochs would then be slower
    than the race measured.
    """
    seconds, fixed, _ = _race_costs_of_winner(plan)
    measured = [(name, member) for name, member in members if seconds.get(name)]
    if not measured or workers > n_fits * len(members):
        return 1, None
    epochs = {name: int(member.get_params(deep=False)["epochs"]) for name, member in measured}

    def share(count):
        return _member_share(plan, members, left, count, n_fits, workers)

    def epochs_that_fit(count):
        return {name: (share(count) - fixed.get(name, 0.0)) / seconds[name] for name in epochs}

    def over_cap(count):
        return any(fit > EPOCHS_FACTOR * epochs[name]
                   for name, fit in epochs_that_fit(count).items())

    def room_for(count):
        # Each copy must hold its fixed costs with room to spare (they vary
        # most with the machine's load: a copy whose first epoch does not fit
        # is left out, its time wasted) and its own ``epochs``.
        return all(share(count) >= COPY_FIXED_MARGIN * fixed.get(name, 0.0)
                   + epochs[name] * seconds[name] for name in epochs)

    count = 1
    while count < MAX_COPIES and over_cap(count) and room_for(count + 1):
        count += 1
    if count == 1:
        return 1, None
    name, alone = max(epochs_that_fit(1).items(), key=lambda item: item[1])
    return count, (f"{count} copies with different seeds, since {name} alone would have time for "
                   f"about {alone:.1f} epochs, more than its cap of {EPOCHS_FACTOR * epochs[name]} "
                   f"({EPOCHS_FACTOR} times its epochs)")


def _member_share(plan, members, left, copies, n_fits, workers):
    """Seconds for each final member fit when ``copies`` of the chosen members share ``left``.

    The blending reserve covers the work after the members' fits (predicting
    the blending rows) for one copy; each further copy's is taken from
    ``left`` first, as the race measured it.
    With fits running side by side, each fit's measured outside time
    includes the others' (the blending rows are predicted one member after
    another once all have fitted), hence the division by how many ran at once.
    """
    _, _, outside = _race_costs_of_winner(plan)
    at_once = max(1, min(int(workers), n_fits * len(members)))
    after_fits = ((copies - 1) * n_fits * sum(outside.get(name, 0.0) for name, _ in members)
                  / at_once)
    return max(0.0, left - after_fits) / rounds(n_fits * len(members) * copies, workers)


def _race_costs_of_winner(plan):
    """The chosen plan's ``epoch_seconds``, ``fixed_seconds`` and ``outside_seconds`` (or empty)."""
    for entry in plan["race"]["candidates"]:
        if entry["name"] == plan["chosen"]:
            return (entry.get("epoch_seconds") or {}, entry.get("fixed_seconds") or {},
                    entry.get("outside_seconds") or {})
    return {}, {}, {}


def _member_entries(members, copies, share):
    """``plan["members"]``: each member, then each further copy with its own name and seed."""
    entries = [{"name": name, "time_limit": share} for name, _ in members]
    taken = {name for name, _ in members}
    for copy in range(2, copies + 1):
        for name, member in members:
            copy_name = _copy_name(name, copy, taken)
            taken.add(copy_name)
            entries.append({"name": copy_name, "time_limit": share, "copy_of": name,
                            "random_state": _copy_seed(member, copy)})
    return entries


def _copy_name(name, copy, taken):
    """``<name>_<k>`` with the least ``k >= copy`` not taken (``<name><k>`` after a ``_``).

    A name with ``__`` is refused by the archive's loader (the double
    underscore separates nested parameters), so none is made.
    """
    stem = name if name.endswith("_") else f"{name}_"
    number = copy
    while f"{stem}{number}" in taken:
        number += 1
    return f"{stem}{number}"


def _copy_seed(member, copy):
    """A seed for a copy of ``member``, or None.

    A member with an int ``random_state`` gives each copy a seed derived
    from it and the copy's number. Any other (None, a ``RandomState``) gives
    None: the copy is then seeded as an unseeded member is, from the
    combiner's ``random_state`` and its place in the plan (randomly when
    that is None too), so that copies still differ.
    """
    seed = member.get_params(deep=False).get("random_state")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        return None
    return int(np.random.SeedSequence([int(seed), copy]).generate_state(1)[0] % (2**31 - 1))


def _planned_members(members, plan):
    """The chosen members and their copies, as ``plan["members"]`` lists them."""
    by_name = dict(members)
    planned = []
    for entry in plan["members"]:
        if "copy_of" not in entry:
            planned.append((entry["name"], by_name[entry["name"]]))
            continue
        copy = clone(by_name[entry["copy_of"]])
        if "random_state" in copy.get_params(deep=False):
            copy.set_params(random_state=entry.get("random_state"))
        planned.append((entry["name"], copy))
    return planned


# ------------------------------------------------------------------------ race
def _race(combiner, candidates, limit, n_fits, workers, X, X_rows, y, classes, validation_data):
    """Train each candidate for :data:`RACE_SHARE` of the budget; the lower log loss wins."""
    race = {"share": RACE_SHARE, "candidates": [], "skipped": None, "failed": None,
            "probe": None}
    if len(candidates) == 1:
        _say(combiner, _race_announcement(candidates, limit))
        race["skipped"] = _no_race_reason(combiner)
        return _decided(race, ENSEMBLE_PLAN, f"the only plan ({race['skipped']})")
    seconds = RACE_SHARE * limit
    probe = race["probe"] = _probe(combiner, dict(candidates)[SCALED_PLAN], X, y,
                                   validation_data)
    per_fit = seconds / rounds(n_fits, workers)
    if probe["epoch_seconds"] is not None and per_fit < _race_fit_needs(probe):
        race["skipped"] = (f"{format_seconds(per_fit)} per race fit holds fewer than "
                           f"{MIN_RACE_EPOCHS} epochs of the scaled-up member "
                           f"({probe['epoch_seconds']:.1f} s each, measured in "
                           f"{probe['seconds']:.1f} s)")
        return _decided(race, SCALED_PLAN, _unraced_why(race["skipped"]))
    _say(combiner, _race_announcement(candidates, limit))
    folder = None if combiner.checkpoint_dir is None else Path(combiner.checkpoint_dir) / "race"
    for name, members in candidates:
        share = seconds / rounds(n_fits * len(members), workers)
        started = timing.clock()
        try:
            shares = dict.fromkeys(dict(members), share)
            data = _blending(combiner, budgeted_members(members, shares, held_out_elsewhere=True),
                             None if folder is None else folder / name,
                             X, X_rows, y, classes, validation_data)
        except BudgetTooSmallError as error:
            race["skipped"] = (f"{format_seconds(seconds)} per plan is too short to race: "
                               f"{error}")
            race["failed"] = name
            if race["candidates"]:
                # The plan that raced is known to fit; the one that could not
                # finish an epoch in the same time is not chosen on a rule.
                done = race["candidates"][0]["name"]
                return _decided(race, done, f"the {_plan_words(name)} could not finish an "
                                            f"epoch in {format_seconds(seconds)}; the "
                                            f"{_plan_words(done)}, which did")
            return _decided(race, SCALED_PLAN, _unraced_why(
                f"{format_seconds(seconds)} per plan cannot hold an epoch of every member"))
        proba = data.probas.mean(axis=0)
        targets = np.searchsorted(classes, data.targets)
        race["candidates"].append({
            "name": name, "members": [member for member, _ in members],
            "seconds": round(timing.clock() - started, 3),
            "log_loss": float(log_loss(targets, proba, labels=np.arange(len(classes)))),
            "accuracy": float(np.mean(proba.argmax(axis=1) == targets)),
            "n_rows": int(len(targets)),
            **_race_costs(members, data.members,
                          (timing.clock() - started) / rounds(n_fits * len(members), workers)),
        })
    ranked = sorted(race["candidates"], key=lambda entry: entry["log_loss"])
    winner, other = ranked[0], ranked[1]
    why = (f"validation log loss {winner['log_loss']:.4f} against {other['log_loss']:.4f} "
           f"for the {_plan_words(other['name'])}, each trained for {format_seconds(seconds)} "
           f"(accuracy {winner['accuracy']:.4f} against {other['accuracy']:.4f}, on "
           f"{winner['n_rows']} blending rows)")
    return _decided(race, winner["name"], why)


def _unraced_why(reason):
    """Why the scaled-up member is chosen when the race is not run.

    The members as given (the earlier choice) reached 0.9207 / 0.2164 at 10
    minutes on a machine too slow to race there, that member alone 0.9337 /
    0.1853 (BENCHMARKS.md, "Ten minutes on machine B").
    """
    return (f"no race ({reason}); one scaled-up member, since with so little time each "
            "member of an ensemble trains only a few epochs, where one larger model wins at "
            "equal compute (Kondratyuk et al. 2020)")


def _probe(combiner, scaled, X, y, validation_data):
    """The scaled-up member's first epoch on the rows it would train on.

    A fit of that member whose ``time_limit`` ends at once: it stops after
    the three steps that project its first epoch (tracing included) and
    reports the projection. Its user callbacks, TensorBoard logs and
    checkpoints are off: nothing of the probe is kept.

    Returns
    -------
    dict
        ``epoch_seconds`` (None when nothing was measured) and ``seconds``,
        what the probe took (building and tracing the network included).
    """
    # Set up as the final fit would be (its rows, its validation split), but
    # with a time limit that ends it after the three measured steps.
    (_, probe), = budgeted_members(scaled, {name: PROBE_SECONDS for name, _ in scaled},
                                   held_out_elsewhere=True)
    off = {"callbacks": None, "tensorboard_dir": None, "checkpoint_dir": None, "verbose": 0}
    params = probe.get_params(deep=False)
    probe.set_params(**{key: value for key, value in off.items() if key in params})
    rows = _training_rows(combiner, y, validation_data)
    started = timing.clock()
    try:
        with warnings.catch_warnings():
            # An epoch of fewer than three steps ends before the probe can stop
            # it; what that network says about its batch norm is of no interest.
            warnings.simplefilter("ignore")
            probe.fit(X[rows], y[rows])
        epoch = float(np.nansum(probe.history_.get("seconds", [])))
    except BudgetTooSmallError as error:
        epoch = error.epoch_seconds
    return {"epoch_seconds": round(epoch, 3) if np.isfinite(epoch) and epoch > 0 else None,
            "seconds": round(timing.clock() - started, 3)}


def _race_fit_needs(probe):
    """Seconds a race fit needs for :data:`MIN_RACE_EPOCHS` epochs of the scaled-up member.

    What the probe took stands for building and tracing the network; one
    more epoch stands for the batch-norm pass and any validation passes (the
    pass covers at most every training row, three forward passes: about an
    epoch; under a budget a cosine member has no validation split).
    """
    return probe["seconds"] + (MIN_RACE_EPOCHS + 1) * probe["epoch_seconds"]


def _training_rows(combiner, y, validation_data):
    """The rows a member of the plan trains on: all, or all but the held-out ones.

    With ``cv`` the final fit trains on all rows (the fold fits on fewer).
    """
    if validation_data is not None or combiner.cv is not None:
        return slice(None)
    # A seed of its own: a RandomState the combiner was given is left for its split.
    train, _ = held_out_rows(y, combiner.holdout, 0)
    return train


def _race_costs(members, fitted, seconds_per_fit):
    """What each race member's fit cost, by name: epoch, fixed and outside seconds.

    An epoch's seconds (``epoch_seconds``) are the median of the whole
    epochs after the first (which also built and traced the network); an
    epoch stopped inside (a plan's partial last epoch, or the time ran
    out) has no plan in the history and is not one. The work outside
    ``model.fit`` (``outside_seconds``: the batch-norm pass, predicting the
    blending rows) is the plan's wall time per fit less every logged
    second. The fixed seconds (``fixed_seconds``) are what a fit costs
    besides its epochs: the first epoch's excess (building and tracing) and
    that outside work.
    """
    costs = {"epoch_seconds": {}, "fixed_seconds": {}, "outside_seconds": {}}
    for (name, _), member in zip(members, fitted, strict=True):
        whole, logged = _whole_epoch_seconds(getattr(member, "history_", {}))
        if not whole:
            continue
        epoch = float(np.median(whole[1:] if len(whole) > 1 else whole))
        outside = max(0.0, seconds_per_fit - logged)
        costs["epoch_seconds"][name] = round(epoch, 4)
        costs["outside_seconds"][name] = round(outside, 4)
        costs["fixed_seconds"][name] = round(max(0.0, whole[0] - epoch) + outside, 4)
    return costs


def _whole_epoch_seconds(history):
    """The seconds of each whole epoch in a budgeted history, and all seconds logged."""
    seconds = np.asarray(history.get("seconds", []), dtype=float)
    planned = np.asarray(history.get("planned_epochs", []), dtype=float)
    if len(planned) != len(seconds):
        planned = np.ones_like(seconds)
    whole = seconds[np.isfinite(seconds) & np.isfinite(planned)]
    return [float(value) for value in whole], float(np.nansum(seconds))


def _no_race_reason(combiner):
    if not isinstance(getattr(combiner, "weighting", "auto"), str):
        return "explicit weights are for the members as given"
    return "no member can be scaled up"


def _decided(race, chosen, why):
    return {"race": race, "chosen": chosen, "why": why}


def _plan_words(name):
    return "members as given" if name == ENSEMBLE_PLAN else "scaled-up member"


def _blending(combiner, members, folder, X, X_rows, y, classes, validation_data,
              may_run_out=()):
    return blending_data(
        members, X, X_rows, y, classes, holdout=combiner.holdout, cv=combiner.cv,
        validation_data=validation_data, n_jobs=combiner.n_jobs,
        random_state=combiner.random_state, checkpoint_dir=folder, verbose=combiner.verbose,
        may_run_out=may_run_out)


# ----------------------------------------------------------------- accounting
def _fits_per_member(combiner, y, validation_data):
    """Network fits per member: one, or one per fold plus the final one with ``cv``."""
    if combiner.cv is None or validation_data is not None or combiner.cv == "prefit":
        return 1
    return check_cv(combiner.cv, y, classifier=True).get_n_splits() + 1


def _workers(n_jobs):
    return max(1, effective_n_jobs(n_jobs))


def rounds(n_fits, workers):
    """Fits one after another per worker: ``n_fits`` jobs on ``workers`` run in this many rounds.

    Each fit's share of a budget is the budget divided by this (joblib
    starts a job when a worker is free, so with 3 fits on 2 workers the
    third runs after the first two: two rounds, not 1.5).

    Parameters
    ----------
    n_fits, workers : int

    Returns
    -------
    int
    """
    return -(-int(n_fits) // max(1, min(int(workers), int(n_fits))))


def _leave_out(plan, members, left_out, fitted):
    """Drop the copies that ran out of time from the plan and the members, saying why.

    A kept copy seeded by the ensemble (``random_state`` None in the plan)
    was seeded by its place in the list; the places after a dropped copy
    move, so the seed it trained with is written into the plan, and a re-run
    finds its checkpoint instead of training it again with another seed.
    """
    plan["members"] = [entry for entry in plan["members"] if entry["name"] not in left_out]
    for entry, member in zip(plan["members"], fitted, strict=True):
        if "copy_of" in entry and entry.get("random_state") is None:
            entry["random_state"] = member.get_params(deep=False).get("random_state")
    reasons = "; ".join(error.reason or str(error) for error in left_out.values())
    plan["why"] += (f"; {', '.join(left_out)} left out: no epoch finished in its share, "
                    f"slower than the race measured (a busier machine): {reasons}")
    return [(name, member) for name, member in members if name not in left_out]


def _record_training(plan, fitted):
    """Each final member's epochs and seconds, from its history."""
    for entry, member in zip(plan["members"], fitted, strict=True):
        history = getattr(member, "history_", {})
        entry["epochs"] = len(history.get("epoch", []))
        # An epoch stopped inside (a partial last one) has seconds but no plan.
        planned = [value for value in history.get("planned_epochs", []) if np.isfinite(value)]
        entry["planned_epochs"] = round(float(planned[-1]), 2) if planned else None
        entry["seconds"] = round(float(np.nansum(history.get("seconds", []))), 3)


def _blend_reserve(plan, members, limit, n_fits, blending_share):
    """Seconds kept for the combiner's work after its members' fits.

    :data:`BLEND_RESERVE_SHARE` of the budget, or less for the plan the
    10-minute regime gives: one member fitted once, untouched by a race,
    whose epoch the probe measured. Its work after the fit is predicting
    the blending rows (a forward pass, about a third of a training epoch's
    cost on as many rows: a whole one is kept) and the weights and
    temperature of one member (:data:`BLEND_RESERVE_FLOOR_SECONDS`). At 10
    minutes of full Fashion-MNIST the share kept 17 s, of which that work
    used 3 to 6 (BENCHMARKS.md, "A time budget").
    """
    share = BLEND_RESERVE_SHARE * limit
    epoch = (plan["race"].get("probe") or {}).get("epoch_seconds")
    if plan["race"]["candidates"] or len(members) != 1 or n_fits != 1 or not epoch:
        return share
    return min(share, BLEND_RESERVE_FLOOR_SECONDS + epoch * blending_share)


def _blending_share(combiner, X, y, validation_data):
    """Blending rows per training row of the final members (their fit without ``cv``)."""
    n_train = len(np.arange(len(y))[_training_rows(combiner, y, validation_data)])
    n_blend = len(validation_data[1]) if validation_data is not None else len(y) - n_train
    return n_blend / max(n_train, 1)


def _too_small(limit, error, plan, n_fits, workers):
    """The combiner's budget that would give every final member the time it needs."""
    # For one copy of the chosen members: copies are only added where they fit.
    n_members = sum("copy_of" not in entry for entry in plan["members"])
    # Every plan that raced spent its share, the one that failed to included.
    raced = len(plan["race"]["candidates"]) + (plan["race"].get("failed") is not None)
    spent_share = RACE_SHARE * raced + BLEND_RESERVE_SHARE
    needed = error.smallest_workable * rounds(n_fits * n_members, workers)
    # The probe ran before any share was handed out.
    needed += (plan["race"].get("probe") or {}).get("seconds", 0.0)
    smallest = round_up_seconds(needed / max(1.0 - spent_share, 0.1))
    reason = error.reason
    if not plan["race"]["candidates"] and plan.get("chosen") == SCALED_PLAN:
        reason += (" (the scaled-up member, trained without a race; the members as given "
                   "were not measured)")
    n_copies = len(plan["members"]) // max(n_members, 1)
    if n_copies > 1:
        # One copy would have fitted, since copies are only planned where
        # they do: the epochs ran far slower than the race measured.
        reason += (f" (while {n_copies} seed copies trained, slower than the race measured: "
                   "a busier machine)")
        smallest = max(smallest, round_up_seconds(1.05 * limit))
    return BudgetTooSmallError(
        f"time_limit={limit:g} s is too small to train anything here: {reason}; the "
        f"smallest workable budget is about {smallest} s.", smallest, reason)


# ----------------------------------------------------------------- checkpoint
def _fingerprint(combiner, candidates, X, y, validation_data):
    """What a saved plan must match: the budget, the candidates, the settings and the data."""
    digest = hashlib.sha256()
    arrays = [X, y] + ([] if validation_data is None else [validation_data[0],
                                                            validation_data[2]])
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes() if array.dtype != object else repr(array.tolist()).encode())
    return {
        "plan_format": PLAN_FORMAT,
        "time_limit": float(combiner.time_limit),
        "settings": {name: stable_repr(getattr(combiner, name))
                     for name in ("holdout", "cv", "n_jobs", "random_state")},
        "candidates": {name: {member: {key: stable_repr(value) for key, value
                                       in sorted(est.get_params(deep=False).items())
                                       if key not in OUTPUT_ONLY_PARAMS}
                              for member, est in members}
                       for name, members in candidates},
        "data_sha256": digest.hexdigest(),
    }


def _saved_plan(folder, fingerprint):
    """The plan an interrupted fit of this very configuration wrote, or None."""
    if folder is None or not (folder / PLAN_FILE).is_file():
        return None
    saved = json.loads((folder / PLAN_FILE).read_text())
    if saved.get("fingerprint") != json.loads(json.dumps(fingerprint)):
        return None
    return saved["plan"]


def _say(combiner, text):
    if combiner.verbose:
        print(text, flush=True)


def _race_announcement(candidates, limit):
    if len(candidates) == 1:
        return (f"Budget {format_seconds(limit)}: no race (one plan only); the members share "
                "the budget.")
    return (f"Budget {format_seconds(limit)}: racing the members as given "
            f"({', '.join(name for name, _ in candidates[0][1])}) against one scaled-up member "
            f"({candidates[1][1][0][0]}) for {format_seconds(RACE_SHARE * limit)} each; the "
            "winner shares the rest.")


def describe_plan(plan):
    """The plan in a few lines, as ``fit`` prints it."""
    lines = [f"Budget {format_seconds(plan['time_limit'])}: chose the "
             f"{_plan_words(plan['chosen'])} ({plan['why']})."]
    if plan["race"]["skipped"] is None:
        for entry in plan["race"]["candidates"]:
            lines.append(f"  race: {_plan_words(entry['name'])} ({', '.join(entry['members'])}) "
                         f"log loss {entry['log_loss']:.4f}, accuracy {entry['accuracy']:.4f} "
                         f"in {format_seconds(entry['seconds'])}")
    for entry in plan["members"]:
        trained = ""
        if "epochs" in entry:
            trained = (f": {entry['epochs']} epochs (planned {entry['planned_epochs']}) in "
                       f"{format_seconds(entry['seconds'])}")
        lines.append(f"  {entry['name']}{_copy_words(entry)}: "
                     f"{format_seconds(entry['time_limit'])}{trained}")
    return "\n".join(lines)


def _copy_words(entry):
    if "copy_of" not in entry:
        return ""
    seed = entry.get("random_state")
    return f" (copy of {entry['copy_of']}, seed {'from the ensemble' if seed is None else seed})"
