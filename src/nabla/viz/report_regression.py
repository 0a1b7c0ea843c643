"""Charts of a regression model's predictions: predicted against true values with the line
y = x, and the residuals (true − predicted) against the prediction and as a histogram.

The report (:mod:`nabla.viz.report`) embeds them as PNG data URIs; :func:`plot_regression`
writes all three panels to one PNG file (``nabla evaluate --plot``). Drawn with matplotlib's
object-oriented API (no pyplot), metrics from :func:`nabla.training.metrics.regression_report`
on every sample; only the scatter plots thin out beyond :data:`MAX_POINTS` points.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from nabla.errors import DataError, NablaError
from nabla.training.metrics import RegressionReport, regression_report
from nabla.viz.report_charts import _png

__all__ = ["MAX_POINTS", "plot_regression", "pred_vs_true_chart", "residuals_chart"]

MAX_POINTS = 50_000  # beyond this a scatter is one blot; a fixed-seed sample shows the same


def metrics_line(report: RegressionReport) -> str:
    """``RMSE 0.513 · MAE 0.401 · R² 0.873 · n = 89``: the numbers the charts carry."""
    return (
        f"RMSE {report.rmse:.4g} · MAE {report.mae:.4g} · R² {report.r2:.4f} · "
        f"n = {report.samples:,}"
    )


def _values(
    y_true: Any, y_pred: Any
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], RegressionReport]:
    """Both arrays flattened to float64 (several outputs pooled) and their metrics."""
    report = regression_report(y_true, y_pred)  # validates the shapes (one-line DataError)
    if report.samples == 0:
        raise DataError("regression plot: there are no samples to plot")
    true = np.asarray(y_true, dtype=np.float64).ravel()
    pred = np.asarray(y_pred, dtype=np.float64).ravel()
    return true, pred, report


def _thinned(
    true: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], str]:
    """At most MAX_POINTS pairs for a scatter (fixed seed), and a note when thinned."""
    if true.size <= MAX_POINTS:
        return true, pred, ""
    keep = np.sort(np.random.default_rng(0).choice(true.size, MAX_POINTS, replace=False))
    return true[keep], pred[keep], f" ({MAX_POINTS:,} of {true.size:,} points shown)"


def _alpha(n_points: int) -> float:
    """Lighter points for more of them, so dense regions still show their density."""
    return float(min(0.6, max(0.08, 0.6 * np.sqrt(1000 / max(n_points, 1)))))


def _draw_pred_vs_true(
    ax: Any, true: np.ndarray[Any, Any], pred: np.ndarray[Any, Any], report: RegressionReport
) -> None:
    finite = np.isfinite(true) & np.isfinite(pred)
    shown_true, shown_pred, thinned = _thinned(true[finite], pred[finite])
    ax.scatter(
        shown_true, shown_pred, s=9, alpha=_alpha(shown_true.size), linewidths=0, rasterized=True
    )
    both = np.concatenate([true[finite], pred[finite]]) if finite.any() else np.zeros(1)
    lo, hi = float(both.min()), float(both.max())
    pad = 0.05 * (hi - lo) if hi > lo else 0.5
    lo, hi = lo - pad, hi + pad
    ax.plot([lo, hi], [lo, hi], color="#d62728", linewidth=1, label="y = x (perfect)")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("true value")
    ax.set_ylabel("predicted value")
    ax.set_title(f"predicted against true{thinned}\n{metrics_line(report)}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)


def _draw_residuals(
    ax_scatter: Any, ax_hist: Any, true: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]
) -> None:
    residual = true - pred
    finite = np.isfinite(residual)
    dropped = int((~finite).sum())
    shown_pred, shown_residual, thinned = _thinned(pred[finite], residual[finite])
    ax_scatter.scatter(
        shown_pred,
        shown_residual,
        s=9,
        alpha=_alpha(shown_pred.size),
        linewidths=0,
        rasterized=True,
    )
    ax_scatter.axhline(0.0, color="#d62728", linewidth=1)
    ax_scatter.set_xlabel("predicted value")
    ax_scatter.set_ylabel("residual (true − predicted)")
    ax_scatter.set_title(f"residual against prediction{thinned}", fontsize=10)
    ax_scatter.grid(alpha=0.3)
    values = residual[finite] if finite.any() else np.zeros(1)
    ax_hist.hist(values, bins=min(40, max(5, int(np.sqrt(values.size)))), color="#1f77b4")
    ax_hist.axvline(0.0, color="#d62728", linewidth=1)
    ax_hist.set_xlabel("residual (true − predicted)")
    ax_hist.set_ylabel("samples")
    note = f"; {dropped:,} non-finite left out" if dropped else ""
    ax_hist.set_title(
        f"residuals: mean {values.mean():.3g}, std {values.std():.3g}{note}", fontsize=10
    )
    ax_hist.grid(alpha=0.3)


def pred_vs_true_chart(y_true: Any, y_pred: Any) -> str:
    """Predicted against true values with the line y = x, as a PNG data URI.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
    """
    from matplotlib.figure import Figure

    true, pred, report = _values(y_true, y_pred)
    fig = Figure(figsize=(5.2, 5.2), layout="constrained")
    _draw_pred_vs_true(fig.subplots(), true, pred, report)
    return _png(fig)


def residuals_chart(y_true: Any, y_pred: Any) -> str:
    """Residuals (true − predicted) against the prediction, and their histogram, as a PNG
    data URI."""
    from matplotlib.figure import Figure

    true, pred, _ = _values(y_true, y_pred)
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_scatter, ax_hist = fig.subplots(1, 2)
    _draw_residuals(ax_scatter, ax_hist, true, pred)
    return _png(fig)


def plot_regression(
    y_true: Any, y_pred: Any, path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Write predicted-against-true, residual-against-prediction and the residual histogram
    side by side to the PNG file ``path`` (atomically); returns the path.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True and predicted values (several outputs are pooled in the plots; the metrics
        average over outputs, see :func:`nabla.training.metrics.regression_metrics`).
    path : the PNG file to write.
    title : an optional title above the three panels.

    Raises
    ------
    DataError
        When the shapes differ, the values are not numeric or there are no samples.
    NablaError
        When matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise NablaError("plots need matplotlib: pip install 'nabla[plot]'") from exc
    from nabla.io.atomic import atomic_write_bytes

    true, pred, report = _values(y_true, y_pred)
    fig = Figure(figsize=(15, 4.8), layout="constrained")
    ax_fit, ax_scatter, ax_hist = fig.subplots(1, 3)
    _draw_pred_vs_true(ax_fit, true, pred, report)
    _draw_residuals(ax_scatter, ax_hist, true, pred)
    if title:
        fig.suptitle(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    path = Path(path)
    atomic_write_bytes(path, buffer.getvalue())
    return path
