"""A distilled student against its network trained normally, on full Fashion-MNIST.

Usage::

    python benchmarks/seeds_ensemble.py --output seeds.zip        # the teacher (~25 min)
    python benchmarks/distill.py --teacher seeds.zip              # -> results/distill.{md,json}
    python benchmarks/distill.py --teacher seeds.zip --temperature 4 --seeds 0   # a lever
    python benchmarks/distill.py --teacher levers    # all cached runs -> results/distill_levers.md

The teacher is a fitted ensemble archive; its members trained on the rows
its ``holdout`` left them (the held-out split is reproduced from its
``holdout`` and ``random_state``). Each student is the CLI's plain member
(``PlainCNNClassifier(horizontal_flip=True, random_state=seed)``) taught by
the teacher on those same training rows (``ensemble.export.distill``), and
its baseline is the same network, same seed, same rows, trained on the
labels alone: the teacher's own member of that seed when the teacher holds
one (``plain_<seed>``, as ``seeds_ensemble.py`` names them), else a fit
made here. Scores on the 10,000 test images, each student against its
baseline with a paired bootstrap interval (and McNemar's test for
accuracy); the share of the teacher's log-loss advantage over the
baselines that the students recover. Each run is kept in
``results/distill_runs.json``, so the script resumes and the levers add up.
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from _common import RESULTS, machine, markdown_table, median_seconds, write_results  # noqa: E402

RUNS = RESULTS / "distill_runs.json"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True,
                        help="a fitted ensemble (or member) archive; 'levers': only write "
                             "results/distill_levers.md from every cached run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--teacher-weight", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=None,
                        help="the student's epochs (default: the member's own)")
    parser.add_argument("--augmented-copies", type=int, default=0,
                        help="a consistent teacher: distill(..., augmented_copies=K)")
    parser.add_argument("--baselines", default=None, metavar="ARCHIVE",
                        help="an ensemble whose members serve as the baselines when the teacher "
                             "holds none trained as the student would be (e.g. seeds.zip)")
    parser.add_argument("--name", default="distill")
    return parser.parse_args(argv)


def load_runs():
    return json.loads(RUNS.read_text()) if RUNS.is_file() else {}


def save_runs(runs):
    RESULTS.mkdir(exist_ok=True)
    RUNS.write_text(json.dumps(runs, indent=2) + "\n")


def training_rows(teacher, y):
    """The rows the teacher's members trained on: an ensemble's held-out split, reproduced;
    for a lone member, the CLI-default split (``fullres_teacher.py`` trains on it)."""
    from members.utils.splits import held_out_rows

    params = teacher.get_params(deep=False)
    holdout, seed = params.get("holdout", 0.1), params.get("random_state", 0)
    if "holdout" not in params:  # a member: the rows fullres_teacher.py fitted it on
        holdout, seed = 0.1, 0
    if holdout is None:
        return np.arange(len(y))
    train, _ = held_out_rows(y, holdout, seed)
    return np.sort(train)


def same_member(teacher, template):
    """The teacher's member trained exactly as ``template`` would be on these rows, if any."""
    wanted = {k: v for k, v in template.get_params().items() if k not in ("callbacks", "verbose")}
    for member in getattr(teacher, "members_", []):
        params = {k: v for k, v in member.get_params().items()
                  if k not in ("callbacks", "verbose")}
        if type(member) is type(template) and params == wanted:
            return member
    return None


def scores(y, proba, classes):
    from ensemble.evaluation.metrics import accuracy, log_loss

    return {"accuracy": accuracy(y, proba, classes), "log_loss": log_loss(y, proba, classes)}


def fit_timed(fit):
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def levers_table(runs):
    """Every cached run, one row each: the lever table of BENCHMARKS.md."""
    rows = []
    for key, run in runs.items():
        setting = json.loads(key)
        rows.append(dict(run, teacher=setting["teacher"],
                         copies=setting.get("augmented_copies", 0),
                         student_accuracy=run["student"]["accuracy"],
                         student_log_loss=run["student"]["log_loss"],
                         baseline_accuracy=run["baseline"]["accuracy"],
                         baseline_log_loss=run["baseline"]["log_loss"],
                         acc_ci="{:+.4f} ({:+.4f} to {:+.4f})".format(
                             run["accuracy_gain"], *run["accuracy_interval"]),
                         ll_ci="{:+.4f} ({:+.4f} to {:+.4f})".format(
                             run["log_loss_gain"], *run["log_loss_interval"])))
    return markdown_table(rows, [
        ("teacher", "teacher", "{}"), ("seed", "seed", "{}"), ("temperature", "T", "{:g}"),
        ("teacher_weight", "teacher weight", "{:g}"), ("copies", "augmented copies", "{}"),
        ("student_epochs", "epochs", "{}"), ("student_seconds", "distill s", "{:.0f}"),
        ("baseline_accuracy", "trained normally", "{:.4f}"),
        ("student_accuracy", "distilled", "{:.4f}"),
        ("acc_ci", "accuracy gain (95 %)", "{}"), ("mcnemar_p", "McNemar p", "{:.3f}"),
        ("baseline_log_loss", "log loss, normally", "{:.4f}"),
        ("student_log_loss", "log loss, distilled", "{:.4f}"),
        ("ll_ci", "log-loss gain (95 %)", "{}"),
    ])


def main(argv=None):
    args = parse_args(argv)
    if args.teacher == "levers":  # only the table of every cached run
        table = levers_table(load_runs())
        (RESULTS / "distill_levers.md").write_text(table + "\n")
        print(table)
        return
    from ensemble import load
    from ensemble.datasets import load_fashion_mnist
    from ensemble.evaluation.comparison import compare_to_best_member
    from ensemble.export import distill
    from members import PlainCNNClassifier

    teacher = load(args.teacher)
    baselines = None if args.baselines is None else load(args.baselines)
    (X, y), (X_test, y_test), _ = load_fashion_mnist("full", download=False)
    rows = training_rows(teacher, y)
    X_train, y_train = X[rows], y[rows]
    classes = teacher.classes_
    teacher_test = teacher.predict_proba(X_test)
    teacher_seconds = median_seconds(lambda: teacher.predict_proba(X_test), 3)
    teacher_scores = scores(y_test, teacher_test, classes)
    print(f"teacher {args.teacher}: {teacher_scores} ({len(rows)} training rows), "
          f"predicts the test set in {teacher_seconds:.2f} s", flush=True)

    lever = {"temperature": args.temperature, "teacher_weight": args.teacher_weight,
             "epochs": args.epochs}
    if args.augmented_copies:
        lever["augmented_copies"] = args.augmented_copies
    runs = load_runs()
    results, keys = [], []
    for seed in args.seeds:
        epochs = {} if args.epochs is None else {"epochs": args.epochs}
        template = PlainCNNClassifier(horizontal_flip=True, random_state=seed, **epochs)
        key = json.dumps({"teacher": os.path.basename(args.teacher), "seed": seed, **lever},
                         sort_keys=True)
        baseline = same_member(teacher, template)
        if baseline is None and baselines is not None:
            baseline = same_member(baselines, template)
        if baseline is None:
            baseline, seconds = fit_timed(lambda t=template: t.fit(X_train, y_train))
            baseline_seconds = seconds
        else:
            baseline_seconds = None  # trained inside the teacher
        if key in runs:
            print(f"seed {seed}: cached", flush=True)
            results.append(runs[key])
            keys.append(key)
            continue
        student, seconds = fit_timed(lambda t=template: distill(
            teacher, X_train, y_train, student=t, temperature=args.temperature,
            teacher_weight=args.teacher_weight, augmented_copies=args.augmented_copies,
            random_state=t.random_state))
        student_test = student.predict_proba(X_test)
        baseline_test = baseline.predict_proba(X_test)
        comparison = compare_to_best_member(y_test, student_test, {"normal": baseline_test},
                                            classes)
        run = {"seed": seed, **lever, "student_seconds": seconds,
               "baseline_seconds": baseline_seconds,
               "student_epochs": len(student.history_["loss"]),
               "student": scores(y_test, student_test, classes),
               "baseline": scores(y_test, baseline_test, classes),
               "accuracy_gain": comparison["accuracy"]["gain"],
               "accuracy_interval": comparison["accuracy"]["interval"],
               "mcnemar_p": comparison["accuracy"]["mcnemar_p"],
               "log_loss_gain": comparison["log_loss"]["gain"],
               "log_loss_interval": comparison["log_loss"]["interval"],
               "student_predict_seconds": median_seconds(lambda s=student:
                                                         s.predict_proba(X_test), 3)}
        print(json.dumps(run), flush=True)
        runs[key] = run
        save_runs(runs)
        results.append(run)
        keys.append(key)

    baseline_log_loss = statistics.mean(r["baseline"]["log_loss"] for r in results)
    student_log_loss = statistics.mean(r["student"]["log_loss"] for r in results)
    advantage = baseline_log_loss - teacher_scores["log_loss"]
    summary = {
        "teacher": args.teacher, "teacher_scores": teacher_scores,
        "teacher_predict_seconds": teacher_seconds, **lever, "seeds": args.seeds,
        "mean_accuracy_gain": statistics.mean(r["accuracy_gain"] for r in results),
        "mean_log_loss_gain": statistics.mean(r["log_loss_gain"] for r in results),
        "teacher_log_loss_advantage": advantage,
        "recovered_share": (baseline_log_loss - student_log_loss) / advantage
        if advantage > 0 else None,
        "machine": machine(), "runs": results,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))
    table = levers_table({key: runs[key] for key in keys})
    table += (f"\n\nTeacher {teacher_scores['accuracy']:.4f} / {teacher_scores['log_loss']:.4f}; "
              f"its log-loss advantage over the baselines {advantage:+.4f}; the students "
              f"recover {summary['recovered_share'] or 0:.0%} of it.")
    write_results(args.name, summary, table)
    print(table)


if __name__ == "__main__":
    main()
