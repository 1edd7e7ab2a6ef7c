"""What ``benchmarks/compare.py`` runs on: the data, the members, and the time it will take.

The training and test rows every method sees (:class:`Data`, :func:`load_data`),
the default members chosen by ``--members`` (:func:`chosen_members`), and the
upper bound of the run's training time from measured per-epoch timings
(:func:`estimated_seconds`), printed before anything trains. Also
:func:`one_line`, how every failure becomes a table cell.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from ensemble.datasets import load_fashion_mnist
from ensemble.demo import default_members

#: Seconds per epoch of each default member on 54,000 training rows (plus
#: 6,000 validation rows) on 2 CPU cores: BENCHMARKS.md, members run.
SECONDS_PER_EPOCH = {"plain": 28.0, "separable": 36.0, "residual": 37.0}
ROWS_PER_TIMED_EPOCH = 54_000
#: Building, compiling and tracing one network, and its first and last
#: batches: 2-4.5 s per 1-epoch fit of 270 rows in this benchmark's tiny run.
SETUP_SECONDS_PER_FIT = 3.0


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


# ------------------------------------------------------------------- members
def chosen_members(args, epochs=None):
    """Fresh default members named by ``--members``, epochs capped by ``epochs``."""
    return [(name, member) for name, member in default_members(epochs, args.seed)
            if name in args.members]


def member_epochs(args):
    """Epochs each chosen member may train (its default, or the ``--epochs`` cap)."""
    return {name: member.epochs for name, member in chosen_members(args, args.epochs)}


def one_line(error):
    """``Type: first line of the message``, safe inside a markdown cell."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".replace("|", "/")


# -------------------------------------------------------------- the estimate
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
        # Keras's own fit defaults (1 epoch, no validation split): see
        # _compare_peers.keras_voting_row.
        "keras-voting": every_member(n_sub, per_row=one_epoch, validation=0),
        "keras-voting-fixed": every_member(n_sub),
        "scikeras-voting": every_member(n_sub),
        "overhead": every_member(n_sub, per_row=args.overhead_epochs * one_epoch, times=2),
        "parallel": every_member(0.9 * n_sub, per_row=args.speedup_epochs * one_epoch, times=2),
    })
    parts = {key: value for key, value in parts.items() if key not in args.skip}
    parts["total"] = sum(parts.values())
    return parts
