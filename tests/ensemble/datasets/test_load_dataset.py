"""ensemble.datasets.load_dataset: a spec (sample, a .csv or .npz path) to named splits."""

from pathlib import Path

import numpy as np
import pytest

from ensemble.datasets import load_dataset, save_csv
from helpers import random_set

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "fashion_mnist_sample.npz"


def test_load_dataset(tmp_path):
    splits = load_dataset("sample")
    assert list(splits) == ["train", "test"]
    assert splits["train"][0].shape == (6000, 28, 28, 1)

    X, y = random_set(4, seed=9)
    save_csv(tmp_path / "a.CSV", X, y)
    (X_csv, y_csv), = load_dataset(tmp_path / "a.CSV").values()
    np.testing.assert_array_equal(y_csv, y)

    np.savez(tmp_path / "b.npz", X=X)
    assert load_dataset(str(tmp_path / "b.npz"))["data"][1] is None
    assert list(load_dataset(SAMPLE)) == ["train", "test"]

    with pytest.raises(ValueError, match=r"spec must be 'sample', 'full', a folder of images, "
                                         r"or a path ending in .csv or .npz; got 'x.txt'"):
        load_dataset("x.txt")
