"""``keras-ensembles fit --time-limit T``: what a budget buys, and whether it is kept.

Each run is the command a user types, in a fresh process, timed from
outside (interpreter start to exit). The row keeps the plan the command
printed in ``--json`` (the race's scores, the choice and why, each
member's share and epochs) and the test-split scores. Runs are cached in
``benchmarks/results/time_budget_runs.json`` by (data, budget, seed,
baseline), so the table grows one run at a time:

    python benchmarks/time_budget.py --data full --time-limit 30m --seed 0
    python benchmarks/time_budget.py --data digits --time-limit 2m
    python benchmarks/time_budget.py --data digits --baseline trio   # no budget: the default trio
    python benchmarks/time_budget.py --data full --time-limit 30m --baseline trio \
        --epochs-factor 2.8                                   # the trio scaled to 30 minutes
    python benchmarks/time_budget.py --table                          # every cached run
    python benchmarks/time_budget.py --paired     # budget against the others, same test rows

Each run also keeps its test-split probabilities in
``benchmarks/results/time_budget_probas/``, so that ``--paired`` tests a
difference between two runs (McNemar on accuracy, a paired bootstrap on log
loss) instead of comparing two numbers.

``--data digits`` writes scikit-learn's 1,797 8x8 digits (pixels 0-16 scaled
to 0-255) to an ``.npz`` with a stratified 75/25 train/test split, seed 0;
``--data colour`` the bundled Fashion-MNIST sample with every image tinted by
a random colour (28x28x3; the tint carries no class).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
RUNS_FILE = RESULTS / "time_budget_runs.json"
#: Each run's test-split probabilities (float32, compressed), named by its run key,
#: so that two runs on the same rows compare paired (McNemar, paired bootstrap).
PROBAS_DIR = RESULTS / "time_budget_probas"


def digits_npz(folder):
    """scikit-learn's digits as an ``.npz`` the command line reads (train and test splits)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = np.round(digits.images * (255 / 16)).astype("uint8")[..., None]
    X_train, X_test, y_train, y_test = train_test_split(
        X, digits.target, test_size=0.25, stratify=digits.target, random_state=0)
    path = Path(folder) / "digits.npz"
    np.savez_compressed(path, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)
    return path


def colour_npz(folder):
    """The bundled Fashion-MNIST sample in colour: each image tinted by a random RGB colour.

    Not a colour data set in the sense that colour carries the class (it
    does not: the tint is random), but 28x28x3 images through the whole
    command, which is what the budget's plan must handle.
    """
    from ensemble.datasets import load_fashion_mnist

    rng = np.random.default_rng(0)
    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist("sample")

    def tinted(X):
        colours = rng.uniform(0.3, 1.0, size=(len(X), 1, 1, 3))
        return np.round(X.reshape(len(X), 28, 28, 1) * colours).astype("uint8")

    path = Path(folder) / "colour.npz"
    np.savez_compressed(path, X_train=tinted(X_train), y_train=y_train, X_test=tinted(X_test),
                        y_test=y_test)
    return path


def run_fit(data, time_limit, seed, extra, folder):
    """One ``fit`` in a fresh process; its --json output and the wall time seen from outside."""
    command = [sys.executable, "-m", "ensemble", "fit", "--data", str(data), "--seed", str(seed),
               "--output", str(Path(folder) / "model.zip"), "--json", "--quiet", "--overwrite"]
    if time_limit is not None:
        command += ["--time-limit", time_limit]
    command += extra
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout), wall, command


def archive_test_proba(data, archive):
    """The saved model's probabilities for the test split (after the timed run: not timed)."""
    from ensemble import load
    from ensemble.datasets import load_dataset

    X_test, y_test = load_dataset(str(data))["test"]
    model = load(archive)
    return model.predict_proba(X_test), model.classes_, y_test


def run_single(args):
    """Baseline (a): the scaled-up member alone, trained on every training row for the budget.

    What the budget's "scaled_up" plan trains, without the race or the
    blending rows: the member-level ``time_limit`` of the whole budget, less
    what scoring the test split keeps (as the command keeps it). The member
    keeps its own validation split (a member alone has no other held-out
    rows), so it trains on as many rows as the budget's member, which
    trains on all but the blending rows.
    """
    start = time.monotonic()
    from ensemble.combiners.budget import budgeted_members, scaled_up
    from ensemble.datasets import load_fashion_mnist
    from ensemble.evaluation import metrics
    from members import PlainCNNClassifier

    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist(args.data)
    limit = seconds_of(args.time_limit)
    member = scaled_up(PlainCNNClassifier(horizontal_flip=True, random_state=args.seed))
    (_, member), = budgeted_members([("plain_scaled", member)], {"plain_scaled": 1.0})
    # What ``fit --time-limit`` keeps after training for saving and scoring:
    # 2 % of the budget and 3 s (ensemble/cli/_budget.py).
    after_training = 0.02 * limit + 3.0
    member.set_params(time_limit=limit - (time.monotonic() - start) - after_training)
    member.fit(X_train, y_train)
    proba = member.predict_proba(X_test)
    classes = member.classes_
    out = {"test_proba": (proba, classes, y_test), "test_report": {"rows": [
        {"kind": "ensemble", "name": "plain_scaled",
         "accuracy": metrics.accuracy(y_test, proba, classes),
         "log_loss": metrics.log_loss(y_test, proba, classes)}]},
        "budget_plan": {"chosen": "single", "members": [{
            "name": "plain_scaled", "time_limit": member.time_limit,
            "epochs": len(member.history_["epoch"]),
            "seconds": round(float(np.nansum(member.history_["seconds"])), 3),
            "epoch_seconds": [round(float(value), 3) for value in member.history_["seconds"]],
            # (a partial last epoch logs no plan)
            "planned_epochs": [plan for plan in member.history_["planned_epochs"]
                               if np.isfinite(plan)][-1]}]}}
    command = ["python", "benchmarks/time_budget.py", "--data", args.data, "--time-limit",
               args.time_limit, "--seed", str(args.seed), "--baseline", "single"]
    return out, time.monotonic() - start, command


def run_trio_scaled(args):
    """Baseline (b): the default trio with every member's epochs times ``--epochs-factor``.

    What ``keras-ensembles fit --data full`` trains without a budget (the
    three members with their own epochs, flips on, a weighted average
    learned on a tenth of the rows), scaled so that it takes about
    ``--time-limit`` (the factor is chosen from the unscaled trio's time on
    the same machine). The command line sets one ``--epochs`` for all
    members, so this runs the same estimators through the Python API.
    """
    start = time.monotonic()
    from ensemble import WeightedAverageEnsemble
    from ensemble.datasets import load_fashion_mnist
    from ensemble.evaluation import metrics
    from members import PlainCNNClassifier, ResidualNetClassifier, SeparableCNNClassifier

    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist(args.data)
    members = []
    for offset, (name, cls) in enumerate([("plain", PlainCNNClassifier),
                                          ("separable", SeparableCNNClassifier),
                                          ("residual", ResidualNetClassifier)]):
        epochs = round(cls().epochs * args.epochs_factor)
        member = cls(horizontal_flip=True, random_state=args.seed + offset, epochs=epochs)
        if args.patience_as_epochs:
            member.set_params(early_stopping_patience=epochs)
        members.append((name, member))
    ensemble = WeightedAverageEnsemble(members, random_state=args.seed).fit(X_train, y_train)
    proba = ensemble.predict_proba(X_test)

    def scores(estimator, probabilities):
        return {"accuracy": metrics.accuracy(y_test, probabilities, estimator.classes_),
                "log_loss": metrics.log_loss(y_test, probabilities, estimator.classes_)}

    rows = [{"kind": "ensemble", "name": "ensemble", **scores(ensemble, proba)}]
    test_proba = (proba, ensemble.classes_, y_test)
    rows += [{"kind": "member", "name": name, **scores(member, member.predict_proba(X_test))}
             for name, member in ensemble.named_members_.items()]
    out = {"test_proba": test_proba, "test_report": {"rows": rows}, "budget_plan": {
        "chosen": f"trio x{args.epochs_factor:g}",
        "members": [{"name": name, "epochs": len(member.history_["epoch"])}
                    for name, member in ensemble.named_members_.items()]}}
    command = ["python", "benchmarks/time_budget.py", "--data", args.data, "--time-limit",
               args.time_limit, "--seed", str(args.seed), "--baseline", "trio",
               "--epochs-factor", f"{args.epochs_factor:g}"]
    command += ["--patience-as-epochs"] if args.patience_as_epochs else []
    return out, time.monotonic() - start, command


def seconds_of(text):
    """Seconds of a ``--time-limit`` text such as ``30m`` (what the command parses)."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def row_of(out, wall, command, args):
    rows = out["test_report"]["rows"]
    ensemble = next(row for row in rows if row["kind"] == "ensemble")
    limit = seconds_of(args.time_limit)
    return {
        "data": args.data, "time_limit": args.time_limit, "seed": args.seed,
        "baseline": args.baseline, "command": " ".join(command[2:]),
        "wall_seconds": round(wall, 1), "limit_seconds": limit,
        # The command's own count, from the start of its main to its result:
        # the rest of the wall time is starting Python and exiting.
        "command_seconds": (None if out.get("seconds") is None
                            else round(float(out["seconds"]), 1)),
        "within_limit_plus_5pct": None if limit is None else bool(wall <= 1.05 * limit),
        "accuracy": ensemble["accuracy"], "log_loss": ensemble["log_loss"],
        "members": {row["name"]: {"accuracy": row["accuracy"], "log_loss": row["log_loss"]}
                    for row in rows if row["kind"] == "member"},
        "plan": out.get("budget_plan"),
        "patience_as_epochs": bool(args.patience_as_epochs),
        "commit": COMMIT,
        "machine": machine(),
    }


def code_commit():
    """The commit the run's code came from (with ``+`` when the tree had changes)."""
    def git(*words):
        return subprocess.run(["git", *words], cwd=ROOT, capture_output=True, check=False,
                              text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD")
    return (commit + "+" if git("status", "--porcelain", "--", "ensemble", "members")
            else commit) or None


#: Read when the run starts: a commit made while it trains is not its code.
COMMIT = code_commit()


def machine():
    """The CPU a run used, in a few words: timings of different machines don't compare."""
    model, flags = platform.processor() or platform.machine(), ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        text = cpuinfo.read_text()
        names = [line.split(":", 1)[1].strip() for line in text.splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
        flags = ", AVX-512" if "avx512f" in text else ""
    return f"{model}, {os.cpu_count()} cores{flags}"


def load_runs():
    return json.loads(RUNS_FILE.read_text()) if RUNS_FILE.is_file() else []


def run_key(run):
    """What makes two runs the same configuration: a rerun of one replaces it."""
    return (run["data"], run["time_limit"], run["seed"], run["baseline"], run.get("commit"),
            run.get("patience_as_epochs", False))


def save_run(row):
    # A run of other code is kept beside this one (the table says which code).
    runs = [run for run in load_runs() if run_key(run) != run_key(row)]
    RESULTS.mkdir(exist_ok=True)
    RUNS_FILE.write_text(json.dumps(runs + [row], indent=1) + "\n")


def probas_path(run):
    """Where a run's test probabilities are kept: one file per run key."""
    # ``is``, not ``in``: seed 0 equals False and would drop out of the name.
    key = "_".join(f"seed{part}" if index == 2 else str(part)
                   for index, part in enumerate(run_key(run))
                   if part is not None and part is not False)
    return PROBAS_DIR / (key.replace("+", "plus").replace(" ", "-") + ".npz")


def save_probas(run, proba, classes, y_test):
    PROBAS_DIR.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(probas_path(run), proba=np.asarray(proba, dtype=np.float32),
                        classes=np.asarray(classes), y=np.asarray(y_test))


def check_stored_accuracy(run):
    """The kept probabilities score what the run reported, or the pairing would mislead."""
    stored = np.load(probas_path(run))
    predicted = stored["classes"][stored["proba"].argmax(axis=1)]
    accuracy = float(np.mean(predicted == stored["y"]))
    if abs(accuracy - run["accuracy"]) > 1e-9:
        raise SystemExit(f"The kept test probabilities score {accuracy:.4f}, the run "
                         f"reported {run['accuracy']:.4f}: {probas_path(run)} is not that run's.")


def paired_comparisons(runs):
    """Each budget run against the other runs of its data, budget and seed, on the same rows.

    The trio without a budget pairs with every budget of its data and seed.

    Accuracy with McNemar's exact test and log loss with a paired bootstrap
    (:func:`ensemble.evaluation.comparison.compare_to_best_member`, the
    budget in the ensemble's place): a difference is a result only when
    its interval leaves 0 out.
    """
    from ensemble.evaluation.comparison import compare_to_best_member

    kept = [run for run in runs if probas_path(run).is_file()]
    lines = []
    for budget in (run for run in kept if run["baseline"] is None):
        stored = np.load(probas_path(budget))
        for other in kept:
            # The runs of the same budget, and the trio without one (what the small
            # sets are compared with).
            same = (other["data"] == budget["data"] and other["seed"] == budget["seed"]
                    and other["time_limit"] in (budget["time_limit"], None))
            if other is budget or not same:
                continue
            theirs = np.load(probas_path(other))
            if not np.array_equal(theirs["y"], stored["y"]):
                continue
            label = f"{run_label(other)} ({other.get('commit')})"
            result = compare_to_best_member(stored["y"], stored["proba"].astype(float),
                                            {label: theirs["proba"].astype(float)},
                                            stored["classes"])
            lines.append(f"{budget['data']} {budget['time_limit']} seed {budget['seed']}, "
                         f"budget ({budget.get('commit')}): "
                         + result["summary"].replace("Against its best member", "against"))
    return "\n".join(lines) or "No two runs with stored test probabilities to pair."


def table(runs):
    lines = ["| data | budget | seed | run | wall (s) | within T+5 % | chosen | race log loss "
             "(members / scaled) | final members: epochs | test acc | test log loss | code | "
             "note |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in sorted(runs, key=lambda r: (r["data"], seconds_of(r["time_limit"]) or 0,
                                           r["seed"])):
        plan = run["plan"] or {}
        race = {entry["name"]: entry["log_loss"]
                for entry in (plan.get("race") or {}).get("candidates", [])}
        race_text = (f"{race['ensemble']:.4f} / {race['scaled_up']:.4f}"
                     if len(race) == 2 else (plan.get("race") or {}).get("skipped") or "-")
        members = ", ".join(f"{m['name']} {m.get('epochs')}" for m in plan.get("members", []))
        within = {True: "yes", False: "**no**", None: "-"}[run["within_limit_plus_5pct"]]
        lines.append(
            f"| {run['data']} | {run['time_limit'] or '-'} | {run['seed']} | "
            f"{run_label(run)} | {run['wall_seconds']:.0f} | {within} | "
            f"{plan.get('chosen', '-')} | {race_text} | {members or '-'} | "
            f"{run['accuracy']:.4f} | {run['log_loss']:.4f} | {run.get('commit') or 'older'} | "
            f"{'; '.join(filter(None, [run.get('machine'), run.get('note')]))} |")
    return "\n".join(lines)


def run_label(run):
    label = run["baseline"] or "budget"
    return label + (", patience = epochs" if run.get("patience_as_epochs") else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="full",
                        help="full, sample, digits, colour or a data path")
    parser.add_argument("--time-limit", default=None, help="e.g. 10m, 30m, 1h, 2m")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", choices=("trio", "single"), default=None,
                        help="trio: the default three members, no budget; single: the "
                             "scaled-up member alone for the whole --time-limit (full or "
                             "sample data)")
    parser.add_argument("--epochs-factor", type=float, default=None,
                        help="with --baseline trio and --time-limit: every member's epochs "
                             "times this (the trio scaled to the budget)")
    parser.add_argument("--patience-as-epochs", action="store_true",
                        help="with --baseline trio --epochs-factor: early stopping's patience "
                             "is each member's epochs, as under a budget (the best epoch is "
                             "still kept; the default patience of 3 can stop a long cosine "
                             "while its rate is high)")
    parser.add_argument("--table", action="store_true", help="print the cached runs only")
    parser.add_argument("--paired", action="store_true",
                        help="print each budget run against the runs of the same data, budget "
                             "and seed whose test probabilities are kept (McNemar, paired "
                             "bootstrap)")
    args = parser.parse_args(argv)
    if args.table:
        print(table(load_runs()))
        return
    if args.paired:
        print(paired_comparisons(load_runs()))
        return
    if args.baseline == "single":
        out, wall, command = run_single(args)
    elif args.baseline == "trio" and args.epochs_factor is not None:
        if args.time_limit is None:
            parser.error("--epochs-factor needs the --time-limit the trio is scaled to")
        out, wall, command = run_trio_scaled(args)
    else:
        with tempfile.TemporaryDirectory() as folder:
            makers = {"digits": digits_npz, "colour": colour_npz}
            data = makers[args.data](folder) if args.data in makers else args.data
            extra = [] if args.time_limit is None else ["--time-limit", args.time_limit]
            out, wall, command = run_fit(data, None, args.seed, extra, folder)
            out["test_proba"] = archive_test_proba(data, Path(folder) / "model.zip")
    row = row_of(out, wall, command, args)
    save_run(row)
    save_probas(row, *out["test_proba"])
    check_stored_accuracy(row)
    print(json.dumps({key: row[key] for key in ("data", "time_limit", "seed", "wall_seconds",
                                                  "within_limit_plus_5pct", "accuracy",
                                                  "log_loss")}))
    print(table([row]))


if __name__ == "__main__":
    main()
