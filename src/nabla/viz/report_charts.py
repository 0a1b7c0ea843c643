"""The charts of ``nabla train --report``: loss and accuracy curves, per-layer gradient norms
and histograms, each a matplotlib figure returned as a base64 PNG data URI (a regression
model's charts: :mod:`nabla.viz.report_regression`)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from nabla.training.callbacks import LayerMonitor


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def has_accuracy(history: Sequence[dict[str, Any]]) -> bool:
    """Whether any epoch recorded an accuracy (a regression run records None)."""
    return any(h.get(f"{s}_accuracy") is not None for h in history for s in ("train", "val"))


def curves_chart(history: Sequence[dict[str, Any]]) -> str:
    """Loss and accuracy per epoch (training and validation) as a PNG data URI; the loss
    alone when no epoch has an accuracy (regression)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    keys = ("loss", "accuracy") if has_accuracy(history) else ("loss",)
    fig = Figure(figsize=(10 if len(keys) == 2 else 6, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(keys)))
    epochs = [h["epoch"] for h in history]
    for ax, key in zip(axes, keys):
        train = [h.get(f"train_{key}") for h in history]
        ax.plot(epochs, [np.nan if v is None else v for v in train], label="train", marker=".")
        val = [h.get(f"val_{key}") for h in history]
        if any(v is not None for v in val):
            ax.plot(epochs, [np.nan if v is None else v for v in val], label="validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    return _png(fig)


def grad_norm_chart(monitor: LayerMonitor) -> str:
    """Median ‖∇W‖ per epoch for each layer (log scale), with the 10–90 % band over steps."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax = fig.subplots()
    epochs = np.asarray(monitor.epochs)
    for name in monitor.names:
        stats = np.array(
            [
                np.percentile(n[np.isfinite(n)], [10, 50, 90])
                if np.isfinite(n).any()
                else [np.nan] * 3
                for n in monitor.grad_norms[name]
            ]
        ).reshape(-1, 3)
        (line,) = ax.plot(epochs, stats[:, 1], marker=".", label=name)
        ax.fill_between(epochs, stats[:, 0], stats[:, 2], color=line.get_color(), alpha=0.15)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("‖∇W‖₂ per step")
    ax.set_title("gradient norm of each layer's weights (median, 10–90 % of steps)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _png(fig)


def histogram_chart(
    series: dict[str, list[np.ndarray[Any, Any]]],
    epochs: Sequence[int],
    *,
    log: bool,
    ylabel: str,
    title: str,
    bins: int = 40,
) -> str:
    """One heatmap per layer: x the epoch, y the value (bins), colour the fraction per epoch.

    With ``log`` the bins are log-spaced and shared by every layer, so layers compare at a
    glance (a vanishing gradient sits lower); otherwise each layer gets its own range.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = list(series)
    finite = {
        n: [v[np.isfinite(v) & ((v > 0) if log else True)] for v in series[n]] for n in names
    }
    shared: tuple[float, float] | None = None
    if log:
        pooled = np.concatenate([v for n in names for v in finite[n]] or [np.ones(1)])
        pooled = pooled if pooled.size else np.ones(1)
        shared = float(np.log10(pooled.min())), float(np.log10(pooled.max()))
    cols = min(len(names), 3) or 1
    rows = -(-len(names) // cols) or 1
    fig = Figure(figsize=(3.6 * cols, 2.7 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    x0, x1 = (min(epochs) - 0.5, max(epochs) + 0.5) if len(epochs) else (0.0, 1.0)
    for ax, name in zip(axes, names):
        grid, lo, hi = _histogram_grid(finite[name], shared, bins)
        ax.imshow(
            grid,
            origin="lower",
            aspect="auto",
            cmap="viridis",
            extent=(x0, x1, lo, hi),
            interpolation="nearest",
        )
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def _histogram_grid(
    values: list[np.ndarray[Any, Any]], shared: tuple[float, float] | None, bins: int
) -> tuple[np.ndarray[Any, Any], float, float]:
    """The columns of one layer's heatmap (the fraction of each epoch's values per bin) and
    the value range: ``shared`` (log10 bounds, every layer alike) or the layer's own range."""
    if shared is not None:
        lo, hi = shared
        values = [np.log10(v) for v in values]
    else:
        pooled = np.concatenate(values or [np.zeros(1)])
        pooled = pooled if pooled.size else np.zeros(1)
        lo, hi = float(pooled.min()), float(pooled.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    grid = np.zeros((bins, max(len(values), 1)))
    for j, v in enumerate(values):
        counts, _ = np.histogram(v, bins=edges)
        grid[:, j] = counts / max(counts.sum(), 1)
    return grid, lo, hi


def activation_study_chart(studies: Sequence[Any]) -> str:
    """The vanishing-gradient study (:mod:`nabla.training.activation_study`): one column per
    activation; top, each layer's ‖∇W‖ per epoch (0: initialisation) on shared log axes;
    bottom, the fraction of saturated (or dead) units per hidden layer, on shared axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6), layout="constrained")
    axes = fig.subplots(2, len(studies), sharey="row", squeeze=False)
    for column, study in enumerate(studies):
        norms = np.asarray(study.grad_norms)
        epochs = np.arange(len(norms))
        top, bottom = axes[0, column], axes[1, column]
        for layer in range(norms.shape[1]):
            top.plot(epochs, norms[:, layer], marker=".", label=f"W{layer + 1}")
        top.set_yscale("log")
        top.set_title(f"{study.activation}: accuracy {study.accuracy:.3f}")
        top.grid(alpha=0.3, which="both")
        saturated = np.asarray(study.saturated)
        for layer in range(saturated.shape[1]):
            bottom.plot(epochs, saturated[:, layer], marker=".", label=f"hidden {layer + 1}")
        bottom.set_ylim(-0.02, 1.02)
        bottom.set_xlabel("epoch (0: initialisation)")
        bottom.grid(alpha=0.3)
    axes[0, 0].set_ylabel("‖∇W‖ on a fixed batch")
    axes[1, 0].set_ylabel("saturated / dead units")
    axes[0, -1].legend(fontsize=7)
    axes[1, -1].legend(fontsize=7)
    return _png(fig)


__all__ = [
    "activation_study_chart",
    "curves_chart",
    "grad_norm_chart",
    "has_accuracy",
    "histogram_chart",
]
