"""ensemble.datasets.load_npz on 28x28 grey images: round trips, splits and errors."""

import numpy as np
import pytest

from ensemble.datasets import load_fashion_mnist, load_npz
from helpers import random_set


@pytest.mark.parametrize("shape", [(6, 784), (6, 28, 28), (6, 28, 28, 1)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32])
def test_npz_round_trip(tmp_path, shape, dtype):
    X, y = random_set(6, seed=4)
    path = tmp_path / "data.npz"
    np.savez_compressed(path, X=X.reshape(shape).astype(dtype), y=y.astype(np.int64))
    X_read, y_read = load_npz(path)
    assert X_read.shape == (6, 28, 28, 1) and X_read.dtype == np.uint8
    assert y_read.dtype == np.int64
    np.testing.assert_array_equal(X_read[..., 0], X)
    np.testing.assert_array_equal(y_read, y)


def test_npz_without_labels_and_splits(tmp_path):
    X, y = random_set(3, seed=4)
    np.savez(tmp_path / "unlabelled.npz", X=X)
    assert load_npz(tmp_path / "unlabelled.npz")[1] is None
    np.savez(tmp_path / "splits.npz", X_train=X, y_train=y, X_test=X[:1], y_test=y[:1])
    X_test, y_test = load_npz(tmp_path / "splits.npz", split="test")
    assert X_test.shape == (1, 28, 28, 1) and y_test.tolist() == [0]


def test_npz_missing_keys_names_keys_found(tmp_path):
    path = tmp_path / "odd.npz"
    np.savez(path, images=np.zeros((1, 784)), targets=np.zeros(1))
    with pytest.raises(ValueError, match=r"lacks key\(s\) 'X'; found keys: 'images', 'targets'"):
        load_npz(path)
    np.savez(path, X_train=np.zeros((1, 784)), X_test=np.zeros((1, 784)))
    with pytest.raises(ValueError, match=r"holds splits 'train', 'test', choose one with split="):
        load_npz(path)
    with pytest.raises(ValueError, match=r"lacks key\(s\) 'X_train', 'y_train'"):
        load_fashion_mnist("sample", path=path)


def test_npz_truncated_or_corrupt(tmp_path):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, X=random_set(20, seed=0)[0])
    content = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(content[: len(content) // 2])
    with pytest.raises(ValueError, match=r"truncated.npz is not a readable .npz archive"):
        load_npz(truncated)
    # Flip bytes inside the compressed data, leaving the zip directory intact.
    damaged = tmp_path / "damaged.npz"
    middle = len(content) // 3
    damaged.write_bytes(content[:middle] + bytes(b ^ 0xFF for b in content[middle:middle + 64])
                        + content[middle + 64:])
    with pytest.raises(ValueError, match=r"damaged.npz is not a readable .npz archive"):
        load_npz(damaged)
    not_zip = tmp_path / "text.npz"
    not_zip.write_text("hello")
    with pytest.raises(ValueError, match=r"text.npz is not an .npz \(zip\) archive"):
        load_npz(not_zip)


def test_npz_refuses_values_that_are_not_pixels(tmp_path):
    path = tmp_path / "scaled.npz"
    np.savez(path, X=np.full((2, 784), 0.5))
    with pytest.raises(ValueError, match=r"found 0.5 at index \(0, 0\) \(images scaled to 0..1"):
        load_npz(path)
    np.savez(path, X=np.zeros((2, 784)), y=[0, 0.5])
    with pytest.raises(ValueError, match=r"\['y'\]: labels must be integers or strings; found 0.5"):
        load_npz(path)
    np.savez(path, X=np.zeros((2, 3, 27, 28, 1)))
    with pytest.raises(ValueError, match=r"must have shape .*; got \(2, 3, 27, 28, 1\)"):
        load_npz(path)
    np.savez(path, X_train=np.zeros((2, 784)), y_train=[0, 12], X_test=np.zeros((2, 784)),
             y_test=[0, 1])
    with pytest.raises(ValueError, match=r"\['y_train'\]: labels must be integers in 0..9; "
                                         r"found 12"):
        load_fashion_mnist("sample", path=path)
    np.savez(path, X=np.zeros((2, 784)), y=[0, 1, 2])
    with pytest.raises(ValueError, match=r"holds 3 labels for 2 images"):
        load_npz(path)


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, X=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"objects.npz is not a readable .npz archive"):
        load_npz(path)
