"""ensemble.datasets on Fashion-MNIST: the bundled sample, the full set, IDX files, make_sample.py.

No test touches the network: an autouse fixture (conftest.py) replaces the
download hook with one that raises. Tests that need the full set skip when it
is missing.
"""

import gzip
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ensemble.datasets import (
    CLASS_NAMES,
    DatasetNotFoundError,
    full_set_locations,
    load_fashion_mnist,
    read_idx,
)
from ensemble.datasets import _fashion_mnist as fashion
from helpers import random_set

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "data" / "fashion_mnist_sample.npz"
MAKE_SAMPLE = REPO / "data" / "make_sample.py"
FULL_DIR = Path("/usr/share/datasets/fashion-mnist")
HAVE_FULL = all((FULL_DIR / f"{stem}.gz").is_file() for stem in fashion.IDX_FILES.values())
needs_full = pytest.mark.skipif(
    not HAVE_FULL,
    reason=f"the full Fashion-MNIST set is not installed in {FULL_DIR} "
    "(`apt-get install dataset-fashion-mnist`, or `make fashion-mnist`)",
)


# ---------------------------------------------------------------------------
# Helpers and fixtures
# ---------------------------------------------------------------------------


def idx_bytes(array, magic=None, dims=None):
    """The bytes of an IDX file holding ``array`` (uint8); header overridable."""
    array = np.asarray(array, dtype=np.uint8)
    dims = array.shape if dims is None else dims
    magic = (0x0800 + len(dims)) if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    return header + array.tobytes()


def write_idx(path, array=None, content=None, **header):
    """Write an IDX file, gzipped when ``path`` ends in .gz; return ``path``."""
    content = idx_bytes(array, **header) if content is None else content
    path.write_bytes(gzip.compress(content, mtime=0) if path.suffix == ".gz" else content)
    return path


def write_idx_set(directory, n_train=20, n_test=10, gz=True, seed=0):
    """Write the four IDX files of a tiny full set; return its arrays."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    train, test = random_set(n_train, seed), random_set(n_test, seed + 1)
    for split, (X, y) in (("train", train), ("test", test)):
        write_idx(directory / f"{fashion.IDX_FILES[split + '_images']}{suffix}", X)
        write_idx(directory / f"{fashion.IDX_FILES[split + '_labels']}{suffix}", y)
    return train, test


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Point the Keras cache and the Debian directory into tmp_path."""
    keras_home = tmp_path / "keras-home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    debian = tmp_path / "debian"
    monkeypatch.setattr(fashion, "DEBIAN_DIR", debian)
    return SimpleNamespace(
        path=tmp_path / "given",
        keras=keras_home / "datasets" / "fashion-mnist",
        debian=debian,
    )


# ---------------------------------------------------------------------------
# The bundled sample
# ---------------------------------------------------------------------------


def test_sample_shapes_dtypes_and_balance():
    (X_train, y_train), (X_test, y_test), class_names = load_fashion_mnist()
    assert class_names == CLASS_NAMES and len(CLASS_NAMES) == 10
    assert X_train.shape == (6000, 28, 28, 1) and X_train.dtype == np.uint8
    assert X_test.shape == (2000, 28, 28, 1) and X_test.dtype == np.uint8
    assert y_train.shape == (6000,) and y_train.dtype == np.uint8
    assert y_test.shape == (2000,) and y_test.dtype == np.uint8
    assert np.bincount(y_train, minlength=10).tolist() == [600] * 10
    assert np.bincount(y_test, minlength=10).tolist() == [200] * 10
    # Real images, not blanks: each has ink.
    assert (X_train.reshape(6000, -1).max(axis=1) > 0).all()


def test_sample_from_another_path(tmp_path):
    X, y = random_set(10, seed=3)
    other = tmp_path / "other.npz"
    np.savez(other, X_train=X, y_train=y, X_test=X[:4], y_test=y[:4])
    (X_train, y_train), (X_test, _), _ = load_fashion_mnist("sample", path=other)
    np.testing.assert_array_equal(X_train[..., 0], X)
    np.testing.assert_array_equal(y_train, y)
    assert X_test.shape == (4, 28, 28, 1)


def test_missing_sample_file_says_how_to_rebuild(tmp_path):
    with pytest.raises(FileNotFoundError, match="make_sample.py"):
        load_fashion_mnist("sample", path=tmp_path / "nope.npz")


@pytest.mark.parametrize("subset", ["Sample", "mini", "", None, 3])
def test_invalid_subset(subset):
    with pytest.raises(ValueError, match=r"subset must be one of 'sample', 'full'"):
        load_fashion_mnist(subset)


def test_importing_datasets_does_not_import_keras():
    code = (
        "import sys\n"
        "import ensemble.datasets\n"
        "bad = [m for m in ('keras', 'tensorflow', 'PIL') if m in sys.modules]\n"
        "sys.exit(f'imported {bad}' if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------
# The full set: locations and search order
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "uncompressed"])
def test_full_set_from_explicit_path(places, gz):
    (X_train, y_train), (X_test, y_test) = write_idx_set(places.path, gz=gz)
    (Xa, ya), (Xb, yb), names = load_fashion_mnist("full", path=places.path)
    assert names == CLASS_NAMES
    assert Xa.shape == (20, 28, 28, 1) and Xa.dtype == np.uint8 and ya.dtype == np.uint8
    np.testing.assert_array_equal(Xa[..., 0], X_train)
    np.testing.assert_array_equal(ya, y_train)
    np.testing.assert_array_equal(Xb[..., 0], X_test)
    np.testing.assert_array_equal(yb, y_test)


def test_search_order(places, download_calls, monkeypatch):
    write_idx_set(places.keras, n_train=12)
    write_idx_set(places.debian, n_train=13)

    def n_train_found():
        (X_train, _), _, _ = load_fashion_mnist("full")
        return len(X_train)

    assert n_train_found() == 12
    (places.keras / "t10k-labels-idx1-ubyte.gz").unlink()
    assert n_train_found() == 13
    assert download_calls == []

    (places.debian / "train-labels-idx1-ubyte.gz").unlink()
    downloaded = random_set(14, seed=5), random_set(3, seed=6)
    monkeypatch.setattr(fashion, "_download_full_set", lambda: downloaded)
    assert n_train_found() == 14


def test_an_explicit_path_is_the_only_place_looked_at(places, download_calls):
    write_idx_set(places.path, n_train=11)
    write_idx_set(places.keras, n_train=12)
    write_idx_set(places.debian, n_train=13)
    (X_train, _), _, _ = load_fashion_mnist("full", path=places.path)
    assert len(X_train) == 11
    (places.path / "train-images-idx3-ubyte.gz").unlink()
    # Another copy exists in the Keras cache and the Debian folder: still an error.
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist("full", path=places.path)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)
    assert str(places.path) in message and "missing train-images-idx3-ubyte[.gz]" in message
    assert "the only place looked at" in message and "\n" not in message
    assert download_calls == []
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_fashion_mnist("full", path=places.path / "nowhere")


def test_full_set_locations_order(places):
    assert full_set_locations(places.path) == [("path argument", places.path)]
    assert [directory for _, directory in full_set_locations()] == [places.keras, places.debian]


def test_keras_cache_follows_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert fashion.keras_cache_dir() == tmp_path / "datasets" / "fashion-mnist"


def test_all_failed_error_lists_every_place(places, download_calls):
    places.keras.mkdir(parents=True)
    write_idx(places.keras / "train-images-idx3-ubyte.gz", np.zeros((1, 28, 28)))
    places.debian.write_text("not a directory")

    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist("full")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert f"1. Keras cache {places.keras}: missing train-labels-idx1-ubyte[.gz]" in message
    assert "train-images" not in message.split("\n")[1]
    assert f"2. Debian package dataset-fashion-mnist {places.debian}: is not a directory" in message
    assert "3. download with keras.datasets.fashion_mnist.load_data(): ConnectionError" in message
    assert "apt-get install dataset-fashion-mnist" in message and "path=" in message
    assert download_calls == ["download"]


def test_download_false_skips_download(places, download_calls):
    with pytest.raises(DatasetNotFoundError, match=r"skipped \(download=False\)"):
        load_fashion_mnist("full", download=False)
    assert download_calls == []


def test_corrupt_copy_is_reported_not_skipped(places):
    write_idx_set(places.path)
    write_idx_set(places.debian)
    (places.path / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bnot gzip")
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz is not a valid gzip file"):
        load_fashion_mnist("full", path=places.path)


@needs_full
@pytest.mark.slow
def test_real_full_set():
    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist("full", path=FULL_DIR)
    assert X_train.shape == (60000, 28, 28, 1) and y_train.shape == (60000,)
    assert X_test.shape == (10000, 28, 28, 1) and y_test.shape == (10000,)
    assert X_train.dtype == y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


# ---------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------


def test_read_idx_images_and_labels(tmp_path):
    X, y = random_set(5, seed=0)
    images = read_idx(write_idx(tmp_path / "images", X))
    labels = read_idx(write_idx(tmp_path / "labels.gz", y))
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[..., 0], X)
    np.testing.assert_array_equal(labels, y)
    images[0, 0, 0, 0] = 1  # writable, unlike a view of the file's bytes


X5, Y5 = random_set(5, seed=0)
IDX_GOOD = idx_bytes(X5)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad-magic", b"\x12\x34" + IDX_GOOD[2:],
         r"is not an IDX file: bad magic number 0x12340803"),
        ("float-type", b"\x00\x00\x0d\x03" + IDX_GOOD[4:], r"has magic number 0x00000D03"),
        ("two-dims", idx_bytes(np.zeros((5, 784))), r"has magic number 0x00000802 .* 2 dimensions"),
        ("truncated", IDX_GOOD[:1000],
         rf"is truncated: expected {len(IDX_GOOD)} bytes, found 1000"),
        ("short-header", IDX_GOOD[:10], r"is truncated: expected at least 16 header bytes"),
        ("trailing", IDX_GOOD + b"12345", rf"has 5 trailing bytes: expected {len(IDX_GOOD)} bytes"),
        ("wrong-size", idx_bytes(np.zeros((2, 32, 32))),
         r"holds 32x32 images; Fashion-MNIST images are 28x28"),
        ("label-range", idx_bytes([1, 2, 10]), r"holds label 10 at position 2"),
    ],
)
def test_read_idx_errors_name_the_file(tmp_path, name, content, message):
    path = write_idx(tmp_path / name, content=content)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzipped_idx_counts_uncompressed_bytes(tmp_path):
    path = write_idx(tmp_path / "images.gz", content=IDX_GOOD[:1000])
    with pytest.raises(ValueError, match=r"is truncated: expected \d+ bytes after decompression"):
        read_idx(path)


@pytest.mark.parametrize(
    "damage",
    [
        lambda gz: gz[: len(gz) // 2],  # cut short
        lambda gz: gz[:-8] + b"\x00" * 8,  # wrong CRC and length
        lambda gz: b"\x1f\x8b" + b"\xff" * 30,  # garbage after the signature
    ],
    ids=["cut", "crc", "garbage"],
)
def test_corrupt_gzip_is_a_value_error_naming_the_file(tmp_path, damage):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(damage(gzip.compress(IDX_GOOD)))
    with pytest.raises(ValueError, match=r"is not a valid gzip file") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_gz_name_without_gzip_content(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(idx_bytes(Y5))
    with pytest.raises(ValueError, match=rf"{path} is not a valid gzip file"):
        read_idx(path)


def test_image_label_count_mismatch(places):
    write_idx_set(places.path)
    write_idx(places.path / "train-labels-idx1-ubyte.gz", np.zeros(19))
    message = r"holds 20 images but .*train-labels-idx1-ubyte.gz holds 19 labels"
    with pytest.raises(ValueError, match=message):
        load_fashion_mnist("full", path=places.path)


def test_images_and_labels_swapped(places):
    write_idx_set(places.path)
    images = places.path / "train-images-idx3-ubyte.gz"
    write_idx(images, np.zeros(20))
    with pytest.raises(ValueError, match=rf"{images} holds labels; expected images"):
        load_fashion_mnist("full", path=places.path)


# ---------------------------------------------------------------------------
# data/make_sample.py and the committed sample
# ---------------------------------------------------------------------------


@needs_full
def test_sample_rows_come_from_the_official_sets():
    (X_full, y_full), (X_full_test, y_full_test), _ = load_fashion_mnist("full", path=FULL_DIR)
    with np.load(SAMPLE, allow_pickle=False) as sample:
        for split, X, y in (("train", X_full, y_full), ("test", X_full_test, y_full_test)):
            index = sample[f"{split}_index"]
            assert len(np.unique(index)) == len(index)
            np.testing.assert_array_equal(sample[f"X_{split}"], X[index])
            np.testing.assert_array_equal(sample[f"y_{split}"], y[index])


@needs_full
@pytest.mark.slow
def test_make_sample_rebuilds_the_committed_file_bit_identically(tmp_path):
    output = tmp_path / "sample.npz"
    result = subprocess.run(
        [sys.executable, str(MAKE_SAMPLE), "--source", str(FULL_DIR), "--output", str(output)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    # Same arrays first, so that a failure below can only be the compressor
    # (a zlib other than the one that wrote the committed file).
    with np.load(SAMPLE) as committed, np.load(output) as rebuilt:
        assert committed.files == rebuilt.files
        for key in committed.files:
            np.testing.assert_array_equal(committed[key], rebuilt[key], err_msg=key)
    with zipfile.ZipFile(output) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert output.read_bytes() == SAMPLE.read_bytes(), (
        "same arrays but different bytes: is this zlib different from the one "
        "that wrote the committed sample?"
    )


def test_make_sample_is_deterministic_on_a_tiny_set(tmp_path):
    spec = importlib.util.spec_from_file_location("make_sample", MAKE_SAMPLE)
    make_sample = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_sample)
    train, test = random_set(7000, seed=1), random_set(2500, seed=2)
    train = (train[0][..., None], train[1])
    test = (test[0][..., None], test[1])
    first, second = tmp_path / "1.npz", tmp_path / "2.npz"
    make_sample.write_npz(first, make_sample.build_sample(train, test))
    make_sample.write_npz(second, make_sample.build_sample(train, test))
    assert first.read_bytes() == second.read_bytes()
    (X_train, y_train), (X_test, y_test), _ = load_fashion_mnist("sample", path=first)
    assert np.bincount(y_train).tolist() == [600] * 10
    assert np.bincount(y_test).tolist() == [200] * 10
