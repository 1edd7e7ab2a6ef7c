"""What recomputing batch-norm statistics after training changes: members on small data.

Usage::

    python benchmarks/precise_bn.py                    # 3 members x 2 sizes x 3 seeds, twice
    python benchmarks/precise_bn.py --sizes 600 --seeds 0

Each default member at ``make demo``'s epochs (flips on) is fitted twice on
the same rows with the same seed, once with ``precise_bn=False`` (the
moving averages Keras keeps) and once with ``precise_bn=True`` (the
default: statistics recomputed from the training rows after training);
training is identical, only the statistics differ. Both are scored on the
bundled sample's 2,000 test images, and on their own training rows in
inference mode beside the accuracy with batch statistics
(``batchnorm_check_``). Writes ``benchmarks/results/precise_bn.{md,json}``.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MEMBERS = ("plain", "separable", "residual")


def run(name, size, seed, data, precise_bn):
    from ensemble.demo import default_members
    from ensemble.evaluation import metrics
    from trust import training_rows

    rows = training_rows(size, seed, data["y_train"])
    member = dict(default_members(seed=seed))[name].set_params(precise_bn=precise_bn)
    start = time.perf_counter()
    member.fit(data["X_train"][rows], data["y_train"][rows])
    seconds = time.perf_counter() - start
    proba = member.predict_proba(data["X_test"])
    check = member.batchnorm_check_
    return {"member": name, "size": size, "seed": seed, "precise_bn": precise_bn,
            "seconds": seconds,
            "accuracy": metrics.accuracy(data["y_test"], proba, member.classes_),
            "log_loss": metrics.log_loss(data["y_test"], proba, member.classes_),
            "train_inference": check["inference_accuracy"],
            "train_batch_statistics": check["batch_statistics_accuracy"]}


def paired_rows(runs):
    """One row per fit pair: the change precise statistics make."""
    rows = []
    moving = [run for run in runs if not run["precise_bn"]]
    for before in moving:
        after = next(run for run in runs if run["precise_bn"] and all(
            run[key] == before[key] for key in ("member", "size", "seed")))
        rows.append({
            "member": before["member"], "size": before["size"], "seed": before["seed"],
            "accuracy_moving": before["accuracy"], "accuracy_precise": after["accuracy"],
            "log_loss_moving": before["log_loss"], "log_loss_precise": after["log_loss"],
            "train_gap_moving": before["train_batch_statistics"] - before["train_inference"],
            "train_gap_precise": after["train_batch_statistics"] - after["train_inference"],
            "seconds_moving": before["seconds"], "seconds_precise": after["seconds"],
        })
    return rows


COLUMNS = [
    ("member", "member", "{}"), ("size", "rows", "{:,}"), ("seed", "seed", "{}"),
    ("accuracy_moving", "test accuracy, moving averages", "{:.4f}"),
    ("accuracy_precise", "precise", "{:.4f}"),
    ("log_loss_moving", "test log loss, moving averages", "{:.4f}"),
    ("log_loss_precise", "precise", "{:.4f}"),
    ("train_gap_moving", "training rows: batch-statistics minus inference accuracy, moving",
     "{:+.3f}"),
    ("train_gap_precise", "precise", "{:+.3f}"),
    ("seconds_moving", "fit s, moving", "{:.1f}"), ("seconds_precise", "precise", "{:.1f}"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sizes", type=int, nargs="+", default=[600, 2000])
    parser.add_argument("--members", nargs="+", default=list(MEMBERS), choices=MEMBERS)
    args = parser.parse_args()
    from ensemble import import_keras_quietly

    import_keras_quietly()
    import _common as common
    from ensemble.datasets import load_fashion_mnist

    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist("sample")
    data = {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}
    runs = []
    for size in args.sizes:
        for seed in args.seeds:
            for name in args.members:
                for precise_bn in (False, True):
                    runs.append(run(name, size, seed, data, precise_bn))
                    print(runs[-1], flush=True)
    rows = paired_rows(runs)
    table = common.markdown_table(rows, COLUMNS)
    print(table)
    common.write_results("precise_bn", {"machine": common.machine(), "rows": rows,
                                        "runs": runs}, table)


if __name__ == "__main__":
    main()
