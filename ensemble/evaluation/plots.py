"""Figures for members and ensembles: weights, scores, confusion, calibration, training, shift.

Every function returns a :class:`matplotlib.figure.Figure` and, given
``path``, also writes it there as a PNG. Figures are built with the
object-oriented API on an Agg canvas, never through ``pyplot``: nothing here
needs a display, opens a window, or leaves figures alive in pyplot's global
registry. In a notebook, run ``%matplotlib inline`` once (as the bundled
notebooks do) so that IPython shows a returned figure as an image.
An existing ``path`` is only replaced when ``overwrite=True``.

This module never imports TensorFlow.
"""

import io
from itertools import cycle
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ensemble.evaluation import metrics
from ensemble.evaluation.shift import ENSEMBLE, ShiftReport
from ensemble.evaluation.uncertainty import accuracy_coverage_curve, aurc
from members.utils.files import atomic_write_bytes
from members.utils.labels import label_indices

__all__ = [
    "plot_accuracy_coverage",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_metrics",
    "plot_reliability",
    "plot_shift",
    "plot_weights",
]

_DPI = 110


def plot_weights(estimator, *, path=None, overwrite=False):
    """Bar chart of a weighted-average ensemble's blend weights, one bar per member.

    Parameters
    ----------
    estimator : fitted :class:`~ensemble.WeightedAverageEnsemble`
        Anything with ``weights_`` and ``named_members_``.
    path : str or os.PathLike, default=None
        Where to write the PNG; nothing is written when ``None``.
    overwrite : bool, default=False
        Replace an existing file at ``path``.

    Returns
    -------
    matplotlib.figure.Figure

    See Also
    --------
    ensemble.WeightedAverageEnsemble : Learns the weights.

    Examples
    --------
    Any object with ``weights_`` and ``named_members_`` will do; usually a
    fitted :class:`~ensemble.WeightedAverageEnsemble`:

    >>> from types import SimpleNamespace
    >>> from ensemble.evaluation.plots import plot_weights
    >>> fitted = SimpleNamespace(weights_=[0.7, 0.3], named_members_={"plain": 0, "residual": 1})
    >>> figure = plot_weights(fitted)
    >>> [float(bar.get_height()) for bar in figure.axes[0].patches]
    [0.7, 0.3]
    """
    if not hasattr(estimator, "weights_") or not hasattr(estimator, "named_members_"):
        raise TypeError(
            "plot_weights needs a fitted ensemble with weights_ (a WeightedAverageEnsemble); "
            f"got {type(estimator).__name__}."
        )
    names = list(estimator.named_members_)
    weights = np.asarray(estimator.weights_, dtype=float)
    figure, ax = _new_figure(width=max(4.0, 1.2 * len(names) + 2))
    bars = ax.bar(names, weights, color="tab:blue")
    ax.bar_label(bars, labels=[f"{w:.3f}" for w in weights], padding=2)
    ax.set_ylim(0, max(1.0, weights.max() * 1.15))
    ax.set_ylabel("blend weight")
    ax.set_xlabel("member")
    ax.set_title(f"Blend weights ({getattr(estimator, 'weighting', 'learned')})")
    return _finish(figure, path, overwrite)


def plot_metrics(report, *, metric_names=("accuracy", "log_loss"), path=None, overwrite=False):
    """Members beside the ensemble, one panel per metric.

    Parameters
    ----------
    report : :class:`~ensemble.Report`
        From :func:`ensemble.report`; its rows are the bars.
    metric_names : sequence of str, default=("accuracy", "log_loss")
        Keys of the report's rows: ``"accuracy"``, ``"log_loss"``,
        ``"brier"``, ``"ece"``.
    path : str or os.PathLike, default=None
    overwrite : bool, default=False

    Returns
    -------
    matplotlib.figure.Figure

    See Also
    --------
    ensemble.report : Scores the members and the ensemble.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble import Report
    >>> from ensemble.evaluation.metrics import score_all
    >>> from ensemble.evaluation.plots import plot_metrics
    >>> y, classes = [0, 1, 1], [0, 1]
    >>> rows = [dict(name=name, kind=kind, weight=None, **score_all(y, proba, classes))
    ...         for name, kind, proba in [
    ...             ("member", "member", np.array([[0.6, 0.4], [0.7, 0.3], [0.2, 0.8]])),
    ...             ("ensemble", "ensemble", np.array([[0.7, 0.3], [0.4, 0.6], [0.1, 0.9]]))]]
    >>> figure = plot_metrics(Report(rows=rows, n_samples=3))
    >>> len(figure.axes)
    2
    """
    rows = list(getattr(report, "rows", []))
    if not rows:
        raise ValueError("plot_metrics needs a Report with at least one row.")
    missing = [name for name in metric_names if name not in rows[0]]
    if missing:
        available = sorted(k for k in rows[0] if k not in ("name", "kind", "weight"))
        raise ValueError(f"Unknown metric(s) {missing}; a report row has {available}.")
    names = [row["name"] for row in rows]
    colors = ["tab:gray" if row["kind"] == "member" else "tab:orange" for row in rows]
    figure = Figure(figsize=(4.2 * len(metric_names), 3.6), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(metric_names), squeeze=False)[0]
    for ax, metric in zip(axes, metric_names, strict=True):
        values = np.array([row[metric] for row in rows], dtype=float)
        bars = ax.bar(names, values, color=colors)
        ax.bar_label(bars, labels=[f"{v:.4f}" for v in values], padding=2, fontsize=8)
        ax.set_title(_METRIC_TITLES.get(metric, metric))
        low, high = values.min(), values.max()
        margin = (high - low) * 0.6 or abs(high) * 0.05 or 0.05
        ax.set_ylim(max(0.0, low - margin), high + margin)
        ax.tick_params(axis="x", labelrotation=30)
    figure.suptitle(f"Members (grey) and ensemble (orange) on {report.n_samples} samples")
    return _finish(figure, path, overwrite)


_METRIC_TITLES = {
    "accuracy": "accuracy (higher is better)",
    "log_loss": "log loss (lower is better)",
    "brier": "Brier score (lower is better)",
    "ece": "expected calibration error (lower is better)",
}


def plot_confusion_matrix(y_true, y_pred, *, labels=None, class_names=None, normalize=True,
                          title="Confusion matrix", path=None, overwrite=False):
    """Confusion matrix, rows true classes, columns predictions.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, default=None
        The classes, in display order; by default the sorted union of both.
    class_names : sequence of str, default=None
        Display names of ``labels`` (e.g. Fashion-MNIST's ``"T-shirt/top"``).
    normalize : bool, default=True
        Show each row as fractions of the true class (the counts are in the
        cells either way when ``False``).
    title : str, default="Confusion matrix"
    path : str or os.PathLike, default=None
    overwrite : bool, default=False

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from ensemble.evaluation.plots import plot_confusion_matrix
    >>> figure = plot_confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2],
    ...                                class_names=["shirt", "shoe", "bag"])
    >>> figure.axes[0].get_title()
    'Confusion matrix (accuracy 0.7500)'
    """
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    names = _display_names(labels, class_names)
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalize else matrix
    size = max(4.5, 0.55 * len(labels) + 2.5)
    figure, ax = _new_figure(width=size + 1, height=size)
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    threshold = shown.max() / 2
    for i in range(len(labels)):
        for j in range(len(labels)):
            text = f"{shown[i, j]:.2f}" if normalize else str(matrix[i, j])
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > threshold else "black")
    ax.set_xticks(range(len(labels)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set_title(f"{title} (accuracy {accuracy:.4f})")
    return _finish(figure, path, overwrite)


def plot_reliability(y_true, probas, classes, *, n_bins=10, path=None, overwrite=False):
    """Reliability diagram: top-label confidence against accuracy, per model, clean or shifted.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    probas : ndarray of shape (n_samples, n_classes) or dict of str to ndarray
        One model's probabilities, or several by name (e.g. every member and
        the ensemble), columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
    n_bins : int, default=10
        Equal-width confidence bins.
    path : str or os.PathLike, default=None
    overwrite : bool, default=False

    Returns
    -------
    matplotlib.figure.Figure
        The legend gives each model's expected calibration error.

    See Also
    --------
    ensemble.evaluation.metrics.expected_calibration_error : The score the legend shows.
    plot_shift : Accuracy and ECE against the severity of a corruption.

    Notes
    -----
    Any probabilities will do, including a model's on shifted images: a
    corrupted copy of the test images (:func:`ensemble.datasets.corruptions.corrupt`)
    shows how far each member and the ensemble drift from the diagonal when
    the images are no longer like the training data. For example, on a
    fitted ensemble ``model``::

        shifted = corrupt(X_test, "contrast", 3, random_state=0)
        plot_reliability(y_test, {"ensemble": model.predict_proba(shifted)}, model.classes_)

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.plots import plot_reliability
    >>> rng = np.random.default_rng(0)
    >>> proba = rng.dirichlet([1, 1, 1], size=50)
    >>> y = rng.integers(0, 3, size=50)
    >>> figure = plot_reliability(y, {"model": proba}, classes=[0, 1, 2], n_bins=5)
    >>> len(figure.axes)
    1
    """
    if not isinstance(probas, dict):
        probas = {"model": probas}
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    figure, ax = _new_figure(width=5.2, height=4.8)
    ax.plot([0, 1], [0, 1], linestyle="--", color="black", linewidth=1, label="perfect calibration")
    for name, proba in probas.items():
        confidence, accuracy = _reliability_curve(y_true, proba, classes, edges)
        ece = metrics.expected_calibration_error(y_true, proba, classes, n_bins=n_bins)
        ax.plot(confidence, accuracy, marker="o", markersize=4, label=f"{name} (ECE {ece:.4f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (largest predicted probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability diagram ({n_bins} bins)")
    ax.legend(loc="upper left", fontsize=8)
    return _finish(figure, path, overwrite)


def _reliability_curve(y_true, proba, classes, edges):
    """Mean confidence and accuracy of the non-empty bins."""
    proba = metrics.normalize_probabilities(proba)
    y_idx = label_indices(np.asarray(y_true), np.asarray(classes))
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_idx
    bin_of = np.digitize(confidence, edges[1:-1], right=True)
    counts = np.bincount(bin_of, minlength=len(edges) - 1)
    mean_confidence = np.bincount(bin_of, weights=confidence, minlength=len(counts))
    mean_accuracy = np.bincount(bin_of, weights=correct, minlength=len(counts))
    filled = counts > 0
    return mean_confidence[filled] / counts[filled], mean_accuracy[filled] / counts[filled]


#: The metrics of a :class:`~ensemble.evaluation.shift.ShiftReport` row.
_SHIFT_METRICS = ("accuracy", "log_loss", "ece")

#: Members' line colours (C0, blue, is left out; the ensemble is black).
_MEMBER_COLORS = [f"C{i}" for i in range(1, 10)]


def plot_shift(shift_report, *, metric_names=("accuracy", "ece"), path=None, overwrite=False):
    """Each model's scores against the severity of the corruption, one panel per metric.

    Severity 0 is the clean images; at each severity 1 to 5 a model's score
    is averaged over every corruption the report measured. Each member gets
    a thin line, the ensemble a bold one: how fast a line falls is how
    fast the model degrades as the images drift from the training data.

    Parameters
    ----------
    shift_report : :class:`~ensemble.evaluation.shift.ShiftReport`
        From :func:`ensemble.evaluation.shift.evaluate_under_shift`.
    metric_names : sequence of str, default=("accuracy", "ece")
        Any of ``"accuracy"``, ``"log_loss"`` and ``"ece"``.
    path : str or os.PathLike, default=None
    overwrite : bool, default=False

    Returns
    -------
    matplotlib.figure.Figure
        One axes per metric, one line per model.

    Raises
    ------
    TypeError
        If ``shift_report`` is not a ShiftReport.
    ValueError
        If a metric name is unknown, or the report has no rows.

    See Also
    --------
    ensemble.evaluation.shift.evaluate_under_shift : Scores the models under shift.
    plot_reliability : Calibration on one shifted copy of the images.

    Examples
    --------
    A report from :func:`~ensemble.evaluation.shift.evaluate_under_shift`,
    here with its rows written out for one member and the ensemble:

    >>> from ensemble.evaluation.plots import plot_shift
    >>> from ensemble.evaluation.shift import ShiftReport
    >>> rows = [dict(corruption=c, severity=s, model=m, accuracy=a, log_loss=0.5, ece=0.1)
    ...         for c, s, m, a in [("clean", 0, "plain", 0.9), ("clean", 0, "ensemble", 0.92),
    ...                            ("contrast", 3, "plain", 0.6), ("contrast", 3, "ensemble", 0.7)]]
    >>> shift = ShiftReport(rows=rows, averages={}, clean={}, gains={}, n_images=100,
    ...                     corruptions=("contrast",), severities=(3,), n_resamples=0,
    ...                     confidence=0.95, models=["ensemble", "plain"])
    >>> figure = plot_shift(shift)
    >>> len(figure.axes), [len(ax.lines) for ax in figure.axes]
    (2, [2, 2])
    >>> figure.axes[0].lines[0].get_ydata().tolist()
    [0.92, 0.7]
    """
    if not isinstance(shift_report, ShiftReport):
        raise TypeError("plot_shift needs a ShiftReport (from evaluate_under_shift); "
                        f"got {type(shift_report).__name__}.")
    metric_names = (metric_names,) if isinstance(metric_names, str) else tuple(metric_names)
    unknown = [name for name in metric_names if name not in _SHIFT_METRICS]
    if unknown or not metric_names:
        raise ValueError(f"Unknown metric(s) {unknown}; plot_shift can draw "
                         f"{list(_SHIFT_METRICS)} (at least one).")
    rows = list(shift_report.rows)
    if not rows:
        raise ValueError("plot_shift needs a ShiftReport with at least one row.")
    models = list(shift_report.models) or list(dict.fromkeys(row["model"] for row in rows))
    severities = sorted({int(row["severity"]) for row in rows})

    figure = Figure(figsize=(4.6 * len(metric_names), 3.8), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(metric_names), squeeze=False)[0]
    colors = cycle(_MEMBER_COLORS)
    styles = {model: ({"color": "black", "linewidth": 2.8, "markersize": 6, "zorder": 3}
                      if model == ENSEMBLE else
                      {"color": next(colors), "linewidth": 1.3, "markersize": 4, "zorder": 2})
              for model in models}
    for ax, metric in zip(axes, metric_names, strict=True):
        for model in models:
            picked = [(severity, [row[metric] for row in rows
                                  if row["model"] == model and row["severity"] == severity])
                      for severity in severities]
            picked = [(severity, np.mean(values)) for severity, values in picked if values]
            x, y = zip(*picked, strict=True) if picked else ((), ())
            ax.plot(x, y, marker="o", label=model, **styles[model])
        ax.set_xticks(severities, ["clean" if s == 0 else str(s) for s in severities])
        ax.set_xlabel("severity (0 = clean)")
        ax.set_ylabel("ECE" if metric == "ece" else metric.replace("_", " "))
        ax.set_title(_METRIC_TITLES.get(metric, metric))
    axes[0].legend(fontsize=8)
    n_corruptions = len(shift_report.corruptions)
    figure.suptitle(f"Under shift: mean over {n_corruptions} corruption"
                    f"{'s' if n_corruptions != 1 else ''}, {shift_report.n_images} images")
    return _finish(figure, path, overwrite)


def plot_accuracy_coverage(y_true, probas, classes, *, uncertainties=None, path=None,
                           overwrite=False):
    """Accuracy on the rows answered against the share answered, per model.

    Rows are answered from the most certain and abstained on from the least
    certain (:func:`~ensemble.evaluation.uncertainty.accuracy_coverage_curve`):
    the higher a curve stays as coverage falls, the better the model knows
    which of its answers to trust. The legend gives each curve's area under
    the risk-coverage curve (:func:`~ensemble.evaluation.uncertainty.aurc`,
    lower is better).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    probas : ndarray of shape (n_samples, n_classes) or dict of str to ndarray
        One model's probabilities, or several by name (e.g. every member and
        the ensemble), columns in the order of ``classes``. A model named
        ``"ensemble"`` is drawn bolder.
    classes : array-like of shape (n_classes,) or None
        The labels of the columns; None means ``y_true`` holds column indices.
    uncertainties : dict of str to array-like of shape (n_samples,), default=None
        Per model (keys of ``probas``), the score to abstain by: larger
        means less certain (e.g. the ensemble's ``mutual_information`` or
        ``total`` from ``predict_uncertainty``). A model left out uses
        ``1 - max probability``. With a single array for ``probas``, one
        array of scores is accepted too.
    path : str or os.PathLike, default=None
    overwrite : bool, default=False

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one line per model.

    Raises
    ------
    TypeError
        If ``uncertainties`` is neither None nor a dict (with several models).
    ValueError
        If ``probas`` is empty, ``uncertainties`` names a model ``probas``
        does not have, or the arrays do not fit (see
        :func:`~ensemble.evaluation.uncertainty.accuracy_coverage_curve`).

    See Also
    --------
    ensemble.evaluation.uncertainty.accuracy_coverage_curve : The curve drawn.
    ensemble.evaluation.uncertainty.aurc : The area the legend gives.

    Examples
    --------
    >>> import numpy as np
    >>> from ensemble.evaluation.plots import plot_accuracy_coverage
    >>> proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]])
    >>> figure = plot_accuracy_coverage([0, 0, 0, 1], {"model": proba}, classes=[0, 1])
    >>> [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    ['model (AURC 0.0625)']
    """
    named = dict(probas) if isinstance(probas, dict) else {"model": probas}
    if not named:
        raise ValueError("plot_accuracy_coverage needs at least one model's probabilities.")
    if uncertainties is None:
        uncertainties = {}
    elif not isinstance(uncertainties, dict):
        if len(named) != 1:
            raise TypeError("uncertainties must be a dict of model name to scores when probas "
                            f"has several models; got {type(uncertainties).__name__}.")
        uncertainties = {next(iter(named)): uncertainties}
    unknown = sorted(str(name) for name in set(uncertainties) - set(named))
    if unknown:
        raise ValueError(f"uncertainties names model(s) {unknown} that probas does not have; "
                         f"probas has {[str(name) for name in named]}.")

    figure, ax = _new_figure(width=5.6, height=4.4)
    colors = cycle(_MEMBER_COLORS)
    for name, proba in named.items():
        score = uncertainties.get(name)
        curve = accuracy_coverage_curve(y_true, proba, classes, uncertainty=score)
        area = aurc(y_true, proba, classes, uncertainty=score)
        style = ({"color": "black", "linewidth": 2.6, "zorder": 3} if name == ENSEMBLE
                 else {"color": next(colors), "linewidth": 1.3, "zorder": 2})
        ax.plot(curve.coverage, curve.accuracy, label=f"{name} (AURC {area:.4f})", **style)
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("coverage (share of rows answered, most certain first)")
    ax.set_ylabel("accuracy on the rows answered")
    ax.set_title("Accuracy against coverage (AURC: lower is better)")
    ax.legend(loc="lower left", fontsize=8)
    return _finish(figure, path, overwrite)


def plot_learning_curves(histories, *, path=None, overwrite=False):
    """Per-epoch training and validation curves, one panel per metric.

    Parameters
    ----------
    histories : fitted member, dict, or dict of str to either
        A member's ``history_`` (``{"loss": [...], "val_loss": [...], ...}``),
        a fitted member, a fitted ensemble (its members' histories), or
        several of these by name.
    path : str or os.PathLike, default=None
    overwrite : bool, default=False

    Returns
    -------
    matplotlib.figure.Figure
        Panels for loss, accuracy and (when recorded, e.g. with
        ReduceLROnPlateau) the learning rate; solid lines are training,
        dashed lines validation.

    Examples
    --------
    A member's ``history_``, or a fitted member or ensemble:

    >>> from ensemble.evaluation.plots import plot_learning_curves
    >>> history = {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7],
    ...            "accuracy": [0.6, 0.8], "val_accuracy": [0.5, 0.7]}
    >>> figure = plot_learning_curves({"plain": history}, path=None)
    >>> [ax.get_title() for ax in figure.axes]
    ['loss per epoch', 'accuracy per epoch']
    """
    named = _named_histories(histories)
    panels = [name for name in ("loss", "accuracy", "learning_rate")
              if any(name in history for history in named.values())]
    if not panels:
        raise ValueError("The histories hold neither 'loss' nor 'accuracy'.")
    figure = Figure(figsize=(5 * len(panels), 3.8), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    colors = [f"C{i}" for i in range(10)]
    for ax, metric in zip(axes, panels, strict=True):
        for (name, history), color in zip(named.items(), colors * 10, strict=False):
            n_epochs = len(history.get(metric) or history.get(f"val_{metric}") or [])
            epochs = np.arange(1, n_epochs + 1)
            # Markers, so that a one-epoch history still shows a point.
            if metric in history:
                label = name if metric == "learning_rate" else f"{name} training"
                ax.plot(epochs, history[metric], color=color, marker="o", markersize=3,
                        label=label)
            if f"val_{metric}" in history:
                ax.plot(epochs, history[f"val_{metric}"], color=color, linestyle="--",
                        marker="o", markersize=3, label=f"{name} validation")
        longest = max(len(h.get(metric) or h.get(f"val_{metric}") or []) for h in named.values())
        ax.set_xlim(0.5, max(longest, 1) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric.replace("_", " "))
        ax.set_title(f"{metric.replace('_', ' ')} per epoch")
        rates = [rate for history in named.values() for rate in history.get(metric, [])]
        if metric == "learning_rate" and rates and min(rates) > 0:
            # A schedule that decays to zero (cosine) ends off a log scale: linear then.
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    return _finish(figure, path, overwrite)


def _named_histories(histories):
    """``{name: history dict}`` from any of the forms plot_learning_curves takes."""
    if hasattr(histories, "named_members_"):
        return {name: _history_of(member, name)
                for name, member in histories.named_members_.items()}
    if hasattr(histories, "history_"):
        return {type(histories).__name__: histories.history_}
    if isinstance(histories, dict) and histories and all(
            isinstance(value, list) for value in histories.values()):
        return {"model": histories}
    if isinstance(histories, dict) and histories:
        return {name: _history_of(value, name) for name, value in histories.items()}
    raise TypeError(
        "plot_learning_curves needs a fitted member or ensemble, a history_ dict, or a dict "
        f"of them by name; got {type(histories).__name__}."
    )


def _history_of(value, name):
    if isinstance(value, dict):
        return value
    if hasattr(value, "history_"):
        return value.history_
    raise TypeError(f"{name!r} has no history_ (not a fitted member): {type(value).__name__}.")


def _display_names(labels, class_names):
    if class_names is None:
        return [str(label) for label in labels]
    if len(class_names) != len(labels):
        raise ValueError(
            f"class_names has {len(class_names)} entries for {len(labels)} classes."
        )
    return [str(name) for name in class_names]


def _new_figure(width=6.0, height=4.0):
    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _finish(figure, path, overwrite):
    """Write ``figure`` to ``path`` as a PNG (when given), never replacing a file silently."""
    if path is not None:
        path = Path(path)
        if path.suffix.lower() != ".png":
            raise ValueError(f"path must end in .png, got {str(path)!r}.")
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
        path.parent.mkdir(parents=True, exist_ok=True)
        png = io.BytesIO()
        figure.savefig(png, format="png")
        # Atomic, and still refusing a file that appeared while drawing.
        atomic_write_bytes(path, png.getvalue(), overwrite=overwrite)
    return figure
