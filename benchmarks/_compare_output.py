"""What ``benchmarks/compare.py`` prints and writes: the tables, the JSON payload, the plot.

:func:`report_text` is the markdown printed at the end of a run and written to
``NAME.md`` (the settings, the comparison table, the costs table);
:func:`results_payload` is ``NAME.json``; :func:`plot_accuracy_vs_time` draws
``NAME.png``; :func:`write_outputs` writes the three into ``--results-dir``.
"""

import math
import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

import _common
from _common import machine, markdown_table
from _compare_plan import member_epochs

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


def report_text(args, data, estimate, load, wall_seconds, rows, costs):
    """The settings, the comparison table and the costs table, in markdown."""
    return (settings_text(args, data, estimate, load)
            + f"\nWhole run: {wall_seconds / 60:.1f} min.\n\n"
            + markdown_table(table_cells(rows), COMPARISON_COLUMNS) + "\n\nCosts:\n\n"
            + markdown_table(costs, COST_COLUMNS))


def results_payload(args, data, estimate, load, wall_seconds, rows, costs):
    """Everything the run measured, with the machine and the settings: the JSON file."""
    return {
        "machine": machine(), "mode": "quick" if args.quick else "full",
        "settings": {key: (str(value) if isinstance(value, Path) else value)
                     for key, value in vars(args).items()},
        "train_size": len(data.y_train), "subset_size": len(data.y_subset) if data.has_subset
        else None, "test_size": len(data.y_test), "member_epochs": member_epochs(args),
        "estimated_seconds": estimate, "wall_seconds": wall_seconds,
        "load_average_start_end": load,
        "rows": rows, "costs": costs,
    }


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


def write_outputs(args, data, payload, table):
    """``NAME.{md,json,png}`` into ``--results-dir``.

    ``write_results`` writes to its module's RESULTS folder, hence the assignment.
    """
    _common.RESULTS = Path(args.results_dir)
    _common.write_results(args.output_name, payload, table)
    plot_accuracy_vs_time(payload["rows"], Path(args.results_dir) / f"{args.output_name}.png",
                          f"Accuracy against training time ({payload['mode']}, "
                          f"{len(data.y_test):,} test images)")
