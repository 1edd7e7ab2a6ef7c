"""Our ensembles side by side with the tools people would use instead, and what they cost.

Usage::

    python benchmarks/compare.py --quick        # bundled sample, under 5 minutes on 2 cores
    python benchmarks/compare.py                # full Fashion-MNIST, 80 minutes at most
    python benchmarks/compare.py --quick --n-train 300 --n-test 200 --epochs 1 --cv 2 \\
        --results-dir /tmp/out                  # the quick code path on a tiny slice

Prints, and writes to ``benchmarks/results/compare_quick.{md,json,png}``
(``--quick``) or ``compare.{md,json,png}`` (full; ``--results-dir`` and
``--output-name`` write elsewhere):

1. One row per method, scored on the same test set: each default member
   alone; our equal-weight average, log-loss weights, Caruana selection and
   stacking on held-out predictions (the members are trained once, inside
   the log-loss fit, and the other three combiners are learned from its
   kept blending predictions); our stacking on out-of-fold predictions
   (``cv=k``); scikit-learn's soft ``VotingClassifier`` and
   ``StackingClassifier(cv=k)`` over the same member estimators;
   ``keras.wrappers.SKLearnClassifier`` versions of the same three networks
   in a soft ``VotingClassifier``, as shipped and with the two fixes it
   needs; and scikeras's ``KerasClassifier`` when it imports. Columns: test
   accuracy, log loss, Brier score, expected calibration error, training
   and test-set prediction wall time, network fits performed, and training
   time relative to our log-loss ensemble on the same training rows. A
   method that fails gets a row with the reason instead of numbers.
2. Costs: the member wrapper against a bare ``model.fit``; ``n_jobs=-1``
   against ``n_jobs=1``; time to learn weights for 2 to 20 members; the
   ensemble's ``predict_proba`` against its members' bare ``model.predict``.
3. A plot of test accuracy against training time, one point per row.

In full mode the members and the held-out combiners train on all 60,000
images, while the slow methods (out-of-fold stacking, the voting and
stacking peers) train on a fixed stratified subset (``--subset``, 10,000 by
default), beside a second log-loss ensemble on the same subset, so that the
relative-time column compares like with like. The table says which rows
used which training rows. Every method runs with ``--n-jobs`` (default 1:
on 2 cores TensorFlow already uses both for one fit), so network fits are
counted in this process.
"""

import argparse
import contextlib
import copy
import io
import math
import os
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from sklearn.model_selection import train_test_split

import _common
from _common import Timer, machine, markdown_table
from ensemble.combiners import weights as blend_weights
from ensemble.datasets import load_fashion_mnist
from ensemble.demo import default_members
from ensemble.evaluation import metrics

# Before TensorFlow is imported (on first use, by the members), which reads it once.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))

#: Seconds per epoch of each default member on 54,000 training rows (plus
#: 6,000 validation rows) on 2 CPU cores: BENCHMARKS.md, members run.
SECONDS_PER_EPOCH = {"plain": 28.0, "separable": 36.0, "residual": 37.0}
ROWS_PER_TIMED_EPOCH = 54_000
#: Building, compiling and tracing one network, and its first and last
#: batches: 2-4.5 s per 1-epoch fit of 270 rows in this benchmark's tiny run.
SETUP_SECONDS_PER_FIT = 3.0

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
MEMBER_IDS = ("plain", "separable", "residual")
#: What ``--skip`` accepts: everything but the log-loss fit, which the members,
#: the held-out combiners and the relative times come from.
SKIPPABLE = ("members", "equal", "caruana", "stacking-holdout", "stacking-cv", "sklearn-voting",
             "sklearn-stacking", "keras-voting", "keras-voting-fixed", "scikeras-voting",
             "overhead", "parallel", "weights", "predict")

WEIGHT_MEMBER_COUNTS = (2, 5, 10, 20)


# ------------------------------------------------------------------- options
def parse_args(argv=None):
    """Command-line options; mode defaults (``--quick`` or full) filled in."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the bundled sample (6,000/2,000 images) and few epochs")
    parser.add_argument("--epochs", type=int, default=None,
                        help="cap on every member's epochs (default: 1 with --quick, else each "
                             "member's own default)")
    parser.add_argument("--subset", type=int, default=None,
                        help="stratified training rows for the slow methods (default: 600 "
                             "with --quick, 10,000 in full mode; 0 for all rows)")
    parser.add_argument("--n-train", type=int, default=None,
                        help="use only the first N training images (a check, not a benchmark)")
    parser.add_argument("--n-test", type=int, default=None, help="use only the first N test images")
    parser.add_argument("--cv", type=int, default=None,
                        help="folds of the out-of-fold methods (default: 2 with --quick, else 5)")
    parser.add_argument("--n-jobs", type=int, default=1, help="n_jobs of every method")
    parser.add_argument("--overhead-epochs", type=int, default=1,
                        help="epochs of the wrapper-against-bare-model.fit timing")
    parser.add_argument("--overhead-repeats", type=int, default=1,
                        help="alternations of bare and wrapped fits (median reported)")
    parser.add_argument("--speedup-epochs", type=int, default=None,
                        help="epochs of the n_jobs comparison (default: 1 with --quick, else 2)")
    parser.add_argument("--weight-rows", type=int, default=10_000,
                        help="rows of the synthetic probabilities weights are learned on")
    parser.add_argument("--repeats", type=int, default=3,
                        help="repeats of the short timings (median reported)")
    parser.add_argument("--members", nargs="+", default=list(MEMBER_IDS), choices=MEMBER_IDS,
                        help="which default members every method combines (default: all three)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", nargs="+", default=[], choices=SKIPPABLE, metavar="ROW",
                        help=f"rows or costs to leave out: {', '.join(SKIPPABLE)}")
    parser.add_argument("--results-dir", type=Path, default=Path(HERE) / "results",
                        help="where the .md, .json and .png go (default: benchmarks/results)")
    parser.add_argument("--output-name", default=None,
                        help="file names without suffix (default: compare_quick or compare)")
    args = parser.parse_args(argv)
    # --quick checks every row's code path in <= 5 minutes on 2 cores: one
    # epoch, 2 folds, and the slow methods (each trains every member k + 1
    # times) on 600 rows; its accuracies are not the benchmark's. A fit that
    # short costs mostly Keras's fixed per-fit work (building, tracing), so
    # fewer fits cut the time and fewer rows only a little.
    if args.epochs is None and args.quick:
        args.epochs = 1
    if args.cv is None:
        args.cv = 2 if args.quick else 5
    if args.subset is None:
        # 10,000: the full run's upper bound stays under 90 minutes (estimated_seconds).
        args.subset = 600 if args.quick else 10_000
    if args.speedup_epochs is None:
        args.speedup_epochs = 1 if args.quick else 2
    if args.output_name is None:
        args.output_name = "compare_quick" if args.quick else "compare"
    if args.cv < 2:
        parser.error("--cv must be at least 2")
    return args


# ---------------------------------------------------------------------- data
@dataclass
class Data:
    """Flat raw rows for every method: the main training rows and the subset."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_subset: np.ndarray
    y_subset: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    dataset: str
    has_subset: bool

    def label(self, group):
        """How a row's training data is described in the table."""
        if group == "subset" and self.has_subset:
            return f"subset {len(self.y_subset):,} (stratified)"
        return f"{self.dataset} {len(self.y_train):,}"


def load_data(args):
    """The chosen set, sliced by ``--n-train``/``--n-test``, as flat rows, plus the subset."""
    dataset = "sample" if args.quick else "full"
    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist(dataset)
    if args.n_train:
        X_train, y_train = X_train[:args.n_train], y_train[:args.n_train]
    if args.n_test:
        X_test, y_test = X_test[:args.n_test], y_test[:args.n_test]
    # Flat rows: keras.wrappers.SKLearnClassifier validates 2-D input only,
    # and every method then sees exactly the same arrays.
    X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    has_subset = 0 < args.subset < len(y_train)
    X_subset, y_subset = X_train, y_train
    if has_subset:
        X_subset, _, y_subset, _ = train_test_split(
            X_train, y_train, train_size=args.subset, stratify=y_train, random_state=args.seed)
    return Data(X_train, y_train, X_subset, y_subset, X_test, y_test, dataset, has_subset)


# -------------------------------------------------------------- the estimate
def chosen_members(args, epochs=None):
    """Fresh default members named by ``--members``, epochs capped by ``epochs``."""
    return [(name, member) for name, member in default_members(epochs, args.seed)
            if name in args.members]


def member_epochs(args):
    """Epochs each chosen member may train (its default, or the ``--epochs`` cap)."""
    return {name: member.epochs for name, member in chosen_members(args, args.epochs)}


def estimated_seconds(args, data):
    """Upper bound of the run's training time from measured per-epoch timings.

    Every fit is assumed to run all its epochs (early stopping only shortens
    it) at the per-row speed of :data:`SECONDS_PER_EPOCH`, plus
    :data:`SETUP_SECONDS_PER_FIT` for building and tracing each network.
    Prediction and the weights timings are left out (a few seconds per row).

    Returns
    -------
    dict
        Seconds per part of the run and ``"total"``.
    """
    epochs = member_epochs(args)
    n_members = len(epochs)
    all_epochs = sum(SECONDS_PER_EPOCH[name] * epochs[name] for name in epochs)
    one_epoch = sum(SECONDS_PER_EPOCH[name] for name in epochs)

    def every_member(rows, per_row=all_epochs, validation=0.1, times=1):
        """``times`` fits of every member on ``rows`` rows (a share held out for validation)."""
        training = rows * (1 - validation) * per_row / ROWS_PER_TIMED_EPOCH
        return times * (training + n_members * SETUP_SECONDS_PER_FIT)

    n_main, n_sub, k = len(data.y_train), len(data.y_subset), args.cv
    out_of_fold = every_member(n_sub * (k - 1) / k, times=k) + every_member(n_sub)
    parts = {"log-loss": every_member(0.9 * n_main)}
    if data.has_subset:
        parts["log-loss-subset"] = every_member(0.9 * n_sub)
    parts.update({
        "stacking-cv": out_of_fold,
        "sklearn-voting": every_member(n_sub),
        "sklearn-stacking": out_of_fold,
        # Keras's own fit defaults (1 epoch, no validation split): see keras_voting_row.
        "keras-voting": every_member(n_sub, per_row=one_epoch, validation=0),
        "keras-voting-fixed": every_member(n_sub),
        "scikeras-voting": every_member(n_sub),
        "overhead": every_member(n_sub, per_row=args.overhead_epochs * one_epoch, times=2),
        "parallel": every_member(0.9 * n_sub, per_row=args.speedup_epochs * one_epoch, times=2),
    })
    parts = {key: value for key, value in parts.items() if key not in args.skip}
    parts["total"] = sum(parts.values())
    return parts


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


def one_line(error):
    """``Type: first line of the message``, safe inside a markdown cell."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".replace("|", "/")


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


# ---------------------------------------------------------------- our rows
def log_loss_ensemble(row_id, group, data, args):
    """Our learned-weight ensemble: the members trained once on 90 % of the rows."""
    from ensemble import WeightedAverageEnsemble

    row = new_row(row_id, group, data, args)
    estimator = WeightedAverageEnsemble(
        chosen_members(args, args.epochs), weighting="log_loss", holdout=0.1,
        n_jobs=args.n_jobs, random_state=args.seed)
    log = NetworkFitLog()
    row, learned = fit_and_score(row, estimator, data, expected_fits=len(args.members), log=log)
    if learned is None:
        raise RuntimeError(f"the log-loss ensemble failed, nothing to compare to: {row['reason']}")
    settle_fit_count(row, args, own=learned.network_fits_)
    row["weights"] = [float(w) for w in learned.weights_]
    row["notes"].append("weights " + ", ".join(
        f"{name} {w:.2f}"
        for name, w in zip(learned.named_members_, learned.weights_, strict=True)))
    return row, learned, log


def member_rows(learned, log, data, args):
    """Each member alone: the members of the log-loss fit, trained on 90 % of the rows."""
    rows = []
    for name, member in learned.named_members_.items():
        row = new_row(name, "main", data, args)
        row["train_seconds"] = log.seconds_of(member.model_)
        row["network_fits"], row["fits_how"] = 1, "one member of the log-loss fit"
        epochs = len(member.history_["epoch"])
        row["notes"].append(f"trained inside the log-loss fit on 90 % of the rows, {epochs} "
                            "epoch(s); training s = its model.fit only")
        rows.append(score_into(row, member, data))
    return rows


def from_blend_rows(learned, reference, data, args):
    """Equal, Caruana and held-out stacking from the log-loss fit's kept predictions."""
    from ensemble import StackingEnsemble, WeightedAverageEnsemble

    makers = {
        "equal": lambda: WeightedAverageEnsemble.from_blend(learned, weighting="equal"),
        "caruana": lambda: WeightedAverageEnsemble.from_blend(learned, weighting="caruana"),
        "stacking-holdout": lambda: StackingEnsemble.from_blend(learned),
    }
    rows = []
    for row_id, make in makers.items():
        row = new_row(row_id, "main", data, args)
        if row_id in args.skip:
            rows.append(skipped(row))
            continue
        with Timer() as combiner_time:
            combiner = make()
        # From scratch, this row costs the members' training plus its own combiner.
        row["train_seconds"] = reference["train_seconds"] + combiner_time.seconds
        row["combiner_seconds"] = combiner_time.seconds
        row["network_fits"], row["new_network_fits"] = learned.network_fits_, combiner.network_fits_
        row["fits_how"] = "members of the log-loss fit"
        row["notes"].append(f"reuses the log-loss fit's members: {combiner_time.seconds:.3f} s "
                            f"and {combiner.network_fits_} network fits of its own")
        rows.append(score_into(row, combiner, data))
    return rows


def out_of_fold_stacking_row(data, args):
    """Our StackingEnsemble on out-of-fold predictions: k + 1 fits per member."""
    from ensemble import StackingEnsemble

    row = new_row("stacking-cv", "subset", data, args)
    estimator = StackingEnsemble(chosen_members(args, args.epochs), cv=args.cv,
                                 n_jobs=args.n_jobs)
    row, fitted = fit_and_score(row, estimator, data,
                                expected_fits=(args.cv + 1) * len(args.members))
    return settle_fit_count(row, args, own=None if fitted is None else fitted.network_fits_)


# --------------------------------------------------------------- peer rows
def sklearn_voting_row(data, args):
    """scikit-learn's soft voting over the same member estimators (cloned, refitted)."""
    from sklearn.ensemble import VotingClassifier

    row = new_row("sklearn-voting", "subset", data, args)
    estimator = VotingClassifier(chosen_members(args, args.epochs), voting="soft",
                                 n_jobs=args.n_jobs)
    row, _ = fit_and_score(row, estimator, data, expected_fits=len(args.members))
    return settle_fit_count(row, args)


def sklearn_stacking_row(data, args):
    """scikit-learn's StackingClassifier: every member refitted k + 1 times."""
    from sklearn.ensemble import StackingClassifier

    row = new_row("sklearn-stacking", "subset", data, args)
    estimator = StackingClassifier(chosen_members(args, args.epochs), cv=args.cv,
                                   n_jobs=args.n_jobs)
    row, _ = fit_and_score(row, estimator, data,
                           expected_fits=(args.cv + 1) * len(args.members))
    return settle_fit_count(row, args)


def member_network(member, n_features, n_classes, n_rows):
    """A member's own model, compiled as the member compiles it: the peers train the same thing.

    Flat raw rows -> square grey images -> /255 -> the member's augmentation
    layers -> its network, with its optimizer, weight decay and learning-rate
    schedule (the cosine schedule's length counted for ``n_rows`` training
    rows less the validation split).
    """
    side = math.isqrt(n_features)
    n_train = n_rows - math.ceil(member.validation_fraction * n_rows)
    steps_per_epoch = math.ceil(n_train / member.batch_size)
    return member.compiled_model((side, side, 1), n_classes, 1 / 255, steps_per_epoch,
                                  member.random_state)


def compiled_wrapper_network(X, y, *, member_name, seed):
    """The model function of ``keras.wrappers.SKLearnClassifier``: a member's network.

    Compiled here as SKLearnClassifier requires; it one-hot encodes ``y``,
    hence categorical cross-entropy (with the member's label smoothing).
    """
    import keras

    keras.utils.set_random_seed(seed)
    member = dict(default_members())[member_name]
    model = member_network(member, X.shape[1], y.shape[1], len(X))
    model.compile(optimizer=model.optimizer, metrics=["accuracy"],
                  loss=keras.losses.CategoricalCrossentropy(
                      label_smoothing=member.label_smoothing))
    return model


def member_fit_settings(member):
    """``model.fit`` keyword arguments matching a member's own training settings."""
    import keras

    callbacks = []
    if member.early_stopping_patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            patience=member.early_stopping_patience, restore_best_weights=True))
    if member.lr_schedule == "plateau" and member.reduce_lr_patience is not None:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            patience=member.reduce_lr_patience, factor=member.reduce_lr_factor,
            min_lr=member.min_lr))
    return {"epochs": member.epochs, "batch_size": member.batch_size,
            "validation_split": member.validation_fraction, "callbacks": callbacks, "verbose": 0}


def keras_wrapper_members(wrapper_class, args):
    """The three default networks as ``wrapper_class`` (SKLearnClassifier or a subclass)."""
    wrapped = []
    for name, member in chosen_members(args, args.epochs):
        wrapped.append((name, wrapper_class(
            model=compiled_wrapper_network,
            model_kwargs={"member_name": name, "seed": member.random_state},
            fit_kwargs=member_fit_settings(member))))
    return wrapped


def fixed_sklearn_classifier():
    """``keras.wrappers.SKLearnClassifier`` with the two fixes a soft VotingClassifier needs.

    Defined on first use: ``keras.wrappers`` imports TensorFlow.
    """
    from keras.wrappers import SKLearnClassifier
    from sklearn.utils.validation import check_is_fitted, validate_data

    class SKLearnClassifierWithFixes(SKLearnClassifier):
        """Keeps ``fit_kwargs`` through ``clone``; has ``predict_proba``."""

        def __sklearn_clone__(self):
            twin = super().__sklearn_clone__()
            twin.fit_kwargs = copy.deepcopy(self.fit_kwargs)
            return twin

        def predict_proba(self, X):
            check_is_fitted(self)
            X = validate_data(self, X, reset=False)
            # The networks end in a softmax over the one-hot columns, which
            # are the sorted classes_.
            proba = np.asarray(self.model_.predict(X, verbose=0), dtype=np.float64)
            return proba / proba.sum(axis=1, keepdims=True)

    return SKLearnClassifierWithFixes


def keras_voting_row(data, args):
    """What Keras ships: SKLearnClassifier members in a soft VotingClassifier, unmodified."""
    from keras.wrappers import SKLearnClassifier
    from sklearn.ensemble import VotingClassifier

    row = new_row("keras-voting", "subset", data, args)
    voter = VotingClassifier(keras_wrapper_members(SKLearnClassifier, args), voting="soft",
                             n_jobs=args.n_jobs)
    row, _ = fit_and_score(row, voter, data, expected_fits=len(args.members), quiet=True)
    row["notes"] += what_clone_kept(voter, len(data.y_subset))
    return settle_fit_count(row, args)


def what_clone_kept(voter, n_rows):
    """Whether VotingClassifier's clones trained with the fit settings given, read from what ran.

    Returns
    -------
    list of str
        One note per distinct outcome over the fitted members.
    """
    notes = []
    for template, fitted in zip(voter.estimators, getattr(voter, "estimators_", []), strict=False):
        ran = getattr(getattr(fitted, "history_", None), "params", None) or {}
        steps = ran.get("steps")
        wanted = template[1].fit_kwargs
        note = (f"fit_kwargs after clone: {fitted.fit_kwargs!r}; each network trained "
                f"{ran.get('epochs')} epoch(s) of {steps} steps on {n_rows:,} rows (batch "
                f"{math.ceil(n_rows / steps) if steps else '?'}, no validation) instead of up to "
                f"{wanted['epochs']} epochs of batch {wanted['batch_size']} with early stopping")
        if note not in notes:
            notes.append(note)
    return notes


def keras_voting_fixed_row(data, args):
    """SKLearnClassifier members made to work: fit settings kept on clone, predict_proba."""
    from sklearn.ensemble import VotingClassifier

    row = new_row("keras-voting-fixed", "subset", data, args)
    voter = VotingClassifier(keras_wrapper_members(fixed_sklearn_classifier(), args),
                             voting="soft", n_jobs=args.n_jobs)
    row, _ = fit_and_score(row, voter, data, expected_fits=len(args.members))
    row["notes"].append("subclass: fit_kwargs deep-copied in __sklearn_clone__, predict_proba "
                        "from the softmax; same epochs, batch size, optimizer, early stopping "
                        "and LR schedule as our members (Keras's unstratified validation_split)")
    return settle_fit_count(row, args)


def scikeras_network(meta, *, member_name, seed):
    """scikeras model function: a member's network on flat raw rows, compiled as the member does."""
    import keras

    keras.utils.set_random_seed(seed)
    member = dict(default_members())[member_name]
    return member_network(member, meta["n_features_in_"], meta["n_classes_"],
                          meta["X_shape_"][0])


def scikeras_voting_row(data, args):
    """scikeras's KerasClassifier members in a soft VotingClassifier, if scikeras imports."""
    from sklearn.ensemble import VotingClassifier

    row = new_row("scikeras-voting", "subset", data, args)
    try:
        import scikeras
        from scikeras.wrappers import KerasClassifier
    except Exception as error:
        row["reason"] = f"not usable here: {one_line(error)}"
        return row
    row["notes"].append(f"scikeras {scikeras.__version__}")
    members = []
    for name, member in chosen_members(args, args.epochs):
        settings = member_fit_settings(member)
        # The model function returns the member's compiled model; scikeras then
        # keeps its loss, optimizer and schedule.
        members.append((name, KerasClassifier(
            model=scikeras_network, model__member_name=name, model__seed=member.random_state,
            epochs=settings["epochs"], batch_size=settings["batch_size"],
            validation_split=settings["validation_split"], callbacks=settings["callbacks"],
            verbose=0)))
    voter = VotingClassifier(members, voting="soft", n_jobs=args.n_jobs)
    row, _ = fit_and_score(row, voter, data, expected_fits=len(args.members))
    return settle_fit_count(row, args)


def skipped(row):
    row["reason"] = "skipped (--skip)"
    return row


def comparison_rows(data, args):
    """Every row of the comparison table, in :data:`ROWS` order.

    Returns
    -------
    rows : list of dict
    learned : the fitted log-loss ensemble on the main training rows
    """
    reference, learned, log = log_loss_ensemble("log-loss", "main", data, args)
    if "members" in args.skip:
        rows = [skipped(new_row(name, "main", data, args)) for name in args.members]
    else:
        rows = member_rows(learned, log, data, args)
    rows.append(reference)
    rows += from_blend_rows(learned, reference, data, args)
    for row in rows:
        report_progress(row)
    if data.has_subset:
        subset_reference, _, _ = log_loss_ensemble("log-loss-subset", "subset", data, args)
        rows.append(report_progress(subset_reference))
    peers = {
        "stacking-cv": out_of_fold_stacking_row,
        "sklearn-voting": sklearn_voting_row,
        "sklearn-stacking": sklearn_stacking_row,
        "keras-voting": keras_voting_row,
        "keras-voting-fixed": keras_voting_fixed_row,
        "scikeras-voting": scikeras_voting_row,
    }
    for row_id, make_row in peers.items():
        if row_id in args.skip:
            rows.append(skipped(new_row(row_id, "subset", data, args)))
        else:
            rows.append(report_progress(make_row(data, args)))
    return add_relative_times(rows, data), learned


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


# ------------------------------------------------------------------- costs
def cost_rows(data, learned, args):
    """The second table: what the wrapper, parallelism, weights and prediction cost."""
    measures = {
        "overhead": wrapper_overhead_rows,
        "parallel": parallel_speedup_rows,
        "weights": weight_learning_rows,
        "predict": prediction_cost_rows,
    }
    rows = []
    for cost_id, measure in measures.items():
        if cost_id in args.skip:
            rows.append({"id": cost_id, "cost": cost_id, "reason": "skipped (--skip)"})
            continue
        try:
            new = measure(data, learned, args)
        except Exception as error:
            new = [{"id": cost_id, "cost": cost_id, "reason": one_line(error)}]
        for row in new:
            print(f"[cost {row['id']}] {row.get('result') or row.get('reason')}", flush=True)
        rows += new
    return rows


def wrapper_overhead_rows(data, learned, args):
    """``benchmarks/bench_members.py``'s measurement: bare ``model.fit`` against the wrapper."""
    import bench_members as members_benchmark
    rows = []
    for name in args.members:
        measured = members_benchmark.wrapper_overhead(
            name, data.X_subset, data.y_subset, args.overhead_epochs,
            repeats=args.overhead_repeats)
        rows.append({
            "id": f"overhead-{name}", "cost": f"member wrapper, {name}",
            "setting": f"{args.overhead_epochs} epoch(s), {data.label('subset')} rows "
                       "(10 % validation)" + (f", median of {args.overhead_repeats}"
                                              if args.overhead_repeats > 1 else ""),
            "seconds": measured["wrapper_seconds"], "against": "bare model.fit",
            "against_seconds": measured["bare_seconds"], "ratio": measured["overhead_ratio"],
            "result": f"wrapper / bare {measured['overhead_ratio']:.3f}",
        })
    return rows


def parallel_speedup_rows(data, learned, args):
    """``benchmarks/bench_ensemble.py``'s measurement, over the chosen members."""
    seconds = parallel_fit_seconds(data.X_subset, data.y_subset, args)
    speedup = seconds[1] / seconds[-1]
    return [{
        "id": "parallel", "cost": "members in parallel (n_jobs=-1)",
        "setting": f"log-loss ensemble, {len(args.members)} members x {args.speedup_epochs} "
                   f"epoch(s), {data.label('subset')} rows, {os.cpu_count()} cores",
        "seconds": seconds[-1], "against": "n_jobs=1", "against_seconds": seconds[1],
        "ratio": speedup, "result": f"speed-up {speedup:.2f}x",
    }]


def parallel_fit_seconds(X, y, args):
    """Seconds of the same log-loss fit with n_jobs=1 then n_jobs=-1, fixed epochs.

    As ``parallel_speedup`` in ``benchmarks/bench_ensemble.py``: early stopping off,
    so that both runs train the same number of epochs.
    """
    from ensemble import WeightedAverageEnsemble

    seconds = {}
    for n_jobs in (1, -1):
        members = chosen_members(args, args.speedup_epochs)
        for _, member in members:
            member.set_params(early_stopping_patience=None)
        with Timer() as t:
            WeightedAverageEnsemble(members, holdout=0.1, n_jobs=n_jobs,
                                    random_state=args.seed).fit(X, y)
        seconds[n_jobs] = t.seconds
    return seconds


def synthetic_probas(n_members, n_rows, n_classes=10, seed=0):
    """Random member probabilities and labels, (n_members, n_rows, n_classes)."""
    rng = np.random.RandomState(seed)
    logits = rng.normal(size=(n_members, n_rows, n_classes))
    probas = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    return probas, rng.randint(0, n_classes, size=n_rows)


def median_seconds(function, repeats):
    times = []
    for _ in range(repeats):
        with Timer() as t:
            function()
        times.append(t.seconds)
    return float(np.median(times))


def weight_learning_rows(data, learned, args):
    """Log-loss weights and Caruana selection as the number of members grows."""
    rows = []
    for n_members in WEIGHT_MEMBER_COUNTS:
        probas, y = synthetic_probas(n_members, args.weight_rows)
        log_loss_s = median_seconds(partial(blend_weights.log_loss_weights, probas, y),
                                    args.repeats)
        caruana_s = median_seconds(partial(blend_weights.caruana_weights, probas, y), args.repeats)
        rows.append({
            "id": f"weights-{n_members}", "cost": f"learn weights, {n_members} members",
            "setting": f"synthetic, {args.weight_rows:,} rows x 10 classes, median of "
                       f"{args.repeats}",
            "seconds": log_loss_s, "against": "Caruana selection", "against_seconds": caruana_s,
            "ratio": log_loss_s / caruana_s,
            "result": f"log-loss {log_loss_s:.4f} s, Caruana {caruana_s:.4f} s",
        })
    return rows


def prediction_cost_rows(data, learned, args):
    """The log-loss ensemble's predict_proba against its members' bare model.predict.

    The bare side runs ``model.predict`` of every member the ensemble uses
    (non-zero weight) once per test-time-augmentation transform that member
    averages, on inputs transformed beforehand (not timed).
    """
    from members.utils.tta import resolve_tta, transform_batch

    used = [member for member, weight in zip(learned.members_, learned.weights_, strict=True)
            if weight > 0]
    inputs = []
    for member in used:
        images = data.X_test.reshape(len(data.X_test), *member.input_shape_).astype("float32")
        for name in resolve_tta(member.tta, member.horizontal_flip, member.input_shape_):
            inputs.append((member.model_, transform_batch(images, name).reshape(len(images), -1)))

    def members_bare():
        for model, X in inputs:
            model.predict(X, batch_size=512, verbose=0)

    def ensemble_proba():
        learned.predict_proba(data.X_test)

    # One untimed call each: model.predict traces a function on its first call.
    members_bare()
    ensemble_proba()
    bare = median_seconds(members_bare, args.repeats)
    ours = median_seconds(ensemble_proba, args.repeats)
    return [{
        "id": "predict", "cost": "ensemble predict_proba",
        "setting": f"{len(data.y_test):,} test rows, {len(used)} of {len(learned.members_)} "
                   f"members weighted, {len(inputs)} model.predict passes with TTA, median of "
                   f"{args.repeats}",
        "seconds": ours, "against": "sum of members' model.predict", "against_seconds": bare,
        "ratio": ours / bare, "result": f"ensemble / members {ours / bare:.2f}",
    }]


# ------------------------------------------------------------------ output
COMPARISON_COLUMNS = [
    ("name", "method", "{}"), ("data", "training rows", "{}"),
    ("accuracy", "accuracy", "{:.4f}"), ("log_loss", "log loss", "{:.4f}"),
    ("brier", "Brier", "{:.4f}"), ("ece", "ECE", "{:.4f}"),
    ("train_seconds", "training s", "{:.1f}"), ("predict_seconds", "predict s", "{:.2f}"),
    ("fits_shown", "network fits", "{}"), ("fits_how", "fits counted by", "{}"),
    ("relative_time", "time vs log-loss", "{:.2f}x"), ("remarks", "notes", "{}"),
]
COST_COLUMNS = [
    ("cost", "cost", "{}"), ("setting", "setting", "{}"), ("seconds", "ours s", "{:.4f}"),
    ("against", "against", "{}"), ("against_seconds", "against s", "{:.4f}"),
    ("result", "result", "{}"),
]


def table_cells(rows):
    """Display-only fields: fits with what was new, notes and reason in one cell."""
    shown = []
    for row in rows:
        cells = dict(row)
        fits = row.get("network_fits")
        if fits is not None and row.get("new_network_fits") is not None:
            fits = f"{fits} ({row['new_network_fits']} new)"
        cells["fits_shown"] = fits
        remarks = ([f"**{row['reason']}**"] if row.get("reason") else []) + row["notes"]
        cells["remarks"] = "; ".join(remarks).replace("|", "/") or None
        shown.append(cells)
    return shown


def settings_text(args, data, estimate, load):
    """What the run used, printed above the tables."""
    epochs = member_epochs(args)
    lines = [
        f"Mode: {'quick' if args.quick else 'full'}. Test set: {len(data.y_test):,} images of "
        f"the {data.dataset} set, the same for every row.",
        f"Training rows: {data.dataset} {len(data.y_train):,} for the members, our log-loss "
        "ensemble and the combiners learned from its blend; "
        + (f"a fixed stratified subset of {len(data.y_subset):,} (seed {args.seed}) for every "
           "other row, beside a log-loss ensemble on that subset."
           if data.has_subset else "the same rows for every other row."),
        "Member epochs (at most; early stopping on 10 %): "
        + ", ".join(f"{name} {n}" for name, n in epochs.items())
        + f"; folds k={args.cv}; n_jobs={args.n_jobs} for every method.",
        "Time vs log-loss: training time over that of the log-loss ensemble on the same "
        "training rows. Rows learned from the log-loss fit's blend count its training.",
        f"Estimated training time before the run (upper bound, every epoch run): "
        f"{estimate['total'] / 60:.0f} min.",
        # Other work on the machine slows every row; the load says how idle it was.
        f"Load average (1 min) at start and end: {load[0]:.1f} and {load[1]:.1f} on "
        f"{os.cpu_count()} cores.",
    ]
    return "\n".join(lines)


def plot_accuracy_vs_time(rows, path, title):
    """Test accuracy against training time, one point per row with both numbers."""
    colors = {"member": "tab:gray", "ours": "tab:orange", "scikit-learn": "tab:blue",
              "Keras": "tab:red", "scikeras": "tab:purple"}
    figure = Figure(figsize=(8.5, 5.5), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    plotted = [row for row in rows
               if row.get("accuracy") is not None and row.get("train_seconds")]
    for kind, color in colors.items():
        for group, marker in (("main", "o"), ("subset", "s")):
            points = [row for row in plotted if row["kind"] == kind and row["group"] == group]
            if points:
                label = kind if group == "main" else f"{kind} (subset rows)"
                ax.scatter([row["train_seconds"] for row in points],
                           [row["accuracy"] for row in points], color=color, marker=marker,
                           label=label, zorder=3)
    label_points(ax, plotted)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("training wall time, s (log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return figure


def label_points(ax, rows):
    """Row ids beside their points; rows on the same point share one label.

    Labels of neighbouring points alternate above and below, so that rows
    with equal accuracy (e.g. the two out-of-fold stackings) stay readable.
    """
    spots = {}
    for row in rows:
        spot = (round(math.log10(row["train_seconds"]), 2), round(row["accuracy"], 4))
        spots.setdefault(spot, []).append(row)
    placed = []
    for spot in sorted(spots):
        x, y = spot
        near = sum(abs(x - px) < 0.25 and abs(y - py) < 0.006 for px, py in placed)
        placed.append(spot)
        first = spots[spot][0]
        ax.annotate(", ".join(row["id"] for row in spots[spot]),
                    (first["train_seconds"], first["accuracy"]), fontsize=7,
                    xytext=(4, 3 if near % 2 == 0 else -10), textcoords="offset points")


def write_outputs(args, payload, table):
    """``write_results`` into ``--results-dir``: it writes to its module's RESULTS folder."""
    _common.RESULTS = Path(args.results_dir)
    _common.write_results(args.output_name, payload, table)


# -------------------------------------------------------------------- main
def main(argv=None):
    """Run the comparison; return the payload written as JSON."""
    args = parse_args(argv)
    load_at_start = os.getloadavg()[0]
    with Timer() as whole_run:
        data = load_data(args)
        estimate = estimated_seconds(args, data)
        print(f"Estimated training time (upper bound, every epoch run): "
              f"{estimate['total'] / 60:.1f} min", flush=True)
        rows, learned = comparison_rows(data, args)
        costs = cost_rows(data, learned, args)

    load = (load_at_start, os.getloadavg()[0])
    text = settings_text(args, data, estimate, load)
    table = (text + f"\nWhole run: {whole_run.seconds / 60:.1f} min.\n\n"
             + markdown_table(table_cells(rows), COMPARISON_COLUMNS) + "\n\nCosts:\n\n"
             + markdown_table(costs, COST_COLUMNS))
    print()
    print(table)
    payload = {
        "machine": machine(), "mode": "quick" if args.quick else "full",
        "settings": {key: (str(value) if isinstance(value, Path) else value)
                     for key, value in vars(args).items()},
        "train_size": len(data.y_train), "subset_size": len(data.y_subset) if data.has_subset
        else None, "test_size": len(data.y_test), "member_epochs": member_epochs(args),
        "estimated_seconds": estimate, "wall_seconds": whole_run.seconds,
        "load_average_start_end": load,
        "rows": rows, "costs": costs,
    }
    write_outputs(args, payload, table)
    plot_accuracy_vs_time(rows, Path(args.results_dir) / f"{args.output_name}.png",
                          f"Accuracy against training time ({payload['mode']}, "
                          f"{len(data.y_test):,} test images)")
    print(f"\nWrote {Path(args.results_dir) / args.output_name}.{{md,json,png}} "
          f"({whole_run.seconds / 60:.1f} min)")
    return payload


if __name__ == "__main__":
    import logging

    # Keras's tf.function retracing warnings, from several models predicting in turn.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    main()
