"""ensemble.evaluation.plots: every figure is written as a real PNG, never over a file silently."""

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from ensemble import report
from ensemble.datasets import CLASS_NAMES
from ensemble.evaluation import plots
from ensemble.evaluation.metrics import expected_calibration_error
from helpers import tiny_combiners

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fitted(tiny_images):
    X, y = tiny_images
    weighted, stacking = tiny_combiners()
    return weighted.fit(X, y), stacking.fit(X, y), X, y


def _all_figures(fitted, folder):
    weighted, _, X, y = fitted
    proba = weighted.predict_proba(X)
    probas = {name: member.predict_proba(X) for name, member in weighted.named_members_.items()}
    probas["ensemble"] = proba
    return {
        "weights": lambda path: plots.plot_weights(weighted, path=path),
        "metrics": lambda path: plots.plot_metrics(report(weighted, X, y), path=path),
        "confusion": lambda path: plots.plot_confusion_matrix(
            y, weighted.predict(X), class_names=CLASS_NAMES[:4], path=path),
        "reliability": lambda path: plots.plot_reliability(y, probas, weighted.classes_, path=path),
        "learning_curves": lambda path: plots.plot_learning_curves(weighted, path=path),
    }


@pytest.mark.parametrize("name", ["weights", "metrics", "confusion", "reliability",
                                  "learning_curves"])
def test_each_plot_returns_a_figure_and_writes_a_png(fitted, tmp_path, name):
    path = tmp_path / "sub" / f"{name}.png"
    figure = _all_figures(fitted, tmp_path)[name](path)
    assert isinstance(figure, Figure)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000
    assert figure.axes[0].get_title(), "every figure has a title"
    assert not list(path.parent.glob(".*.tmp")), "no temporary file left behind"


def test_an_existing_file_is_replaced_only_with_overwrite(fitted, tmp_path):
    weighted = fitted[0]
    path = tmp_path / "weights.png"
    path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        plots.plot_weights(weighted, path=path)
    assert path.read_bytes() == b"keep me"
    plots.plot_weights(weighted, path=path, overwrite=True)
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_weights_plot_shows_the_learned_weights(fitted):
    weighted = fitted[0]
    bars = plots.plot_weights(weighted).axes[0].patches
    np.testing.assert_allclose([bar.get_height() for bar in bars], weighted.weights_)


def test_weights_plot_refuses_a_combiner_without_weights(fitted):
    with pytest.raises(TypeError, match="weights_"):
        plots.plot_weights(fitted[1])


def test_reliability_legend_gives_each_models_ece(fitted):
    weighted, _, X, y = fitted
    proba = weighted.predict_proba(X)
    figure = plots.plot_reliability(y, {"ensemble": proba}, weighted.classes_, n_bins=10)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    ece = expected_calibration_error(y, proba, weighted.classes_, n_bins=10)
    assert f"ensemble (ECE {ece:.4f})" in legend


def test_reliability_points_are_bin_means():
    # Two bins' worth of samples with known confidence and accuracy.
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4], [0.6, 0.4]])
    line = plots.plot_reliability(y, proba, [0, 1], n_bins=10).axes[0].lines[1]
    np.testing.assert_allclose(line.get_xdata(), [0.6, 0.95])
    np.testing.assert_allclose(line.get_ydata(), [0.0, 1.0])


def test_confusion_matrix_counts_and_names():
    figure = plots.plot_confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], class_names=["cat", "dog"],
                                         normalize=False)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "1", "2"]
    assert "accuracy 0.7500" in ax.get_title()
    with pytest.raises(ValueError, match="class_names has 3 entries for 2 classes"):
        plots.plot_confusion_matrix([0, 1], [0, 1], class_names=["a", "b", "c"])


def test_learning_curves_take_a_history_dict_and_show_the_learning_rate():
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "learning_rate": [1e-3, 5e-4]}
    figure = plots.plot_learning_curves(history)
    assert [ax.get_title() for ax in figure.axes] == ["loss per epoch", "learning rate per epoch"]
    with pytest.raises(TypeError, match="history_"):
        plots.plot_learning_curves(42)


def test_metrics_plot_rejects_unknown_metric(fitted):
    weighted, _, X, y = fitted
    with pytest.raises(ValueError, match="Unknown metric"):
        plots.plot_metrics(report(weighted, X, y), metric_names=["f1"])


def test_plots_need_neither_pyplot_nor_tensorflow():
    code = ("import sys, ensemble.evaluation.plots; "
            "print('matplotlib.pyplot' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_learning_rate_that_decays_to_zero_is_drawn_on_a_linear_scale(recwarn):
    from ensemble.evaluation.plots import plot_learning_curves

    decayed = plot_learning_curves({"loss": [1.0, 0.5], "learning_rate": [1e-3, 0.0]})
    halved = plot_learning_curves({"loss": [1.0, 0.5], "learning_rate": [1e-3, 5e-4]})
    assert decayed.axes[-1].get_yscale() == "linear"
    assert halved.axes[-1].get_yscale() == "log"
    assert not [w for w in recwarn if "log-scaled" in str(w.message)]
