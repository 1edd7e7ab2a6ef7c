"""What blending the strongest single members gives: the ensemble margin, measured.

Usage::

    python benchmarks/blend_levers.py      # seconds: no network is trained

Reads the probabilities that ``benchmarks/levers.py`` cached for each run of
the plain member (``--cache-dir``; the runs named in ``BLENDS`` must be
there, for example after ``python benchmarks/levers.py --levers
defaults,seed-1,seed-2,full-resolution-stem`` and the ``--epochs 8`` and
``--epochs 12`` runs of ``full-resolution-stem``), and blends them as the
default ``WeightedAverageEnsemble`` does: log-loss weights learned on the
6,000 held-out rows, flip test-time augmentation, no temperature. Each row
gives the blend's test accuracy and log loss beside its best member's and
the members' training time summed: how much an ensemble of these
augmented, regularised members adds over its best member, and at what cost.
Writes ``benchmarks/results/blend_levers.{md,json}``.
"""

import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Each blend: the cached runs it averages (``levers.py`` cache names, without ``plain-``).
BLENDS = [
    ("defaults", "seed-1"),
    ("defaults", "seed-1", "seed-2"),
    ("full-resolution-stem-8-epochs", "defaults"),
    ("full-resolution-stem-12-epochs", "defaults"),
    ("full-resolution-stem", "defaults"),
    ("full-resolution-stem", "defaults", "seed-1"),
    ("full-resolution-stem", "full-resolution-stem-12-epochs"),
]


def load_run(cache, name):
    path = Path(cache) / f"plain-{name}.npz"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run benchmarks/levers.py for {name!r} first "
                         "(see this script's docstring).")
    stored = np.load(path, allow_pickle=False)
    return {key: stored[key] for key in stored.files}


def blend_row(common, names, runs, y_blend, y_test):
    """Log-loss weights on the held-out rows; the blend's and its best member's test scores."""
    from ensemble.evaluation.metrics import expected_calibration_error

    weights, proba, scores = common.blend_against_best(
        [runs[name]["blend_flip"] for name in names], y_blend,
        [runs[name]["test_flip"] for name in names], y_test)
    return {
        "members": " + ".join(names),
        "minutes": sum(float(runs[name]["seconds"]) for name in names) / 60,
        "weights": " / ".join(f"{weight:.2f}" for weight in weights), **scores,
        "ece": expected_calibration_error(y_test, proba, np.arange(10)),
        "accuracy_gain": scores["accuracy"] - scores["best_accuracy"],
        "log_loss_gain_percent": 100 * (1 - scores["log_loss"] / scores["best_log_loss"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", default="/tmp/keras-ensembles-levers")
    args = parser.parse_args()
    from levers import ensemble_split

    import _common as common
    from ensemble.datasets import load_fashion_mnist

    (_, y), (_, y_test), _ = load_fashion_mnist("full")
    _, blend_rows = ensemble_split(y)
    runs = {name: load_run(args.cache_dir, name) for names in BLENDS for name in names}
    rows = [blend_row(common, names, runs, y[blend_rows], y_test) for names in BLENDS]
    table = common.markdown_table(rows, [
        ("members", "members (plain, flip TTA)", "{}"), ("minutes", "training min", "{:.1f}"),
        ("weights", "weights", "{}"), ("best_accuracy", "best member accuracy", "{:.4f}"),
        ("accuracy", "blend accuracy", "{:.4f}"), ("accuracy_gain", "gain", "{:+.4f}"),
        ("best_log_loss", "best member log loss", "{:.4f}"),
        ("log_loss", "blend log loss", "{:.4f}"),
        ("log_loss_gain_percent", "gain %", "{:.1f}"), ("ece", "blend ECE", "{:.4f}")])
    print(table)
    common.write_results("blend_levers", {"machine": common.machine(), "blends": rows}, table)


if __name__ == "__main__":
    main()
