"""The README's "Your own images" examples run as written, on files made the way it describes.

The command lines go through ``ensemble.cli.main`` in this process (the
console script calls the same function), sparing a TensorFlow start-up each.
"""

import re
import shlex
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ensemble.cli import main
from ensemble.datasets import save_csv
from helpers import read_csv

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



@pytest.mark.slow
@pytest.mark.eager  # two-epoch fits on 20 images: 21 s instead of 35 s
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
    photos = sorted(p.name for p in (user_files / "photos/test").iterdir())
    assert [row[0] for row in rows] == photos
    assert {row[1] for row in rows} <= {"cat", "dog"}
    header, rows = read_csv(user_files / "digits.csv")
    assert header == ["ImageId", "Label"] and [int(row[0]) for row in rows] == list(range(1, 11))

    (python,) = code_blocks(text, "python")
    exec(compile(python, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "(20, 32, 32, 3) ('cat', 'dog')" in out and "['cat' 'dog']" in out


def write_blend_files(folder, seed=0):
    """The files the "Blending prediction files" section starts from, in the layout cv and
    predict --proba write (the commands that make them from members are run end to end in
    tests/ensemble/cli/test_blend.py)."""
    from ensemble.prediction_files.files import write_probabilities
    from helpers import synthetic_predictions

    y, oof, test = synthetic_predictions(n_classes=10, strengths=(2.0, 1.5, 1.2, 1.0), seed=seed)
    (folder / "oof").mkdir()
    classes = np.arange(10)
    for (name, oof_path, test_path) in [("model0", "oof/oof_plain.csv", "test_plain.csv"),
                                        ("model1", "oof/oof_separable.csv", "test_separable.csv"),
                                        ("model2", "oof/oof_residual.csv", "test_residual.csv"),
                                        ("model3", "oof_logistic.csv", "test_logistic.csv")]:
        write_probabilities(folder / oof_path, np.arange(len(y)), oof[name], classes, labels=y)
        write_probabilities(folder / test_path, np.arange(len(test[name])), test[name], classes)


def commands(block):
    """A shell block's commands, continuation lines joined."""
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_blending_examples_run_as_written(tmp_path, monkeypatch, capsys):
    text = section("Blending prediction files")
    lines = [line for block in code_blocks(text, "sh") for line in commands(block)]
    blends = [line for line in lines if line.startswith("keras-ensembles blend ")]
    assert len(blends) == 2
    assert {line.split()[1] for line in lines} == {"cv", "fit", "predict", "blend"}
    write_blend_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    outputs = []
    for line in blends:
        code = main(shlex.split(line)[1:])
        captured = capsys.readouterr()
        assert code == 0, f"{line}\n{captured.err}"
        outputs.append(captured.out)
    assert "blend (log_loss, 5-fold CV)" in outputs[0] and "Correlation" in outputs[0]
    header, rows = read_csv(tmp_path / "submission.csv")
    assert header == ["id", "label"] and len(rows) == 100
    header, rows = read_csv(tmp_path / "digits.csv")
    assert header == ["ImageId", "Label"] and [int(row[0]) for row in rows] == list(range(1, 101))

    write_snippet, notebook_snippet = code_blocks(text, "python")
    namespace = {}
    exec(compile(notebook_snippet, "README.md", "exec"), namespace)
    assert list(namespace["blender"].models_) == ["plain", "separable", "residual", "logistic"]
    assert len(namespace["labels"]) == 100 and namespace["arrays"].weights_.shape == (2,)
    # The snippet for a model from elsewhere, with such a model.
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X_train, y_train, X_test = rng.normal(size=(40, 3)), np.arange(40) % 2, rng.normal(size=(5, 3))
    model = LogisticRegression().fit(X_train, y_train)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    exec(compile(write_snippet, "README.md", "exec"), dict(
        train_ids=np.arange(40), oof_proba=model.predict_proba(X_train), model=model,
        y_train=y_train, test_ids=np.arange(5), X_test=X_test))
    header, rows = read_csv(tmp_path / "elsewhere" / "oof_logistic.csv")
    assert header == ["id", "label", "0", "1"] and len(rows) == 40
    assert len(read_csv(tmp_path / "elsewhere" / "test_logistic.csv")[1]) == 5


# --- the first screen, the quickstart, and every import the README shows ---------


def opening(lines=45):
    return "\n".join(README.read_text().splitlines()[:lines])


def test_the_first_screen_says_what_it_is_and_shows_the_commands_and_a_quickstart():
    first = opening()
    assert "scikit-learn" in first and "Keras" in first and "ensemble" in first
    shell, = code_blocks(first, "sh")
    assert "make demo" in shell and "make test" in shell
    quickstart, = code_blocks(first, "python")
    assert "fit(" in quickstart and "report(" in quickstart
    # Timings and their history live in BENCHMARKS.md, not on the first screen.
    assert not re.search(r"\d\s*(s|seconds|min|minutes)\b", re.sub(r"```.*?```", "", first,
                                                                   flags=re.S)), first


def imports_in(code):
    """The import statements of a block of Python code, each as its own source line."""
    import ast
    import textwrap

    tree = ast.parse(textwrap.dedent(code))
    return [ast.unparse(node) for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)]


def test_every_project_import_the_readme_and_docs_show_works():
    docs = Path(__file__).resolve().parent.parent / "docs"
    blocks = code_blocks(README.read_text(), "python")
    for page in sorted(docs.glob("*.rst")):
        blocks += [line.strip().removeprefix(">>> ") for line in page.read_text().splitlines()
                   if re.match(r"\s*(>>> )?(from|import) (ensemble|members)\b", line)]
    statements = sorted({line for block in blocks for line in imports_in(block)
                         if re.match(r"(from|import) (ensemble|members)\b", line)})
    assert len(statements) > 10
    for statement in statements:
        exec(statement, {})


@pytest.mark.slow
@pytest.mark.eager  # three-epoch fits of three members on 600 images
def test_the_quickstart_and_the_uncertainty_and_export_examples_run_as_written(
        monkeypatch, capsys, tmp_path):
    import ensemble.datasets

    full = ensemble.datasets.load_fashion_mnist

    def smaller_sample(name, **kwargs):
        (X_train, y_train), (X_test, y_test), names = full(name, **kwargs)
        return (X_train[:600], y_train[:600]), (X_test[:200], y_test[:200]), names

    monkeypatch.setattr(ensemble.datasets, "load_fashion_mnist", smaller_sample)
    quickstart, = code_blocks(opening(), "python")
    example = code_blocks(section("What only an ensemble knows: disagreement, abstention, shift"),
                          "python")[0]
    namespace = {}
    exec(compile(quickstart, "README.md", "exec"), namespace)
    exec(compile(example, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "plain" in out and "residual" in out and "gaussian_noise" in out
    unsure, model = namespace["unsure"], namespace["model"]
    assert unsure.proba.shape == (200, 10) and np.all(unsure.mutual_information >= 0)
    assert namespace["to_a_person"].dtype == bool and model.abstention_["coverage"] >= 0.9
    # The AUROC printed is the one of the model's own per-row disagreement.
    from ensemble.evaluation.uncertainty import ood_scores

    X_test = namespace["X_test"]
    inside, outside = (model.predict_uncertainty(X).mutual_information
                       for X in (X_test, 255 - X_test))
    assert namespace["unfamiliar"]["mutual information"].auroc == pytest.approx(
        ood_scores(inside, outside).auroc)

    monkeypatch.chdir(tmp_path)
    exporting = code_blocks(section("One model for serving: `ensemble.export`"), "python")[0]
    exec(compile(exporting, "README.md", "exec"), namespace)
    np.testing.assert_allclose(namespace["served"].predict(X_test[:50], verbose=0),
                               model.predict_proba(X_test[:50]), atol=1e-5)
    assert {p.name for p in tmp_path.iterdir()} >= {"model.keras", "served", "model.tflite"}

    cascading = code_blocks(section("One model for serving: `ensemble.export`"), "python")[1]
    namespace.update(X_val=X_test[:100], y_val=namespace["y_test"][:100])
    exec(compile(cascading, "README.md", "exec"), namespace)
    cascade, stages = namespace["cascade"], namespace["stages"]
    assert cascade.fit_scores_["accuracy"] >= cascade.fit_scores_["ensemble_accuracy"] - 0.001
    assert stages.shape == (200,) and set(stages.tolist()) <= {0, 1}
    assert model.cascade_ == cascade.rule_

    distilling = code_blocks(section("One model for serving: `ensemble.export`"), "python")[2]
    exec(compile(distilling, "README.md", "exec"), namespace)
    student = namespace["student"]
    assert type(student).__name__ in {"PlainCNNClassifier", "SeparableCNNClassifier",
                                      "ResidualNetClassifier"}
    assert student.predict_proba(X_test).shape == (200, 10)


@pytest.mark.slow
def test_the_time_budget_example_runs_as_written_with_a_short_budget(capsys):
    """The README's budget example, its 30 minutes made 25 s, on 600 sample images."""
    from ensemble.datasets import load_fashion_mnist

    block, = code_blocks(section("Give it a time budget"), "python")
    assert "time_limit=30 * 60" in block
    (X_train, y_train), _, _ = load_fashion_mnist("sample")
    namespace = {"X_train": X_train[:600], "y_train": y_train[:600]}
    start = time.monotonic()
    exec(compile(block.replace("time_limit=30 * 60", "time_limit=25"), "README.md", "exec"),
         namespace)
    assert time.monotonic() - start <= 25 * 1.1
    plan = namespace["budgeted"].budget_plan_
    out = capsys.readouterr().out
    assert plan["chosen"] in out and plan["why"] in out
    assert str(list(namespace["budgeted"].named_members_)) in out
