"""Fashion-MNIST loaders: the bundled sample, the full set, and CSV and npz files.

Every loader in this module returns images as ``uint8`` arrays of shape
``(n, 28, 28, 1)`` (the trailing channel axis is what Keras convolution layers
expect) and labels as ``uint8`` arrays of shape ``(n,)`` holding 0..9, the
dtypes that ``keras.datasets.fashion_mnist.load_data`` uses. Labels are
``None`` where a file holds none (a CSV or npz file of unlabelled images).

Importing this module does not import Keras or TensorFlow; only a download of
the full set does.

Examples
--------
>>> from ensemble.datasets import load_fashion_mnist
>>> (X_train, y_train), (X_test, y_test), class_names = load_fashion_mnist()
>>> X_train.shape, y_train.shape
((6000, 28, 28, 1), (6000,))
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import os
import secrets
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from members._paths import MissingFileError, require_file

__all__ = [
    "CLASS_NAMES",
    "DatasetNotFoundError",
    "full_set_locations",
    "keras_cache_dir",
    "load_csv",
    "load_dataset",
    "load_fashion_mnist",
    "load_npz",
    "read_idx",
    "save_csv",
]

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
N_CLASSES = len(CLASS_NAMES)
IMAGE_SHAPE = (28, 28, 1)
N_PIXELS = 28 * 28
SUBSETS = ("sample", "full")

# The package is installed editable, so the repository's data/ folder sits
# next to the package folder.
SAMPLE_PATH = Path(__file__).resolve().parent.parent / "data" / "fashion_mnist_sample.npz"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"

# File names without the .gz suffix; each may be found gzipped or not.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_UBYTE = 0x08
_IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_DOWNLOAD_DESCRIPTION = "download with keras.datasets.fashion_mnist.load_data()"

_CSV_PIXEL_COLUMNS = tuple(f"pixel{i}" for i in range(1, N_PIXELS + 1))
_CSV_LABEL_COLUMN = "label"


class DatasetNotFoundError(MissingFileError):
    """No copy of the full Fashion-MNIST set could be found or downloaded.

    The message lists every place tried, in order, and why each failed.
    """


# ---------------------------------------------------------------------------
# The bundled sample and the full set
# ---------------------------------------------------------------------------


def load_fashion_mnist(subset="sample", path=None, download=True):
    """Load Fashion-MNIST: the bundled sample or the full set.

    Parameters
    ----------
    subset : {"sample", "full"}, default="sample"
        ``"sample"`` reads the stratified sample bundled with the repository
        (6,000 training and 2,000 test images, see ``data/README.md``).
        ``"full"`` reads the official 60,000 training and 10,000 test images.
    path : str or os.PathLike, default=None
        For ``"sample"``: another ``.npz`` file in the sample's layout (keys
        ``X_train``, ``y_train``, ``X_test``, ``y_test``). For ``"full"``: a
        directory holding the four IDX files, searched before the default
        locations (see :func:`full_set_locations`).
    download : bool, default=True
        For ``"full"`` only: when no local copy is found, let Keras download
        the set into its cache as a last resort.

    Returns
    -------
    (X_train, y_train) : tuple of ndarray
        ``uint8`` images of shape (n_train, 28, 28, 1) and ``uint8`` labels of
        shape (n_train,).
    (X_test, y_test) : tuple of ndarray
        The same for the test images, shapes (n_test, 28, 28, 1) and (n_test,).
    class_names : tuple of str
        :data:`CLASS_NAMES`; label ``k`` names ``class_names[k]``.

    Raises
    ------
    ValueError
        If ``subset`` is not one of the allowed values, or a file found is
        corrupt.
    FileNotFoundError
        If the sample file is missing. For ``"full"``, a
        :class:`DatasetNotFoundError` listing every place tried.

    Notes
    -----
    For ``"full"`` the first location holding all four files wins. Files that
    are found but corrupt raise ``ValueError`` instead of falling through to
    the next location, so that a broken copy is noticed rather than silently
    replaced by another one.
    """
    if not isinstance(subset, str) or subset not in SUBSETS:
        raise ValueError(
            f"subset must be one of {', '.join(map(repr, SUBSETS))}; got {subset!r}"
        )
    if subset == "sample":
        train, test = _load_sample(SAMPLE_PATH if path is None else Path(path))
    else:
        train, test = _load_full_set(path, download)
    return train, test, CLASS_NAMES


def keras_cache_dir():
    """Directory where Keras caches the Fashion-MNIST files it downloads.

    Mirrors ``keras.utils.get_file``: ``$KERAS_HOME`` when that variable is
    set, else ``~/.keras``, else ``/tmp/.keras`` when the base is not
    writable; the files go in ``datasets/fashion-mnist`` below it.

    Returns
    -------
    directory : pathlib.Path
    """
    if "KERAS_HOME" in os.environ:
        base = Path(os.environ["KERAS_HOME"])
    else:
        home = os.path.expanduser("~")
        base = Path(home if os.access(home, os.W_OK) else "/tmp") / ".keras"
    if not os.access(base, os.W_OK):
        base = Path("/tmp") / ".keras"
    return base / "datasets" / "fashion-mnist"


def full_set_locations(path=None):
    """Directories searched for the full set, in the order they are tried.

    Parameters
    ----------
    path : str or os.PathLike, default=None
        A directory given by the caller; searched first.

    Returns
    -------
    locations : list of (str, pathlib.Path)
        A description of each place and its directory. A download through
        Keras, when allowed, is tried after all of these.
    """
    locations = []
    if path is not None:
        locations.append(("path argument", Path(path)))
    locations.append(("Keras cache", keras_cache_dir()))
    locations.append((f"Debian package {DEBIAN_PACKAGE}", DEBIAN_DIR))
    return locations


def _load_sample(path):
    if not path.exists():
        raise MissingFileError(
            f"Fashion-MNIST sample file {path} does not exist. Rebuild it with "
            f"`python data/make_sample.py`, pass path= to another sample file, "
            f"or use subset='full'."
        )
    arrays = _read_npz(path)
    return (
        _split_from_arrays(arrays, "train", path, labels_required=True),
        _split_from_arrays(arrays, "test", path, labels_required=True),
    )


def _load_full_set(path, download):
    tried = []
    for description, directory in full_set_locations(path):
        try:
            files = _locate_idx_files(directory)
        except FileNotFoundError as exc:
            tried.append(f"{description} {directory}: {exc}")
            continue
        return _read_idx_set(files)

    if not download:
        tried.append(f"{_DOWNLOAD_DESCRIPTION}: skipped (download=False)")
    else:
        try:
            (X_train, y_train), (X_test, y_test) = _download_full_set()
        # A download can fail in many ways (no network, proxy, disk full,
        # Keras missing); each is one line in the report below.
        except Exception as exc:  # noqa: BLE001
            tried.append(f"{_DOWNLOAD_DESCRIPTION}: {type(exc).__name__}: {exc}")
        else:
            return (
                _checked_pair(X_train, y_train, "downloaded training set"),
                _checked_pair(X_test, y_test, "downloaded test set"),
            )

    places = "\n".join(f"  {i}. {line}" for i, line in enumerate(tried, start=1))
    names = ", ".join(IDX_FILES.values())
    raise DatasetNotFoundError(
        f"Could not find the full Fashion-MNIST set. Places tried, in order:\n"
        f"{places}\n"
        f"Install it with `apt-get install {DEBIAN_PACKAGE}`, or pass path= a "
        f"directory holding {names} (each may be gzipped, with a .gz suffix)."
    )


def _download_full_set():
    """Download the full set through Keras; the last resort of ``"full"``.

    Tests replace this function so that no download is ever attempted.
    """
    # Imported here: importing keras starts TensorFlow, which takes seconds
    # and much memory that the rest of this module never needs.
    from keras.datasets import fashion_mnist

    return fashion_mnist.load_data()


def _locate_idx_files(directory):
    """Map each IDX_FILES key to its file in ``directory``.

    Raises FileNotFoundError whose message says why the directory does not
    hold a complete set.
    """
    if not directory.exists():
        raise FileNotFoundError("does not exist")
    if not directory.is_dir():
        raise FileNotFoundError("is not a directory")
    found, missing = {}, []
    for key, stem in IDX_FILES.items():
        # The uncompressed file is preferred: it reads faster.
        candidates = [directory / stem, directory / f"{stem}.gz"]
        existing = [p for p in candidates if p.is_file()]
        if existing:
            found[key] = existing[0]
        else:
            missing.append(f"{stem}[.gz]")
    if missing:
        raise FileNotFoundError(f"missing {', '.join(missing)}")
    return found


def _read_idx_set(files):
    train = _read_idx_pair(files["train_images"], files["train_labels"])
    test = _read_idx_pair(files["test_images"], files["test_labels"])
    return train, test


# ---------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------


def read_idx(path):
    """Read a Fashion-MNIST IDX file, gzipped or not.

    Parameters
    ----------
    path : str or os.PathLike
        An images file (magic number 0x00000803: unsigned bytes, 3
        dimensions) or a labels file (0x00000801: unsigned bytes, 1
        dimension). A file is treated as gzipped when its name ends in
        ``.gz`` or its content starts with the gzip signature.

    Returns
    -------
    array : ndarray of uint8
        Images of shape (n, 28, 28, 1), or labels of shape (n,) with values
        0..9.

    Raises
    ------
    ValueError
        If the file is not valid gzip, has the wrong magic number, is
        truncated or has trailing bytes, holds images that are not 28x28, or
        holds labels outside 0..9. The message names the file.
    FileNotFoundError
        If the file does not exist.
    """
    path = require_file(path, "an IDX file")
    raw, compressed = _read_maybe_gzipped(path)
    return _parse_idx(raw, path, compressed)


def _read_maybe_gzipped(path):
    with open(path, "rb") as f:
        raw = f.read()
    if path.suffix != ".gz" and raw[:2] != b"\x1f\x8b":
        return raw, False
    try:
        return gzip.decompress(raw), True
    # BadGzipFile is an OSError; a truncated stream raises EOFError and a
    # damaged one zlib.error. All mean the same to the caller.
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is not a valid gzip file: {exc}") from exc


def _parse_idx(raw, path, compressed):
    size_note = " after decompression" if compressed else ""
    if len(raw) < 4:
        raise ValueError(
            f"{path} is truncated: expected at least 4 header bytes{size_note}, "
            f"found {len(raw)}"
        )
    magic = int.from_bytes(raw[:4], "big")
    dtype_code, ndim = raw[2], raw[3]
    if raw[:2] != b"\x00\x00":
        raise ValueError(
            f"{path} is not an IDX file: bad magic number 0x{magic:08X}; expected "
            f"0x{_IDX_IMAGES_MAGIC:08X} (images) or 0x{_IDX_LABELS_MAGIC:08X} (labels)"
        )
    if dtype_code != _IDX_UBYTE or magic not in (_IDX_IMAGES_MAGIC, _IDX_LABELS_MAGIC):
        raise ValueError(
            f"{path} has magic number 0x{magic:08X} (data type 0x{dtype_code:02X}, "
            f"{ndim} dimensions); expected 0x{_IDX_IMAGES_MAGIC:08X} (unsigned-byte "
            f"images, 3 dimensions) or 0x{_IDX_LABELS_MAGIC:08X} (unsigned-byte "
            f"labels, 1 dimension)"
        )

    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(
            f"{path} is truncated: expected at least {header_size} header bytes"
            f"{size_note}, found {len(raw)}"
        )
    dims = tuple(
        int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)
    )
    if ndim == 3 and dims[1:] != IMAGE_SHAPE[:2]:
        raise ValueError(
            f"{path} holds {dims[1]}x{dims[2]} images; Fashion-MNIST images are 28x28"
        )

    expected = header_size + int(np.prod(dims))
    if len(raw) < expected:
        raise ValueError(
            f"{path} is truncated: expected {expected} bytes{size_note}, found {len(raw)}"
        )
    if len(raw) > expected:
        raise ValueError(
            f"{path} has {len(raw) - expected} trailing bytes: expected {expected} "
            f"bytes{size_note}, found {len(raw)}"
        )

    # np.array copies, so the result is writable (frombuffer over bytes is not).
    data = np.array(np.frombuffer(raw, dtype=np.uint8, offset=header_size))
    if ndim == 3:
        return data.reshape((dims[0],) + IMAGE_SHAPE)
    bad = np.flatnonzero(data >= N_CLASSES)
    if bad.size:
        raise ValueError(
            f"{path} holds label {data[bad[0]]} at position {bad[0]}; "
            f"Fashion-MNIST labels are 0..{N_CLASSES - 1}"
        )
    return data


def _read_idx_pair(images_path, labels_path):
    X, y = read_idx(images_path), read_idx(labels_path)
    if X.ndim != 4:
        raise ValueError(f"{images_path} holds labels; expected images (magic 0x00000803)")
    if y.ndim != 1:
        raise ValueError(f"{labels_path} holds images; expected labels (magic 0x00000801)")
    if len(X) != len(y):
        raise ValueError(
            f"{images_path} holds {len(X)} images but {labels_path} holds "
            f"{len(y)} labels; the counts must match"
        )
    return X, y


# ---------------------------------------------------------------------------
# Array checks shared by the npz and CSV loaders
# ---------------------------------------------------------------------------


def _as_images(X, what):
    """Return ``X`` as uint8 (n, 28, 28, 1), refusing values that are not pixels.

    Non-integer or out-of-range values are refused rather than rounded or
    clipped: they mean the data were scaled or are not images at all.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "uif":
        raise ValueError(f"{what} must hold numbers; got dtype {X.dtype}")
    if not (
        (X.ndim == 2 and X.shape[1] == N_PIXELS)
        or (X.ndim == 3 and X.shape[1:] == IMAGE_SHAPE[:2])
        or (X.ndim == 4 and X.shape[1:] == IMAGE_SHAPE)
    ):
        raise ValueError(
            f"{what} must have shape (n, 784), (n, 28, 28) or (n, 28, 28, 1); "
            f"got {X.shape}"
        )
    if X.dtype != np.uint8:
        _check_integral_range(X, 0, 255, what, "pixel values")
    return X.astype(np.uint8, copy=False).reshape((len(X),) + IMAGE_SHAPE)


def _as_labels(y, what, n_samples):
    """Return ``y`` as uint8 (n,), refusing values that are not class labels."""
    y = np.asarray(y)
    if y.dtype.kind not in "uif":
        raise ValueError(f"{what} must hold numbers; got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{what} must be 1-dimensional; got shape {y.shape}")
    if len(y) != n_samples:
        raise ValueError(f"{what} holds {len(y)} labels for {n_samples} images")
    _check_integral_range(y, 0, N_CLASSES - 1, what, "labels")
    return y.astype(np.uint8, copy=False)


def _check_integral_range(a, low, high, what, noun):
    bad = (a < low) | (a > high)
    if a.dtype.kind == "f":
        bad |= ~np.isfinite(a) | (a != np.round(a))
    if bad.any():
        index = np.unravel_index(np.argmax(bad), a.shape)
        hint = ""
        if a.dtype.kind == "f" and noun == "pixel values" and np.nanmax(a) <= 1:
            hint = " (images scaled to 0..1? multiply by 255 first)"
        raise ValueError(
            f"{what}: {noun} must be integers in {low}..{high}; found "
            f"{a[index].item()!r} at index {tuple(int(i) for i in index)}{hint}"
        )


def _checked_pair(X, y, what):
    X = _as_images(X, f"{what} images")
    return X, _as_labels(y, f"{what} labels", len(X))


# ---------------------------------------------------------------------------
# npz files
# ---------------------------------------------------------------------------


def load_npz(path, split=None):
    """Read images, and labels when present, from an ``.npz`` file.

    Parameters
    ----------
    path : str or os.PathLike
        An archive written by ``np.savez`` or ``np.savez_compressed``.
    split : str, default=None
        ``None`` reads the keys ``X`` and ``y``. A name such as ``"train"``
        reads ``X_train`` and ``y_train``, the layout of the bundled sample.

    Returns
    -------
    X : ndarray of uint8, shape (n, 28, 28, 1)
        Stored as (n, 784), (n, 28, 28) or (n, 28, 28, 1), in any integer or
        float dtype whose values are integers in 0..255.
    y : ndarray of uint8, shape (n,), or None
        Labels 0..9; ``None`` when the file has no ``y`` key.

    Raises
    ------
    ValueError
        If the file is not a readable npz archive (corrupt, truncated, or
        holding pickled objects), lacks the ``X`` key (the message lists the
        keys found), or holds values that are not pixels or labels.
    FileNotFoundError
        If the file does not exist.
    """
    path = Path(path)
    return _split_from_arrays(_read_npz(path), split, path, labels_required=False)


def _read_npz(path):
    """Read every array of an npz archive into a dict, eagerly.

    Reading eagerly turns a damaged member into an error here, with the file
    name, instead of a zlib traceback wherever the array is first used.
    """
    path = require_file(path, "an .npz file")
    with open(path, "rb") as f:
        signature = f.read(4)
    # np.load would read anything else as a pickle or a single .npy array.
    if signature[:2] != b"PK":
        raise ValueError(f"{path} is not an .npz (zip) archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{path} is not a readable .npz archive: {exc}") from exc


def _split_from_arrays(arrays, split, path, labels_required):
    x_key, y_key = ("X", "y") if split is None else (f"X_{split}", f"y_{split}")
    found = ", ".join(map(repr, sorted(arrays))) or "none"
    if x_key not in arrays or (labels_required and y_key not in arrays):
        wanted = [x_key, y_key] if labels_required else [x_key]
        hint = ""
        splits = _npz_splits(arrays)
        if split is None and splits:
            hint = f"; it holds splits {', '.join(map(repr, splits))}, choose one with split="
        raise ValueError(
            f"{path} lacks key(s) {', '.join(map(repr, wanted))}; found keys: {found}{hint}"
        )
    where = f"{path}[{x_key!r}]"
    X = _as_images(arrays[x_key], where)
    y = None
    if y_key in arrays:
        y = _as_labels(arrays[y_key], f"{path}[{y_key!r}]", len(X))
    return X, y


def _npz_splits(arrays):
    """Split names of the ``X_<split>`` keys, 'train' and 'test' first."""
    names = [key[2:] for key in arrays if key.startswith("X_") and len(key) > 2]
    order = {"train": 0, "test": 1}
    return sorted(names, key=lambda name: (order.get(name, 2), name))


# ---------------------------------------------------------------------------
# CSV files (the Kaggle layout)
# ---------------------------------------------------------------------------


def load_csv(path):
    """Read a CSV file in the Kaggle Fashion-MNIST layout.

    The header row is ``label,pixel1,...,pixel784``; the ``label`` column may
    be left out, for images without labels. Each further row is one image,
    its 784 pixels in row-major order. A file with a header and no rows gives
    empty arrays.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    X : ndarray of uint8, shape (n, 28, 28, 1)
    y : ndarray of uint8, shape (n,), or None
        ``None`` when the file has no ``label`` column.

    Raises
    ------
    ValueError
        If the file is empty, its columns are not the expected ones (the
        message names what was expected and what was found), or a cell is not
        an integer in range (the message gives the line and column).
    FileNotFoundError
        If the file does not exist.
    IsADirectoryError
        If ``path`` is a directory.
    """
    path = require_file(path, "a CSV file")
    try:
        # utf-8-sig drops the byte-order mark that spreadsheet programs write.
        with open(path, encoding="utf-8-sig", newline="") as f:
            header = _read_csv_header(f, path)
            data = _read_csv_body(f, len(header))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not a UTF-8 text file: {exc}") from exc

    has_labels = len(header) == N_PIXELS + 1
    if data is None or not _csv_values_in_range(data, has_labels):
        # The fast parse failed or found a bad value; reread the file row by
        # row to say exactly where (and raise from there).
        _raise_first_csv_error(path, header)
        raise ValueError(f"{path} could not be parsed as a CSV file of integers")

    pixels = data[:, 1:] if has_labels else data
    X = pixels.astype(np.uint8).reshape((len(data),) + IMAGE_SHAPE)
    y = data[:, 0].astype(np.uint8) if has_labels else None
    return X, y


def _read_csv_header(f, path):
    line = f.readline()
    if not line.strip():
        raise ValueError(
            f"{path} is empty; expected a header row 'label,pixel1,...,pixel784' "
            f"and one row per image"
        )
    header = [cell.strip() for cell in next(csv.reader([line]))]
    if header in ([_CSV_LABEL_COLUMN, *_CSV_PIXEL_COLUMNS], list(_CSV_PIXEL_COLUMNS)):
        return header

    expected = {_CSV_LABEL_COLUMN, *_CSV_PIXEL_COLUMNS}
    found = set(header)
    missing = [c for c in _CSV_PIXEL_COLUMNS if c not in found]
    unexpected = [c for c in header if c not in expected]
    details = []
    if missing:
        details.append(f"missing {_summarise(missing)}")
    if unexpected:
        details.append(f"unexpected {_summarise(unexpected)}")
    if not details:
        details.append("columns are repeated or out of order")
    raise ValueError(
        f"{path} does not have the Kaggle Fashion-MNIST columns: expected "
        f"'label' (optional) then 'pixel1' to 'pixel784'; found {len(header)} "
        f"columns {_summarise(header)}: {'; '.join(details)}"
    )


def _summarise(names, head=3, tail=2):
    quoted = [repr(n) for n in names]
    if len(quoted) > head + tail + 1:
        quoted = quoted[:head] + ["..."] + quoted[-tail:]
    return ", ".join(quoted)


def _read_csv_body(f, n_columns):
    """Parse the rows after the header quickly; None when numpy cannot."""
    try:
        with warnings.catch_warnings():
            # A header with no rows is a valid, empty file.
            warnings.filterwarnings("ignore", message="loadtxt: input contained no data")
            data = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2, comments=None)
    except ValueError:
        return None
    if data.size == 0:
        return np.zeros((0, n_columns), dtype=np.int64)
    # Rows that all disagree with the header parse fine but are still wrong.
    return data if data.shape[1] == n_columns else None


def _csv_values_in_range(data, has_labels):
    pixels = data[:, 1:] if has_labels else data
    ok = pixels.min(initial=0) >= 0 and pixels.max(initial=0) <= 255
    if has_labels:
        ok = ok and data[:, 0].min(initial=0) >= 0 and data[:, 0].max(initial=0) < N_CLASSES
    return ok


def _raise_first_csv_error(path, header):
    """Scan the file row by row and raise ValueError at the first bad cell."""
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
            for column, cell in zip(header, row):
                try:
                    value = int(cell)
                except ValueError:
                    raise ValueError(
                        f"{path}, line {line}, column {column!r}: {cell!r} is not an integer"
                    ) from None
                high = N_CLASSES - 1 if column == _CSV_LABEL_COLUMN else 255
                if not 0 <= value <= high:
                    raise ValueError(
                        f"{path}, line {line}, column {column!r}: {value} is outside 0..{high}"
                    )


def save_csv(path, X, y=None):
    """Write images, and labels when given, in the Kaggle CSV layout.

    The file is written to a temporary file in the same directory and then
    renamed over ``path``, so a reader never sees a half-written file.

    Parameters
    ----------
    path : str or os.PathLike
    X : array-like of shape (n, 28, 28, 1), (n, 28, 28) or (n, 784)
        Integer pixel values in 0..255.
    y : array-like of shape (n,), default=None
        Labels 0..9. ``None`` leaves out the ``label`` column.
    """
    X = _as_images(X, "X")
    columns = list(_CSV_PIXEL_COLUMNS)
    data = X.reshape(len(X), N_PIXELS)
    if y is not None:
        y = _as_labels(y, "y", len(X))
        columns.insert(0, _CSV_LABEL_COLUMN)
        data = np.column_stack([y, data])
    with _atomic_open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(columns) + "\n")
        np.savetxt(f, data, fmt="%d", delimiter=",", newline="\n")


@contextlib.contextmanager
def _atomic_open(path, mode, **kwargs):
    """Open a temporary file next to ``path``; rename it over ``path`` on success."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; expected a file path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: directory {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as a
    # plain open() would; tempfile.mkstemp would leave the file at 0600.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------
# One entry point
# ---------------------------------------------------------------------------


def load_dataset(spec):
    """Load data named by one string, as a command line gives it.

    Parameters
    ----------
    spec : str or os.PathLike
        ``"sample"`` or ``"full"`` (see :func:`load_fashion_mnist`; ``"full"``
        may download), or the path of a ``.csv`` file (:func:`load_csv`) or an
        ``.npz`` file (:func:`load_npz`).

    Returns
    -------
    splits : dict of str to (X, y)
        ``X`` uint8 of shape (n, 28, 28, 1), ``y`` uint8 of shape (n,) or
        ``None`` (unlabelled file). ``"sample"``, ``"full"`` and an npz file
        with ``X_train``/``X_test`` keys give ``{"train": ..., "test": ...}``
        (an npz gives one entry per ``X_<split>`` key). A CSV file, or an npz
        with an ``X`` key, gives ``{"data": (X, y)}``.

    Raises
    ------
    ValueError
        If ``spec`` is none of these.
    """
    if isinstance(spec, str) and spec in SUBSETS:
        train, test, _ = load_fashion_mnist(spec)
        return {"train": train, "test": test}
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return {"data": load_csv(path)}
    if suffix == ".npz":
        arrays = _read_npz(path)
        splits = [None] if "X" in arrays or not _npz_splits(arrays) else _npz_splits(arrays)
        return {
            split or "data": _split_from_arrays(arrays, split, path, labels_required=False)
            for split in splits
        }
    raise ValueError(
        f"spec must be 'sample', 'full', or a path ending in .csv or .npz; got {str(spec)!r}"
    )
