"""The command line on users' own images: folders, Kaggle CSV layouts, colour npz files.

Every test writes real files and runs fit -> evaluate -> predict as a user
would (through ``ensemble.cli.main``, in this process, to spare a TensorFlow
start-up per command; ``test_commands.py`` covers the separate process).
"""

import json

import numpy as np
import pytest
from PIL import Image

from ensemble import load
from ensemble.cli import main
from ensemble.datasets import save_csv
from helpers import read_csv

QUICK = ["--members", "plain", "--epochs", "1", "--seed", "0"]


def run(capsys, *args):
    """``keras-ensembles ARGS --json``: the JSON result (the command must succeed)."""
    code = main([str(arg) for arg in args] + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)



def shapes_image(kind, size, rng):
    """A ``size`` x ``size`` picture of a circle, a square or a cross, with noise."""
    yy, xx = np.mgrid[:size, :size] / (size - 1) - 0.5
    mask = {"circle": xx**2 + yy**2 < 0.12, "square": (abs(xx) < 0.3) & (abs(yy) < 0.3),
            "cross": (abs(xx) < 0.1) | (abs(yy) < 0.1)}[kind]
    return np.clip(mask * 200 + rng.integers(0, 50, (size, size)), 0, 255).astype(np.uint8)


def write_shapes(folder, per_class, labelled=True, seed=0):
    """PNG and JPEG files, grey and RGB, of several sizes."""
    rng = np.random.default_rng(seed)
    for kind in ("circle", "cross", "square"):
        for index in range(per_class):
            size = (12, 16, 20)[index % 3]
            pixels = shapes_image(kind, size, rng)
            image = Image.fromarray(pixels)
            if index % 2:
                image = Image.merge("RGB", (image, image, Image.fromarray(pixels // 2)))
            target = (folder / kind) if labelled else folder
            target.mkdir(parents=True, exist_ok=True)
            suffix = "png" if index % 4 < 2 else "jpg"
            image.save(target / f"{kind}_{index:02d}.{suffix}")


def test_a_folder_of_png_and_jpeg_files_fit_evaluate_predict(tmp_path, capsys):
    write_shapes(tmp_path / "train", per_class=8)
    write_shapes(tmp_path / "test", per_class=2, labelled=False, seed=1)
    fit = run(capsys, "fit", "--data", tmp_path / "train", "--image-size", "12x12",
              "--output", tmp_path / "shapes.zip", *QUICK)
    assert fit["n_train"] == 24 and fit["image_shape"] == [12, 12, 3]
    assert fit["class_names"] == ["circle", "cross", "square"]

    evaluation = run(capsys, "evaluate", tmp_path / "shapes.zip", "--data", tmp_path / "train",
                     "--plots", tmp_path / "figures")
    assert evaluation["class_names"] == ["circle", "cross", "square"]
    assert [row["name"] for row in evaluation["per_class"]] == ["circle", "cross", "square"]
    assert [row["n_samples"] for row in evaluation["per_class"]] == [8, 8, 8]
    assert (tmp_path / "figures" / "confusion_matrix.png").is_file()
    assert main(["evaluate", str(tmp_path / "shapes.zip"), "--data", str(tmp_path / "train")]) == 0
    table = capsys.readouterr().out.split("per class:")[1]
    for name in ("circle", "cross", "square"):
        assert f"\n{name} " in table
    assert "T-shirt" not in table

    # The test folder's images have three sizes: predict reads them at the model's size.
    out = run(capsys, "predict", tmp_path / "shapes.zip", "--data", tmp_path / "test",
              "--id-column", "file", "--label-column", "shape", "--output", tmp_path / "sub.csv")
    assert out["columns"] == ["file", "shape"]
    header, rows = read_csv(tmp_path / "sub.csv")
    assert header == ["file", "shape"]
    assert [row[0] for row in rows] == sorted(p.name for p in (tmp_path / "test").iterdir())
    assert {row[1] for row in rows} <= {"circle", "cross", "square"}


def digit_images(n, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    X = rng.integers(0, 60, size=(n, 28, 28, 1))
    for label in range(4):  # a bright band whose place is the digit
        X[y == label, 7 * label:7 * label + 7] += 180
    return X.astype(np.uint8), y


def test_a_digit_recognizer_csv_gives_a_submission_counted_from_one(tmp_path, capsys):
    X, y = digit_images(40)
    save_csv(tmp_path / "train.csv", X, y, first_pixel=0)  # label,pixel0..pixel783
    save_csv(tmp_path / "test.csv", X[:7], first_pixel=0)  # no labels
    assert (tmp_path / "test.csv").read_text().startswith("pixel0,pixel1,")
    fit = run(capsys, "fit", "--data", tmp_path / "train.csv", "--output", tmp_path / "d.zip",
              *QUICK)
    assert fit["class_names"] == ["0", "1", "2", "3"]  # the labels, not clothing names
    # A mirrored digit is another digit: no flips for data other than Fashion-MNIST.
    assert not any(member.horizontal_flip for member in load(tmp_path / "d.zip").members_)
    evaluation = run(capsys, "evaluate", tmp_path / "d.zip", "--data", tmp_path / "train.csv")
    assert [row["name"] for row in evaluation["per_class"]] == ["0", "1", "2", "3"]
    run(capsys, "predict", tmp_path / "d.zip", "--data", tmp_path / "test.csv",
        "--id-column", "ImageId", "--label-column", "Label", "--id-start", "1",
        "--output", tmp_path / "submission.csv")
    header, rows = read_csv(tmp_path / "submission.csv")
    assert header == ["ImageId", "Label"]
    assert [int(row[0]) for row in rows] == list(range(1, 8))
    assert {int(row[1]) for row in rows} <= {0, 1, 2, 3}


def test_a_csv_with_an_id_column_keeps_its_ids_in_the_predictions(tmp_path, capsys):
    X, y = digit_images(40, seed=1)
    ids = np.arange(1000, 1040)
    save_csv(tmp_path / "train.csv", X, y, ids=ids, first_pixel=0)  # id,label,pixel0..
    run(capsys, "fit", "--data", tmp_path / "train.csv", "--output", tmp_path / "k.zip", *QUICK)
    run(capsys, "evaluate", tmp_path / "k.zip", "--data", tmp_path / "train.csv")
    out = run(capsys, "predict", tmp_path / "k.zip", "--data", tmp_path / "train.csv", "--proba",
              "--output", tmp_path / "proba.csv")
    assert out["columns"] == ["id", "0", "1", "2", "3"]
    header, rows = read_csv(tmp_path / "proba.csv")
    assert header == ["id", "0", "1", "2", "3"]
    assert [int(row[0]) for row in rows] == ids.tolist()
    np.testing.assert_allclose([sum(map(float, row[1:])) for row in rows], 1.0, atol=1e-6)


def test_a_colour_npz_with_class_names(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = rng.integers(0, 100, size=(60, 32, 32, 3))
    X[np.arange(60), :, :, y] += 150  # the class is the brightest channel
    np.savez(tmp_path / "colour.npz", X_train=X[:45].astype(np.uint8), y_train=y[:45],
             X_test=X[45:].astype(np.uint8), y_test=y[45:],
             class_names=np.array(["red", "green", "blue"]))
    fit = run(capsys, "fit", "--data", tmp_path / "colour.npz", "--output", tmp_path / "c.zip",
              *QUICK)
    assert fit["image_shape"] == [32, 32, 3] and fit["test_report"]["n_samples"] == 15
    assert fit["class_names"] == ["red", "green", "blue"]
    evaluation = run(capsys, "evaluate", tmp_path / "c.zip", "--data", tmp_path / "colour.npz")
    assert [row["name"] for row in evaluation["per_class"]] == ["red", "green", "blue"]
    run(capsys, "predict", tmp_path / "c.zip", "--data", tmp_path / "colour.npz",
        "--output", tmp_path / "labels.csv")
    header, rows = read_csv(tmp_path / "labels.csv")
    assert header == ["id", "label"] and len(rows) == 15
    assert [int(row[0]) for row in rows] == list(range(15))


@pytest.mark.parametrize("args, fragments", [
    (["fit", "--data", "{tmp}/train.csv", "--image-size", "8x8", "-o", "{tmp}/m.zip"],
     ["--image-size does not apply to", "only folders are resized"]),
    (["fit", "--data", "{tmp}/train.csv", "--color-mode", "rgb", "-o", "{tmp}/m.zip"],
     ["--color-mode applies to folders of images"]),
    (["fit", "--data", "{tmp}/train.csv", "--image-shape", "32x32x3", "-o", "{tmp}/m.zip"],
     ["train.csv has 784 pixel values per image, but the image shape 32x32x3 needs 3072"]),
], ids=["image-size-for-csv", "colour-mode-for-csv", "shape-mismatch"])
def test_reading_options_that_do_not_fit_the_data_are_one_line_errors(tmp_path, capsys, args,
                                                                      fragments):
    X, y = digit_images(8)
    save_csv(tmp_path / "train.csv", X, y)
    code = main([arg.format(tmp=tmp_path) for arg in args])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    assert not (tmp_path / "m.zip").exists()


def test_cv_and_tune_take_a_folder_of_colour_images(tmp_path, capsys):
    write_shapes(tmp_path / "train", per_class=6)
    out = run(capsys, "cv", "--data", tmp_path / "train", "--image-size", "12", "--folds", "2",
              "--out-dir", tmp_path / "oof", *QUICK)
    assert out["n_train"] == 18
    header, rows = read_csv(tmp_path / "oof" / "oof_ensemble.csv")
    assert header == ["id", "label", "circle", "cross", "square"]
    assert {row[1] for row in rows} == {"circle", "cross", "square"}
    out = run(capsys, "tune", "--data", tmp_path / "train", "--image-size", "12x12",
              "--member", "plain", "--trials", "1", "--epochs", "1", "--storage",
              tmp_path / "tune.db", "--output", tmp_path / "best.zip")
    assert out["n_trials"] == 1

    assert load(tmp_path / "best.zip").class_names_ == ("circle", "cross", "square")
