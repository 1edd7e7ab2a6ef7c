"""Time `keras-ensembles blend` end to end on many large prediction files.

Writes 20 models' OOF and test CSV files of 100,000 rows and 10 classes
(the wide layout cv and predict --proba write, floats at full precision)
to a temporary folder, then runs the blend command on them three times,
in a fresh process each time as a user runs it: reading and checking the
files, learning log-loss weights, scoring them by 5-fold cross-validation,
and writing the submission. Reports the median. Results go to
benchmarks/results/blend_files.{md,json}.

Usage::

    python benchmarks/blend_files.py [--models 20] [--rows 100000] [--classes 10]
        [--repeats 3] [--method log_loss]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ensemble.prediction_files.files import write_probabilities

GOAL_SECONDS = 15.0  # 20 models x 100,000 rows x 10 classes, on 2 cores
RESULTS = Path(__file__).resolve().parent / "results"


def write_files(folder, n_models, n_rows, n_classes, seed=0):
    """Each model's OOF (with labels) and test files; models know the class to different degrees."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n_rows)
    classes = np.arange(n_classes)
    paths = {"oof": [], "test": []}
    for model in range(n_models):
        for kind in ("oof", "test"):
            labels = y if kind == "oof" else rng.integers(0, n_classes, size=n_rows)
            logits = (0.5 + 2.5 * model / n_models) * np.eye(n_classes)[labels] \
                + rng.normal(size=(n_rows, n_classes))
            proba = np.exp(logits - logits.max(axis=1, keepdims=True))
            proba /= proba.sum(axis=1, keepdims=True)
            path = folder / f"{kind}_model{model:02d}.csv"
            write_probabilities(path, np.arange(n_rows), proba, classes,
                                labels=y if kind == "oof" else None)
            paths[kind].append(path)
    return paths


def run_blend(folder, paths, method):
    """One blend in a fresh process; (seconds, the command's JSON result)."""
    command = [sys.executable, "-m", "ensemble", "blend", "--oof", *map(str, paths["oof"]),
               "--test", *map(str, paths["test"]), "--method", method,
               "--output", "submission.csv", "--overwrite", "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"blend failed:\n{done.stderr}")
    return seconds, json.loads(done.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--method", default="log_loss")
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        start = time.perf_counter()
        paths = write_files(folder, args.models, args.rows, args.classes)
        write_seconds = time.perf_counter() - start
        csv_mib = sum(p.stat().st_size for kind in paths.values() for p in kind) / 2**20
        runs = [run_blend(folder, paths, args.method) for _ in range(args.repeats)]
    seconds = [s for s, _ in runs]
    result = runs[-1][1]
    median = statistics.median(seconds)
    full_size = (args.models, args.rows, args.classes) == (20, 100_000, 10)
    payload = {
        "models": args.models, "rows": args.rows, "classes": args.classes,
        "method": args.method, "files": 2 * args.models, "csv_mib": csv_mib,
        "seconds": seconds, "median_seconds": median,
        "goal_seconds": GOAL_SECONDS if full_size else None,
        "cv_log_loss": result["cv_scores"]["log_loss"],
        "best_model_log_loss": min(s["log_loss"] for s in result["model_scores"].values()),
        "write_seconds": write_seconds, "cpu_count": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__,
        "machine": platform.machine(),
    }
    verdict = ("" if not full_size else
               f" (goal <= {GOAL_SECONDS:.0f} s: {'met' if median <= GOAL_SECONDS else 'missed'})")
    table = "\n".join([
        "| models | rows | classes | CSV files (MiB) | method | runs (s) | median (s) |"
        " blend CV log loss | best model OOF log loss |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {args.models} | {args.rows:,} | {args.classes} | {2 * args.models} ({csv_mib:,.0f}) "
        f"| {args.method} | {', '.join(f'{s:.1f}' for s in seconds)} | {median:.1f} | "
        f"{payload['cv_log_loss']:.4f} | {payload['best_model_log_loss']:.4f} |",
        "",
        f"End to end in a fresh process (start-up, reading and checking every file, "
        f"weights, {result['cv_scores']['folds']}-fold CV of the blend, submission): "
        f"median {median:.1f} s of {args.repeats}{verdict}; {os.cpu_count()} cores.",
    ])
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "blend_files.json").write_text(json.dumps(payload, indent=2) + "\n")
    (args.output_dir / "blend_files.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
