"""The README's "Your own images" examples run as written, on files made the way it describes.

The command lines go through ``ensemble.cli.main`` in this process (the
console script calls the same function), sparing a TensorFlow start-up each.
"""

import csv
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ensemble.cli import main
from ensemble.datasets import save_csv

README = Path(__file__).resolve().parent.parent / "README.md"


def section(title):
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def code_blocks(text, language):
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def write_photos(folder, per_class, labelled, seed):
    """Cats (bright left half) and dogs (bright right half): PNG and JPEG, grey and RGB,
    several sizes."""
    rng = np.random.default_rng(seed)
    for kind in ("cat", "dog"):
        for index in range(per_class):
            side = (24, 36, 40)[index % 3]
            pixels = rng.integers(0, 80, size=(side, side, 3), dtype=np.uint8)
            half = slice(0, side // 2) if kind == "cat" else slice(side // 2, side)
            pixels[:, half] += 150
            image = Image.fromarray(pixels)
            if index % 2:
                image = image.convert("L")
            target = folder / kind if labelled else folder
            target.mkdir(parents=True, exist_ok=True)
            image.save(target / f"{kind}{index:03d}.{'png' if index % 4 < 2 else 'jpg'}")


@pytest.fixture
def user_files(tmp_path):
    write_photos(tmp_path / "photos" / "train", 10, labelled=True, seed=0)
    write_photos(tmp_path / "photos" / "valid", 3, labelled=True, seed=1)
    write_photos(tmp_path / "photos" / "test", 3, labelled=False, seed=2)
    rng = np.random.default_rng(3)
    y = np.arange(40) % 4
    X = rng.integers(0, 60, size=(40, 28, 28), dtype=np.uint8)
    for label in range(4):
        X[y == label, 7 * label:7 * label + 7] += 180
    save_csv(tmp_path / "train.csv", X, y, first_pixel=0)
    save_csv(tmp_path / "test.csv", X[:10], first_pixel=0)
    return tmp_path


def read_csv(path):
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    return rows[0], rows[1:]


@pytest.mark.slow
def test_the_own_images_examples_run_as_written(user_files, monkeypatch, capsys):
    text = section("Your own images")
    commands = [line for block in code_blocks(text, "sh") for line in block.splitlines()
                if line.strip()]
    assert commands and all(line.startswith("keras-ensembles ") for line in commands)
    monkeypatch.chdir(user_files)
    outputs = {}
    for line in commands:
        code = main(shlex.split(line)[1:])
        captured = capsys.readouterr()
        assert code == 0, f"{line}\n{captured.err}"
        outputs[line.split()[1] + " " + line.split()[2]] = captured.out

    per_class = outputs["evaluate photos.zip"].split("per class:")[1]
    assert "\ncat " in per_class and "\ndog " in per_class
    header, rows = read_csv(user_files / "submission.csv")
    assert header == ["file", "label"]
    assert [row[0] for row in rows] == sorted(p.name for p in (user_files / "photos/test").iterdir())
    assert {row[1] for row in rows} <= {"cat", "dog"}
    header, rows = read_csv(user_files / "digits.csv")
    assert header == ["ImageId", "Label"] and [int(row[0]) for row in rows] == list(range(1, 11))

    (python,) = code_blocks(text, "python")
    exec(compile(python, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "(20, 32, 32, 3) ('cat', 'dog')" in out and "['cat' 'dog']" in out
