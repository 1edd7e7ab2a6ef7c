"""What a search found, and how much of its best score survives on data it never saw."""

import math
from dataclasses import dataclass, field

from ensemble.evaluation.report import format_table


@dataclass
class SearchReport:
    """The best trials of a search, and its best trial's validation score beside an unseen one.

    The best trial was chosen *because* it scored highest on the validation
    rows, among many: its validation score is biased upwards (the more
    trials, the more). Its score on rows the search never saw is the honest
    estimate; ``gap`` is the difference.

    Parameters
    ----------
    score_name : str
        What the scores are (``"accuracy"``, ``"neg_log_loss"``, ...).
    trials : list of dict, default=[]
        The top trials: ``number``, ``state``, ``score`` (for a pruned trial,
        the last score it reported), ``epochs``, ``params``.
    best_trial : int, default=0
        Number of the best trial.
    validation_score : float, default=nan
        Its score on the search's validation rows (``best_score_``).
    unseen_score : float, default=nan
        The refitted best estimator's score on the unseen data.
    n_unseen : int, default=0
        Rows of the unseen data.
    counts : dict of str to int, default={}
        Trials of the study by state (``COMPLETE``, ``PRUNED``, ``FAIL``).

    See Also
    --------
    BayesSearchCV.report : Makes one.

    Examples
    --------
    >>> from ensemble.tuning import SearchReport
    >>> found = SearchReport("accuracy", best_trial=3, validation_score=0.91,
    ...                      unseen_score=0.89, n_unseen=1000, counts={"COMPLETE": 10})
    >>> round(found.gap, 4)
    0.02
    >>> print(found.selection_table())
    best trial                       accuracy
    -------------------------------  --------
    validation (chose trial 3)         0.9100
    unseen data (1000 rows)            0.8900
    gap (optimism of the selection)    0.0200
    """

    score_name: str
    trials: list = field(default_factory=list)
    best_trial: int = 0
    validation_score: float = math.nan
    unseen_score: float = math.nan
    n_unseen: int = 0
    counts: dict = field(default_factory=dict)

    @property
    def gap(self):
        """``validation_score - unseen_score``: how optimistic the selection was."""
        return self.validation_score - self.unseen_score

    def to_dict(self):
        """The report as plain JSON-safe data.

        Returns
        -------
        dict
            The attributes, and ``gap``.
        """
        return {"score_name": self.score_name, "trials": [dict(t) for t in self.trials],
                "best_trial": self.best_trial, "validation_score": self.validation_score,
                "unseen_score": self.unseen_score, "gap": self.gap, "n_unseen": self.n_unseen,
                "counts": dict(self.counts)}

    def trials_table(self):
        """The top trials as a text table.

        Returns
        -------
        str
        """
        header = ["trial", "state", self.score_name, "epochs"]
        rows = [[str(t["number"]), t["state"], _number(t["score"]), str(t["epochs"])]
                for t in self.trials]
        lines = format_table(header, rows).splitlines()
        params = ["params", "------"] + [_params_text(t["params"]) for t in self.trials]
        return "\n".join(f"{line}  {text}" for line, text in zip(lines, params, strict=True))

    def selection_table(self):
        """The best trial's score where it was chosen, on unseen rows, and the gap.

        Returns
        -------
        str
        """
        rows = [
            [f"validation (chose trial {self.best_trial})", _number(self.validation_score)],
            [f"unseen data ({self.n_unseen} rows)", _number(self.unseen_score)],
            ["gap (optimism of the selection)", _number(self.gap)],
        ]
        return format_table(["best trial", self.score_name], rows)

    def __str__(self):
        counts = ", ".join(f"{n} {state.lower()}" for state, n in self.counts.items() if n)
        return (f"Trials: {counts or 'none'}\n"
                f"Top {len(self.trials)} trials (PRUNED: last score reported before pruning)\n"
                f"{self.trials_table()}\n\n{self.selection_table()}\n"
                "The validation score picked the best trial, so it is biased upwards; "
                "quote the unseen score.")


def _number(value):
    return "nan" if value is None or math.isnan(value) else f"{value:.4f}"


def _params_text(params):
    return ", ".join(f"{name}={_value_text(value)}" for name, value in params.items())


def _value_text(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
