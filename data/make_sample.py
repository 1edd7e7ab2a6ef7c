#!/usr/bin/env python
"""Build data/fashion_mnist_sample.npz from the full Fashion-MNIST set.

The sample is stratified: 600 images per class from the official training set
and 200 per class from the official test set, drawn with a fixed seed. Two
runs write byte-identical files, so the committed file can be checked by
rebuilding it (tests/ensemble/datasets/test_fashion_mnist.py does).

Usage::

    python data/make_sample.py [--source DIR] [--output PATH]
"""

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

try:
    from ensemble.datasets import CLASS_NAMES, DatasetNotFoundError, load_fashion_mnist
    from members.utils.files import atomic_write
except ImportError:  # run from a checkout without the editable install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from ensemble.datasets import CLASS_NAMES, DatasetNotFoundError, load_fashion_mnist
    from members.utils.files import atomic_write

SEED = 20170825  # Fashion-MNIST's release date; any fixed value would do.
TRAIN_PER_CLASS = 600
TEST_PER_CLASS = 200
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "fashion_mnist_sample.npz"
# Zip entries carry a modification time; a fixed one keeps the bytes stable.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_COMPRESSLEVEL = 9


def stratified_indices(y, per_class, rng):
    """Pick ``per_class`` indices of each class at random.

    Parameters
    ----------
    y : ndarray of shape (n,)
        Labels 0..9.
    per_class : int
    rng : numpy.random.RandomState

    Returns
    -------
    indices : ndarray of int64, shape (10 * per_class,)
        Sorted, so the sample keeps the official sets' order and its classes
        stay interleaved rather than grouped.
    """
    picks = [
        rng.permutation(np.flatnonzero(y == label))[:per_class]
        for label in range(len(CLASS_NAMES))
    ]
    return np.sort(np.concatenate(picks)).astype("<i8")


def build_sample(train, test, seed=SEED):
    """Draw the sample from the full set.

    Parameters
    ----------
    train, test : tuple of (X, y)
        The official sets, X uint8 (n, 28, 28, 1), y uint8 (n,).
    seed : int

    Returns
    -------
    arrays : dict of str to ndarray
        ``X_train`` (6000, 28, 28, 1), ``y_train`` (6000,), ``X_test``
        (2000, 28, 28, 1), ``y_test`` (2000,), all uint8, and ``train_index``,
        ``test_index``: the rows taken from the official sets.
    """
    # RandomState, not default_rng: the legacy generator's streams are frozen
    # across NumPy versions, which keeps the sample the same for everyone.
    rng = np.random.RandomState(seed)
    train_index = stratified_indices(train[1], TRAIN_PER_CLASS, rng)
    test_index = stratified_indices(test[1], TEST_PER_CLASS, rng)
    return {
        "X_train": train[0][train_index],
        "y_train": train[1][train_index],
        "X_test": test[0][test_index],
        "y_test": test[1][test_index],
        "train_index": train_index,
        "test_index": test_index,
    }


def write_npz(path, arrays):
    """Write ``arrays`` as a compressed npz whose bytes depend only on them.

    ``np.savez_compressed`` stamps each entry with the current time; this
    writes the same format with a fixed time and fixed entry attributes, and
    renames the finished file into place.
    """
    with atomic_write(path) as f, zipfile.ZipFile(f, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array),
                                      version=(1, 0), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # the default depends on the OS writing it
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue(), compresslevel=ZIP_COMPRESSLEVEL)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", type=Path, default=None,
        help="directory holding the four IDX files; searched first, before the "
             "places load_fashion_mnist('full') searches",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT,
        help=f"file to write (default: {DEFAULT_OUTPUT})",
    )
    args = parser.parse_args(argv)

    try:
        train, test, _ = load_fashion_mnist("full", path=args.source)
    except DatasetNotFoundError as exc:
        sys.exit(f"make_sample.py: {exc}")
    write_npz(args.output, build_sample(train, test))

    content = args.output.read_bytes()
    print(f"wrote {args.output}: {len(content)} bytes, "
          f"sha256 {hashlib.sha256(content).hexdigest()}")


if __name__ == "__main__":
    main()
