"""Train each member with its defaults on full Fashion-MNIST; measure the wrapper's cost.

Usage::

    python benchmarks/bench_members.py [--overhead-epochs 2] [--subset N]

Prints a markdown table (test accuracy, log loss, epochs, training time) and
the wrapper's overhead: the same network, data, validation split and batch
size trained for a fixed number of epochs through ``model.fit`` directly and
through the wrapper, one after the other in this run.
"""

import argparse
import os

import numpy as np

from _common import Timer, machine, markdown_table, write_results
from ensemble.datasets import load_fashion_mnist
from ensemble.evaluation import metrics

# Before the members import TensorFlow, which reads it once.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from members import PlainCNNClassifier, ResidualNetClassifier, SeparableCNNClassifier  # noqa: E402
from members.utils.seeds import seed_from, seeded  # noqa: E402
from members.utils.splits import validation_split  # noqa: E402

MEMBERS = {
    "plain": PlainCNNClassifier,
    "separable": SeparableCNNClassifier,
    "residual": ResidualNetClassifier,
}
TARGET_ACCURACY = {"plain": 0.915, "separable": 0.905, "residual": 0.920}


def train_with_defaults(name, X_train, y_train, X_test, y_test):
    member = MEMBERS[name](random_state=0)
    with Timer() as fit_time:
        member.fit(X_train, y_train)
    proba = member.predict_proba(X_test)
    scores = metrics.score_all(y_test, proba, member.classes_)
    epochs = len(member.history_["epoch"])
    return {
        "member": name, "accuracy": scores["accuracy"], "log_loss": scores["log_loss"],
        "epochs": epochs, "train_seconds": fit_time.seconds,
        "seconds_per_epoch": fit_time.seconds / epochs, "params": member.model_.count_params(),
        "target_accuracy": TARGET_ACCURACY[name],
    }


def wrapper_overhead(name, X_train, y_train, epochs, repeats=1):
    """Seconds of a bare ``model.fit`` and of the wrapper, same network, data and epochs.

    The two alternate ``repeats`` times; the ratio of the medians is reported.
    """
    bare_times, wrapper_times = [], []
    for _ in range(repeats):
        bare_times.append(_bare_fit_seconds(name, X_train, y_train, epochs))
        with Timer() as wrapped:
            _fixed_epochs_member(name, epochs).fit(X_train, y_train)
        wrapper_times.append(wrapped.seconds)
    bare, wrapper = float(np.median(bare_times)), float(np.median(wrapper_times))
    return {"member": name, "overhead_epochs": epochs, "overhead_repeats": repeats,
            "bare_seconds": bare, "wrapper_seconds": wrapper, "overhead_ratio": wrapper / bare}


def _fixed_epochs_member(name, epochs):
    return MEMBERS[name](epochs=epochs, early_stopping_patience=None, reduce_lr_patience=None,
                         random_state=0)


def _bare_fit_seconds(name, X_train, y_train, epochs):
    """The network the wrapper builds, fitted with ``model.fit`` on the split it makes."""
    member = _fixed_epochs_member(name, epochs)
    X_rows = X_train.reshape(len(X_train), -1)
    seed = seed_from(0)
    with seeded(seed):
        X_fit, y_fit, validation = validation_split(
            X_rows, y_train, member.validation_fraction, seed)
        steps_per_epoch = -(-len(y_fit) // member.batch_size)
        model = member.compiled_model((28, 28, 1), 10, 1 / 255, steps_per_epoch, seed,
                                       images=True)
    X_fit = X_fit.astype("float32")
    validation = (validation[0].astype("float32"), validation[1])
    with Timer() as bare:
        model.fit(X_fit, y_fit, validation_data=validation, epochs=epochs,
                  batch_size=member.batch_size, verbose=0)
    return bare.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overhead-epochs", type=int, default=2)
    parser.add_argument("--overhead-repeats", type=int, default=1)
    parser.add_argument("--overhead-only", action="store_true",
                        help="measure only the wrapper's overhead (writes members_overhead.*)")
    parser.add_argument("--subset", type=int, default=None,
                        help="use only the first N training images (for a quick check)")
    parser.add_argument("--members", nargs="+", default=list(MEMBERS), choices=list(MEMBERS))
    args = parser.parse_args()

    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist("full")
    if args.subset:
        X_train, y_train = X_train[:args.subset], y_train[:args.subset]
    if args.overhead_only:
        return overhead_only(args, X_train, y_train)
    rows = []
    for name in args.members:
        row = train_with_defaults(name, X_train, y_train, X_test, y_test)
        row.update(wrapper_overhead(name, X_train, y_train, args.overhead_epochs,
                                    args.overhead_repeats))
        rows.append(row)
        print(f"{name}: {row}", flush=True)

    table = markdown_table(rows, [
        ("member", "member", "{}"), ("params", "params", "{:,}"),
        ("accuracy", "test accuracy", "{:.4f}"), ("target_accuracy", "target", ">= {:.3f}"),
        ("log_loss", "test log loss", "{:.4f}"), ("epochs", "epochs (early stop)", "{}"),
        ("train_seconds", "training s", "{:.0f}"), ("seconds_per_epoch", "s / epoch", "{:.1f}"),
        ("bare_seconds", "bare model.fit s", "{:.1f}"), ("wrapper_seconds", "wrapper s", "{:.1f}"),
        ("overhead_ratio", "wrapper / bare", "{:.3f}"),
    ])
    print()
    print(table)
    write_results("members", {"machine": machine(), "train_size": len(X_train),
                              "test_size": len(X_test), "rows": rows}, table)


def overhead_only(args, X_train, y_train):
    rows = []
    for name in args.members:
        rows.append(wrapper_overhead(name, X_train, y_train, args.overhead_epochs,
                                     args.overhead_repeats))
        print(f"{name}: {rows[-1]}", flush=True)
    table = markdown_table(rows, [
        ("member", "member", "{}"), ("overhead_epochs", "epochs", "{}"),
        ("overhead_repeats", "repeats", "{}"),
        ("bare_seconds", "bare model.fit s (median)", "{:.1f}"),
        ("wrapper_seconds", "wrapper s (median)", "{:.1f}"),
        ("overhead_ratio", "wrapper / bare", "{:.3f}"),
    ])
    print()
    print(table)
    write_results("members_overhead", {"machine": machine(), "train_size": len(X_train),
                                       "rows": rows}, table)


if __name__ == "__main__":
    main()
