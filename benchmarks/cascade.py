"""A cascade against the ensemble it stops early: accuracy kept, prediction time saved.

Usage::

    keras-ensembles fit --data full --output m.zip      # the CLI-default model
    python benchmarks/cascade.py --model m.zip            # -> results/cascade.{md,json}

The full Fashion-MNIST test set is split in two halves (seeded): the
threshold is chosen on the first (``CascadeEnsemble(...).fit``, tolerance
``--tolerance``), the accuracies are measured on the second, and the time
to predict all 10,000 images (median of ``--repeats``, after a warm-up) is
compared with the ensemble's ``predict_proba``.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from _common import machine, markdown_table, median_seconds, write_results  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a fitted ensemble archive")
    parser.add_argument("--tolerance", type=float, default=0.001)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="cascade")
    return parser.parse_args(argv)


def mcnemar_discordant(a_right, b_right):
    """Rows only the first got right, rows only the second did."""
    return int(np.sum(a_right & ~b_right)), int(np.sum(~a_right & b_right))


def main(argv=None):
    args = parse_args(argv)
    from ensemble import load
    from ensemble.combiners import CascadeEnsemble
    from ensemble.datasets import load_fashion_mnist

    model = load(args.model)
    _, (X, y), _ = load_fashion_mnist("full", download=False)
    rows = np.random.default_rng(args.seed).permutation(len(y))
    choose, check = rows[: len(y) // 2], rows[len(y) // 2:]
    cascade = CascadeEnsemble(model, tolerance=args.tolerance).fit(X[choose], y[choose])
    proba, stages = cascade.predict_stages(X[check])
    cascade_right = model.classes_[proba.argmax(axis=1)] == y[check]
    full_right = model.predict(X[check]) == y[check]
    only_cascade, only_full = mcnemar_discordant(cascade_right, full_right)
    seconds_full = median_seconds(lambda: model.predict_proba(X), args.repeats)
    seconds_cascade = median_seconds(lambda: cascade.predict_proba(X), args.repeats)
    _, all_stages = cascade.predict_stages(X)
    row = {"first_member": cascade.first_member_, "threshold": cascade.threshold_,
           "tolerance": args.tolerance,
           "chosen_on": len(choose), "accuracy_cascade": float(cascade_right.mean()),
           "accuracy_ensemble": float(full_right.mean()),
           "difference": float(cascade_right.mean() - full_right.mean()),
           "only_cascade_right": only_cascade, "only_ensemble_right": only_full,
           "first_stage_share": float(np.mean(stages == 0)),
           "first_stage_share_all_10000": float(np.mean(all_stages == 0)),
           "seconds_ensemble": seconds_full, "seconds_cascade": seconds_cascade,
           "time_ratio": seconds_cascade / seconds_full}
    for key, value in row.items():
        print(f"{key}: {value}")
    table = markdown_table([row], [
        ("first_member", "first stage", "{} (one pass)"), ("threshold", "threshold", "{:.3f}"),
        ("accuracy_ensemble", "ensemble accuracy", "{:.4f}"),
        ("accuracy_cascade", "cascade accuracy", "{:.4f}"), ("difference", "difference", "{:+.4f}"),
        ("only_cascade_right", "rows only the cascade got right", "{}"),
        ("only_ensemble_right", "rows only the ensemble got right", "{}"),
        ("first_stage_share", "answered by the first stage", "{:.1%}"),
        ("seconds_ensemble", "ensemble s / 10,000", "{:.2f}"),
        ("seconds_cascade", "cascade s / 10,000", "{:.2f}"), ("time_ratio", "ratio", "{:.2f}")])
    write_results(args.name, {"model": args.model, "result": row, "machine": machine()},
                  f"## Cascade (threshold chosen on {len(choose)} test images, accuracy on the "
                  f"other {len(check)})\n\n{table}")


if __name__ == "__main__":
    main()
