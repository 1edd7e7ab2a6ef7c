"""Load a saved ensemble and write its predictions as CSV: a submission or probabilities.

examples:
  keras-ensembles predict model.zip --data test.csv --output submission.csv
  keras-ensembles predict digits.zip --data test.csv --id-column ImageId --label-column Label \
      --id-start 1 --output submission.csv
  keras-ensembles predict photos.zip --data photos/test --id-column file --output submission.csv
  keras-ensembles predict model.zip --data test.csv --proba --output probabilities.csv

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
"""

import numpy as np

from ensemble.cli._data import load_split, model_image_shape, require_file
from ensemble.cli._options import (
    add_command,
    add_common_options,
    add_data_option,
    add_overwrite_option,
)
from ensemble.cli._output import emit_json, refuse_existing, say
from members.utils.quiet import import_keras_quietly


def add_parser(commands):
    parser = add_command(commands, "predict", __doc__, run)
    parser.add_argument("model", metavar="MODEL",
                        help="an archive written by fit (or ensemble.save)")
    add_data_option(parser, "; sample and full predict their test split", required=True)
    parser.add_argument("--output", "-o", required=True, metavar="PATH",
                        help="the CSV file to write")
    parser.add_argument("--proba", action="store_true",
                        help="one probability column per class instead of a label column")
    parser.add_argument("--id-start", type=int, default=None, metavar="N",
                        help="number the rows from N (default: the data's ids, else from 0)")
    add_overwrite_option(parser)
    add_common_options(parser)
    return parser


def run(args):
    require_file(args.model)
    refuse_existing([args.output], args.overwrite)
    split, data = load_split(args, split="test", labels_required=False,
                             model_shape=model_image_shape(args.model))
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
    proba = model.predict_proba(data.X)
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
    emit_json(args, result)
    return result
