"""ensemble.prediction_files.files: submission and probability files, written and read back."""

import numpy as np
import pytest

from ensemble.prediction_files.files import (
    class_columns,
    read_probabilities,
    read_submission,
    write_probabilities,
    write_submission,
)


def test_a_digit_recognizer_submission(tmp_path):
    path = tmp_path / "submission.csv"
    write_submission(path, np.arange(1, 4), np.array([7, 2, 1]), id_column="ImageId",
                     label_column="Label")
    assert path.read_text() == "ImageId,Label\n1,7\n2,2\n3,1\n"
    ids, labels = read_submission(path, id_column="ImageId", label_column="Label")
    assert ids.tolist() == [1, 2, 3] and labels.tolist() == [7, 2, 1]


def test_probabilities_have_one_column_per_class_named_by_the_class(tmp_path):
    path = tmp_path / "proba.csv"
    proba = np.array([[0.1, 0.9], [0.75, 0.25]])
    write_probabilities(path, np.array(["a.png", "b,1.png"]), proba, np.array(["cat", "dog"]))
    assert path.read_text().splitlines()[0] == "id,cat,dog"
    read = read_probabilities(path)
    assert read.ids.tolist() == ["a.png", "b,1.png"] and read.classes.tolist() == ["cat", "dog"]
    np.testing.assert_array_equal(read.proba, proba)  # repr round-trips floats exactly
    assert read.labels is None


def test_out_of_fold_probabilities_carry_the_label_after_the_id(tmp_path):
    path = tmp_path / "oof.csv"
    write_probabilities(path, [0, 1], [[0.5, 0.5], [0.2, 0.8]], np.array([3, 8]),
                        labels=np.array([8, 3]))
    assert path.read_text().splitlines()[0] == "id,label,3,8"
    read = read_probabilities(path)
    assert read.classes.tolist() == [3, 8] and read.labels.tolist() == [8, 3]
    assert class_columns(np.array([3, 8], dtype=np.uint8)) == ["3", "8"]


def test_files_are_never_replaced_without_overwrite(tmp_path):
    path = tmp_path / "taken.csv"
    path.write_text("mine\n")
    with pytest.raises(FileExistsError, match="already exists"):
        write_submission(path, [1], [2])
    assert path.read_text() == "mine\n"
    write_submission(path, [1], [2], overwrite=True)
    assert path.read_text() == "id,label\n1,2\n"


@pytest.mark.parametrize("call, message", [
    (lambda p: write_probabilities(p, [1], [[1.0, 0.0]], ["id", "x"]),
     r"the column name\(s\) 'id' would appear twice"),
    (lambda p: write_probabilities(p, [1, 2], [[1.0, 0.0]], ["a", "b"]),
     r"proba has 1 rows for 2 ids"),
    (lambda p: write_probabilities(p, [1], [[1.0, 0.0, 0.0]], ["a", "b"]),
     r"proba must have shape \(n_samples, 2\)"),
    (lambda p: write_submission(p, [1], [1, 2]), r"labels has 2 rows for 1 ids"),
], ids=["class-named-id", "rows", "columns", "labels"])
def test_mismatched_predictions_are_refused_before_writing(tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("text, message", [
    ("row,a,b\n1,0.5,0.5\n", r"the first column must be the id column 'id'"),
    ("id\n1\n", r"has no class columns"),
    ("id,a,b\n1,0.5,x\n", r"line 2: a probability is not a number"),
    ("id,a,b\n1,0.5,1.5\n", r"line 2, column 'b': 1.5 is not a probability"),
    ("id,a,b\n1,0.5,0.5\n1,0.5,0.5\n", r"the ids in column 'id' repeat"),
    ("id,a,b\n1,0.5\n", r"line 2: found 2 cells; the header has 3 columns"),
], ids=["no-id", "no-classes", "text", "above-one", "repeated-ids", "short-row"])
def test_bad_probability_files_are_errors_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        read_probabilities(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("ids, expected", [
    (["7", "+8", " 9"], np.array([7, 8, 9])),
    (["a7", "b8", "c9"], np.array(["a7", "b8", "c9"])),
    (["1.0", "2.0", "3.5"], np.array(["1.0", "2.0", "3.5"])),
    (["1.0", "2.0", "3.0"], np.array([1, 2, 3])),
    (["99999999999999999999", "2", "3"], np.array(["99999999999999999999", "2", "3"])),
], ids=["integers", "text", "decimals-stay-text", "whole-floats-are-integers",
        "beyond-int64-stays-text"])
def test_ids_are_integers_only_when_every_id_is_one(tmp_path, ids, expected):
    path = tmp_path / "ids.csv"
    path.write_text("id,label,a,b\n" + "".join(f"{i},a,0.25,0.75\n" for i in ids))
    read = read_probabilities(path)
    assert read.ids.dtype.kind == expected.dtype.kind
    np.testing.assert_array_equal(read.ids, expected)
    np.testing.assert_array_equal(read.labels, ["a", "a", "a"])
    np.testing.assert_array_equal(read.proba, [[0.25, 0.75]] * 3)


@pytest.mark.parametrize("text, message", [
    ("id,a,b\n1,0.5,0.5,0.0\n", r"line 2: found 4 cells; the header has 3 columns"),
    ("id,a,b\n1,0.5,0.5\n2,nan,0.5\n", r"(?i)nan"),
    ("id,a,b\n1,0.5,0.5\n2,,0.5\n", r"line 3: a probability is not a number"),
], ids=["long-row", "nan", "empty-cell"])
def test_rows_the_fast_parser_cannot_read_get_the_careful_readers_error(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_probabilities(path)
