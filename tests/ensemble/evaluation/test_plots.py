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


# --- shift and abstention: no network, so that these stay fast ------------------------------


class _QuadrantEnsemble:
    """A NumPy stand-in for a fitted combiner: class = brightest quadrant (as tiny_images).

    Its two members are softmaxes of the quadrants' mean brightness at different
    temperatures; the ensemble averages them. Enough for evaluate_under_shift's real rows.
    """

    classes_ = np.arange(4)
    named_members_ = {"sharp": None, "soft": None}

    @staticmethod
    def _member(images, temperature):
        x = np.asarray(images, dtype=float)[..., 0] / 255
        quadrants = np.stack([x[:, :4, :4].mean((1, 2)), x[:, :4, 4:].mean((1, 2)),
                              x[:, 4:, :4].mean((1, 2)), x[:, 4:, 4:].mean((1, 2))], axis=1)
        logits = quadrants / temperature
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def scored_probas(self, images):
        members = [self._member(images, 0.05), self._member(images, 0.3)]
        return members, None, (members[0] + members[1]) / 2


@pytest.fixture(scope="module")
def shift_report(tiny_images):
    from ensemble.evaluation.shift import evaluate_under_shift

    X, y = tiny_images
    return evaluate_under_shift(_QuadrantEnsemble(), X[::2], y[::2],
                                corruptions=["contrast", "gaussian_noise"], severities=(1, 3, 5),
                                n_resamples=20)


def test_shift_plot_has_a_panel_per_metric_and_a_line_per_model(shift_report):
    metric_names = ("accuracy", "log_loss", "ece")
    figure = plots.plot_shift(shift_report, metric_names=metric_names)
    assert len(figure.axes) == 3
    assert [ax.get_title() for ax in figure.axes] == [plots._METRIC_TITLES[m] for m in metric_names]
    for ax, metric in zip(figure.axes, metric_names, strict=True):
        lines = {line.get_label(): line for line in ax.lines}
        assert len(ax.lines) == 3 and set(lines) == {"ensemble", "sharp", "soft"}
        for model, line in lines.items():
            assert line.get_xdata().tolist() == [0, 1, 3, 5]
            y = line.get_ydata()
            assert y[0] == pytest.approx(shift_report.clean[model][metric])
            # Each severity averages both corruptions; their mean is the report's average.
            assert np.mean(y[1:]) == pytest.approx(shift_report.averages[model][metric])
            at_5 = [row[metric] for row in shift_report.rows
                    if row["model"] == model and row["severity"] == 5]
            assert len(at_5) == 2 and y[3] == pytest.approx(np.mean(at_5))
        members_width = max(lines[name].get_linewidth() for name in ("sharp", "soft"))
        assert lines["ensemble"].get_linewidth() > members_width
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert sorted(legend) == ["ensemble", "sharp", "soft"]
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["clean", "1", "3", "5"]
    # The stand-in's argmax survives contrast and noise, but its log loss grows with them:
    # the lines show the report's data, not a flat placeholder.
    log_loss = {line.get_label(): line.get_ydata() for line in figure.axes[1].lines}
    assert np.all(np.diff(log_loss["soft"]) > 0)


def test_shift_plot_draws_one_metric_by_default_per_panel(shift_report):
    figure = plots.plot_shift(shift_report)
    assert [ax.get_ylabel() for ax in figure.axes] == ["accuracy", "ECE"]


def test_shift_plot_rejects_unknown_metrics_and_other_objects(shift_report):
    with pytest.raises(ValueError, match=r"Unknown metric\(s\) \['brier'\].*'log_loss'"):
        plots.plot_shift(shift_report, metric_names=("accuracy", "brier"))
    with pytest.raises(TypeError, match="needs a ShiftReport.*got dict"):
        plots.plot_shift(shift_report.to_dict())


@pytest.mark.parametrize("plot", ["shift", "accuracy_coverage"])
def test_new_plots_write_a_png_and_replace_a_file_only_with_overwrite(shift_report, tmp_path,
                                                                      plot):
    y, probas = _abstention_data()
    draw = {"shift": lambda **kw: plots.plot_shift(shift_report, **kw),
            "accuracy_coverage": lambda **kw: plots.plot_accuracy_coverage(y, probas, [0, 1, 2],
                                                                           **kw)}[plot]
    path = tmp_path / "sub" / f"{plot}.png"
    assert isinstance(draw(path=path), Figure)
    assert path.read_bytes().startswith(PNG_SIGNATURE) and path.stat().st_size > 5_000
    path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        draw(path=path)
    assert path.read_bytes() == b"keep me"
    draw(path=path, overwrite=True)
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert not list(path.parent.glob(".*.tmp"))


def _abstention_data():
    """Three classes, 120 rows; two members and their average, each wrong on some rows."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=120)
    probas = {}
    for name, noise in (("a", 1.5), ("b", 2.5)):
        logits = np.eye(3)[y] * 2 + rng.normal(scale=noise, size=(120, 3))
        exp = np.exp(logits)
        probas[name] = exp / exp.sum(axis=1, keepdims=True)
    probas["ensemble"] = (probas["a"] + probas["b"]) / 2
    return y, probas


def test_accuracy_coverage_legend_gives_each_models_aurc():
    from ensemble.evaluation.uncertainty import accuracy_coverage_curve, aurc

    y, probas = _abstention_data()
    # The members' disagreement for the ensemble; the others by 1 - max probability.
    disagreement = np.abs(probas["a"] - probas["b"]).sum(axis=1)
    figure = plots.plot_accuracy_coverage(y, probas, [0, 1, 2],
                                          uncertainties={"ensemble": disagreement})
    ax = figure.axes[0]
    assert len(figure.axes) == 1 and len(ax.lines) == 3
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    expected = {name: aurc(y, proba, [0, 1, 2]) for name, proba in probas.items()}
    expected["ensemble"] = aurc(y, probas["ensemble"], [0, 1, 2], uncertainty=disagreement)
    assert expected["ensemble"] != pytest.approx(aurc(y, probas["ensemble"], [0, 1, 2]))
    assert legend == [f"{name} (AURC {value:.4f})" for name, value in expected.items()]
    curve = accuracy_coverage_curve(y, probas["ensemble"], [0, 1, 2], uncertainty=disagreement)
    np.testing.assert_allclose(ax.lines[2].get_xdata(), curve.coverage)
    np.testing.assert_allclose(ax.lines[2].get_ydata(), curve.accuracy)
    assert ax.lines[2].get_linewidth() > ax.lines[0].get_linewidth()


def test_accuracy_coverage_takes_one_model_and_rejects_unknown_names():
    from ensemble.evaluation.uncertainty import aurc

    y, probas = _abstention_data()
    score = -probas["a"].max(axis=1)
    figure = plots.plot_accuracy_coverage(y, probas["a"], [0, 1, 2], uncertainties=score)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == [f"model (AURC {aurc(y, probas['a'], [0, 1, 2], uncertainty=score):.4f})"]
    with pytest.raises(ValueError, match=r"\['c'\] that probas does not have"):
        plots.plot_accuracy_coverage(y, probas, [0, 1, 2], uncertainties={"c": score})
    with pytest.raises(TypeError, match="dict of model name to scores"):
        plots.plot_accuracy_coverage(y, probas, [0, 1, 2], uncertainties=score)
