"""Data for the subcommands: ``--data`` and its reading options, resolved to a split.

Reading needs no TensorFlow, so a mistake in the data is reported in a
moment. Commands that apply a saved model (evaluate, predict) read images
the way the model takes them unless told otherwise: folders resized to the
model's image size and converted to its channels, CSV and flat npz rows
shaped as its images. The model's shape comes from the archive's manifest,
read here without loading any network (``load`` verifies the archive later,
and a member refuses images of another shape anyway).
"""

import json
import zipfile
from pathlib import Path

import numpy as np

from ensemble.cli._options import MODEL_ARCHIVE, CliError
from ensemble.datasets import SUBSETS, format_shape, load_dataset
from members.utils.paths import require_file
from members.utils.quiet import import_keras_quietly

#: The manifest is read only when it is no larger than this.
_MANIFEST_LIMIT = 16 * 2**20


def load_data(args, *, model_shape=None):
    """Every split of ``--data``, as :func:`~ensemble.datasets.load_dataset` gives them.

    Parameters
    ----------
    args : argparse.Namespace
        ``--data`` and its reading options.
    model_shape : tuple of int, default=None
        ``(height, width, channels)`` of a saved model's images: the default
        image size and colours of a folder, and image shape of flat rows.
    """
    if args.data == "full":
        import_keras_quietly()  # the full set's last resort is a download through Keras
    options, from_model = _reading_options(args, model_shape)
    try:
        return load_dataset(args.data, **options)
    except ValueError as error:
        if from_model:
            raise ValueError(f"{error} (reading it as the model's {format_shape(model_shape)} "
                             "images)") from None
        raise


def _reading_options(args, model_shape):
    """The options that apply to ``--data``'s kind of source, defaults from the model."""
    spec = args.data
    kind = ("fashion-mnist" if spec in SUBSETS else "folder" if Path(spec).is_dir()
            else Path(spec).suffix.lower())
    options, from_model = {}, False
    if kind == "folder":
        options["image_size"] = args.image_size
        options["color_mode"] = args.color_mode
        if model_shape is not None:
            if args.image_size is None:
                options["image_size"], from_model = tuple(model_shape[:2]), True
            if args.color_mode == "auto" and model_shape[2] in (1, 3):
                options["color_mode"] = "grayscale" if model_shape[2] == 1 else "rgb"
        _refuse(args, "image_shape", "--image-shape", "a folder (use --image-size)")
        _refuse(args, "label_column", "--label-column", "a folder", only_reading=True)
        _refuse(args, "id_column", "--id-column", "a folder", only_reading=True)
        return options, from_model
    if kind in (".csv", ".npz"):
        options["image_shape"] = args.image_shape
        if args.image_shape is None and model_shape is not None:
            options["image_shape"], from_model = tuple(model_shape), True
        if kind == ".csv":
            options["label_column"] = args.label_column
            options["id_column"] = args.id_column
        else:
            _refuse(args, "label_column", "--label-column", "an npz file", only_reading=True)
            _refuse(args, "id_column", "--id-column", "an npz file", only_reading=True)
    else:
        _refuse(args, "image_shape", "--image-shape", spec)
        _refuse(args, "label_column", "--label-column", spec, only_reading=True)
        _refuse(args, "id_column", "--id-column", spec, only_reading=True)
    _refuse(args, "image_size", "--image-size", f"{spec} (only folders are resized)")
    if args.color_mode != "auto":
        raise CliError(f"--color-mode applies to folders of images, not to {spec}")
    return options, from_model


def _refuse(args, name, option, what, only_reading=False):
    """An option given for a source it does not apply to is a mistake, not a no-op.

    ``only_reading``: predict also names its output's columns with it, so it is fine there.
    """
    if getattr(args, name, None) is None or (only_reading and args.command == "predict"):
        return
    raise CliError(f"{option} does not apply to {what}")


def pick_split(splits, args, *, split, labels_required, n_rows=None):
    """One split of the loaded ``--data``, as ``(name, Dataset)``.

    Parameters
    ----------
    splits : dict of str to Dataset
        From :func:`load_data`.
    split : {"train", "test"}
        Which split of a two-split source (the sample, the full set, an npz
        with ``X_train``/``X_test``); a one-split source is used whole.
    labels_required : bool
        Refuse images without labels (training, evaluation).
    n_rows : int, default=None
        Keep ``n_rows`` rows drawn at random (with ``--seed``), in their order.
    """
    spec = args.data
    if split in splits:
        name = split
    elif len(splits) == 1:
        name = next(iter(splits))
    else:
        raise CliError(f"{spec} has the splits {sorted(splits)} but no {split!r} split")
    data = splits[name]
    if labels_required and data.y is None:
        raise CliError(f"{spec} has no labels (no class folders, no label column, no 'y' "
                       "array); this command needs labelled data")
    if len(data.X) == 0:
        raise CliError(f"{spec} holds no images")
    if n_rows is not None:
        if n_rows > len(data.X):
            raise CliError(f"--n-train {n_rows} is more than the {len(data.X)} rows of {spec}")
        # Random rows rather than the first ones: a folder's rows come class by class.
        rows = np.random.RandomState(args.seed).choice(len(data.X), n_rows, replace=False)
        data = data.take(np.sort(rows))
    return name, data


def load_split(args, *, split, labels_required, n_rows=None, model_shape=None):
    """:func:`load_data`, then :func:`pick_split`."""
    return pick_split(load_data(args, model_shape=model_shape), args, split=split,
                      labels_required=labels_required, n_rows=n_rows)


def load_model_and_test_split(args, *, labels_required):
    """Check ``args.model`` exists, then read the test split at the size that model takes.

    Returns
    -------
    (str, Dataset, tuple of int or None)
        The split's name, its images, and the model's image shape
        (:func:`model_image_shape`).
    """
    require_file(args.model, MODEL_ARCHIVE)
    model_shape = model_image_shape(args.model)
    split, data = load_split(args, split="test", labels_required=labels_required,
                             model_shape=model_shape)
    return split, data, model_shape


def model_image_shape(path):
    """``(height, width, channels)`` a saved model takes, from its manifest; None if unknown.

    Only a default for reading the data: nothing here is trusted beyond that,
    and any failure (not a zip, no manifest, an odd shape) gives None, for
    ``load`` to report properly.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo("manifest.json").file_size > _MANIFEST_LIMIT:
                return None
            spec = json.loads(archive.read("manifest.json"))["estimator"]
        member = spec["member_specs"][0] if spec.get("kind") == "ensemble" else spec
        shape = tuple(member["input_shape"])
    except (OSError, KeyError, IndexError, TypeError, ValueError, zipfile.BadZipFile,
            RecursionError):
        return None
    if len(shape) == 3 and all(isinstance(size, int) and size >= 1 for size in shape):
        return shape
    return None


def display_names(model, data=None):
    """The name of each of ``model.classes_``: the archive's, else the data's, else the label."""
    names = getattr(model, "class_names_", None)
    if names is not None and len(names) == len(model.classes_):
        return [str(name) for name in names]
    if data is not None:
        return data.names_of(model.classes_)
    return [str(label.item() if hasattr(label, "item") else label) for label in model.classes_]


def check_image_sizes(args, estimators, image_shape):
    """Refuse, naming ``--data``, images too small for a member, before anything trains."""
    from members import check_image_size

    for name, estimator in estimators:
        try:
            check_image_size(estimator, image_shape)
        except ValueError as error:
            raise CliError(f"{args.data}: member {name!r}: {error}") from None
