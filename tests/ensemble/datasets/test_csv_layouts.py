"""ensemble.datasets.load_csv on the layouts Kaggle uses for images."""

import numpy as np
import pytest

from ensemble.datasets import load_csv, load_dataset, save_csv


def pixel_header(n, first=0):
    return ",".join(f"pixel{k}" for k in range(first, first + n))


def write_csv(path, header, rows):
    path.write_text(header + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows))
    return path


def random_images(n, shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def test_digit_recognizer_train_and_test_files(tmp_path):
    X = random_images(4, (28, 28, 1))
    train = write_csv(tmp_path / "train.csv", "label," + pixel_header(784),
                      [[label, *image.ravel()]
                       for label, image in zip([3, 1, 4, 1], X, strict=True)])
    test = write_csv(tmp_path / "test.csv", pixel_header(784), [image.ravel() for image in X])
    data = load_csv(train)
    assert data.y.tolist() == [3, 1, 4, 1] and data.y.dtype == np.int64
    assert data.classes.tolist() == [1, 3, 4] and data.class_names == ("1", "3", "4")
    np.testing.assert_array_equal(data.X, X)
    unlabelled = load_csv(test)
    assert unlabelled.y is None and unlabelled.ids is None
    np.testing.assert_array_equal(unlabelled.X, X)


@pytest.mark.parametrize("header, id_column", [
    ("id," + pixel_header(16), None), ("ImageId," + pixel_header(16, first=1), None),
    ("key," + pixel_header(16), "key"),
])
def test_an_id_column_gives_the_ids(tmp_path, header, id_column):
    X = random_images(3, (4, 4, 1))
    path = write_csv(tmp_path / "ids.csv", header,
                     [[100 + i, *image.ravel()] for i, image in enumerate(X)])
    data = load_csv(path, id_column=id_column)
    assert data.ids.tolist() == [100, 101, 102] and data.y is None
    np.testing.assert_array_equal(data.X, X)


def test_named_label_columns_anywhere_and_text_labels(tmp_path):
    X = random_images(3, (2, 2, 1))
    path = write_csv(tmp_path / "named.csv", pixel_header(4) + ",Label",
                     [[*image.ravel(), name]
                      for image, name in zip(X, ["cat", "dog", "cat"], strict=True)])
    data = load_csv(path)
    assert data.y.tolist() == ["cat", "dog", "cat"] and data.class_names == ("cat", "dog")
    path = write_csv(tmp_path / "digit.csv", "digit," + pixel_header(4),
                     [[7, *image.ravel()] for image in X])
    assert load_csv(path, label_column="digit").y.tolist() == [7, 7, 7]


def test_colour_images_with_an_image_shape_round_trip(tmp_path):
    X = random_images(5, (3, 4, 3))
    y = np.array(["b", "a", "b", "c", "a"])
    ids = np.array(["x/1.png", "with,comma.png", "3", "4", "5"])
    save_csv(tmp_path / "colour.csv", X, y, ids=ids, first_pixel=0)
    header = (tmp_path / "colour.csv").read_text().splitlines()[0]
    assert header.startswith("id,label,pixel0,pixel1,") and header.endswith(",pixel35")
    data = load_csv(tmp_path / "colour.csv", image_shape=(3, 4, 3))
    np.testing.assert_array_equal(data.X, X)  # channels last, row-major
    assert data.y.tolist() == y.tolist() and data.ids.tolist() == ids.tolist()
    # The same pixels read with another shape are another image: the order is documented.
    flat = load_csv(tmp_path / "colour.csv", image_shape=(1, 36, 1)).X.reshape(5, 36)
    np.testing.assert_array_equal(flat, X.reshape(5, -1))


def test_load_dataset_passes_the_csv_options(tmp_path):
    save_csv(tmp_path / "a.csv", random_images(2, (2, 3, 1)), [0, 1], ids=[5, 6],
             id_column="ImageId", label_column="Label")
    (data,) = load_dataset(tmp_path / "a.csv", image_shape=(2, 3)).values()
    assert data.X.shape == (2, 2, 3, 1) and data.ids.tolist() == [5, 6]
    with pytest.raises(ValueError, match=r"image_size does not apply to .*a.csv \(a CSV file\)"):
        load_dataset(tmp_path / "a.csv", image_size=4)


@pytest.mark.parametrize("header, rows, options, message", [
    ("label," + pixel_header(784), [[1] + [0] * 784], {"image_shape": (32, 32, 3)},
     r"has 784 pixel values per image, but the image shape 32x32x3 needs 3072"),
    ("label," + pixel_header(12), [[1] + [0] * 12], {},
     r"has 12 pixel values per image, which is not a square grey image; give the image "
     r"shape \(image_shape=\(height, width, channels\), command line --image-shape HxWxC\)"),
    ("label," + pixel_header(4), [[1, 0, 0, 256, 0]], {}, r"line 2, column 'pixel2': 256 is "
                                                          r"outside 0..255"),
    ("id,label," + pixel_header(4), [["a.png", 1, 0, -3, 0, 0]], {},
     r"line 2, column 'pixel1': -3 is outside 0..255"),
    ("label," + pixel_header(4), [[1, 0, 0, 0, 0], ["", 0, 0, 0, 0]], {},
     r"line 3, column 'label' is empty"),
    ("label," + pixel_header(4), [[1, 0, 0, 0, 0]] * 3 + [["l", 0, 0, 0, 0]], {},
     r"data row 4: column 'label' mixes integers and text \('l'\)"),
    ("id," + pixel_header(4), [[7, 0, 0, 0, 0], [7, 1, 1, 1, 1]], {},
     r"id 7 in column 'id' repeats \(data rows 1 and 2\)"),
    ("label,Label," + pixel_header(4), [], {}, r"has 2 label columns \('label', 'Label'\)"),
    ("ImageId,Label", [[1, 2]], {}, r"no pixel columns"),
], ids=["shape-mismatch", "not-square", "pixel-256", "negative-with-ids", "empty-label",
        "mixed-labels", "repeated-ids", "two-label-columns", "a-submission"])
def test_bad_csv_files_are_one_line_errors_naming_the_file(tmp_path, header, rows, options,
                                                          message):
    path = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(ValueError, match=message) as info:
        load_csv(path, **options)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
