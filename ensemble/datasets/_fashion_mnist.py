"""Fashion-MNIST: the bundled sample, the full set (IDX files), and their checks.

The loaders here return images as ``uint8`` arrays of shape ``(n, 28, 28,
1)`` and labels as ``uint8`` arrays of shape ``(n,)`` holding 0..9, the
dtypes that ``keras.datasets.fashion_mnist.load_data`` uses.

Importing this module does not import Keras or TensorFlow; only a download of
the full set does.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ensemble.datasets._dataset import Dataset, as_images, check_integral_range
from ensemble.datasets._npz import read_npz, split_from_arrays
from members.utils.paths import MissingFileError, require_file

#: Fashion-MNIST's clothing names, by label (0 to 9).
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
SAMPLE_PATH = Path(__file__).resolve().parents[2] / "data" / "fashion_mnist_sample.npz"
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


class DatasetNotFoundError(MissingFileError):
    """No copy of the full Fashion-MNIST set could be found or downloaded.

    The message lists every place tried, in order, and why each failed.

    Examples
    --------
    It is a ``FileNotFoundError`` (and a ``ValueError``):

    >>> from ensemble.datasets import DatasetNotFoundError
    >>> issubclass(DatasetNotFoundError, FileNotFoundError)
    True
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
        directory holding the four IDX files. An explicit path is the only
        place looked at: a directory that lacks the files is an error, never
        a reason to load another copy from the default locations (see
        :func:`full_set_locations`).
    download : bool, default=True
        For ``"full"`` without ``path`` only: when no local copy is found,
        let Keras download the set into its cache as a last resort.

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
        :class:`DatasetNotFoundError` naming the files ``path`` lacks, or,
        without ``path``, listing every place tried.

    See Also
    --------
    load_dataset : Load Fashion-MNIST, a folder, a CSV or an npz file by name.

    Notes
    -----
    For ``"full"`` without ``path`` the first location holding all four
    files wins. Files that
    are found but corrupt raise ``ValueError`` instead of falling through to
    the next location, so that a broken copy is noticed rather than silently
    replaced by another one.

    Examples
    --------
    >>> from ensemble.datasets import load_fashion_mnist
    >>> (X_train, y_train), (X_test, y_test), class_names = load_fashion_mnist()
    >>> X_train.shape, X_test.shape
    ((6000, 28, 28, 1), (2000, 28, 28, 1))
    >>> class_names[0]
    'T-shirt/top'

    The full set (70,000 images) may download:

    >>> load_fashion_mnist("full")  # doctest: +SKIP
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

    Examples
    --------
    >>> from ensemble.datasets import keras_cache_dir
    >>> keras_cache_dir().parts[-2:]
    ('datasets', 'fashion-mnist')
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
        A directory given by the caller: then the only place searched.

    Returns
    -------
    locations : list of (str, pathlib.Path)
        A description of each place and its directory. Without ``path``, a
        download through Keras, when allowed, is tried after all of these.

    Examples
    --------
    >>> from ensemble.datasets import full_set_locations
    >>> full_set_locations("/data/fashion-mnist")
    [('path argument', PosixPath('/data/fashion-mnist'))]
    >>> [where for where, _ in full_set_locations()]
    ['Keras cache', 'Debian package dataset-fashion-mnist']
    """
    if path is not None:
        return [("path argument", Path(path))]
    locations = [("Keras cache", keras_cache_dir())]
    locations.append((f"Debian package {DEBIAN_PACKAGE}", DEBIAN_DIR))
    return locations


def _load_sample(path):
    if not path.exists():
        raise MissingFileError(
            f"Fashion-MNIST sample file {path} does not exist. Rebuild it with "
            f"`python data/make_sample.py`, pass path= to another sample file, "
            f"or use subset='full'."
        )
    arrays = read_npz(path)
    return tuple(
        _checked_pair(*split_from_arrays(arrays, split, path, labels_required=True),
                      f"{path}[{'X_' + split!r}]", f"{path}[{'y_' + split!r}]")
        for split in ("train", "test")
    )


def _load_full_set(path, download):
    if path is not None:
        try:
            return _read_idx_set(_locate_idx_files(Path(path)))
        except FileNotFoundError as exc:
            raise DatasetNotFoundError(
                f"path={str(path)!r} does not hold the full Fashion-MNIST set: {exc}. An "
                f"explicit path is the only place looked at; pass a directory holding "
                f"{', '.join(IDX_FILES.values())} (each may be gzipped, with a .gz suffix), or "
                "leave path out to search the Keras cache and the Debian package."
            ) from None
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
                _checked_pair(X_train, y_train, "downloaded training set images",
                              "downloaded training set labels"),
                _checked_pair(X_test, y_test, "downloaded test set images",
                              "downloaded test set labels"),
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

    Examples
    --------
    An IDX file of three unsigned bytes:

    >>> from pathlib import Path
    >>> from ensemble.datasets import read_idx
    >>> _ = Path("labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 9]))
    >>> read_idx("labels-idx1-ubyte")
    array([7, 2, 9], dtype=uint8)
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


def _checked_pair(X, y, x_what, y_what):
    """Fashion-MNIST images and labels: uint8 images, uint8 labels 0..9, one per image."""
    X = as_images(X, x_what)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"{y_what} must be 1-dimensional with one label per image; got "
                         f"shape {y.shape} for {len(X)} images")
    if y.dtype.kind not in "uif":
        raise ValueError(f"{y_what} must hold numbers; got dtype {y.dtype}")
    check_integral_range(y, 0, N_CLASSES - 1, y_what, "labels")
    return X, y.astype(np.uint8, copy=False)


def fashion_mnist_splits(subset, path=None):
    """:func:`load_fashion_mnist` as ``{"train": Dataset, "test": Dataset}``, names included."""
    train, test, names = load_fashion_mnist(subset, path=path)
    source = f"Fashion-MNIST ({subset})"
    classes = np.arange(N_CLASSES, dtype=np.uint8)
    return {split: Dataset(X=X, y=y, classes=classes, class_names=tuple(names),
                           source=f"{source} {split}")
            for split, (X, y) in (("train", train), ("test", test))}
