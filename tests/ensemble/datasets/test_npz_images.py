"""ensemble.datasets.load_npz: images of any shape, labels, class names and ids."""

import numpy as np
import pytest

from ensemble.datasets import Dataset, load_dataset, load_npz


def test_colour_images_with_class_names(tmp_path):
    X = np.random.default_rng(0).integers(0, 256, size=(6, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "c.npz", X=X, y=[0, 2, 1, 0, 2, 2], class_names=["ship", "car", "cat"],
             ids=["a", "b", "c", "d", "e", "f"])
    data = load_npz(tmp_path / "c.npz")
    np.testing.assert_array_equal(data.X, X)
    assert data.classes.tolist() == [0, 1, 2] and data.class_names == ("ship", "car", "cat")
    assert data.names_of(np.array([2, 0])) == ["cat", "ship"]
    assert data.ids.tolist() == list("abcdef")


def test_string_labels_grey_images_and_flat_rows(tmp_path):
    np.savez(tmp_path / "s.npz", X=np.zeros((3, 5, 7)), y=np.array(["b", "a", "b"]))
    data = load_npz(tmp_path / "s.npz")
    assert data.X.shape == (3, 5, 7, 1) and data.class_names == ("a", "b")
    np.savez(tmp_path / "flat.npz", X_train=np.zeros((2, 48)), X_test=np.zeros((1, 48)),
             ids_test=[9])
    splits = load_dataset(tmp_path / "flat.npz", image_shape=(4, 4, 3))
    assert splits["train"].X.shape == (2, 4, 4, 3) and splits["test"].ids.tolist() == [9]
    np.savez(tmp_path / "shaped.npz", X=np.zeros((2, 4, 4, 3)))
    with pytest.raises(ValueError, match=r"shaped.npz\['X'\] holds images of shape 4x4x3, not "
                                         r"the 2x2x12 asked for"):
        load_npz(tmp_path / "shaped.npz", image_shape=(2, 2, 12))


@pytest.mark.parametrize("arrays, message", [
    (dict(X=np.zeros((2, 4, 4)), y=["a", "b"], class_names=["x", "y"]),
     r"\['class_names'\] names integer labels 0..1, but the labels are strings"),
    (dict(X=np.zeros((2, 4, 4)), y=[0, 2], class_names=["x", "y"]),
     r"\['class_names'\] names labels 0..1, but the labels hold 2"),
    (dict(X=np.zeros((2, 4, 4)), y=[0, 1], class_names=["x", "x"]), r"names a class twice"),
    (dict(X=np.zeros((2, 0, 4))), r"which have no pixels"),
    (dict(X=np.zeros((2, 12))), r"has 12 pixel values per image, which is not a square"),
], ids=["names-for-strings", "label-outside-names", "repeated-name", "no-pixels", "not-square"])
def test_bad_npz_contents_are_errors_naming_the_file(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message) as info:
        load_npz(path)
    assert str(path) in str(info.value)


def test_a_dataset_takes_rows_and_names_labels_it_does_not_know_by_themselves():
    data = Dataset(X=np.zeros((3, 2, 2, 1), np.uint8), y=np.array([5, 6, 5]),
                   classes=np.array([5, 6]), class_names=("five", "six"), ids=np.array([1, 2, 3]))
    part = data.take([2, 0])
    assert part.y.tolist() == [5, 5] and part.ids.tolist() == [3, 1]
    assert part.class_names == ("five", "six") and part.image_shape == (2, 2, 1)
    assert data.names_of([6, 7]) == ["six", "7"]
