"""CSV files of images in the layouts Kaggle uses: a label, an id, pixel columns.

The header names the columns; every further row is one image:

- pixel columns ``pixel0, pixel1, ...`` (Digit Recognizer, Kannada-MNIST)
  or ``pixel1, pixel2, ...`` (Fashion-MNIST, Sign-Language-MNIST), in
  order, as many as the images have pixel values. The values are each
  image's pixels in row-major order, channels last: for an image of shape
  (height, width, channels), column ``k`` (counted from 0) holds the pixel
  at row ``k // (width * channels)``, column ``k // channels % width``,
  channel ``k % channels``, which is ``X.reshape(n, -1)`` of the images;
- optionally a label column, ``label`` in any case (or named by the
  caller): integers, or text (class names); unlabelled files (a test set)
  leave it out;
- optionally an id column, ``id`` or ``ImageId`` in any case (or named by
  the caller): integers or text, one distinct id per image.

Without a stated image shape the pixel count must be a perfect square and
the images are grey (784 values: 28x28x1).
"""

import csv
import re
import warnings

import numpy as np

from ensemble.datasets._dataset import (
    as_images,
    as_labels,
    check_image_shape,
    labelled,
    shape_from_pixels,
)
from members.utils.files import atomic_write
from members.utils.paths import require_file

#: Label and id column names recognised without being named, compared case-insensitively.
LABEL_COLUMNS = ("label",)
ID_COLUMNS = ("id", "imageid")

_PIXEL_COLUMN = re.compile(r"pixel(0|[1-9][0-9]*)")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def load_csv(path, *, image_shape=None, label_column=None, id_column=None):
    """Read images, and labels and ids when present, from a CSV file.

    Parameters
    ----------
    path : str or os.PathLike
    image_shape : tuple of int, default=None
        ``(height, width[, channels])`` of the images (channels last,
        row-major, see the module's documentation). ``None``: square grey
        images, the side inferred from the number of pixel columns.
    label_column : str, default=None
        The label column's name when it is not ``label``. A file with
        neither is unlabelled.
    id_column : str, default=None
        The id column's name when it is neither ``id`` nor ``ImageId``
        (which are still recognised in a file without it).

    Returns
    -------
    Dataset
        Unpacks as ``X, y``. ``X``: uint8 of shape (n, height, width,
        channels); ``y``: int64 labels, or strings when the label column
        holds text, ``None`` without a label column; ``ids``: the id column
        (int64 or strings), or ``None``. A file with a header and no rows
        gives empty arrays.

    Raises
    ------
    ValueError
        If the file is empty, its columns are not those of an image file
        (the message says what was expected and what was found), the pixel
        count does not fit ``image_shape``, a pixel is not an integer in
        0..255 (the message gives the line and column), a label or id cell
        is empty, the labels mix integers and text, or ids repeat.
    FileNotFoundError
        If the file does not exist.
    IsADirectoryError
        If ``path`` is a directory.

    See Also
    --------
    save_csv : Write such a file.
    load_dataset : Load a CSV file, a folder or an npz file by name.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.datasets import load_csv, save_csv
    >>> save_csv("train.csv", np.zeros((2, 4, 4, 1), dtype=np.uint8), np.array([3, 5]))
    >>> X, y = load_csv("train.csv")
    >>> X.shape, y
    ((2, 4, 4, 1), array([3, 5]))
    """
    path = require_file(path, "a CSV file")
    image_shape = check_image_shape(image_shape)
    try:
        # utf-8-sig drops the byte-order mark that spreadsheet programs write.
        with open(path, encoding="utf-8-sig", newline="") as f:
            header = _read_header(f, path)
            layout = _Layout(header, path, label_column, id_column)
            shape = shape_from_pixels(len(layout.pixels), image_shape, path)
            body_start = f.tell()
            data = _read_integers(f, len(header))
            if data is None and (layout.label is not None or layout.id is not None):
                f.seek(body_start)
                pixels = _read_integers(f, len(header), usecols=layout.pixels)
                f.seek(body_start)
                text = _read_text(f, [c for c in (layout.label, layout.id) if c is not None])
            else:
                pixels = None if data is None else data[:, layout.pixels]
                text = None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not a UTF-8 text file: {exc}") from exc

    if pixels is None or not _in_pixel_range(pixels):
        # The fast parse failed or found a bad value; reread the file row by
        # row to say exactly where (and raise from there).
        _raise_first_error(path, header, layout)
        raise ValueError(f"{path} could not be parsed as a CSV file of images")

    if text is not None and (np.char.strip(text) == "").any():
        _raise_first_error(path, header, layout)  # says the line and column of the empty cell
    X = pixels.astype(np.uint8).reshape((len(pixels),) + shape)
    columns = {}
    for position, name in ((layout.label, "label"), (layout.id, "id")):
        if position is None:
            continue
        if text is None:
            columns[name] = data[:, position].astype(np.int64)
        else:
            cells = text[:, [c for c in (layout.label, layout.id) if c is not None].index(position)]
            columns[name] = _text_column(cells, header[position], path, ids=name == "id")
    y, ids = columns.get("label"), columns.get("id")
    if ids is not None:
        _check_distinct(ids, header[layout.id], path)
    return labelled(X, y, path, ids=ids)


class _Layout:
    """Which column of a header is the label, the id, and each pixel."""

    def __init__(self, header, path, label_column, id_column):
        self.label = _find_column(header, label_column, LABEL_COLUMNS, "label", path)
        self.id = _find_column(header, id_column, ID_COLUMNS, "id", path)
        numbered = [(position, int(match.group(1))) for position, match in
                    ((position, _PIXEL_COLUMN.fullmatch(name)) for position, name in
                     enumerate(header)) if match]
        self.pixels = [position for position, _ in numbered]
        numbers = [number for _, number in numbered]
        roles = set(self.pixels) | {self.label, self.id}
        unexpected = [name for position, name in enumerate(header) if position not in roles]
        details = []
        if not numbers:
            details.append("no pixel columns")
        elif numbers[0] not in (0, 1) or numbers != list(range(numbers[0],
                                                               numbers[0] + len(numbers))):
            details.append(f"the pixel columns do not run in order from 'pixel0' or 'pixel1' "
                           f"(found {_summarise([f'pixel{n}' for n in numbers])})")
        if unexpected:
            details.append(f"unexpected {_summarise(unexpected)}")
        if details:
            label = "'label'" if label_column is None else repr(label_column)
            ids = "'id' or 'ImageId'" if id_column is None else repr(id_column)
            raise ValueError(
                f"{path} does not have the columns of an image CSV file: expected an optional "
                f"label column {label}, an optional id column {ids} and the pixel columns "
                f"'pixel0' (or 'pixel1') onwards, in order; found {len(header)} columns "
                f"{_summarise(header)}: {'; '.join(details)}"
            )


def _find_column(header, name, defaults, role, path):
    """The named column when the header has it, else the one with a default name, or None."""
    matches = [position for position, column in enumerate(header) if column == name]
    if not matches:
        matches = [position for position, column in enumerate(header)
                   if column.lower() in defaults]
    if len(matches) > 1:
        raise ValueError(f"{path} has {len(matches)} {role} columns "
                         f"({_summarise([header[p] for p in matches])}); keep one")
    return matches[0] if matches else None


def _read_header(f, path):
    line = f.readline()
    if not line.strip():
        raise ValueError(
            f"{path} is empty; expected a header row (e.g. 'label,pixel0,...,pixel783') "
            f"and one row per image"
        )
    return [cell.strip() for cell in next(csv.reader([line]))]


def _summarise(names, head=3, tail=2):
    quoted = [repr(n) for n in names]
    if len(quoted) > head + tail + 1:
        quoted = quoted[:head] + ["..."] + quoted[-tail:]
    return ", ".join(quoted)


def _read_integers(f, n_columns, usecols=None):
    """Parse the rows after the header quickly as int32; None when numpy cannot.

    int32 rather than int64: half the memory for the same speed (a 42,000-row
    Digit Recognizer file parses in about 4 s either way).
    """
    try:
        with warnings.catch_warnings():
            # A header with no rows is a valid, empty file.
            warnings.filterwarnings("ignore", message="loadtxt: input contained no data")
            data = np.loadtxt(f, delimiter=",", dtype=np.int32, ndmin=2, comments=None,
                              quotechar='"', usecols=usecols)
    except ValueError:
        return None
    width = n_columns if usecols is None else len(usecols)
    if data.size == 0:
        return np.zeros((0, width), dtype=np.int32)
    # Rows that all disagree with the header parse fine but are still wrong.
    return data if data.shape[1] == width else None


def _read_text(f, usecols):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="loadtxt: input contained no data")
        cells = np.loadtxt(f, delimiter=",", dtype=str, ndmin=2, comments=None, quotechar='"',
                           usecols=usecols)
    return cells.reshape(-1, len(usecols))


def _text_column(cells, column, path, *, ids):
    """A label or id column read as text: integers when every cell is one, else strings."""
    cells = np.char.strip(cells.astype(str))
    is_int = np.array([bool(_INTEGER.fullmatch(cell)) for cell in cells.tolist()], dtype=bool)
    if is_int.all():
        try:
            return cells.astype(np.int64)
        except OverflowError:
            return cells
    if ids or not is_int.any():
        return cells
    # Labels that are mostly integers with some text (or the reverse) are a typo,
    # not a set of class names: "1O" would become an eleventh class.
    odd = is_int if is_int.sum() < len(cells) / 2 else ~is_int
    row = int(np.argmax(odd))
    raise ValueError(
        f"{path}, data row {row + 1}: column {column!r} mixes integers and text "
        f"({str(cells[row])!r}); labels must be all integers or all class names"
    )


def _check_distinct(ids, column, path):
    values, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        repeated = values[np.argmax(counts > 1)]
        rows = np.flatnonzero(ids == repeated)[:2] + 1
        raise ValueError(f"{path}: id {repeated.item()!r} in column {column!r} repeats "
                         f"(data rows {rows[0]} and {rows[1]}); ids must be distinct")


def _in_pixel_range(pixels):
    return pixels.min(initial=0) >= 0 and pixels.max(initial=0) <= 255


def _raise_first_error(path, header, layout):
    """Scan the file row by row and raise ValueError at the first bad cell."""
    pixels = set(layout.pixels)
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            if not row:
                continue  # blank lines are skipped, as numpy does
            line = reader.line_num
            if len(row) != len(header):
                raise ValueError(
                    f"{path}, line {line}: found {len(row)} cells; the header has "
                    f"{len(header)} columns"
                )
            for position, (column, cell) in enumerate(zip(header, row, strict=True)):
                if position not in pixels:
                    if not cell.strip():
                        raise ValueError(f"{path}, line {line}, column {column!r} is empty")
                    continue
                try:
                    value = int(cell)
                except ValueError:
                    raise ValueError(
                        f"{path}, line {line}, column {column!r}: {cell!r} is not an integer"
                    ) from None
                if not 0 <= value <= 255:
                    raise ValueError(
                        f"{path}, line {line}, column {column!r}: {value} is outside 0..255"
                    )


def save_csv(path, X, y=None, *, ids=None, first_pixel=1, label_column="label",
             id_column="id"):
    """Write images, and labels and ids when given, as a CSV file :func:`load_csv` reads.

    The file is written to a temporary file in the same directory and then
    renamed over ``path``, so a reader never sees a half-written file.

    Parameters
    ----------
    path : str or os.PathLike
    X : array-like of shape (n, height, width, channels), (n, height, width) or (n, pixels)
        Integer pixel values in 0..255; written row-major, channels last.
    y : array-like of shape (n,), default=None
        Labels (integers or strings). ``None`` leaves out the label column.
    ids : array-like of shape (n,), default=None
        Ids written as the first column. ``None`` leaves it out.
    first_pixel : {0, 1}, default=1
        Number of the first pixel column: 1 writes Fashion-MNIST's
        ``pixel1..``, 0 the Digit Recognizer's ``pixel0..``.
    label_column, id_column : str, default="label", "id"
        Names of the label and id columns.

    See Also
    --------
    load_csv : Read such a file.
    load_dataset : Load it back, or a folder or an npz file, by name.

    Examples
    --------
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from ensemble.datasets import save_csv
    >>> save_csv("train.csv", np.zeros((2, 2, 2, 1), dtype=np.uint8), np.array([3, 5]))
    >>> print(Path("train.csv").read_text())
    label,pixel1,pixel2,pixel3,pixel4
    3,0,0,0,0
    5,0,0,0,0
    <BLANKLINE>
    """
    X = as_images(X, "X", None if np.ndim(X) != 2 else (1, np.shape(X)[1], 1))
    if first_pixel not in (0, 1):
        raise ValueError(f"first_pixel must be 0 or 1; got {first_pixel!r}")
    n_pixels = int(np.prod(X.shape[1:]))
    columns, prefix = [], []
    for name, values in ((id_column, ids), (label_column, y)):
        if values is not None:
            columns.append(name)
            prefix.append(as_labels(values, name, len(X)))
    columns += [f"pixel{k}" for k in range(first_pixel, first_pixel + n_pixels)]
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="")
        writer.writerow(columns)
        f.write("\n")
        for row, pixels in enumerate(X.reshape(len(X), n_pixels)):
            if prefix:
                writer.writerow([_cell(values[row]) for values in prefix])
                f.write(",")
            # A lookup of the 256 pixel texts: np.savetxt formats every value in
            # Python and takes 20 s for the Digit Recognizer's 42,000 rows.
            f.write(",".join(_PIXEL_TEXT[pixels].tolist()) + "\n")


_PIXEL_TEXT = np.array([str(value) for value in range(256)], dtype=object)


def _cell(value):
    return value.item() if hasattr(value, "item") else value
