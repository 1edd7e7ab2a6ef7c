"""ensemble.datasets.load_csv and save_csv in Fashion-MNIST's Kaggle layout: round trips, errors."""

import numpy as np
import pytest

from ensemble.datasets import load_csv, save_csv
from helpers import random_set

HEADER = "label," + ",".join(f"pixel{i}" for i in range(1, 785))


def csv_file(tmp_path, rows, header=HEADER):
    path = tmp_path / "data.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def csv_row(label, pixels=None, overrides=None):
    cells = [str(label)] + [str(p) for p in (pixels if pixels is not None else [0] * 784)]
    for position, value in (overrides or {}).items():
        cells[position] = value
    return ",".join(cells)


@pytest.mark.parametrize("labelled", [True, False])
def test_csv_round_trip(tmp_path, labelled):
    X, y = random_set(7, seed=2)
    path = tmp_path / "out.csv"
    save_csv(path, X[..., None], y if labelled else None)
    text = path.read_text()
    assert text.startswith(HEADER if labelled else HEADER[len("label,"):])
    assert text.count("\n") == 8
    X_read, y_read = load_csv(path)
    assert X_read.shape == (7, 28, 28, 1) and X_read.dtype == np.uint8
    np.testing.assert_array_equal(X_read[..., 0], X)
    if labelled:
        assert y_read.dtype == np.int64
        np.testing.assert_array_equal(y_read, y)
    else:
        assert y_read is None


def test_save_csv_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")
    with pytest.raises(ValueError, match="pixel values must be integers in 0..255"):
        save_csv(path, np.full((2, 784), 300))
    assert path.read_text() == "old"
    save_csv(path, np.zeros((2, 784)), [0, 1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_csv_header_only_is_empty_data(tmp_path):
    X, y = load_csv(csv_file(tmp_path, []))
    assert X.shape == (0, 28, 28, 1) and y.shape == (0,)


def test_csv_crlf_and_bom(tmp_path):
    path = tmp_path / "windows.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + csv_row(3) + "\r\n").encode("utf-8"))
    X, y = load_csv(path)
    assert X.shape == (1, 28, 28, 1) and y.tolist() == [3]


@pytest.mark.parametrize(
    "header, message",
    [
        ("label," + ",".join(f"px{i}" for i in range(1, 785)),
         r"found 785 columns 'label', 'px1', 'px2', \.\.\., 'px783', 'px784': no pixel "
         r"columns; unexpected 'px1', "),
        ("label,pixel2,pixel1," + ",".join(f"pixel{i}" for i in range(3, 785)),
         r"the pixel columns do not run in order from 'pixel0' or 'pixel1'"),
        ("label," + ",".join(f"pixel{i}" for i in range(2, 786)),
         r"the pixel columns do not run in order .*found 'pixel2', "),
        ("label,comment," + ",".join(f"pixel{i}" for i in range(1, 785)),
         r"unexpected 'comment'"),
    ],
    ids=["renamed", "order", "start", "extra-column"],
)
def test_csv_wrong_columns(tmp_path, header, message):
    path = csv_file(tmp_path, [], header=header)
    with pytest.raises(ValueError, match=message) as info:
        load_csv(path)
    assert "expected an optional label column 'label', an optional id column 'id' or " \
           "'ImageId' and the pixel columns 'pixel0' (or 'pixel1') onwards" in str(info.value)
    assert str(path) in str(info.value)


def test_csv_pixel_count_that_is_not_a_square_needs_an_image_shape(tmp_path):
    path = csv_file(tmp_path, [], header="label," + ",".join(f"pixel{i}" for i in range(1, 784)))
    with pytest.raises(ValueError, match=r"has 783 pixel values per image, which is not a "
                                         r"square grey image; give the image shape"):
        load_csv(path)


@pytest.mark.parametrize(
    "bad_row, message",
    [
        (csv_row(1, overrides={5: "abc"}), r"line 3, column 'pixel5': 'abc' is not an integer"),
        (csv_row(1, overrides={5: "2.5"}), r"line 3, column 'pixel5': '2.5' is not an integer"),
        (csv_row(1, overrides={5: ""}), r"line 3, column 'pixel5': '' is not an integer"),
        (csv_row(1, overrides={784: "256"}), r"line 3, column 'pixel784': 256 is outside 0..255"),
        (csv_row(1, overrides={1: "-1"}), r"line 3, column 'pixel1': -1 is outside 0..255"),
        (csv_row(1, overrides={1: "99999999999999999999999"}),
         r"column 'pixel1': 9+ is outside 0..255"),
        (csv_row(""), r"line 3, column 'label' is empty"),
        (csv_row(1)[:-2], r"line 3: found 784 cells; the header has 785 columns"),
    ],
    ids=["text", "float", "blank", "256", "negative", "huge", "empty-label", "short-row"],
)
def test_csv_bad_cells_give_the_line(tmp_path, bad_row, message):
    path = csv_file(tmp_path, [csv_row(0), bad_row, csv_row(2)])
    with pytest.raises(ValueError, match=message) as info:
        load_csv(path)
    assert str(path) in str(info.value)


def test_csv_rows_all_shorter_than_the_header(tmp_path):
    path = csv_file(tmp_path, [csv_row(1)[:-2], csv_row(2)[:-2]])
    with pytest.raises(ValueError, match=r"line 2: found 784 cells; the header has 785 columns"):
        load_csv(path)


def test_csv_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ValueError, match=r"empty.csv is empty; expected a header row"):
        load_csv(path)


def test_csv_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(IsADirectoryError, match=rf"{tmp_path} is a directory"):
        load_csv(tmp_path)


def test_csv_binary_file(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(ValueError, match="binary.csv is not a UTF-8 text file"):
        load_csv(path)
