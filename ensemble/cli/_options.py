"""Argument parsing shared by the subcommands: the parser class, value checks, option groups."""

import argparse
import math
import re

PROG = "keras-ensembles"

MEMBER_NAMES = ("plain", "separable", "residual")
COMBINERS = ("weighted", "stacking")
WEIGHTINGS = ("auto", "log_loss", "caruana", "equal", "best_member")
#: ``ensemble.combiners.ABSTENTION_SCORES``, spelled out so that ``--help`` imports no TensorFlow.
ABSTENTION_SCORES = ("total", "mutual_information", "expected", "confidence")


class CliError(Exception):
    """An error the user can fix; printed as one line without a traceback."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, then exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class ExamplesFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the examples' line breaks; show an option's default when it has a real one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (action.default not in (None, False, argparse.SUPPRESS) and "default" not in text
                and action.option_strings):
            default = action.default
            if isinstance(default, list):
                default = ",".join(map(str, default))
            text += f" (default: {default})"
        return text


def add_command(commands, name, module_doc, run):
    """A subcommand parser whose help is the module docstring (summary, then examples)."""
    summary, _, details = module_doc.strip().partition("\n\n")
    parser = commands.add_parser(name, help=summary, description=summary, epilog=details,
                                 formatter_class=ExamplesFormatter)
    parser.set_defaults(run=run)
    return parser


# --- value checks (argparse turns ArgumentTypeError into a usage error) ------


def _checked(kind, accepts, expected, noun=None):
    """An argparse type: ``kind(text)`` when ``accepts`` it, else "expected <expected>".

    ``noun`` is what text that is no number at all is told it should be
    (default: "an integer" or "a number").
    """
    noun = noun or ("an integer" if kind is int else "a number")

    def check(text):
        value = _parse(kind, text, noun)
        if not accepts(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return check


positive_int = _checked(int, lambda value: value >= 1, "a positive integer")
non_negative_int = _checked(int, lambda value: value >= 0, "an integer >= 0")
finite_float = _checked(float, math.isfinite, "a finite number")
#: A share in (0, 1]: a coverage or an accuracy.
fraction = _checked(float, lambda value: math.isfinite(value) and 0 < value <= 1,
                    "a number in (0, 1]")
#: A share in [0, 1]: a weight.
share = _checked(float, lambda value: math.isfinite(value) and 0 <= value <= 1,
                 "a number in [0, 1]")
folds = _checked(int, lambda value: value >= 2, "at least 2 folds")
jobs = _checked(int, lambda value: value >= 1 or value == -1,
                "a positive integer or -1 (all cores)")


def positive_float(text, noun="number"):
    """A finite number > 0 (``inf`` and ``nan`` are refused); ``noun`` names it in the error."""
    return _checked(float, lambda value: math.isfinite(value) and value > 0,
                    f"a finite positive {noun}", noun=f"a {noun}")(text)


#: Units ``--time-limit`` takes, in seconds.
DURATION_UNITS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def duration(text):
    """Seconds from ``90``, ``90s``, ``30m``, ``1.5h`` (``--time-limit``)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-z]*)\s*", text.lower())
    if match is None or match.group(2) not in DURATION_UNITS:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90s, 30m or 1h, got {text!r}")
    seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"expected a positive duration, got {text!r}")
    return seconds


def holdout(text):
    """A fraction in (0, 1) or a row count >= 1, as the combiners take it."""
    value = _parse(float, text, "a number")
    if value.is_integer() and value >= 1:
        return int(value)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a fraction in (0, 1) or a number of rows, got {text!r}")
    return value


def member_list(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in MEMBER_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown member(s) {', '.join(unknown) or text!r}; "
            f"choose from {', '.join(MEMBER_NAMES)}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a member is named twice in {text!r}")
    return names


def _parse(kind, text, noun):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None


# --- option groups ----------------------------------------------------------


def add_common_options(parser):
    """--overwrite, --seed, --json, --quiet: on every subcommand."""
    parser.add_argument("--overwrite", action="store_true",
                        help="replace output files that already exist (refused otherwise)")
    group = parser.add_argument_group("output and reproducibility")
    group.add_argument("--seed", type=int, default=0,
                       help="random seed of splits, folds and member initialisation")
    group.add_argument("--json", action="store_true",
                       help="print one JSON object on stdout instead of tables")
    group.add_argument("--quiet", action="store_true",
                       help="no progress bars and no tables (errors still go to stderr)")


def image_size(text):
    """``--image-size``: ``HxW``, or one number for square images."""
    sizes = _sizes(text, "HxW (e.g. 64x64) or one number")
    if len(sizes) == 1:
        sizes *= 2
    if len(sizes) != 2:
        raise argparse.ArgumentTypeError(f"expected HxW (e.g. 64x64) or one number, got {text!r}")
    return sizes


def image_shape(text):
    """``--image-shape``: ``HxWxC`` (channels last), or ``HxW`` for grey images."""
    sizes = _sizes(text, "HxWxC (e.g. 32x32x3) or HxW")
    if len(sizes) not in (2, 3):
        raise argparse.ArgumentTypeError(f"expected HxWxC (e.g. 32x32x3) or HxW, got {text!r}")
    return sizes if len(sizes) == 3 else sizes + (1,)


def _sizes(text, expected):
    parts = text.lower().replace("×", "x").split("x")
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return sizes


def add_data_option(parser, help_suffix="", required=False):
    """--data and how to read it (image size and colours, CSV columns)."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data", default=None if required else "sample", required=required,
        metavar="sample|full|PATH",
        help="the bundled Fashion-MNIST sample, the full set, a folder of images (one "
             "sub-folder per class, or unlabelled files), a .csv file (Kaggle layouts: "
             "label,pixel0..pixelN or pixel1..; optional id column) or an .npz file"
             + help_suffix)
    group.add_argument(
        "--image-size", type=image_size, default=None, metavar="HxW",
        help="folders: resize every image to HxW (needed when their sizes differ; evaluate "
             "and predict default to the model's size)")
    group.add_argument(
        "--color-mode", choices=("auto", "grayscale", "rgb"), default="auto",
        help="folders: grey or RGB images (auto: grey when every file is grey; evaluate and "
             "predict default to the model's channels)")
    group.add_argument(
        "--image-shape", type=image_shape, default=None, metavar="HxWxC",
        help="CSV and flat npz files: the shape of each row's pixels, channels last, "
             "row-major (default: square grey images; evaluate and predict default to the "
             "model's shape)")
    group.add_argument(
        "--label-column", default=None, metavar="NAME",
        help="CSV files: the label column when it is not 'label'"
             + ("; also names the label column written" if "predict" in parser.prog else ""))
    group.add_argument(
        "--id-column", default=None, metavar="NAME",
        help="CSV files: the id column when it is neither 'id' nor 'ImageId'"
             + ("; also names the id column written (default: id)" if "predict" in parser.prog
                else ""))


def add_holdout_and_epochs(group, *, holdout_default=0.1, held_out_to="learn the blend",
                           epochs_help="epochs of every member (default: each member's own)"):
    """--holdout, --epochs and --n-train: the rows a command trains on, and for how long."""
    group.add_argument("--holdout", type=holdout, default=holdout_default,
                       help=f"fraction (or count) of training rows held out to {held_out_to}")
    group.add_argument("--epochs", type=positive_int, default=None, help=epochs_help)
    group.add_argument("--n-train", type=positive_int, default=None, metavar="N",
                       help="use only the first N training rows (a quick run)")


def add_training_options(parser):
    """What to train and how: members, combiner, epochs, parallelism."""
    add_data_option(parser, "; sample and full train on their training split")
    group = parser.add_argument_group("members and combiner")
    group.add_argument("--members", type=member_list, default=list(MEMBER_NAMES),
                       metavar="NAME[,NAME...]",
                       help=f"comma-separated members from {', '.join(MEMBER_NAMES)}")
    group.add_argument("--combiner", choices=COMBINERS, default="weighted",
                       help="learned weighted average or a stacking meta-learner")
    group.add_argument("--weighting", choices=WEIGHTINGS, default="auto",
                       help="how the weighted combiner learns its weights; auto: the rule "
                            "(log-loss weights, Caruana, equal, best member alone) whose "
                            "cross-fitted log loss over the blending rows is lowest")
    add_holdout_and_epochs(group)
    group.add_argument("--horizontal-flip", choices=("auto", "on", "off"), default="auto",
                       help="train the members on mirrored images too (and average each "
                            "prediction with its mirror image's); auto: on for Fashion-MNIST "
                            "(--data sample or full, whose clothes look the same mirrored), off "
                            "for other data, where a mirror may change the class (digits, text)")
    group.add_argument("--time-limit", type=duration, default=None, metavar="DURATION",
                       help="a time budget for the whole command (90s, 30m, 1h) instead of "
                            "epochs: each member trains the epochs that fit its share, and fit "
                            "races the members against one scaled-up member first; wins over "
                            "--epochs (see README, 'Give it a time budget')")
    group.add_argument("--n-jobs", type=jobs, default=1,
                       help="members trained in parallel processes; -1 for one per core "
                            "(per-epoch progress is shown only with 1)")


#: What evaluate's and predict's MODEL argument names.
MODEL_ARCHIVE = "a model archive written by fit or ensemble.save"


def add_member_weights_option(group, default_help):
    """--member-weights: how members count in the expected uncertainty and their disagreement."""
    group.add_argument("--member-weights", choices=("blend", "equal"), default=None,
                       help="how the members count in expected_uncertainty and "
                            "mutual_information: blend (as the blend weights them; a member "
                            "it leaves out counts 0, so a blend of one member never "
                            "disagrees) or equal (every member); default: " + default_help)


def refuse_without(args, given, partners):
    """A :class:`CliError` when an option of ``given`` is set but none of ``partners`` is.

    ``given`` and ``partners`` are option names (``"--abstain-score"``); an
    option counts as set when its value is not None or False. Options that
    refine another are refused rather than silently ignored.
    """
    def is_set(option):
        return getattr(args, option.lstrip("-").replace("-", "_")) not in (None, False)

    if any(is_set(option) for option in partners):
        return
    for option in given:
        if is_set(option):
            raise CliError(f"{option} needs {' or '.join(partners)}")


def add_model_and_data(parser, data_help_suffix, required=False):
    """MODEL (the saved ensemble or member evaluate and predict apply) and its --data."""
    parser.add_argument("model", metavar="MODEL", help=MODEL_ARCHIVE)
    add_data_option(parser, data_help_suffix, required=required)
