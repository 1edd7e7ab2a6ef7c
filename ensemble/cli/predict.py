"""Load a saved ensemble and write its predictions as CSV: a submission or probabilities.

examples:
  keras-ensembles predict model.zip --data test.csv --output submission.csv
  keras-ensembles predict digits.zip --data test.csv --id-column ImageId --label-column Label \
      --id-start 1 --output submission.csv
  keras-ensembles predict photos.zip --data photos/test --id-column file --output submission.csv
  keras-ensembles predict model.zip --data test.csv --proba --output probabilities.csv
  keras-ensembles predict model.zip --data test.csv --uncertainty --coverage 0.9 -o out.csv

The CSV has an id column, then a label column (the predicted class) or, with
--proba, one probability column per class, named by the class (a folder
name, a label such as 7). Ids come from the data: the file names of a
folder, the id column of a CSV file (id or ImageId), the ids array of an npz
file; data without ids is numbered from --id-start (default 0; the Digit
Recognizer counts from 1), which also numbers data that has ids when given.
--id-column and --label-column name the columns written (default id and
label). Images are read the way the model takes them (folders resized to its
size and converted to its channels). Labels in --data are not needed and
not used.

--uncertainty adds the columns confidence (the largest probability),
total_uncertainty (its entropy), expected_uncertainty (the members' mean
entropy) and mutual_information (how much the members disagree). An abstain
column (1: send the row to a person) comes with --abstain (the rule saved
with the model: fit --abstain-coverage/--abstain-accuracy, or
set_abstention in Python), --abstain-above T (rows whose --abstain-score is
above T) or --coverage C (all but the share C of the rows the model is
surest of, in this file).

--cascade applies the cascade rule saved with the model (fit
--cascade-tolerance, or set_cascade in Python): one pass of its first member
answers the rows it is sure of, the whole ensemble the rest; how many rows
each stage answered is printed (and in --json).
"""

import numpy as np

from ensemble.cli._data import load_model_and_test_split
from ensemble.cli._options import (
    ABSTENTION_SCORES,
    CliError,
    add_command,
    add_common_options,
    add_member_weights_option,
    add_model_and_data,
    finite_float,
    fraction,
    refuse_without,
)
from ensemble.cli._output import emit_json, refuse_existing, say, write_csv
from members.utils.quiet import import_keras_quietly


def add_parser(commands):
    parser = add_command(commands, "predict", __doc__, run)
    add_model_and_data(parser, "; sample and full predict their test split", required=True)
    parser.add_argument("--output", "-o", required=True, metavar="PATH",
                        help="the CSV file to write")
    parser.add_argument("--proba", action="store_true",
                        help="one probability column per class instead of a label column")
    parser.add_argument("--id-start", type=int, default=None, metavar="N",
                        help="number the rows from N (default: the data's ids, else from 0)")
    flags = parser.add_argument_group("uncertainty and abstention")
    flags.add_argument("--uncertainty", action="store_true",
                       help="add confidence, total_uncertainty, expected_uncertainty and "
                            "mutual_information columns")
    rule = flags.add_mutually_exclusive_group()
    rule.add_argument("--abstain", action="store_true",
                      help="add an abstain column by the rule saved with the model")
    rule.add_argument("--abstain-above", type=finite_float, default=None, metavar="T",
                      help="add an abstain column: 1 where --abstain-score is above T")
    rule.add_argument("--coverage", type=fraction, default=None, metavar="C",
                      help="add an abstain column keeping the share C (0-1] of rows the model "
                           "is surest of")
    flags.add_argument("--abstain-score", choices=ABSTENTION_SCORES, default=None,
                       help="the uncertainty --abstain-above and --coverage rank by (default: "
                            "the saved rule's, else total); confidence ranks by 1 - confidence")
    add_member_weights_option(flags, "the saved rule's, else blend")
    parser.add_argument("--cascade", action="store_true",
                        help="answer the rows the cascade's first member is sure of with its "
                             "single pass, the rest with the ensemble (the rule saved with the "
                             "model by fit --cascade-tolerance)")
    add_common_options(parser)
    return parser


def run(args):
    _refuse_with_the_saved_rule(args)
    refuse_without(args, ["--abstain-score"], ["--abstain-above", "--coverage"])
    refuse_without(args, ["--member-weights"], ["--uncertainty", "--abstain-above", "--coverage"])
    _refuse_with_the_cascade(args)
    refuse_existing([args.output], args.overwrite)
    split, data, _ = load_model_and_test_split(args, labels_required=False)
    if data.ids is not None and args.id_start is None:
        ids, id_source = data.ids, "from the data"
    else:
        start = 0 if args.id_start is None else args.id_start
        ids, id_source = np.arange(start, start + len(data.X)), f"numbered from {start}"
    id_column = args.id_column or "id"
    label_column = args.label_column or "label"

    import_keras_quietly()
    from ensemble import load
    from ensemble.prediction_files.files import class_columns, write_probabilities, write_submission

    model = load(args.model)
    header = [id_column] + (class_columns(model.classes_) if args.proba else [label_column])
    if len(set(header)) != len(header):  # checked before predicting anything
        raise ValueError(f"the column {id_column!r} would appear twice in {args.output} (a class "
                         "or the label column has its name); choose another --id-column")
    extra = _extra_columns(args, model, data.X)
    if extra:
        return _write_with_extra_columns(args, model, data, ids, id_source, split, header, extra)
    cascade = _cascade(args, model, data.X) if args.cascade else None
    proba = model.predict_proba(data.X) if cascade is None else cascade.pop("proba")
    if args.proba:
        write_probabilities(args.output, ids, proba, model.classes_, id_column=id_column,
                            overwrite=args.overwrite)
    else:
        write_submission(args.output, ids, model.classes_[proba.argmax(axis=1)],
                         id_column=id_column, label_column=label_column,
                         overwrite=args.overwrite)
    say(args, f"Wrote {len(data.X)} {'probability rows' if args.proba else 'predictions'} "
              f"({split} split of {args.data}, ids {id_source}) to {args.output}")
    result = {"command": "predict", "model": str(args.model), "output": str(args.output),
              "n_rows": int(len(data.X)), "columns": header}
    if cascade is not None:
        result["cascade"] = cascade
    emit_json(args, result)
    return result


def _refuse_with_the_cascade(args):
    """The cascade's rows come from two models: no shared uncertainty or abstention columns."""
    if args.cascade:
        for flag, value in (("--uncertainty", args.uncertainty), ("--abstain", args.abstain),
                            ("--abstain-above", args.abstain_above),
                            ("--coverage", args.coverage)):
            if value not in (None, False):
                raise CliError(f"{flag} does not go with --cascade: its columns describe the "
                               "whole ensemble, which the cascade skips on most rows")


def _cascade(args, model, X):
    """The cascade's probabilities and how many rows each stage answered."""
    from ensemble.combiners.cascade import CascadeEnsemble

    if not hasattr(model, "named_members_"):
        raise CliError(f"--cascade needs an ensemble; {args.model} holds one member")
    cascade = CascadeEnsemble.from_rule(model)
    proba, stages = cascade.predict_stages(X)
    early = int(np.sum(stages == 0))
    say(args, f"Cascade: one pass of {cascade.first_member_} answered {early} of {len(X)} rows "
              f"({early / max(len(X), 1):.1%}; confidence >= {cascade.threshold_:.4g}), the "
              f"ensemble the other {len(X) - early}")
    finite = bool(np.isfinite(cascade.threshold_))
    return {"proba": proba, "first_member": cascade.first_member_,
            "threshold": cascade.threshold_ if finite else None,
            "rows_per_stage": {f"{cascade.first_member_} (one pass)": early,
                               "ensemble": int(len(X) - early)}}


def _extra_columns(args, model, X):
    """The uncertainty and abstention columns asked for, with ``"proba"``: name -> values."""
    wants_rule = args.abstain or args.abstain_above is not None or args.coverage is not None
    if not (args.uncertainty or wants_rule):
        return {}
    if not hasattr(model, "predict_uncertainty"):
        raise CliError(f"{args.model} holds a model without predict_uncertainty")
    saved = getattr(model, "abstention_", None)
    if args.abstain and saved is None:
        raise CliError(f"{args.model} has no saved abstention rule; fit it with "
                       "--abstain-coverage or --abstain-accuracy, or use --abstain-above or "
                       "--coverage")
    kwargs = {}
    if hasattr(model, "named_members_"):
        kwargs["member_weights"] = (args.member_weights
                                    or (saved["member_weights"] if saved else "blend"))
    parts = model.predict_uncertainty(X, **kwargs)
    columns = {"proba": parts.proba}
    if args.uncertainty:
        columns.update(confidence=parts.confidence, total_uncertainty=parts.total,
                       expected_uncertainty=parts.expected,
                       mutual_information=parts.mutual_information)
    if wants_rule:
        columns["abstain"] = _abstain(args, parts, saved)
    return columns


def _refuse_with_the_saved_rule(args):
    """--abstain applies the saved rule whole: its score and member weights too."""
    for option in ("member_weights", "abstain_score"):
        if args.abstain and getattr(args, option):
            flag = "--" + option.replace("_", "-")
            raise CliError(f"{flag} does not go with --abstain: the saved rule applies the "
                           f"{option.replace('_', ' ')} it was chosen with")


def _abstain(args, parts, saved):
    import numpy as np

    if args.abstain:
        score, threshold = saved["score"], saved["threshold"]
    else:
        score = args.abstain_score or (saved["score"] if saved else "total")
    values = 1.0 - parts.confidence if score == "confidence" else parts[score]
    if args.abstain_above is not None:
        threshold = args.abstain_above
    elif args.coverage is not None:
        # Keep the ceil(C * n) surest rows; ties at the cut are kept together.
        from ensemble.evaluation.uncertainty import COVERAGE_TOLERANCE

        n_keep = max(1, int(np.ceil((args.coverage - COVERAGE_TOLERANCE) * len(values))))
        threshold = np.sort(values)[n_keep - 1]
    return (values > threshold).astype(int)


def _write_with_extra_columns(args, model, data, ids, id_source, split, header, extra):
    proba = extra.pop("proba")
    header = header + list(extra)
    if len(set(header)) != len(header):
        raise ValueError(f"a column of {args.output} would appear twice: {header}")
    labels = model.classes_[proba.argmax(axis=1)]
    rows = []
    for row in range(len(ids)):
        first = [repr(float(p)) for p in proba[row]] if args.proba else [_plain(labels[row])]
        rest = [str(values[row]) if name == "abstain" else repr(float(values[row]))
                for name, values in extra.items()]
        rows.append([_plain(ids[row])] + first + rest)
    write_csv(args.output, header, rows, overwrite=args.overwrite)
    abstained = int(extra["abstain"].sum()) if "abstain" in extra else None
    say(args, f"Wrote {len(ids)} rows ({split} split of {args.data}, ids {id_source}) with "
              f"{', '.join(extra)} to {args.output}"
              + ("" if abstained is None else
                 f"; {abstained} of {len(ids)} rows marked to send to a person"))
    result = {"command": "predict", "model": str(args.model), "output": str(args.output),
              "n_rows": int(len(ids)), "columns": header}
    if abstained is not None:
        result["n_abstained"] = abstained
    emit_json(args, result)
    return result


def _plain(value):
    """A numpy scalar as the plain Python value a CSV cell shows."""
    return value.item() if hasattr(value, "item") else value
