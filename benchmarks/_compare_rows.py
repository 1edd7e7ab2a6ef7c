"""One row of ``benchmarks/compare.py``'s comparison table: fitting a method, counting, scoring.

Every method, ours or a peer, becomes a row the same way: :func:`new_row`
names it and its training rows; :func:`fit_and_score` fits it inside a
:class:`NetworkFitLog` (which counts every ``keras.Model.fit`` call in this
process, whoever makes it) and adds the test-set scores (:func:`score_into`);
:func:`settle_fit_count` says how many network fits the method performed and
how that figure was obtained. :func:`add_relative_times` then sets each row's
training time against the log-loss ensemble's on the same training rows.
"""

import contextlib
import io
import sys
import time

from _common import Timer
from _compare_plan import one_line
from ensemble.evaluation import metrics

#: Rows of the comparison table, in order: id -> (kind, display name).
#: ``{k}`` is the number of folds.
ROWS = {
    "plain": ("member", "plain alone"),
    "separable": ("member", "separable alone"),
    "residual": ("member", "residual alone"),
    "log-loss": ("ours", "log-loss weights (WeightedAverageEnsemble)"),
    "equal": ("ours", "equal weights (from_blend)"),
    "caruana": ("ours", "Caruana selection (from_blend)"),
    "stacking-holdout": ("ours", "stacking on held-out rows (StackingEnsemble.from_blend)"),
    "log-loss-subset": ("ours", "log-loss weights on the subset (WeightedAverageEnsemble)"),
    "stacking-cv": ("ours", "stacking on out-of-fold rows (StackingEnsemble cv={k})"),
    "sklearn-voting": ("scikit-learn", "VotingClassifier(voting='soft')"),
    "sklearn-stacking": ("scikit-learn", "StackingClassifier(cv={k})"),
    "keras-voting": ("Keras", "SKLearnClassifier members, soft VotingClassifier, as shipped"),
    "keras-voting-fixed": ("Keras", "SKLearnClassifier members + 2 fixes, soft VotingClassifier"),
    "scikeras-voting": ("scikeras", "scikeras KerasClassifier members, soft VotingClassifier"),
}


# ------------------------------------------------------------ counting fits
class NetworkFitLog:
    """Every ``keras.Model.fit`` call made in this process while active.

    ``with NetworkFitLog() as log: ...`` then ``log.calls``: one
    ``(id(model), seconds)`` per call, whoever made it (our members,
    scikit-learn's clones, Keras's or scikeras's wrappers). Fits run in
    joblib worker processes are not seen, hence ``--n-jobs 1`` by default.
    """

    def __enter__(self):
        import keras

        self.calls = []
        self._keras_model = keras.Model
        # None: Model inherits fit from its trainer, and removing the patch restores that.
        self._own_fit = keras.Model.__dict__.get("fit")
        original_fit = keras.Model.fit
        calls = self.calls

        def counted_fit(model, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original_fit(model, *args, **kwargs)
            finally:
                calls.append((id(model), time.perf_counter() - start))

        keras.Model.fit = counted_fit
        return self

    def __exit__(self, *exc):
        if self._own_fit is None:
            del self._keras_model.fit
        else:
            self._keras_model.fit = self._own_fit

    def seconds_of(self, model):
        """Seconds spent in ``model.fit`` for this model (None if not seen)."""
        seconds = [s for model_id, s in self.calls if model_id == id(model)]
        return sum(seconds) if seconds else None


# ------------------------------------------------------------ rows, scoring
def new_row(row_id, group, data, args):
    """A row of the comparison; ``group`` says which training rows it uses."""
    kind, name = ROWS[row_id]
    group = group if data.has_subset else "main"  # without a subset, every row uses all rows
    return {"id": row_id, "kind": kind, "name": name.format(k=args.cv), "group": group,
            "data": data.label(group), "notes": [], "reason": None}


def skipped(row):
    row["reason"] = "skipped (--skip)"
    return row


def score_into(row, estimator, data):
    """Time ``predict_proba`` on the test set and add the four scores to ``row``."""
    try:
        with Timer() as predict_time:
            proba = estimator.predict_proba(data.X_test)
    except Exception as error:
        row["reason"] = f"predict_proba failed: {one_line(error)}"
        return row
    row["predict_seconds"] = predict_time.seconds
    row.update(metrics.score_all(data.y_test, proba, estimator.classes_))
    return row


def fit_and_score(row, estimator, data, *, expected_fits, quiet=False, log=None):
    """Fit on the row's training data counting network fits, then score.

    Parameters
    ----------
    row : dict
    estimator : classifier
    data : Data
    expected_fits : int
        The fits the method should perform by its definition.
    quiet : bool
        Swallow what the fit prints on stdout (Keras progress bars of a
        wrapper that lost ``verbose=0``).
    log : NetworkFitLog or None
        Where the fits are logged (a new one if None), for callers that
        need each fit's seconds.

    Returns
    -------
    row : dict
    estimator : the fitted estimator, or None if its fit failed
    """
    X, y = (data.X_subset, data.y_subset) if row["group"] == "subset" else (data.X_train,
                                                                             data.y_train)
    row["network_fits_expected"] = expected_fits
    printed = io.StringIO()
    log = NetworkFitLog() if log is None else log
    try:
        with log, Timer() as fit_time, contextlib.redirect_stdout(
                printed if quiet else sys.stdout):
            estimator.fit(X, y)
    except Exception as error:
        row["reason"] = f"fit failed: {one_line(error)}"
        row["network_fits_counted"] = len(log.calls)
        return row, None
    if printed.getvalue():
        row["notes"].append(f"its fit printed {len(printed.getvalue().splitlines())} lines of "
                            "Keras progress output (hidden here)")
    row["train_seconds"] = fit_time.seconds
    row["network_fits_counted"] = len(log.calls)
    return score_into(row, estimator, data), estimator


def settle_fit_count(row, args, own=None):
    """The network-fit figure shown, and how it was obtained.

    ``own`` is an ensemble's ``network_fits_``; peers are counted through
    :class:`NetworkFitLog` when they ran in this process, else given by
    their definition.
    """
    counted = row.get("network_fits_counted")
    if own is not None:
        row["network_fits"] = own
        agrees = counted == own or args.n_jobs != 1
        row["fits_how"] = "network_fits_" + ("" if agrees else f" (counted {counted})")
    elif args.n_jobs == 1 and counted is not None:
        row["network_fits"] = counted
        row["fits_how"] = "counted model.fit calls"
    else:
        row["network_fits"] = row.get("network_fits_expected")
        row["fits_how"] = "by definition (fits ran in worker processes)"
    return row


def peer_row(row_id, estimator, data, args, *, expected_fits, quiet=False):
    """A method trained on the subset rows: fitted, scored, its network fits settled.

    For the methods whose own fit count is not known (the peers): see
    :func:`fit_and_score` for ``expected_fits`` and ``quiet``.
    """
    row = new_row(row_id, "subset", data, args)
    row, _ = fit_and_score(row, estimator, data, expected_fits=expected_fits, quiet=quiet)
    return settle_fit_count(row, args)


def add_relative_times(rows, data):
    """Training time over that of the log-loss ensemble on the same training rows."""
    by_id = {row["id"]: row for row in rows}
    for row in rows:
        reference_id = "log-loss-subset" if row["group"] == "subset" and data.has_subset \
            else "log-loss"
        row["relative_to"] = reference_id
        seconds = row.get("train_seconds")
        if seconds is not None:
            row["relative_time"] = seconds / by_id[reference_id]["train_seconds"]
    return rows


def report_progress(row):
    """One line per finished row, so that a long run shows where it is."""
    if row.get("reason"):
        print(f"[{row['id']}] {row['reason']}", flush=True)
    elif row.get("accuracy") is not None:
        print(f"[{row['id']}] accuracy {row['accuracy']:.4f}, training "
              f"{row.get('train_seconds') or 0:.1f} s", flush=True)
    return row
