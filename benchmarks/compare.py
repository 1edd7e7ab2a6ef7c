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

This file is the command line; the work is in the modules beside it:
``_compare_plan`` (data, members, the time estimate), ``_compare_rows`` (one
row: fitting, counting network fits, scoring), ``_compare_peers`` (our rows
and the peers' rows), ``_compare_costs`` (the costs table) and
``_compare_output`` (tables, JSON, plot).
"""

import argparse
import os
from pathlib import Path

from _common import Timer
from _compare_costs import cost_rows
from _compare_output import report_text, results_payload, write_outputs
from _compare_peers import comparison_rows
from _compare_plan import Data, estimated_seconds, load_data, one_line

# Before TensorFlow is imported (on first use, by the members), which reads it once.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))

#: What tests and other scripts use from here, beside the command line.
__all__ = ["Data", "estimated_seconds", "main", "one_line", "parse_args"]

MEMBER_IDS = ("plain", "separable", "residual")
#: What ``--skip`` accepts: everything but the log-loss fit, which the members,
#: the held-out combiners and the relative times come from.
SKIPPABLE = ("members", "equal", "caruana", "stacking-holdout", "stacking-cv", "sklearn-voting",
             "sklearn-stacking", "keras-voting", "keras-voting-fixed", "scikeras-voting",
             "overhead", "parallel", "weights", "predict")


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
    table = report_text(args, data, estimate, load, whole_run.seconds, rows, costs)
    print()
    print(table)
    payload = results_payload(args, data, estimate, load, whole_run.seconds, rows, costs)
    write_outputs(args, data, payload, table)
    print(f"\nWrote {Path(args.results_dir) / args.output_name}.{{md,json,png}} "
          f"({whole_run.seconds / 60:.1f} min)")
    return payload


if __name__ == "__main__":
    import logging

    # Keras's tf.function retracing warnings, from several models predicting in turn.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    main()
