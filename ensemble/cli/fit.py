"""Train members and a combiner, then save the fitted ensemble as one archive.

examples:
  keras-ensembles fit --output model.zip
  keras-ensembles fit --data full --members plain,residual --combiner stacking --output full.zip
  keras-ensembles fit --data train.csv --weighting caruana --epochs 5 --output kaggle.zip

The archive is written by ensemble.save (safe to load, verified on load).
With --data sample or full the ensemble is also scored on the test split.
"""

import time

from .._quiet import import_keras_quietly
from ._data import load_data, pick_split
from ._options import (
    add_command,
    add_common_options,
    add_overwrite_option,
    add_training_options,
)
from ._output import emit_json, refuse_existing, say


def add_parser(commands):
    parser = add_command(commands, "fit", __doc__, run)
    parser.add_argument("--output", "-o", required=True, metavar="PATH",
                        help="where to save the fitted ensemble (a zip archive)")
    add_training_options(parser)
    add_overwrite_option(parser)
    add_common_options(parser)
    return parser


def run(args):
    refuse_existing([args.output], args.overwrite)
    splits = load_data(args.data)
    _, X, y = pick_split(splits, args.data, split="train", labels_required=True,
                         n_rows=args.n_train)
    test = splits.get("test") if "train" in splits else None
    test = None if test is None or test[1] is None else test

    import_keras_quietly()
    from .. import report, save
    from ._build import build_ensemble, drop_progress_callbacks

    ensemble = build_ensemble(args, show_progress=not (args.quiet or args.json))
    say(args, f"Training {len(args.members)} members ({', '.join(args.members)}) and a "
              f"{type(ensemble).__name__} on {len(y)} images")
    start = time.perf_counter()
    ensemble.fit(X, y)
    seconds = time.perf_counter() - start
    drop_progress_callbacks(ensemble)
    save(ensemble, args.output, overwrite=args.overwrite)
    say(args, f"Trained in {seconds:.1f} s; saved to {args.output}")

    result = {"command": "fit", "output": str(args.output), "train_seconds": seconds,
              "n_train": int(len(y)), "members": list(args.members),
              "combiner": type(ensemble).__name__, "weights": _weights(ensemble)}
    if test is not None:
        scores = report(ensemble, *test, name="ensemble")
        say(args, f"\nTest split ({len(test[1])} images):\n{scores}")
        result["test_report"] = scores.to_dict()
    emit_json(args, result)
    return result


def _weights(ensemble):
    if not hasattr(ensemble, "weights_"):
        return None
    return {name: float(w) for name, w in zip(ensemble.named_members_, ensemble.weights_)}
