"""Shared helpers of the benchmark scripts: machine description, timing, output."""

import json
import os
import platform
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine():
    """What the numbers were measured on."""
    import keras
    import sklearn
    import tensorflow as tf

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu_cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "scikit-learn": sklearn.__version__,
        "platform": platform.platform(),
    }


def median_seconds(run, repeats):
    """Median wall time of ``run()`` over ``repeats`` calls, after one warm-up call.

    The warm-up keeps tracing and first-call costs out of a prediction time.
    """
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(statistics.median(times))


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start


def markdown_table(rows, columns):
    """Rows of dicts -> a markdown table with the given ``(key, header, format)`` columns."""
    lines = ["| " + " | ".join(header for _, header, _ in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = [fmt.format(row[key]) if row.get(key) is not None else "—"
                 for key, _, fmt in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(name, payload, table):
    """Write ``results/NAME.json`` and ``results/NAME.md``."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(table + "\n")


def blend_against_best(blend_probas, y_blend, test_probas, y_test):
    """Log-loss weights learned on held-out rows, as ``WeightedAverageEnsemble`` learns them;
    the blend's test scores beside its best member's.

    ``blend_probas`` and ``test_probas`` hold one (n_samples, n_classes) array per
    member; labels are class indices.
    """
    import numpy as np

    from ensemble.combiners.averaging import blend
    from ensemble.combiners.weights import log_loss_weights
    from ensemble.evaluation.metrics import accuracy, log_loss

    classes = np.arange(test_probas[0].shape[1])
    weights = log_loss_weights(blend_probas, y_blend)
    proba = blend(test_probas, weights)
    return weights, proba, {
        "best_accuracy": max(accuracy(y_test, member, classes) for member in test_probas),
        "best_log_loss": min(log_loss(y_test, member, classes) for member in test_probas),
        "accuracy": accuracy(y_test, proba, classes),
        "log_loss": log_loss(y_test, proba, classes),
    }
