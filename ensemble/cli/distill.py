"""Train one member on a saved ensemble's probabilities (a distilled student), and save it.

examples:
  keras-ensembles distill m.zip --output student.zip
  keras-ensembles distill m.zip --data full --student plain --output student.zip
  keras-ensembles distill m.zip --data unlabelled/ --temperature 4 --output student.zip

The student learns the ensemble's probabilities on the training split of
--data (test-time augmentation and temperature included), softened by
--temperature, mixed with the labels when the data has them (the labels
count 1 - --teacher-weight); without labels it learns from the ensemble
alone. It is one ordinary member, saved by ensemble.save: predict, evaluate,
export and blend it like any other, at one network's prediction cost. Its
network is --student's (default: a copy of the ensemble's member that
predicts fastest here, with that member's settings). With --data sample or
full, the student and the ensemble are scored on the test split, with the
time each takes to predict it. Check the student against its network trained
on the labels alone before serving it: the teacher's gain is not guaranteed.
"""

import time

from ensemble.cli._data import check_image_sizes, load_data, pick_split
from ensemble.cli._options import (
    MEMBER_NAMES,
    MODEL_ARCHIVE,
    add_command,
    add_common_options,
    add_data_option,
    non_negative_int,
    positive_float,
    positive_int,
    share,
)
from ensemble.cli._output import emit_json, refuse_existing, say
from members.utils.paths import require_file
from members.utils.quiet import import_keras_quietly


def add_parser(commands):
    parser = add_command(commands, "distill", __doc__, run)
    parser.add_argument("model", metavar="MODEL", help=MODEL_ARCHIVE + " (the teacher)")
    parser.add_argument("--output", "-o", required=True, metavar="PATH",
                        help="where to save the student (a zip archive)")
    add_data_option(parser, "; the student learns on its training split")
    group = parser.add_argument_group("the student")
    group.add_argument("--student", choices=MEMBER_NAMES, default=None,
                       help="its network (default: a copy of the teacher's fastest member)")
    group.add_argument("--temperature", type=positive_float, default=1.0,
                       help="softens the teacher's and the student's probabilities (default 1: "
                            "not softened)")
    group.add_argument("--teacher-weight", type=share, default=None, metavar="W",
                       help="share of the teacher in the loss, 0-1 (default: 0.5 with labels, "
                            "1 without)")
    group.add_argument("--augmented-copies", type=non_negative_int, default=0, metavar="K",
                       help="a consistent teacher: K copies of the rows under the student's "
                            "augmentation, each labelled by the teacher for that copy (default 0)")
    group.add_argument("--epochs", type=positive_int, default=None,
                       help="the student's epochs (default: its network's own)")
    group.add_argument("--n-train", type=positive_int, default=None, metavar="N",
                       help="use only N training rows (a quick run)")
    group.add_argument("--horizontal-flip", choices=("auto", "on", "off"), default="auto",
                       help="with --student: train on mirrored images too (auto: on for "
                            "Fashion-MNIST)")
    add_common_options(parser)
    return parser


def run(args):
    require_file(args.model, MODEL_ARCHIVE)
    refuse_existing([args.output], args.overwrite)
    splits = load_data(args)
    _, data = pick_split(splits, args, split="train", labels_required=False,
                         n_rows=args.n_train)
    test = splits.get("test") if "train" in splits else None
    test = None if test is None or test.y is None else test

    import_keras_quietly()
    from ensemble import load, report, save
    from ensemble.cli._build import EpochProgress
    from ensemble.export.distillation import cheapest_member, distill

    teacher = load(args.model)
    template, chosen = _student_template(args, teacher, data.X, cheapest_member)
    check_image_sizes(args, [("student", template)], data.image_shape)
    labelled = data.y is not None
    say(args, f"Teaching {type(template).__name__} ({chosen}) with {args.model} on "
              f"{len(data.X)} {'labelled' if labelled else 'unlabelled'} images "
              f"(temperature {args.temperature:g})")
    if not (args.quiet or args.json):
        template.set_params(callbacks=[EpochProgress("  student")])
    start = time.perf_counter()
    student = distill(teacher, data.X, data.y, student=template,
                      temperature=args.temperature, teacher_weight=args.teacher_weight,
                      augmented_copies=args.augmented_copies, random_state=args.seed)
    seconds = time.perf_counter() - start
    student.set_params(callbacks=None)
    names = getattr(teacher, "class_names_", None)
    if names is not None:
        student.class_names_ = tuple(names)
    save(student, args.output, overwrite=args.overwrite)
    say(args, f"Trained in {seconds:.1f} s; saved to {args.output}")
    result = {"command": "distill", "model": str(args.model), "output": str(args.output),
              "student": type(student).__name__, "chosen": chosen,
              "temperature": args.temperature,
              "teacher_weight": args.teacher_weight if args.teacher_weight is not None
              else (0.5 if labelled else 1.0),
              "augmented_copies": args.augmented_copies,
              "labelled": labelled, "n_train": int(len(data.X)), "train_seconds": seconds,
              "epochs": len(student.history_["loss"])}
    if test is not None:
        result["test"] = _scored(args, report, student, teacher, test)
    emit_json(args, result)
    return result


def _student_template(args, teacher, X, cheapest_member):
    """The unfitted student and why it was chosen."""
    from ensemble.cli._build import MEMBER_CLASSES, horizontal_flip
    from ensemble.export.distillation import student_copy

    epochs = {} if args.epochs is None else {"epochs": args.epochs}
    if args.student is not None:
        template = MEMBER_CLASSES[args.student](
            random_state=args.seed, horizontal_flip=horizontal_flip(args), **epochs)
        return template, f"--student {args.student}"
    if not hasattr(teacher, "named_members_"):
        return student_copy(teacher).set_params(**epochs), "a copy of the member given"
    fastest = cheapest_member(teacher, X)
    timings = ", ".join(f"{name} {seconds * 1000:.0f} ms"
                        for name, seconds in fastest.seconds.items())
    return (student_copy(fastest.member).set_params(**epochs),
            f"a copy of {fastest.name}, the fastest member here: {timings} per "
            f"{min(len(X), 256)} images")


def _scored(args, report, student, teacher, test):
    """Both models on the test split, with the time each takes to predict it."""
    seconds = {}
    for name, model in (("student", student), ("teacher", teacher)):
        model.predict_proba(test.X[:64])  # warm-up
        start = time.perf_counter()
        model.predict_proba(test.X)
        seconds[name] = time.perf_counter() - start
    scores = report(student, test.X, test.y, name="student", others={"teacher": teacher})
    say(args, f"\nTest split ({len(test.y)} images):\n{scores}")
    say(args, f"Prediction time on the test split: student {seconds['student']:.2f} s, "
              f"teacher {seconds['teacher']:.2f} s")
    return {"report": scores.to_dict(), "predict_seconds": seconds}
