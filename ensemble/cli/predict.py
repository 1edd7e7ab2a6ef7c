"""Load a saved ensemble and write its predictions as CSV.

examples:
  keras-ensembles predict model.zip --data test.csv --output submission.csv
  keras-ensembles predict model.zip --data test.csv --proba --output probabilities.csv

The CSV has an id column (row number, from --id-start) and either a label
column or, with --proba, one probability column per class. Labels in --data
are not needed and not used.
"""

import numpy as np

from .._quiet import import_keras_quietly
from ._data import require_file, load_split
from ._options import add_command, add_common_options, add_data_option, add_overwrite_option
from ._output import emit_json, refuse_existing, say, write_csv


def add_parser(commands):
    parser = add_command(commands, "predict", __doc__, run)
    parser.add_argument("model", metavar="MODEL", help="an archive written by fit (or ensemble.save)")
    add_data_option(parser, "; sample and full predict their test split", required=True)
    parser.add_argument("--output", "-o", required=True, metavar="PATH", help="the CSV file to write")
    parser.add_argument("--proba", action="store_true",
                        help="one probability column per class instead of a label column")
    parser.add_argument("--id-start", type=int, default=0, help="id of the first row")
    add_overwrite_option(parser)
    add_common_options(parser)
    return parser


def run(args):
    require_file(args.model)
    refuse_existing([args.output], args.overwrite)
    split, X, _ = load_split(args.data, split="test", labels_required=False)

    import_keras_quietly()
    from .. import load

    model = load(args.model)
    proba = model.predict_proba(X)
    ids = np.arange(args.id_start, args.id_start + len(X))
    if args.proba:
        header = ["id"] + [f"proba_{label}" for label in model.classes_]
        rows = ([int(i)] + [repr(float(p)) for p in row] for i, row in zip(ids, proba))
    else:
        labels = model.classes_[proba.argmax(axis=1)]
        header = ["id", "label"]
        rows = ([int(i), label.item() if hasattr(label, "item") else label]
                for i, label in zip(ids, labels))
    write_csv(args.output, header, rows, overwrite=args.overwrite)
    say(args, f"Wrote {len(X)} {'probability rows' if args.proba else 'predictions'} "
              f"({split} split of {args.data}) to {args.output}")
    result = {"command": "predict", "model": str(args.model), "output": str(args.output),
              "n_rows": int(len(X)), "columns": header}
    emit_json(args, result)
    return result
