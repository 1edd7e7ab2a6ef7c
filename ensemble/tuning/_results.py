"""A study's trials as scikit-learn's ``cv_results_``, and the top trials of a report."""

import math

import numpy as np
from optuna.trial import TrialState
from scipy.stats import rankdata

#: The states a finished search can hold, in the order counts are shown.
STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


def results_table(trials, param_names, n_splits):
    """``cv_results_``: one entry per trial, in trial order.

    Parameters
    ----------
    trials : list of optuna.trial.FrozenTrial
    param_names : list of str
    n_splits : int

    Returns
    -------
    dict of str to ndarray
    """
    trials = sorted(trials, key=lambda trial: trial.number)
    complete = np.array([trial.state == TrialState.COMPLETE for trial in trials], dtype=bool)
    split_scores = np.full((len(trials), n_splits), np.nan)
    for row, trial in enumerate(trials):
        if complete[row]:
            scores = trial.user_attrs.get("split_scores", [])
            split_scores[row, :len(scores)] = scores[:n_splits]
    mean = np.array([trial.value if complete[row] else np.nan
                     for row, trial in enumerate(trials)], dtype=float)
    std = np.array([np.std(trial.user_attrs.get("split_scores", [np.nan])) if complete[row]
                    else np.nan for row, trial in enumerate(trials)], dtype=float)
    results = {
        "number": np.array([trial.number for trial in trials], dtype=int),
        "state": np.array([trial.state.name for trial in trials], dtype=object),
        "params": np.array([dict(trial.params) for trial in trials] or [], dtype=object),
        "mean_test_score": mean,
        "std_test_score": std,
        "rank_test_score": _ranks(mean),
        "epochs": np.array([trial.user_attrs.get("epochs", 0) for trial in trials], dtype=int),
        "fit_time": np.array([trial.user_attrs.get("fit_time", np.nan) for trial in trials],
                             dtype=float),
        "worker": np.array([trial.user_attrs.get("worker", "") for trial in trials], dtype=object),
    }
    for split in range(n_splits):
        results[f"split{split}_test_score"] = split_scores[:, split]
    for name in param_names:
        column = np.ma.masked_all(len(trials), dtype=object)
        for row, trial in enumerate(trials):
            if name in trial.params:
                column[row] = trial.params[name]
        results[f"param_{name}"] = column
    return results


def _ranks(scores):
    """Rank 1 for the best score; trials without a score rank after every scored one."""
    ranks = np.full(len(scores), len(scores), dtype=np.int32)
    scored = ~np.isnan(scores)
    if scored.any():
        ranks[scored] = rankdata(-scores[scored], method="min").astype(np.int32)
        ranks[~scored] = scored.sum() + 1
    return ranks


def trial_counts(trials):
    """``{"COMPLETE": n, "PRUNED": n, "FAIL": n, ...}``: those three always, others if present."""
    counts = {state: 0 for state in STATES[:3]}
    for trial in trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def top_trials(trials, top):
    """The ``top`` best trials as dicts: complete ones by score, then pruned ones by last score.

    A pruned trial's ``score`` is the last value it reported, so a table
    can show how far it got.
    """
    def last_reported(trial):
        values = trial.intermediate_values
        return values[max(values)] if values else math.nan

    complete = sorted((t for t in trials if t.state == TrialState.COMPLETE),
                      key=lambda t: (-t.value, t.number))
    pruned = sorted((t for t in trials if t.state == TrialState.PRUNED),
                    key=lambda t: (_nan_last(-last_reported(t)), t.number))
    rows = []
    for trial in (complete + pruned)[:top]:
        score = trial.value if trial.state == TrialState.COMPLETE else last_reported(trial)
        rows.append({"number": trial.number, "state": trial.state.name, "score": float(score),
                     "epochs": int(trial.user_attrs.get("epochs", 0)),
                     "params": dict(trial.params)})
    return rows


def _nan_last(value):
    return math.inf if math.isnan(value) else value
