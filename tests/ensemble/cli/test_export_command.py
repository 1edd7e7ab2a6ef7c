"""keras-ensembles export: one model file or folder from a saved ensemble."""

import keras
import numpy as np
import pytest

import ensemble.export.layers  # noqa: F401  (registers the layers a .keras export holds)
from ensemble import load
from ensemble.datasets import load_fashion_mnist
from helpers import QUICK_TRAINING, assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A quick two-member ensemble fitted by the command line, and 20 sample test images."""
    folder = tmp_path_factory.mktemp("export")
    run_cli("fit", "--members", "plain,separable", "--output", "model.zip", *QUICK_TRAINING,
            cwd=folder)
    (_, _), (X_test, _), _ = load_fashion_mnist("sample")
    return folder, X_test[:20]


def test_a_keras_export_predicts_what_the_archive_does(saved):
    folder, X = saved
    result = run_cli("export", "model.zip", "--output", "model.keras", "--json", cwd=folder)
    assert '"format": "keras"' in result.stdout
    exported = keras.saving.load_model(folder / "model.keras", safe_mode=True)
    np.testing.assert_allclose(exported.predict(X, verbose=0),
                               load(folder / "model.zip").predict_proba(X), atol=1e-5)


def test_flat_input_exports_a_model_of_csv_rows(saved):
    folder, X = saved
    result = run_cli("export", "model.zip", "--output", "flat.keras", "--flat-input", "--json",
                     cwd=folder)
    assert '"flat_input": true' in result.stdout
    exported = keras.saving.load_model(folder / "flat.keras", safe_mode=True)
    assert exported.input_shape == (None, 784)
    np.testing.assert_allclose(exported.predict(X.reshape(len(X), -1), verbose=0),
                               load(folder / "model.zip").predict_proba(X), atol=1e-5)


def test_a_saved_model_folder_is_kept_unless_overwrite(saved):
    folder, _ = saved
    run_cli("export", "model.zip", "--format", "savedmodel", "--output", "served", cwd=folder)
    assert (folder / "served" / "saved_model.pb").is_file()
    again = run_cli("export", "model.zip", "--format", "savedmodel", "--output", "served",
                    cwd=folder, check=False)
    assert_one_line_error(again, "served already exists", "--overwrite")
    run_cli("export", "model.zip", "--format", "savedmodel", "--output", "served",
            "--overwrite", cwd=folder)
    assert (folder / "served" / "saved_model.pb").is_file()


@pytest.mark.parametrize("args, fragments", [
    (["missing.zip", "--output", "m.keras"], ["missing.zip"]),
    (["model.zip", "--output", "m.h5"], ["is a .keras file", "m.h5"]),
    (["model.zip", "--output", "nowhere/m.keras"], ["nowhere", "does not exist"]),
])
def test_bad_exports_are_one_line_errors_and_write_nothing(saved, args, fragments):
    folder, _ = saved
    before = sorted(p.name for p in folder.iterdir())
    assert_one_line_error(run_cli("export", *args, cwd=folder, check=False), *fragments)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_an_unknown_format_is_a_usage_error(saved):
    folder, _ = saved
    result = run_cli("export", "model.zip", "--format", "onnx", "--output", "m.onnx",
                     cwd=folder, check=False)
    assert result.returncode == 2 and "invalid choice" in result.stderr
