"""Train members and a combiner, then save the fitted ensemble as one archive.

examples:
  keras-ensembles fit --output model.zip
  keras-ensembles fit --data full --members plain,residual --combiner stacking --output full.zip
  keras-ensembles fit --data train.csv --weighting caruana --epochs 5 --output kaggle.zip
  keras-ensembles fit --data photos/train --image-size 64x64 --output photos.zip
  keras-ensembles fit --data signs.csv --image-shape 32x32x3 --output signs.zip
  keras-ensembles fit --data full --abstain-coverage 0.9 --output careful.zip
  keras-ensembles fit --data full --time-limit 30m --output budget.zip

Think in minutes rather than epochs? --time-limit 30m makes the budget the
plan: the members race one scaled-up member (full-resolution stem) for a
tenth of it each, the lower log loss on the blending rows wins, and the
winner's members share the rest, each training the epochs that fit and
stopping on time. The plan is printed, kept in --json and in the archive.

The archive is written by ensemble.save (safe to load, verified on load); it
records the class names (folder names, the label column's values,
Fashion-MNIST's clothing names). With --data sample or full the ensemble is
also scored on the test split. --abstain-coverage C or --abstain-accuracy A
saves an abstention rule with the model, chosen on the blending rows (which
the members never trained on): the --abstain-score threshold that keeps the
share C of rows the model is surest of, or the most rows whose accuracy
reaches A; predict --abstain applies it. --cascade-tolerance T saves a
cascade rule, chosen on the blending rows: the confidence from which one
pass of the member of largest weight (stacking: its best member) answers
alone, keeping the accuracy within T of the ensemble's there (the blend was
learned on those rows, so the ensemble looks a little better on them and
the threshold comes out a little stricter); predict --cascade applies it.
"""

import time

import numpy as np

from ensemble.cli import _budget
from ensemble.cli._data import check_image_sizes, load_data, pick_split
from ensemble.cli._options import (
    ABSTENTION_SCORES,
    CliError,
    add_command,
    add_common_options,
    add_member_weights_option,
    add_training_options,
    fraction,
    refuse_without,
    share,
)
from ensemble.cli._output import emit_json, refuse_existing, say
from ensemble.datasets import format_shape
from members.utils.budget import format_seconds
from members.utils.quiet import import_keras_quietly


def add_parser(commands):
    parser = add_command(commands, "fit", __doc__, run)
    parser.add_argument("--output", "-o", required=True, metavar="PATH",
                        help="where to save the fitted ensemble (a zip archive)")
    add_training_options(parser)
    abstention = parser.add_argument_group("abstention rule saved with the model")
    target = abstention.add_mutually_exclusive_group()
    target.add_argument("--abstain-coverage", type=fraction, default=None, metavar="C",
                        help="keep the share C (0-1] of rows the model is surest of")
    target.add_argument("--abstain-accuracy", type=fraction, default=None, metavar="A",
                        help="keep the most rows whose accuracy on the blending rows reaches A")
    abstention.add_argument("--abstain-score", choices=ABSTENTION_SCORES, default=None,
                            help="the uncertainty the rule thresholds (default: total)")
    add_member_weights_option(abstention, "blend")
    cascade = parser.add_argument_group("cascade rule saved with the model")
    cascade.add_argument("--cascade-tolerance", type=share, default=None, metavar="T",
                         help="accuracy (0-1) the cascade may give up on the blending rows "
                              "against the ensemble, e.g. 0.001")
    add_common_options(parser)
    return parser


def run(args):
    refuse_without(args, ["--abstain-score", "--member-weights"],
                   ["--abstain-coverage", "--abstain-accuracy"])
    refuse_existing([args.output], args.overwrite)
    splits = load_data(args)
    _, data = pick_split(splits, args, split="train", labels_required=True,
                         n_rows=args.n_train)
    X, y = data
    test = splits.get("test") if "train" in splits else None
    test = None if test is None or test.y is None else test

    import_keras_quietly()
    from ensemble import report, save
    from ensemble.cli._build import build_ensemble, drop_progress_callbacks

    note = _budget.epochs_note(args)
    if note is not None:
        say(args, note)
    training_budget = _budget.training_seconds(args)
    ensemble = build_ensemble(args, show_progress=not (args.quiet or args.json),
                              time_limit=training_budget)
    check_image_sizes(args, ensemble.members, data.image_shape)
    names = data.names_of(np.unique(y))
    say(args, f"Training {len(args.members)} members ({', '.join(args.members)}) and a "
              f"{type(ensemble).__name__} on {len(y)} images of {format_shape(data.image_shape)}"
              f" ({len(names)} classes: {_listed(names)})"
              + ("" if training_budget is None else
                 f" within {format_seconds(training_budget)} of the --time-limit"))
    start = time.perf_counter()
    try:
        ensemble.fit(X, y)
    except _budget.BudgetTooSmallError as error:
        raise _budget.too_small(args, error, training_budget) from None
    seconds = time.perf_counter() - start
    drop_progress_callbacks(ensemble)
    plan = getattr(ensemble, "budget_plan_", None)
    if plan is not None:
        from ensemble.combiners.budget import describe_plan

        say(args, describe_plan(plan))
    ensemble.class_names_ = tuple(data.names_of(ensemble.classes_))
    if args.abstain_coverage is not None or args.abstain_accuracy is not None:
        _set_abstention(args, ensemble)
    if args.cascade_tolerance is not None:
        _set_cascade(args, ensemble, X, y)
    save(ensemble, args.output, overwrite=args.overwrite)
    say(args, f"Trained in {seconds:.1f} s; saved to {args.output}")

    result = {"command": "fit", "output": str(args.output), "train_seconds": seconds,
              "n_train": int(len(y)), "image_shape": list(data.image_shape),
              "classes": ensemble.classes_, "class_names": list(ensemble.class_names_),
              "members": list(args.members), "fitted_members": list(ensemble.named_members_),
              "time_limit": args.time_limit, "budget_plan": plan,
              "combiner": type(ensemble).__name__, "weights": _weights(ensemble),
              "abstention": getattr(ensemble, "abstention_", None),
              "cascade": _json_rule(getattr(ensemble, "cascade_", None))}
    if test is not None:
        scores = report(ensemble, test.X, test.y, name="ensemble")
        say(args, f"\nTest split ({len(test.y)} images):\n{scores}")
        result["test_report"] = scores.to_dict()
    result["seconds"] = time.monotonic() - args.started if hasattr(args, "started") else None
    emit_json(args, result)
    return result


def _set_abstention(args, ensemble):
    """Choose the rule; if no threshold meets the target, save the training anyway, then say so."""
    try:
        ensemble.set_abstention(score=args.abstain_score or "total",
                                target_coverage=args.abstain_coverage,
                                target_accuracy=args.abstain_accuracy,
                                member_weights=args.member_weights or "blend")
    except ValueError as error:
        from ensemble import save

        save(ensemble, args.output, overwrite=args.overwrite)
        raise CliError(f"{error} The ensemble was saved to {args.output} without an "
                       "abstention rule.") from None
    rule = ensemble.abstention_
    say(args, f"Abstention rule: {rule['score']} above {rule['threshold']:.4g} goes to a "
              f"person (on the {rule['n_rows']} blending rows: coverage "
              f"{rule['coverage']:.3f}, accuracy {rule['accuracy']:.4f})")


def _set_cascade(args, ensemble, X, y):
    """The cascade rule, chosen on the blending rows (the ones --holdout kept from the members)."""
    from members.utils.splits import held_out_rows

    _, blend = held_out_rows(np.asarray(y), ensemble.holdout, ensemble.random_state)
    ensemble.set_cascade(X[blend], np.asarray(y)[blend], tolerance=args.cascade_tolerance)
    rule = ensemble.cascade_
    when = (f"where its confidence >= {rule['threshold']:.4g}"
            if np.isfinite(rule["threshold"]) else "never: no threshold keeps the accuracy")
    say(args, f"Cascade rule: one pass of {rule['first_member']} answers rows {when} (on the "
              f"{rule['n_rows']} blending rows: {rule['first_stage_share']:.1%} of rows, "
              f"accuracy {rule['accuracy']:.4f} against the ensemble's "
              f"{rule['ensemble_accuracy']:.4f})")


def _json_rule(rule):
    """A cascade rule for --json: an infinite threshold (never early) as null."""
    if rule is None or np.isfinite(rule["threshold"]):
        return rule
    return dict(rule, threshold=None)


def _listed(names, limit=10):
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _weights(ensemble):
    if not hasattr(ensemble, "weights_"):
        return None
    return {name: float(w)
            for name, w in zip(ensemble.named_members_, ensemble.weights_, strict=True)}
