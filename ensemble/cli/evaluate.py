"""Load a saved ensemble, score it and its members, and optionally draw plots.

examples:
  keras-ensembles evaluate model.zip
  keras-ensembles evaluate model.zip --data test.csv --plots figures/
  keras-ensembles evaluate photos.zip --data photos/valid
  keras-ensembles evaluate model.zip --json
  keras-ensembles evaluate model.zip --data full --shift --ood digits.npz

The archive is verified (SHA-256 of every entry, allow-listed classes, Keras
safe mode) before anything in it is used. --data sample or full scores the
test split; folders are read at the model's image size and channels. Two
tables: every member beside the ensemble (then how the blend was chosen on
its blending rows, and the ensemble's gain over its best member with a
95 % paired-bootstrap interval and McNemar's test), then the ensemble per class, each
class by its name (the archive's class names: folder names, Fashion-MNIST's
clothing names, or the labels). --plots writes weights.png (weighted
ensembles), metrics.png, confusion_matrix.png, reliability.png,
learning_curves.png, accuracy_coverage.png (accuracy on the rows kept as
the least certain are set aside, every member and the ensemble) and, with
--shift, shift.png (accuracy and calibration error against severity).

--shift scores every member and the ensemble on corrupted copies of
--shift-images test images (noise, blur, contrast, brightness, rotation,
translation, pixelation, occlusion and more, severities 1-5): per corruption
and averaged, accuracy, log loss and expected calibration error, and the
ensemble's gain over its best member with a 95 % interval (bootstrap over
images). --ood PATH (anything --data reads, labels not needed) measures how
well the ensemble's max-probability, entropy and members' disagreement
(mutual information) tell the test images from PATH's: AUROC and the
false-positive rate at 95 % true-positive rate, beside its best member's.
"""

from argparse import ArgumentTypeError

from ensemble.cli._data import display_names, load_model_and_test_split, load_split
from ensemble.cli._options import (
    CliError,
    add_command,
    add_common_options,
    add_member_weights_option,
    add_model_and_data,
    positive_int,
    refuse_without,
)
from ensemble.cli._output import emit_json, output_folder, refuse_existing, say
from members.utils.quiet import import_keras_quietly

#: ``ensemble.datasets.corruptions.CORRUPTIONS``, spelled out so that ``--help`` stays instant.
CORRUPTION_NAMES = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise",
                    "gaussian_blur", "contrast", "brightness", "pixelation", "rotation",
                    "translation", "elastic", "occlusion")


def corruption_names(text):
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in CORRUPTION_NAMES]
    if unknown or not names:
        raise ArgumentTypeError(f"unknown corruption {', '.join(unknown) or text!r}; choose "
                                f"from {', '.join(CORRUPTION_NAMES)}")
    return names


def severity_list(text):
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or any(value not in range(1, 6) for value in values):
        raise ArgumentTypeError(f"severities are integers from 1 to 5, got {text!r}")
    return values

PLOT_FILES = ("weights.png", "metrics.png", "confusion_matrix.png", "reliability.png",
              "learning_curves.png", "accuracy_coverage.png", "shift.png")


def add_parser(commands):
    parser = add_command(commands, "evaluate", __doc__, run)
    add_model_and_data(parser, "; sample and full are scored on their test split")
    parser.add_argument("--plots", metavar="DIR", default=None,
                        help="write the figures as PNG files into DIR (created if missing)")
    robustness = parser.add_argument_group("shifted and unfamiliar images")
    robustness.add_argument("--shift", action="store_true",
                            help="score members and ensemble on corrupted test images")
    robustness.add_argument("--shift-images", type=positive_int, default=None, metavar="N",
                            help="test images (drawn with --seed) corrupted for --shift; each "
                                 "corruption and severity predicts them once (default: 2000)")
    robustness.add_argument("--corruptions", type=corruption_names, default=None,
                            metavar="NAME[,NAME...]",
                            help="--shift: these corruptions only (default: all of "
                                 "ensemble.datasets.corruptions.CORRUPTIONS)")
    robustness.add_argument("--severities", type=severity_list, default=None,
                            metavar="S[,S...]", help="--shift: severities from 1 to 5")
    robustness.add_argument("--ood", metavar="PATH", default=None,
                            help="unfamiliar images (a folder, .csv or .npz file): how well "
                                 "uncertainty tells the test images from them")
    add_member_weights_option(robustness, "blend")
    add_common_options(parser)
    return parser


def run(args):
    refuse_without(args, ["--shift-images", "--corruptions", "--severities"], ["--shift"])
    refuse_without(args, ["--member-weights"], ["--ood"])
    split, data, model_shape = load_model_and_test_split(args, labels_required=True)
    plot_paths = _plot_paths(args.plots)
    refuse_existing(plot_paths.values(), args.overwrite)
    X, y = data
    unfamiliar = _unfamiliar_images(args, model_shape) if args.ood else None

    import_keras_quietly()
    from ensemble import load

    model = load(args.model)
    names = display_names(model, data)
    probas = _probabilities(model, X)
    scores = _report(model, probas, y)
    own_name = list(probas)[-1]
    per_class = _per_class(y, probas[own_name], model.classes_, names)
    say(args, f"{args.model} on {args.data} ({split} split, {len(y)} images):\n{scores}")
    say(args, f"\n{own_name} per class:\n{_per_class_table(per_class)}")
    written = (_draw_plots(model, probas, scores, y, names, plot_paths, args.overwrite)
               if plot_paths else [])
    if written:
        say(args, f"\nPlots written to {args.plots}: {', '.join(path.name for path in written)}")
    result = {"command": "evaluate", "model": str(args.model), "data": args.data, "split": split,
              "report": scores.to_dict(), "gain": scores.comparison,
              "class_names": names, "per_class": per_class,
              "plots": [str(path) for path in written]}
    if args.shift:
        shift = _shift(args, model, X, y)
        result["shift"] = shift.to_dict()
        if "shift" in plot_paths:
            _draw_shift(shift, plot_paths["shift"], args)
            result["plots"].append(str(plot_paths["shift"]))
    if unfamiliar is not None:
        result["ood"] = _ood(args, model, X, unfamiliar)
    emit_json(args, result)
    return result


def _unfamiliar_images(args, model_shape):
    """--ood's images, read as the model takes them (its size and channels)."""
    from argparse import Namespace

    reading = Namespace(**{**vars(args), "data": args.ood, "image_size": None,
                           "color_mode": "auto", "image_shape": None, "label_column": None,
                           "id_column": None})
    try:
        _, data = load_split(reading, split="test", labels_required=False,
                             model_shape=model_shape)
    except (ValueError, CliError) as error:
        raise CliError(f"--ood {args.ood}: {error}") from None
    if model_shape is not None and tuple(data.X.shape[1:]) != tuple(model_shape):
        raise CliError(f"--ood {args.ood} holds images of shape {tuple(data.X.shape[1:])}, but "
                       f"the model takes {tuple(model_shape)}")
    return data.X


def _shift(args, model, X, y):
    import numpy as np

    from ensemble.evaluation.shift import evaluate_under_shift

    severities = args.severities or (1, 2, 3, 4, 5)
    rows = np.random.RandomState(args.seed).permutation(len(y))[:args.shift_images or 2000]
    say(args, f"\nUnder shift ({len(rows)} test images; severities "
              f"{','.join(map(str, severities))}):")
    report = evaluate_under_shift(model, X[np.sort(rows)], np.asarray(y)[np.sort(rows)],
                                  corruptions=args.corruptions, severities=severities,
                                  random_state=args.seed)
    say(args, report.table())
    if report.gains:
        say(args, "\n".join(report.gain_lines()))
    return report


def _draw_shift(report, path, args):
    from ensemble.evaluation.plots import plot_shift

    plot_shift(report, path=path, overwrite=args.overwrite)
    say(args, f"\nPlot written: {path}")


def _ood(args, model, X, unfamiliar):
    from ensemble.evaluation.report import format_table
    from ensemble.evaluation.shift import detect_unfamiliar

    if not hasattr(model, "predict_uncertainty"):
        raise CliError(f"{args.model} holds a model without predict_uncertainty")
    kwargs = {"member_weights": args.member_weights} if args.member_weights else {}
    results = detect_unfamiliar(model, X, unfamiliar, **kwargs)
    say(args, f"\nTelling the {len(X)} test images from the {len(unfamiliar)} of {args.ood} "
              "(the unfamiliar ones are the positives):")
    say(args, format_table(["score", "AUROC", "FPR at 95 % TPR"],
                           [[name, f"{r.auroc:.4f}", f"{r.fpr_at_95_tpr:.4f}"]
                            for name, r in results.items()]))
    return {name: {"auroc": r.auroc, "fpr_at_95_tpr": r.fpr_at_95_tpr,
                   "threshold_at_95_tpr": r.threshold_at_95_tpr}
            for name, r in results.items()}


def _plot_paths(folder):
    if folder is None:
        return {}
    folder = output_folder(folder)
    return {name.removesuffix(".png"): folder / name for name in PLOT_FILES}


def _probabilities(model, X):
    """Each member's probabilities (aligned with the model's classes), then the model's own.

    Predicted once here and shared by the report and the plots. The model's
    own entry is last, named "ensemble" for an ensemble and after its class
    for a lone member.
    """
    from ensemble.combiners.member_list import aligned_proba

    named_members = getattr(model, "named_members_", {})
    probas = {name: aligned_proba(member, X, model.classes_)
              for name, member in named_members.items()}
    probas["ensemble" if named_members else type(model).__name__] = model.predict_proba(X)
    return probas


def _report(model, probas, y):
    """The members-beside-ensemble report of :func:`ensemble.report`, from ``probas``."""
    from ensemble.evaluation.comparison import compare_to_best_member
    from ensemble.evaluation.report import Report, score_row, selection_of

    weights = getattr(model, "weights_", None)
    *member_names, own_name = probas
    rows = [score_row(name, "member", y, probas[name], model.classes_,
                      None if weights is None else float(weights[index]))
            for index, name in enumerate(member_names)]
    rows.append(score_row(own_name, "ensemble" if member_names else "member", y,
                          probas[own_name], model.classes_))
    if not member_names:
        return Report(rows=rows, n_samples=len(y))
    comparison = compare_to_best_member(y, probas[own_name],
                                        {name: probas[name] for name in member_names},
                                        model.classes_)
    return Report(rows=rows, n_samples=len(y), comparison=comparison,
                  selection=selection_of(model))


def _per_class(y, proba, classes, names):
    """The model's recall and precision per class, each with its display name."""
    from ensemble.evaluation.metrics import per_class_scores

    rows = []
    for row, name in zip(per_class_scores(y, proba, classes), names, strict=True):
        # None rather than NaN (no such image), which JSON can't hold.
        rows.append({key: None if isinstance(value, float) and value != value else value
                     for key, value in dict(row, name=name).items()})
    return rows


def _per_class_table(rows):
    from ensemble.evaluation.report import format_table

    def share(value):
        return "-" if value is None else f"{value:.4f}"

    return format_table(["class", "images", "recall", "precision"],
                        [[row["name"], str(row["n_samples"]), share(row["recall"]),
                          share(row["precision"])] for row in rows])


def _draw_plots(model, probas, scores, y, names, paths, overwrite):
    """Draw every figure that applies to ``model``; return the paths written."""
    from ensemble.evaluation import plots

    classes = model.classes_
    named_members = getattr(model, "named_members_", {})
    own_name = list(probas)[-1]
    histories = named_members or {own_name: model}

    figures = {
        "metrics": lambda path: plots.plot_metrics(scores, path=path, overwrite=overwrite),
        "confusion_matrix": lambda path: plots.plot_confusion_matrix(
            y, classes[probas[own_name].argmax(axis=1)], labels=classes,
            class_names=names, path=path, overwrite=overwrite),
        "reliability": lambda path: plots.plot_reliability(y, probas, classes, path=path,
                                                           overwrite=overwrite),
        "accuracy_coverage": lambda path: plots.plot_accuracy_coverage(
            y, probas, classes, path=path, overwrite=overwrite),
    }
    if hasattr(model, "weights_"):
        figures["weights"] = lambda path: plots.plot_weights(model, path=path, overwrite=overwrite)
    if all(getattr(member, "history_", None) for member in histories.values()):
        figures["learning_curves"] = lambda path: plots.plot_learning_curves(
            histories, path=path, overwrite=overwrite)
    written = []
    for name, path in paths.items():
        if name in figures:
            figures[name](path)
            written.append(path)
    return written
