"""Write a saved ensemble (or member) as one model for serving, without this package.

examples:
  keras-ensembles export m.zip --output m.keras
  keras-ensembles export m.zip --format savedmodel --output served/
  keras-ensembles export m.zip --format tflite --output m.tflite

The model takes a float32 batch of images shaped as the ensemble was fitted
(for Fashion-MNIST (n, 28, 28, 1), raw pixels 0-255; with --flat-input, rows
of 784 pixels as a CSV holds them) and returns the blended
probabilities, one column per class in the order of the archive's classes:
every member that counts, its test-time transforms, the blend weights and the
temperature are inside, and it predicts what predict --proba writes (within
float32 rounding). keras: one .keras file (keras.saving.load_model after
import ensemble.export.layers); savedmodel: a folder that TensorFlow alone
loads and serves (tf.saved_model.load(PATH).serve(images)), for TF Serving;
tflite: one file for TensorFlow Lite. A stacking ensemble exports when its
meta-learner is a logistic regression (or it predicts with its best member).
"""

from pathlib import Path

from ensemble.cli._options import MODEL_ARCHIVE, CliError, add_command, add_common_options
from ensemble.cli._output import emit_json, refuse_existing, say
from members.utils.paths import require_file
from members.utils.quiet import import_keras_quietly

#: ``ensemble.export.FORMATS``, spelled out so that ``--help`` imports no TensorFlow.
FORMATS = ("keras", "savedmodel", "tflite")


def add_parser(commands):
    parser = add_command(commands, "export", __doc__, run)
    parser.add_argument("model", metavar="MODEL", help=MODEL_ARCHIVE)
    parser.add_argument("--output", "-o", required=True, metavar="PATH",
                        help="the file or folder to write")
    parser.add_argument("--format", choices=FORMATS, default="keras",
                        help="keras (a .keras file), savedmodel (a folder) or tflite (a file)")
    parser.add_argument("--flat-input", action="store_true",
                        help="the model takes each image as one flat row of H*W*C pixels "
                             "(row-major, channels last: a CSV row) instead of (H, W, C)")
    add_common_options(parser)
    return parser


def run(args):
    require_file(args.model, MODEL_ARCHIVE)
    if args.format == "keras" and Path(args.output).suffix != ".keras":
        raise CliError(f"a Keras export is a .keras file, got {args.output}")
    if args.format == "savedmodel":
        _refuse_existing_folder(args.output, args.overwrite)
    else:
        refuse_existing([args.output], args.overwrite)
    import_keras_quietly()
    from ensemble import load
    from ensemble.export import export

    model = load(args.model)
    path = export(model, args.output, format=args.format, overwrite=args.overwrite,
                  flat_input=args.flat_input)
    say(args, f"Exported {type(model).__name__} from {args.model} as {args.format} to {path}")
    result = {"command": "export", "model": str(args.model), "format": args.format,
              "output": str(path), "flat_input": args.flat_input}
    emit_json(args, result)
    return result


def _refuse_existing_folder(path, overwrite):
    """A SavedModel is a folder: its parent must exist, and an existing one needs --overwrite."""
    path = Path(path)
    if not path.parent.is_dir():
        raise CliError(f"cannot write {path}: the folder {path.parent} does not exist")
    if path.exists() and not overwrite:
        raise CliError(f"{path} already exists; pass --overwrite to replace, or choose another "
                       "path")
