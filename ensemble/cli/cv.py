"""Cross-validate members and ensemble; write every member's out-of-fold probabilities.

examples:
  keras-ensembles cv --folds 5 --out-dir cv_sample
  keras-ensembles cv --data train.csv --folds 3 --members plain,separable --out-dir oof
  keras-ensembles cv --data photos/train --image-size 64x64 --folds 5 --out-dir oof

In each fold the combiner is fitted on the other folds (members trained once,
blend learned on its --holdout part) and every member and the ensemble
predict the held-out fold. --out-dir receives:
  oof_<model>.csv   id, label, then one probability column per class, named
                    by the class (one file per member and one for the
                    ensemble: the out-of-fold predictions to blend from,
                    Kaggle-style, in the layout predict --proba writes and
                    blend reads)
  folds.csv         id, fold: the fold assignment of every training row
Ids are the data's (an id column, file names), else the rows numbered from 0.
  cv_scores.csv     accuracy and log loss of every model in every fold
"""

import time

import numpy as np

from ensemble.cli import _budget
from ensemble.cli._data import check_image_sizes, load_split
from ensemble.cli._options import (
    add_command,
    add_common_options,
    add_training_options,
    folds,
)
from ensemble.cli._output import emit_json, output_folder, refuse_existing, say, write_csv
from members.utils.budget import format_seconds
from members.utils.quiet import import_keras_quietly


def add_parser(commands):
    parser = add_command(commands, "cv", __doc__, run)
    parser.add_argument("--folds", "-k", type=folds, default=5, help="number of folds")
    parser.add_argument("--out-dir", "-o", required=True, metavar="DIR",
                        help="folder for the out-of-fold files (created if missing)")
    add_training_options(parser)
    add_common_options(parser)
    return parser


def run(args):
    from sklearn.model_selection import StratifiedKFold

    _, data = load_split(args, split="train", labels_required=True, n_rows=args.n_train)
    X, y = data
    classes = np.unique(y)
    model_names = list(args.members) + ["ensemble"]
    paths = _output_paths(args.out_dir, model_names)
    stale = _stale_oof_files(paths)
    refuse_existing(list(paths.values()) + stale, args.overwrite)
    _check_fold_count(y, args.folds)

    import_keras_quietly()
    from ensemble.cli._build import build_members

    check_image_sizes(args, build_members(args, show_epochs=False), data.image_shape)
    budget = _member_budget(args)
    splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    fold_of = np.full(len(y), -1)
    oof = {name: np.zeros((len(y), len(classes))) for name in model_names}
    scores = []
    start = time.perf_counter()
    for fold, (train_rows, test_rows) in enumerate(
            _progress(splitter.split(X, y), args, total=args.folds)):
        fold_of[test_rows] = fold
        try:
            probas = _fit_fold(args, X[train_rows], y[train_rows], X[test_rows], classes,
                               None if budget is None else budget["member_seconds"])
        except _budget.BudgetTooSmallError as error:
            raise _budget.too_small(args, error, budget["training_seconds"],
                                    budget["member_rounds"]) from None
        for name, proba in probas.items():
            oof[name][test_rows] = proba
            scores.append(_scores(fold, name, y[test_rows], proba, classes))
        say(args, _fold_line(fold, args.folds, scores[-len(probas):]))
    seconds = time.perf_counter() - start

    for path in stale:  # --overwrite: a previous run's files for other members would mislead
        path.unlink(missing_ok=True)
    ids = data.ids if data.ids is not None else np.arange(len(y))
    _write_files(args, paths, ids, y, classes, fold_of, oof, scores)
    summary = _summary(scores, model_names)
    say(args, "\n" + _summary_table(summary, args.folds))
    say(args, f"\n{args.folds}-fold cross-validation in {seconds:.1f} s; "
              f"out-of-fold files in {args.out_dir}")
    result = {"command": "cv", "folds": args.folds, "n_train": int(len(y)),
              "seconds": seconds, "scores": scores, "summary": summary,
              "time_limit": args.time_limit, "budget": budget,
              "files": {name: str(path) for name, path in paths.items()}}
    emit_json(args, result)
    return result


def _output_paths(out_dir, model_names):
    folder = output_folder(out_dir)
    paths = {name: folder / f"oof_{name}.csv" for name in model_names}
    paths["folds"] = folder / "folds.csv"
    paths["scores"] = folder / "cv_scores.csv"
    return paths


def _stale_oof_files(paths):
    """Out-of-fold files in the folder that this run will not write (another run's members)."""
    folder = paths["folds"].parent
    ours = set(paths.values())
    return sorted(path for path in folder.glob("oof_*.csv") if path not in ours)


def _check_fold_count(y, n_folds):
    _, counts = np.unique(y, return_counts=True)
    if counts.min() < n_folds:
        raise ValueError(
            f"--folds {n_folds} needs at least {n_folds} images of every class; the rarest "
            f"class has {counts.min()}")


def _progress(iterable, args, total):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc="Folds", unit="fold",
                disable=args.quiet or args.json, leave=False)


def _member_budget(args):
    """--time-limit split over folds and members, printed; None without one.

    cv keeps the members it was given (its files are per member), so the
    budget is shared among them without fit's race against a scaled-up
    member.
    """
    training = _budget.training_seconds(args)
    if training is None:
        return None
    note = _budget.epochs_note(args)
    if note is not None:
        say(args, note)
    n_fits = args.folds * len(args.members)
    share = _budget.member_share(training, args.folds, len(args.members), args.n_jobs)
    say(args, f"Budget {format_seconds(args.time_limit)}: {format_seconds(share)} for each of "
              f"the {n_fits} member fits ({args.folds} folds x {len(args.members)} members), "
              "each training the epochs that fit")
    return {"training_seconds": training, "member_seconds": share, "n_member_fits": n_fits,
            "member_rounds": _budget.member_rounds(args.folds, len(args.members), args.n_jobs)}


def _fit_fold(args, X_train, y_train, X_test, classes, member_seconds=None):
    """Fit the ensemble on one fold's training rows (each member within ``member_seconds``).

    Returns every model's probabilities on the fold's test rows.
    """
    from ensemble.cli._build import build_ensemble
    from ensemble.combiners.budget import budgeted_members
    from ensemble.combiners.member_list import aligned_proba

    ensemble = build_ensemble(args, show_progress=not (args.quiet or args.json))
    if member_seconds is not None:
        ensemble.set_params(members=budgeted_members(
            ensemble.members, dict.fromkeys(args.members, member_seconds),
            held_out_elsewhere=True))
    ensemble.fit(X_train, y_train)
    probas = {name: aligned_proba(member, X_test, classes)
              for name, member in ensemble.named_members_.items()}
    probas["ensemble"] = aligned_proba(ensemble, X_test, classes)
    return probas


def _scores(fold, name, y_true, proba, classes):
    from ensemble.evaluation import metrics

    return {"fold": fold, "model": name, "accuracy": metrics.accuracy(y_true, proba, classes),
            "log_loss": metrics.log_loss(y_true, proba, classes)}


def _fold_line(fold, n_folds, fold_scores):
    parts = [f"{row['model']} {row['accuracy']:.4f}/{row['log_loss']:.4f}" for row in fold_scores]
    return f"fold {fold + 1}/{n_folds} (accuracy/log loss): " + ", ".join(parts)


def _summary(scores, model_names):
    summary = {}
    for name in model_names:
        rows = [row for row in scores if row["model"] == name]
        summary[name] = {
            f"{metric}_{stat}": float(func([row[metric] for row in rows]))
            for metric in ("accuracy", "log_loss") for stat, func in (("mean", np.mean),
                                                                     ("std", np.std))
        }
    return summary


def _summary_table(summary, n_folds):
    from ensemble.evaluation.report import format_table

    rows = [[name, f"{s['accuracy_mean']:.4f} ± {s['accuracy_std']:.4f}",
             f"{s['log_loss_mean']:.4f} ± {s['log_loss_std']:.4f}"] for name, s in summary.items()]
    return (f"Mean ± std over {n_folds} folds\n"
            + format_table(["model", "accuracy", "log loss"], rows))


def _write_files(args, paths, ids, y, classes, fold_of, oof, scores):
    from ensemble.prediction_files.files import write_probabilities

    overwrite = args.overwrite
    for name, proba in oof.items():
        write_probabilities(paths[name], ids, proba, classes, labels=y, overwrite=overwrite)
    write_csv(paths["folds"], ["id", "fold"],
              ([_plain(i), int(fold)] for i, fold in zip(ids, fold_of, strict=True)),
              overwrite=overwrite)
    write_csv(paths["scores"], ["fold", "model", "accuracy", "log_loss"],
              ([row["fold"], row["model"], repr(row["accuracy"]), repr(row["log_loss"])]
               for row in scores), overwrite=overwrite)


def _plain(value):
    return value.item() if hasattr(value, "item") else value
