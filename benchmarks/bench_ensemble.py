"""Default members + learned weights on full Fashion-MNIST: members vs ensemble, and costs.

Usage::

    python benchmarks/bench_ensemble.py [--speedup-subset 12000] [--speedup-epochs 2]

Prints (and writes to ``benchmarks/results/ensemble.{md,json}``):

1. Every member beside the log-loss-weighted ensemble and the combiners
   fitted from its kept blending predictions (equal, Caruana, stacking), on
   the official test set, with the training wall time (members in parallel).
2. Time to learn log-loss weights for 10 members x 10,000 rows x 10 classes
   (median of 5).
3. ``n_jobs=-1`` against ``n_jobs=1``: the same three members trained for a
   fixed number of epochs on a subset, one after the other in this run.
"""

import argparse
import os

import numpy as np

from _common import Timer, machine, markdown_table, write_results
from ensemble import StackingEnsemble, WeightedAverageEnsemble, report
from ensemble.combiners import weights as blend_weights
from ensemble.datasets import load_fashion_mnist
from ensemble.demo import default_members

# Before TensorFlow is imported (on first use, by the members), which reads it once.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def members_vs_ensemble(X_train, y_train, X_test, y_test):
    with Timer() as fit_time:
        learned = WeightedAverageEnsemble(
            default_members(), weighting="log_loss", holdout=0.1, n_jobs=-1, random_state=0,
            verbose=1,
        ).fit(X_train, y_train)
    others = {
        "equal weights": WeightedAverageEnsemble.from_blend(learned, weighting="equal"),
        "Caruana selection": WeightedAverageEnsemble.from_blend(learned, weighting="caruana"),
        "stacking (logistic)": StackingEnsemble.from_blend(learned),
    }
    result = report(learned, X_test, y_test, name="log-loss weights", others=others)
    return result, fit_time.seconds, learned


def weight_learning_seconds(n_members=10, n_rows=10_000, n_classes=10, repeats=5):
    rng = np.random.RandomState(0)
    logits = rng.normal(size=(n_members, n_rows, n_classes))
    probas = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    y = rng.randint(0, n_classes, size=n_rows)
    times = []
    for _ in range(repeats):
        with Timer() as t:
            blend_weights.log_loss_weights(probas, y)
        times.append(t.seconds)
    return float(np.median(times))


def parallel_speedup(X, y, epochs):
    """Seconds for n_jobs=1 and n_jobs=-1, same members, fixed epochs, same run."""
    seconds = {}
    for n_jobs in (1, -1):
        members = default_members(epochs=epochs)
        for _, member in members:
            member.set_params(early_stopping_patience=None)
        with Timer() as t:
            WeightedAverageEnsemble(members, holdout=0.1, n_jobs=n_jobs, random_state=0).fit(X, y)
        seconds[n_jobs] = t.seconds
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speedup-subset", type=int, default=12_000)
    parser.add_argument("--speedup-epochs", type=int, default=2)
    parser.add_argument("--speedup-only", action="store_true",
                        help="measure only n_jobs=-1 against n_jobs=1 (writes ensemble_speedup.*)")
    parser.add_argument("--subset", type=int, default=None,
                        help="train on the first N images only (a quick check, not the benchmark)")
    args = parser.parse_args()

    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist("full")
    if args.subset:
        X_train, y_train = X_train[:args.subset], y_train[:args.subset]

    if args.speedup_only:
        return speedup_only(args, X_train, y_train)
    result, train_seconds, learned = members_vs_ensemble(X_train, y_train, X_test, y_test)
    rows = result.to_dict()["rows"]
    best_member = min((row for row in rows if row["kind"] == "member"), key=lambda r: r["log_loss"])
    ensemble_row = next(row for row in rows if row["name"] == "log-loss weights")
    log_loss_reduction = 1 - ensemble_row["log_loss"] / best_member["log_loss"]
    print(result)

    weights_seconds = weight_learning_seconds()
    speedup = parallel_speedup(X_train[:args.speedup_subset], y_train[:args.speedup_subset],
                               args.speedup_epochs)
    summary = {
        "train_size": len(X_train), "test_size": len(X_test),
        "blend_rows": int(learned.blend_predictions_.shape[1]),
        "train_seconds_n_jobs_-1": train_seconds,
        "member_epochs": {name: len(m.history_["epoch"])
                          for name, m in learned.named_members_.items()},
        "weights": [float(w) for w in learned.weights_],
        "ensemble_accuracy": ensemble_row["accuracy"],
        "ensemble_log_loss": ensemble_row["log_loss"],
        "best_member": best_member["name"], "best_member_log_loss": best_member["log_loss"],
        "log_loss_reduction_vs_best_member": log_loss_reduction,
        "log_loss_weights_seconds_10x10000x10": weights_seconds,
        "speedup_subset": args.speedup_subset, "speedup_epochs": args.speedup_epochs,
        "n_jobs_1_seconds": speedup[1], "n_jobs_-1_seconds": speedup[-1],
        "speedup": speedup[1] / speedup[-1],
    }
    table = result.to_markdown() + "\n\n" + markdown_table([summary], [
        ("train_seconds_n_jobs_-1", "training s (n_jobs=-1)", "{:.0f}"),
        ("ensemble_accuracy", "ensemble accuracy (target >= 0.935)", "{:.4f}"),
        ("log_loss_reduction_vs_best_member", "log loss below best member (target >= 10 %)",
         "{:.1%}"),
        ("log_loss_weights_seconds_10x10000x10", "weights 10x10k x10 s (target <= 0.5)", "{:.4f}"),
        ("speedup", "n_jobs=-1 speed-up (target >= 1.3)", "{:.2f}x"),
    ])
    print()
    print(table)
    write_results("ensemble", {"machine": machine(), "summary": summary, "report": rows}, table)


def speedup_only(args, X_train, y_train):
    seconds = parallel_speedup(X_train[:args.speedup_subset], y_train[:args.speedup_subset],
                               args.speedup_epochs)
    row = {"speedup_subset": args.speedup_subset, "speedup_epochs": args.speedup_epochs,
           "n_jobs_1_seconds": seconds[1], "n_jobs_-1_seconds": seconds[-1],
           "speedup": seconds[1] / seconds[-1]}
    table = markdown_table([row], [
        ("speedup_subset", "training images", "{:,}"), ("speedup_epochs", "epochs", "{}"),
        ("n_jobs_1_seconds", "n_jobs=1 s", "{:.1f}"),
        ("n_jobs_-1_seconds", "n_jobs=-1 s", "{:.1f}"),
        ("speedup", "speed-up (target >= 1.3)", "{:.2f}x"),
    ])
    print(table)
    write_results("ensemble_speedup", {"machine": machine(), **row}, table)


if __name__ == "__main__":
    main()
