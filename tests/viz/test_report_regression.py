"""The report of a regression run (predicted against true, residuals, RMSE/MAE/R² as
scikit-learn computes them) and plot_regression's PNG; a classification report keeps its
confusion matrix."""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.errors import DataError

metrics = pytest.importorskip("sklearn.metrics")
pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")


def _images(page: str) -> dict[str, tuple[int, int]]:
    """Each inline PNG's id and pixel size, in page order."""
    found = re.findall(r'<img id="([\w-]+)"[^>]*src="data:image/png;base64,([^"]+)"', page)
    sizes = {}
    for name, data in found:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            assert image.format == "PNG"
            sizes[name] = image.size
    return sizes


def _history(accuracy: bool) -> list[dict[str, Any]]:
    return [
        {
            "epoch": e,
            "train_loss": 1.0 / e,
            "train_accuracy": 0.5 + 0.1 * e if accuracy else None,
            "val_loss": 1.2 / e,
            "val_accuracy": 0.4 + 0.1 * e if accuracy else None,
        }
        for e in (1, 2, 3)
    ]


def _write(tmp_path: Path, out: int, **kwargs: Any) -> str:
    from nabla.viz.report import write_training_report

    model = nb.nn.MLP([3, 4, out])
    X = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    path = write_training_report(
        tmp_path / "report.html",
        model=model,
        batch=(X, np.arange(5) % out if out > 1 else np.ones((5, 1), np.float32)),
        settings={"epochs": 3},
        **kwargs,
    )
    return path.read_text(encoding="utf-8")


def _sklearn(y_true: Any, y_pred: Any) -> dict[str, float]:
    return {
        "RMSE": metrics.root_mean_squared_error(y_true, y_pred),
        "MAE": metrics.mean_absolute_error(y_true, y_pred),
        "R²": metrics.r2_score(y_true, y_pred),
    }


def test_regression_report_shows_both_charts_and_sklearn_metrics(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    y_true = rng.standard_normal(40) * 5 + 100
    y_pred = (y_true + rng.standard_normal(40)).astype(np.float32)  # a model predicts float32
    expected = _sklearn(y_true, y_pred)
    page = _write(
        tmp_path,
        1,
        loss_fn=nb.nn.functional.mse_loss,
        history=_history(accuracy=False),
        results={
            "test": {
                "rmse": expected["RMSE"],
                "mae": expected["MAE"],
                "r2": expected["R²"],
                "loss": 1.25,
                "samples": 40,
            }
        },
        regression=("test", y_true, y_pred),
    )
    images = _images(page)
    assert list(images) == ["pred-vs-true", "residuals", "curves"]
    assert all(width > 300 for width, _ in images.values())
    section = page[page.index('<h2 id="regression-title">') : page.index('<img id="pred-vs-true"')]
    assert "Predictions (test split)" in section
    for name, value in expected.items():  # the report's own computation, in its table
        assert f'<td>{html.escape(name)}</td><td class="num">{value:.4f}</td>' in section
    assert '<td>samples</td><td class="num">40</td>' in section
    results = page[page.index('<h2 id="results">') : page.index('<h2 id="regression-title">')]
    assert "<th>RMSE</th><th>MAE</th><th>R²</th><th>loss</th>" in results
    assert f'<td class="num">{expected["R²"]:.4f}</td>' in results
    assert "accuracy" not in page.lower()  # no accuracy column, panel or title
    assert "confusion" not in page.lower()
    assert '<h2 id="curves-title">Loss</h2>' in page


def test_curves_without_accuracy_draw_the_loss_alone() -> None:
    from nabla.viz.report_charts import curves_chart

    def size(uri: str) -> tuple[int, int]:
        with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as image:
            return image.size

    both_w, both_h = size(curves_chart(_history(accuracy=True)))
    loss_w, loss_h = size(curves_chart(_history(accuracy=False)))
    assert both_w / both_h > 2.2 > loss_w / loss_h  # two panels side by side, then one


def test_drawn_points_are_the_predictions_and_residuals(rng: np.random.Generator) -> None:
    from matplotlib.figure import Figure

    from nabla.training.metrics import regression_report
    from nabla.viz.report_regression import _draw_pred_vs_true, _draw_residuals

    y_true, y_pred = rng.standard_normal(30), rng.standard_normal(30)
    fig = Figure()
    ax_fit, ax_scatter, ax_hist = fig.subplots(1, 3)
    _draw_pred_vs_true(ax_fit, y_true, y_pred, regression_report(y_true, y_pred))
    _draw_residuals(ax_scatter, ax_hist, y_true, y_pred)
    np.testing.assert_array_equal(ax_fit.collections[0].get_offsets(), np.c_[y_true, y_pred])
    (line,) = ax_fit.lines
    np.testing.assert_array_equal(line.get_xdata(), line.get_ydata())  # y = x
    assert line.get_xdata()[0] <= min(y_true.min(), y_pred.min())
    assert line.get_xdata()[1] >= max(y_true.max(), y_pred.max())
    np.testing.assert_array_equal(
        ax_scatter.collections[0].get_offsets(), np.c_[y_pred, y_true - y_pred]
    )
    heights = [patch.get_height() for patch in ax_hist.patches]
    assert sum(heights) == 30
    assert f"{metrics.r2_score(y_true, y_pred):.4f}" in ax_fit.get_title()


def test_large_sets_are_thinned_for_the_scatter_only(
    monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator
) -> None:
    from matplotlib.figure import Figure

    from nabla.viz import report_regression

    monkeypatch.setattr(report_regression, "MAX_POINTS", 100)
    y_true = rng.standard_normal(1000)
    y_pred = y_true + rng.standard_normal(1000)
    fig = Figure()
    ax_scatter, ax_hist = fig.subplots(1, 2)
    report_regression._draw_residuals(ax_scatter, ax_hist, y_true, y_pred)
    shown = ax_scatter.collections[0].get_offsets()
    assert len(shown) == 100
    pairs = {(p, t - p) for t, p in zip(y_true, y_pred)}
    assert all((x, y) in pairs for x, y in shown.tolist())
    assert "100 of 1,000 points shown" in ax_scatter.get_title()
    assert sum(patch.get_height() for patch in ax_hist.patches) == 1000


def test_non_finite_predictions_are_left_out_and_said(rng: np.random.Generator) -> None:
    from nabla.viz.report_regression import residuals_chart

    y_pred = rng.standard_normal(20)
    y_pred[3] = np.nan
    assert residuals_chart(rng.standard_normal(20), y_pred).startswith("data:image/png;base64,")


def test_plot_regression_writes_one_png(tmp_path: Path, rng: np.random.Generator) -> None:
    from nabla.viz.report_regression import plot_regression

    y_true = rng.standard_normal((50, 1))
    path = plot_regression(y_true, y_true.ravel() * 0.8, tmp_path / "predictions.png", title="t")
    assert path == tmp_path / "predictions.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width > 1000 and width / height > 2  # three panels side by side
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.png"]  # no temporary left


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        (np.zeros(3), np.zeros(4), r"y_true has shape \(3,\) and y_pred has shape \(4,\)"),
        (np.zeros(0), np.zeros(0), "no samples to plot"),
    ],
)
def test_plot_regression_refuses_bad_input_without_writing(
    tmp_path: Path, y_true: Any, y_pred: Any, message: str
) -> None:
    from nabla.viz.report_regression import plot_regression

    with pytest.raises(DataError, match=message):
        plot_regression(y_true, y_pred, tmp_path / "predictions.png")
    assert not (tmp_path / "predictions.png").exists()


def test_classification_report_keeps_its_confusion_matrix(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    from nabla.training.metrics import classification_report

    y_true, y_pred = rng.integers(0, 3, 60), rng.integers(0, 3, 60)
    names = ["a", "b", "c"]
    page = _write(
        tmp_path,
        3,
        loss_fn=nb.nn.MLP([3, 4, 3]).loss,
        history=_history(accuracy=True),
        results={"test": {"accuracy": 0.5, "loss": 1.0, "samples": 60}},
        classification=("test", classification_report(y_true, y_pred, names)),
    )
    assert list(_images(page)) == ["curves"]
    assert "<th>split</th><th>accuracy</th><th>loss</th><th>samples</th>" in page
    assert '<h2 id="curves-title">Loss and accuracy</h2>' in page
    assert "pred-vs-true" not in page and "RMSE" not in page
    confusion = metrics.confusion_matrix(y_true, y_pred)
    for i, name in enumerate(names):
        cells = "".join(f'<td class="num">{v}</td>' for v in confusion[i])
        assert f"<tr><td>{name}</td>{cells}</tr>" in page
