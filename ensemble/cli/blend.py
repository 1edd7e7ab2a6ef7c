"""Blend models' prediction files (out-of-fold and test), Kaggle-style; write a submission.

examples:
  keras-ensembles blend --oof oof/oof_plain.csv oof/oof_residual.csv lr_oof.csv \
      --test plain.csv residual.csv lr_test.csv --output submission.csv --save-blend blend.json
  keras-ensembles blend --oof a_oof.npy b_oof.csv --test a_test.npy b_test.csv \
      --labels train_labels.csv --method caruana --proba --output blended.csv
  keras-ensembles blend --apply blend.json --test plain.csv residual.csv lr_test.csv \
      --id-column ImageId --label-column Label --id-start 1 --output submission.csv

One model per --oof file, paired by position with its --test file; a model
is named after its OOF file (oof_plain.csv -> plain). Files are CSV in the
wide layout (an id column first, an optional label column, one probability
column per class named by the class: what cv and predict --proba write),
.npy (the probabilities alone: rows in the order of the first CSV file of
its kind, columns in sorted class order) or .npz (proba, and optionally ids,
classes, labels). Rows are matched by id
and columns by class name, in any order. The labels of the OOF rows come
from the OOF files' label column, or from --labels (a CSV file with an id
column and a label column, or a .npy array by position).

Every probability must be in [0, 1] and every row must sum to 1 within
0.01: rows further off are refused (a missing column, logits), rows within
that are renormalised.

The blend is learned on the OOF rows (--method) and scored by
cross-validation over them (--folds: fitted on the other folds, scored on
each), never on the rows it was fitted to. Printed: each model's OOF log
loss and accuracy, the weights, the blend's cross-validated scores, its
gain over the best model on the OOF rows (with a 95 % paired-bootstrap
interval and McNemar's test), and the correlation between the models' OOF
predictions. When the best model alone has a lower OOF log loss than the
blend's cross-validated one, the submission uses that model alone (said
in the output; --no-fallback keeps the blend). The submission has the
layouts predict writes: id and predicted label, or with --proba one
probability column per class; --save-blend writes the learned blend as JSON
for --apply.
"""

import json
from pathlib import Path

from ensemble.cli._options import (
    CliError,
    add_command,
    add_common_options,
    folds,
)
from ensemble.cli._output import emit_json, refuse_existing, say

METHODS = ("log_loss", "caruana", "equal", "rank", "geomean", "stacking")


def add_parser(commands):
    parser = add_command(commands, "blend", __doc__, run)
    group = parser.add_argument_group("prediction files")
    group.add_argument("--oof", nargs="+", default=None, metavar="FILE",
                       help="each model's out-of-fold probabilities (.csv, .npy, .npz)")
    group.add_argument("--test", nargs="+", required=True, metavar="FILE",
                       help="each model's test probabilities, in the order of --oof")
    group.add_argument("--labels", default=None, metavar="FILE",
                       help="the OOF rows' labels (default: the OOF files' label column)")
    group.add_argument("--apply", default=None, metavar="BLEND.json",
                       help="apply a blend saved by --save-blend instead of learning one")
    group = parser.add_argument_group("blend")
    group.add_argument("--method", choices=METHODS, default="log_loss",
                       help="how to blend: learned log-loss weights, Caruana selection, equal "
                            "weights, rank average, geometric mean, or logistic stacking")
    group.add_argument("--folds", "-k", type=folds, default=5,
                       help="folds of the cross-validation that scores the blend")
    group.add_argument("--no-fallback", action="store_true",
                       help="always use the blend (default: predict with the best model alone "
                            "when its OOF log loss beats the blend's cross-validated one)")
    group = parser.add_argument_group("output")
    group.add_argument("--output", "-o", required=True, metavar="PATH",
                       help="the submission CSV to write")
    group.add_argument("--proba", action="store_true",
                       help="one probability column per class instead of a label column")
    group.add_argument("--save-blend", default=None, metavar="PATH",
                       help="write the learned blend as JSON (for --apply)")
    group.add_argument("--id-column", default="id", metavar="NAME",
                       help="the id column written")
    group.add_argument("--label-column", default="label", metavar="NAME",
                       help="the label column written, also read (beside 'label') from the "
                            "OOF and --labels files")
    group.add_argument("--id-start", type=int, default=None, metavar="N",
                       help="number the rows from N (default: the test files' ids, else from 0)")
    add_common_options(parser)
    return parser


def run(args):
    from ensemble.prediction_files import PredictionBlender
    from ensemble.prediction_files.sets import read_prediction_files

    _check_arguments(args)
    refuse_existing([Path(p) for p in (args.output, args.save_blend) if p], args.overwrite)
    saved = _read_blend(args.apply) if args.apply else None
    files = read_prediction_files(
        args.oof, args.test, labels=args.labels, label_column=_label_columns(args),
        classes=None if saved is None else saved.classes_, n_jobs=None)
    if saved is None:
        blender = PredictionBlender(args.method, cv=args.folds, random_state=args.seed,
                                    fallback=None if args.no_fallback else "best_model")
        blender.fit(files.oof, files.y, classes=files.classes)
    else:
        blender = saved
        files.test = _named_as_saved(files.test, blender, args.test)
    proba = blender.predict_proba(files.test)
    ids = _submission_ids(files.test_ids, len(proba), args.id_start)
    _write_submission(args, ids, proba, blender.classes_)
    if args.save_blend:
        from members.utils.files import atomic_write_bytes

        text = json.dumps(blender.to_dict(), indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(Path(args.save_blend), text.encode(), overwrite=args.overwrite)
    result = _result(args, blender, files, saved is not None)
    say(args, _tables(result))
    say(args, f"\nWrote {len(proba)} {'probability rows' if args.proba else 'predictions'} "
              f"to {args.output}" + (f"; the blend to {args.save_blend}" if args.save_blend
                                     else ""))
    emit_json(args, result)
    return result


def _check_arguments(args):
    if args.apply and args.oof:
        raise CliError("--apply uses a saved blend: give --test files only, not --oof")
    if not args.apply and not args.oof:
        raise CliError("give --oof files to learn a blend from (or --apply a saved blend)")
    if args.apply and (args.labels or args.save_blend):
        raise CliError("--apply learns nothing: --labels and --save-blend do not apply")


def _label_columns(args):
    """Labels are read from a column named by --label-column or, as cv writes it, 'label'."""
    return tuple(dict.fromkeys([args.label_column, "label"]))


def _read_blend(path):
    from ensemble.prediction_files import PredictionBlender
    from members.utils.paths import require_file

    require_file(path, "a blend saved by --save-blend (JSON)")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return PredictionBlender.from_dict(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None


def _named_as_saved(test, blender, paths):
    """Test files take the saved blend's model names, by position."""
    if len(test) != len(blender.models_):
        raise CliError(f"the blend was learned on {len(blender.models_)} models "
                       f"({', '.join(blender.models_)}); --test gives {len(test)} files")
    return dict(zip(blender.models_, test.values(), strict=True))


def _submission_ids(test_ids, n_rows, id_start):
    import numpy as np

    if test_ids is not None and id_start is None:
        return test_ids
    return np.arange(id_start or 0, (id_start or 0) + n_rows)


def _write_submission(args, ids, proba, classes):
    from ensemble.prediction_files.files import write_probabilities, write_submission

    if args.proba:
        write_probabilities(args.output, ids, proba, classes, id_column=args.id_column,
                            overwrite=args.overwrite)
    else:
        write_submission(args.output, ids, classes[proba.argmax(axis=1)],
                         id_column=args.id_column, label_column=args.label_column,
                         overwrite=args.overwrite)


def _result(args, blender, files, applied):
    weights = blender.weights_
    return {
        "command": "blend", "method": blender.method, "applied": str(args.apply) if applied
        else None, "models": list(blender.models_),
        "weights": None if weights is None
        else dict(zip(blender.models_, weights.tolist(), strict=True)),
        "model_scores": blender.model_scores_, "cv_scores": blender.cv_scores_,
        "correlation": None if applied else blender.correlation_.tolist(),
        "n_oof": None if applied else int(len(files.y)), "n_test": int(len(next(iter(
            files.test.values())))), "output": str(args.output),
        "blend_file": None if not args.save_blend else str(args.save_blend),
        "fallback": blender.fallback_,
        "gain": None if applied else blender.comparison_,
    }


def _tables(result):
    from ensemble.evaluation.report import format_table

    models = result["models"]
    weights = result["weights"] or {}
    rows = [[name, f"{result['model_scores'][name]['log_loss']:.4f}",
             f"{result['model_scores'][name]['accuracy']:.4f}",
             f"{weights[name]:.3f}" if name in weights else "—"] for name in models]
    cv = result["cv_scores"]
    rows.append([f"blend ({result['method']}, {cv['folds']}-fold CV)", f"{cv['log_loss']:.4f}",
                 f"{cv['accuracy']:.4f}", ""])
    source = (f"saved blend {result['applied']}" if result["applied"]
              else f"{result['n_oof']} out-of-fold rows")
    text = (f"Out-of-fold scores ({source})\n"
            + format_table(["model", "log loss", "accuracy", "weight"], rows))
    if result["fallback"] is not None:
        text += (f"\n\nUsed: {result['fallback']} alone, whose OOF log loss beats the blend's "
                 "cross-validated one (--no-fallback: the blend).")
    if result["gain"] is not None:
        text += "\n\nThe cross-validated blend, on the OOF rows. " + result["gain"]["summary"]
    if result["correlation"] is not None:
        corr = [[name] + [f"{value:.3f}" for value in row]
                for name, row in zip(models, result["correlation"], strict=True)]
        text += ("\n\nCorrelation of the models' OOF probabilities\n"
                 + format_table([""] + models, corr))
    return text
