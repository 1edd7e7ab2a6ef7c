"""How many epochs each member gets in ``make demo``: every combination, three seeds.

Usage::

    python benchmarks/demo_epochs.py          # about 32 minutes on 2 cores (27 fits)
    python benchmarks/demo_epochs.py --seeds 0 --plain 12 --separable 4 --residual 10

Trains each member as ``make demo`` does (the bundled sample, the rows the
demo's ``WeightedAverageEnsemble(holdout=0.1, random_state=seed)`` gives its
members, flips on) at each epoch count, caches its probabilities in
``--cache-dir``, then blends every combination with log-loss weights on the
600 held-out rows: the blend's test accuracy and log loss against its best
member's, and the members' training seconds summed (the demo's budget).
Writes ``benchmarks/results/demo_epochs.{md,json}``.
"""

import argparse
import itertools
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MEMBERS = ("plain", "separable", "residual")


def member_run(name, epochs, seed, data, cache):
    """Fit one member (or load it): its held-out and test probabilities, and its seconds."""
    path = Path(cache) / f"{name}-{epochs}-seed-{seed}.npz"
    if not path.is_file():
        from ensemble.demo import default_members

        estimator = dict(default_members(epochs, seed))[name].set_params(verbose=0)
        start = time.perf_counter()
        estimator.fit(data["X_fit"], data["y_fit"])
        seconds = time.perf_counter() - start
        np.savez(path, seconds=seconds, blend=estimator.predict_proba(data["X_blend"]),
                 test=estimator.predict_proba(data["X_test"]))
        print(f"{name} {epochs} epochs, seed {seed}: {seconds:.1f} s", flush=True)
    stored = np.load(path, allow_pickle=False)
    return {key: stored[key] for key in stored.files}


def demo_rows(seed):
    from ensemble.datasets import load_fashion_mnist
    from members.utils.splits import held_out_rows

    (X, y), (X_test, y_test), _ = load_fashion_mnist("sample")
    fit_rows, blend_rows = held_out_rows(y, 0.1, seed)
    return {"X_fit": X[fit_rows], "y_fit": y[fit_rows], "X_blend": X[blend_rows],
            "y_blend": y[blend_rows], "X_test": X_test, "y_test": y_test}


def combination_row(common, seed, epochs, runs, data):
    weights, _, row = common.blend_against_best(
        [run["blend"] for run in runs], data["y_blend"], [run["test"] for run in runs],
        data["y_test"])
    row = {"seed": seed, **dict(zip(MEMBERS, epochs, strict=True)),
           "seconds": sum(float(run["seconds"]) for run in runs),
           "weights": " / ".join(f"{weight:.2f}" for weight in weights), **row}
    row["beats_best"] = (row["accuracy"] > row["best_accuracy"]
                         and row["log_loss"] < row["best_log_loss"])
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--plain", type=int, nargs="+", default=[10, 12, 16])
    parser.add_argument("--separable", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--residual", type=int, nargs="+", default=[8, 10, 12])
    parser.add_argument("--cache-dir", default="/tmp/keras-ensembles-demo-epochs")
    args = parser.parse_args()
    from ensemble import import_keras_quietly

    import_keras_quietly()
    import _common as common

    Path(args.cache_dir).mkdir(parents=True, exist_ok=True)
    grid = [getattr(args, name) for name in MEMBERS]
    rows = []
    for seed in args.seeds:
        data = demo_rows(seed)
        runs = {(name, epochs): member_run(name, epochs, seed, data, args.cache_dir)
                for name, counts in zip(MEMBERS, grid, strict=True) for epochs in counts}
        for epochs in itertools.product(*grid):
            members = [runs[name, count] for name, count in zip(MEMBERS, epochs, strict=True)]
            rows.append(combination_row(common, seed, epochs, members, data))
    table = common.markdown_table(rows, [
        ("seed", "seed", "{}"), ("plain", "plain", "{}"), ("separable", "separable", "{}"),
        ("residual", "residual", "{}"), ("seconds", "training s", "{:.0f}"),
        ("weights", "weights", "{}"), ("best_accuracy", "best member accuracy", "{:.4f}"),
        ("accuracy", "blend accuracy", "{:.4f}"),
        ("best_log_loss", "best member log loss", "{:.4f}"),
        ("log_loss", "blend log loss", "{:.4f}"), ("beats_best", "beats it in both", "{}")])
    print(table)
    common.write_results("demo_epochs", {"machine": common.machine(), "rows": rows}, table)


if __name__ == "__main__":
    main()
