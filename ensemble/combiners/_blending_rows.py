"""Where a combiner's blending data comes from: one mechanism for every combiner.

Four sources, chosen by the combiner's parameters:

- ``holdout`` (default): a stratified share of ``(X, y)`` is held out; the
  members train on the rest and the combiner learns on their predictions for
  the held-out rows.
- ``validation_data=(X_val, y_val)`` passed to ``fit``: the members train on
  all of ``(X, y)``; the combiner learns on their predictions for ``X_val``.
- ``cv=k`` or a splitter: out-of-fold predictions; every member is trained k
  times on k-1 folds and predicts the remaining fold, then once more on all
  the data (k + 1 fits per member) for prediction.
- ``cv="prefit"``: the members are already fitted and are used as they are;
  the combiner learns on their predictions for ``(X, y)`` (or
  ``validation_data`` when given). Nothing is trained but the combiner.

In every case the members never train on the rows whose predictions the
combiner learns from.
"""

import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ensemble.combiners.member_list import fit_members, stacked_probas
from members.utils.splits import check_holdout, held_out_rows

PREFIT = "prefit"


@dataclass
class BlendingData:
    """Fitted members and their predictions on rows they never trained on.

    Attributes
    ----------
    members : list of fitted estimators
        The members the ensemble predicts with.
    probas : ndarray of shape (n_members, n_blend, n_classes)
    targets : ndarray of shape (n_blend,)
        Original labels of the blending rows.
    features : ndarray of shape (n_blend, n_features)
        Flat raw features of the blending rows.
    network_fits : int
        How many member fits this took (0 for prefit members).
    left_out : dict of str to BudgetTooSmallError
        Members that were allowed to run out of time (``may_run_out``) and
        did, by name: they are not in ``members`` nor in ``probas``.
    """

    members: list
    probas: np.ndarray
    targets: np.ndarray
    features: np.ndarray
    network_fits: int
    left_out: dict = field(default_factory=dict)


def check_source(holdout, cv, validation_data):
    """Refuse ambiguous or invalid combinations of the blending-data options."""
    if cv is not None and not _is_prefit(cv) and validation_data is not None:
        raise ValueError(
            "Pass either cv (out-of-fold blending) or validation_data, not both."
        )
    if cv is None and validation_data is None:
        check_holdout(holdout)


def _is_prefit(cv):
    return isinstance(cv, str) and cv == PREFIT


def blending_data(named_members, X, X_rows, y, classes, *, holdout, cv, validation_data,
                  n_jobs, random_state, checkpoint_dir=None, verbose=0, may_run_out=()):
    """Fit (or take) the members and predict the rows the combiner learns from.

    Parameters
    ----------
    named_members : list of (str, estimator)
        Unfitted templates (cloned here), or fitted members when ``cv="prefit"``.
    X : ndarray of shape (n_samples, ...)
        What the members are trained on (images keep their shape).
    X_rows : ndarray of shape (n_samples, n_features)
        The same rows, flat, kept for stacking's passthrough.
    y : ndarray of shape (n_samples,)
    classes : ndarray of shape (n_classes,)
    holdout, cv, validation_data, n_jobs, random_state, checkpoint_dir, verbose
        As documented on the combiners.
    may_run_out : collection of str
        Names of members that are left out, rather than failing the fit, when
        their ``time_limit`` cannot hold one epoch (a time budget's seed
        copies). Every other member's :class:`~members.utils.budget.BudgetTooSmallError`
        is raised.

    Returns
    -------
    BlendingData
    """
    check_source(holdout, cv, validation_data)
    members = [estimator for _, estimator in named_members]
    if _is_prefit(cv):
        return _prefit(members, X, X_rows, y, classes, validation_data)
    check_checkpointing(checkpoint_dir, [name for name, _ in named_members], holdout, cv,
                        validation_data, random_state)
    template = MemberTemplates(named_members, checkpoint_dir, random_state, may_run_out)
    if validation_data is not None:
        X_val, X_val_rows, y_val = validation_data
        fitted, left_out = template.fit(template.jobs("all", X, y), n_jobs, verbose)
        probas = stacked_probas(fitted, X_val, classes)
        return BlendingData(fitted, probas, y_val, X_val_rows, len(template), left_out)
    if cv is not None:
        return _out_of_fold(template, X, X_rows, y, classes, cv, n_jobs, verbose)
    return _held_out(template, X, X_rows, y, classes, holdout, n_jobs, random_state, verbose)


class MemberTemplates:
    """Fresh clones of the members for one stage of training, with their checkpoint folders.

    With an ensemble ``checkpoint_dir``, each member fit gets its own folder,
    ``<checkpoint_dir>/<member name>/<stage>`` (``holdout``, ``all``,
    ``fold-<k>``), so that a re-run finds every fit where it left it.
    Members without a ``checkpoint_dir`` parameter (plain scikit-learn
    estimators) are simply retrained.

    A member whose ``random_state`` is None gets a seed drawn from the
    ensemble's ``random_state`` (when that is not None), one per member, so
    that an ensemble seeded once fits the same way every time; members with
    a seed of their own keep it.
    """

    def __init__(self, named_members, checkpoint_dir, random_state=None, may_run_out=()):
        self.named_members = named_members
        self.checkpoint_dir = checkpoint_dir
        if isinstance(may_run_out, str):
            raise TypeError(f"may_run_out must be a collection of member names, got "
                            f"{may_run_out!r}.")
        self.may_run_out = frozenset(may_run_out)
        self.member_seeds = None
        if random_state is not None:
            seeds = check_random_state(random_state).randint(2**31 - 1, size=len(named_members))
            self.member_seeds = dict(zip((name for name, _ in named_members), seeds.tolist(),
                                         strict=True))

    def __len__(self):
        return len(self.named_members)

    def jobs(self, stage, X, y):
        """``(estimator, X, y)`` fit jobs for every member."""
        return [(self._clone(name, estimator, stage), X, y)
                for name, estimator in self.named_members]

    def fit(self, jobs, n_jobs, verbose):
        """Fit ``jobs`` (one or more stages, each in member order): ``(fitted, left_out)``.

        ``fitted`` holds, for every stage, the members that did not run out
        of time in any stage; ``left_out`` maps each one that did to its error.
        """
        names = [name for name, _ in self.named_members]
        allowed = [names[index % len(names)] in self.may_run_out for index in range(len(jobs))]
        results = fit_members(jobs, n_jobs=n_jobs, verbose=verbose, may_run_out=allowed)
        left_out = {names[index % len(names)]: result for index, result in enumerate(results)
                    if isinstance(result, Exception)}
        if len(left_out) == len(names):
            raise next(iter(left_out.values()))  # nothing left to blend: the member's own error
        # A member left out in one fold is left out everywhere: its out-of-fold
        # predictions would have a hole.
        kept = [result for index, result in enumerate(results)
                if names[index % len(names)] not in left_out]
        return kept, left_out

    def _clone(self, name, estimator, stage):
        estimator = clone(estimator)
        own_seed = estimator.get_params(deep=False).get("random_state", "none to set")
        if self.member_seeds is not None and own_seed is None:
            estimator.set_params(random_state=self.member_seeds[name])
        if self.checkpoint_dir is not None and "checkpoint_dir" in estimator.get_params(deep=False):
            estimator.set_params(checkpoint_dir=Path(self.checkpoint_dir) / name / stage)
        return estimator


def check_checkpointing(checkpoint_dir, names, holdout, cv, validation_data, random_state):
    """A checkpoint folder is only useful if a re-run trains on the same rows."""
    if checkpoint_dir is None:
        return
    if Path(checkpoint_dir).exists() and not Path(checkpoint_dir).is_dir():
        raise ValueError(f"checkpoint_dir {str(checkpoint_dir)!r} exists and is not a directory.")
    for name in names:
        # Member names become folder names: none may leave checkpoint_dir.
        if name in (".", "..") or any(sep in name for sep in ("/", "\\", "\0")):
            raise ValueError(
                f"Member name {name!r} can't name a checkpoint folder: use letters, digits, "
                "'-' or '_' with checkpoint_dir."
            )
    held_out = cv is None and validation_data is None
    if held_out and not isinstance(random_state, numbers.Integral):
        raise ValueError(
            "checkpoint_dir with a held-out split needs an int random_state, so that a re-run "
            f"holds out the same rows (got random_state={random_state!r})."
        )
    if getattr(cv, "shuffle", False) and not isinstance(getattr(cv, "random_state", None),
                                                        numbers.Integral):
        raise ValueError(
            "checkpoint_dir with a shuffling cv needs the splitter's random_state to be an int, "
            f"so that a re-run makes the same folds (got {cv!r})."
        )


def _prefit(members, X, X_rows, y, classes, validation_data):
    for member in members:
        try:
            check_is_fitted(member)
        except NotFittedError as error:
            raise NotFittedError(
                f"cv='prefit' needs fitted members, but {type(member).__name__} is not fitted."
            ) from error
    if validation_data is not None:
        X, X_rows, y = validation_data
    return BlendingData(list(members), stacked_probas(members, X, classes), y, X_rows, 0)


def _held_out(template, X, X_rows, y, classes, holdout, n_jobs, random_state, verbose):
    train, blend = held_out_rows(y, holdout, random_state)
    fitted, left_out = template.fit(template.jobs("holdout", X[train], y[train]), n_jobs,
                                    verbose)
    probas = stacked_probas(fitted, X[blend], classes)
    return BlendingData(fitted, probas, y[blend], X_rows[blend], len(template), left_out)


def _out_of_fold(template, X, X_rows, y, classes, cv, n_jobs, verbose):
    splitter = check_cv(cv, y, classifier=True)
    folds = list(splitter.split(X_rows, y))
    covered = np.concatenate([test for _, test in folds])
    if len(covered) != len(y) or len(np.unique(covered)) != len(y):
        raise ValueError(
            "cv must be a partition: every sample in exactly one test fold, as KFold and "
            "StratifiedKFold give."
        )
    # One joblib call for all k * n_members fold fits and the n_members final
    # fits, so that parallel workers stay busy across folds.
    jobs = [job for fold, (train, _) in enumerate(folds)
            for job in template.jobs(f"fold-{fold}", X[train], y[train])]
    jobs += template.jobs("all", X, y)
    fitted, left_out = template.fit(jobs, n_jobs, verbose)
    n_members = len(template) - len(left_out)
    probas = np.zeros((n_members, len(y), len(classes)))
    for fold, (_, test) in enumerate(folds):
        fold_members = fitted[fold * n_members:(fold + 1) * n_members]
        probas[:, test] = stacked_probas(fold_members, X[test], classes)
    return BlendingData(fitted[-n_members:], probas, y, X_rows, len(jobs), left_out)
