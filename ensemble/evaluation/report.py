"""A report that puts every member beside the ensemble, on the same data."""

from dataclasses import dataclass, field

from ensemble.evaluation import metrics
from ensemble.evaluation.comparison import compare_to_best_member

METRIC_COLUMNS = (
    ("accuracy", "accuracy", "{:.4f}"),
    ("log_loss", "log loss", "{:.4f}"),
    ("brier", "Brier", "{:.4f}"),
    ("ece", "ECE", "{:.4f}"),
)


@dataclass
class Report:
    """Scores of members and ensemble, as plain data and as a table.

    Parameters
    ----------
    rows : list of dict, default=[]
        One dict per model: ``name``, ``kind`` ("member" or "ensemble"),
        ``weight`` (blend weight, or None) and the metrics of
        :func:`ensemble.evaluation.metrics.score_all`.
    n_samples : int, default=0
        Rows scored.
    comparison : dict or None, default=None
        The ensemble's gain over its best member with its intervals
        (:func:`ensemble.evaluation.comparison.compare_to_best_member`); printed in one
        sentence under the table.
    selection : dict or None, default=None
        How the combiner was chosen on the blending rows (from its
        ``selection_``, ``best_member_``, ``selection_folds_`` and
        ``selection_scores_``): the rule used and every candidate's
        cross-fitted log loss; printed in one line under the table.

    See Also
    --------
    report : Score a fitted member or ensemble into a ``Report``.
    ensemble.evaluation.plots.plot_metrics : The rows as bar charts.

    Examples
    --------
    >>> from ensemble import Report
    >>> row = {"name": "plain", "kind": "member", "weight": None, "accuracy": 0.9,
    ...        "log_loss": 0.3, "brier": 0.15, "ece": 0.02}
    >>> print(Report(rows=[row], n_samples=10).to_markdown())  # doctest: +NORMALIZE_WHITESPACE
    | model | weight | accuracy | log loss | Brier | ECE |
    |---|---|---|---|---|---|
    | plain |  | 0.9000 | 0.3000 | 0.1500 | 0.0200 |
    """

    rows: list = field(default_factory=list)
    n_samples: int = 0
    comparison: dict = None
    selection: dict = None

    def to_dict(self):
        """The report as plain data.

        Returns
        -------
        dict
            ``{"n_samples": ..., "rows": [...], "comparison": ...,
            "selection": ...}``, JSON-safe.
        """
        return {"n_samples": self.n_samples, "rows": [dict(row) for row in self.rows],
                "comparison": self.comparison, "selection": self.selection}

    def notes(self):
        """The lines printed under the table: how the blend was chosen, and the gain.

        Returns
        -------
        list of str
        """
        lines = []
        if self.selection:
            lines.append(selection_line(self.selection))
        if self.comparison:
            lines.append(self.comparison["summary"])
        return lines

    def to_markdown(self):
        """The report as a markdown table.

        Returns
        -------
        str
        """
        header = ["model", "weight"] + [title for _, title, _ in METRIC_COLUMNS]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in self.rows:
            lines.append("| " + " | ".join(self._cells(row)) + " |")
        return "\n\n".join(["\n".join(lines)] + self.notes())

    def __str__(self):
        header = ["model", "weight"] + [title for _, title, _ in METRIC_COLUMNS]
        return "\n\n".join([format_table(header, [self._cells(row) for row in self.rows])]
                           + self.notes())

    @staticmethod
    def _cells(row):
        weight = "" if row.get("weight") is None else f"{row['weight']:.3f}"
        return [row["name"], weight] + [fmt.format(row[key]) for key, _, fmt in METRIC_COLUMNS]


def report(estimator, X, y, *, name=None, others=None):
    """Score every member and the ensemble on ``(X, y)``.

    Parameters
    ----------
    estimator : fitted ensemble or member
        An ensemble gets one row per member and one for itself, plus one for
        its blend before temperature scaling when it learned a temperature
        other than 1 (``"<name> (no temperature)"``); a member alone gets
        one row. Each member is run once: the ensemble's rows are combined
        from the members' probabilities.
    X : array-like of shape (n_samples, n_features) or (n_samples, height, width[, channels])
    y : array-like of shape (n_samples,)
    name : str or None, default=None
        Name of the ensemble's (or member's) row; defaults to its class name.
    others : dict of str to fitted estimator, optional
        More models to score beside it, one row each (e.g. other combiners
        of the same members, from :meth:`~ensemble.combiners.WeightedAverageEnsemble.from_blend`:
        those combine the members' probabilities already predicted, so each
        member still runs once).

    Returns
    -------
    Report
        ``print(report(...))`` shows a table; ``.rows`` holds the numbers.

    See Also
    --------
    ensemble.evaluation.metrics.score_all : The scores of each row.
    ensemble.evaluation.plots.plot_metrics : The report as bar charts.

    Examples
    --------
    A member alone gets one row (an ensemble one per member, and its own):

    >>> import numpy as np
    >>> from ensemble import report
    >>> from members import PlainCNNClassifier
    >>> X = np.random.default_rng(0).integers(0, 256, size=(20, 8, 8, 1), dtype=np.uint8)
    >>> y = np.arange(20) % 2
    >>> clf = PlainCNNClassifier(stem_filters=4, filters=(8,), dense_units=8, epochs=1)
    >>> scores = report(clf.fit(X, y), X, y, name="plain")
    >>> [(row["name"], row["kind"]) for row in scores.rows], scores.n_samples
    ([('plain', 'member')], 20)
    >>> sorted(scores.to_dict()["rows"][0])
    ['accuracy', 'brier', 'ece', 'kind', 'log_loss', 'name', 'weight']
    """
    name = name or type(estimator).__name__
    member_probas, comparison, selection = None, None, None
    if hasattr(estimator, "scored_probas"):
        member_probas, rows, proba = _ensemble_rows(estimator, X, y, name)
        comparison = compare_to_best_member(
            y, proba, dict(zip(estimator.named_members_, member_probas, strict=True)),
            estimator.classes_)
        selection = selection_of(estimator)
        kind = "ensemble"
    else:
        rows = [_row(name, "member", estimator, X, y, None)]
        kind = "member"
    for other_name, other in (others or {}).items():
        if member_probas is not None and _shares_members(other, estimator):
            # Combiners from one blend: combine the probabilities already predicted.
            proba = other.proba_from_member_probas(member_probas, X)
            rows.append(score_row(other_name, kind, y, proba, other.classes_))
        else:
            rows.append(_row(other_name, kind, other, X, y, None))
    return Report(rows=rows, n_samples=len(y), comparison=comparison, selection=selection)


def selection_of(ensemble):
    """How a fitted combiner chose what it predicts with, as plain data (None if unknown).

    Parameters
    ----------
    ensemble : WeightedAverageEnsemble or StackingEnsemble
        Fitted (or loaded from an archive that kept the choice).

    Returns
    -------
    dict or None
        ``chosen`` (the rule), ``best_member``, ``folds`` and ``scores``
        (each candidate's cross-fitted ``log_loss`` and ``accuracy`` over
        the blending rows), ``n_blend`` (blending rows, when kept).
    """
    if not hasattr(ensemble, "selection_"):
        return None
    blend = getattr(ensemble, "blend_targets_", None)
    return {"chosen": ensemble.selection_, "best_member": ensemble.best_member_,
            "folds": int(ensemble.selection_folds_),
            "scores": {name: dict(scores) for name, scores in ensemble.selection_scores_.items()},
            "n_blend": None if blend is None else int(len(blend))}


def selection_line(selection):
    """One line: the rule a combiner chose and the cross-fitted log loss of each candidate.

    Parameters
    ----------
    selection : dict
        What :func:`selection_of` returns.

    Returns
    -------
    str
    """
    def label(name):
        return f"best member alone ({selection['best_member']})" if name == "best_member" \
            else name.replace("_", " ")

    rows = "" if selection.get("n_blend") is None else f" on {selection['n_blend']} blending rows"
    if not selection["scores"]:
        reason = ("too few blending rows" + rows if not selection["folds"]
                  else f"no candidate could be cross-fitted{rows}")
        return f"Blend: {label(selection['chosen'])} ({reason})."
    scores = ", ".join(f"{label(name)} {entry['log_loss']:.4f}"
                       for name, entry in selection["scores"].items())
    return (f"Blend: {label(selection['chosen'])}. Cross-fitted log loss "
            f"({selection['folds']} folds{rows}): {scores}.")


def _shares_members(other, ensemble):
    return (getattr(other, "members_", None) is ensemble.members_
            and hasattr(other, "proba_from_member_probas"))


def _ensemble_rows(ensemble, X, y, name):
    members, uncalibrated, proba = ensemble.scored_probas(X)
    classes = ensemble.classes_
    weights = getattr(ensemble, "weights_", None)
    rows = [score_row(member_name, "member", y, members[index], classes,
                      None if weights is None else float(weights[index]))
            for index, member_name in enumerate(ensemble.named_members_)]
    rows.append(score_row(name, "ensemble", y, proba, classes))
    if getattr(ensemble, "temperature_", 1.0) != 1.0:
        rows.append(score_row(f"{name} (no temperature)", "ensemble", y, uncalibrated, classes))
    return members, rows, proba


def _row(name, kind, model, X, y, weight):
    return score_row(name, kind, y, model.predict_proba(X), model.classes_, weight)


def score_row(name, kind, y, proba, classes, weight=None):
    """One row of a :class:`Report` from probabilities already predicted.

    For callers that need the probabilities for something else too (plots,
    files) and should not predict twice: ``Report(rows=[score_row(...), ...],
    n_samples=len(y))``.

    Parameters
    ----------
    name : str
    kind : {"member", "ensemble"}
    y : array-like of shape (n_samples,)
    proba : ndarray of shape (n_samples, n_classes)
    classes : array-like of shape (n_classes,)
        Labels of the columns of ``proba``.
    weight : float or None, default=None
        The model's blend weight, shown in the table.

    Returns
    -------
    dict
    """
    scores = metrics.score_all(y, proba, classes)
    return {"name": name, "kind": kind, "weight": weight, **scores}


def format_table(header, rows):
    """A plain-text table: first column left-aligned, the others right-aligned.

    Parameters
    ----------
    header : list of str
    rows : list of list of str

    Returns
    -------
    str
    """
    table = [list(header)] + [list(row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                       for i, (cell, width) in enumerate(zip(line, widths, strict=True)))
             for line in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
