"""What the CLI writes: metric files, PNG plots (matplotlib, Agg) and text tables, atomically."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nabla.errors import NablaError


def check_destinations(*paths: Path | str | None) -> None:
    """Refuse, before anything is written, output files that could not be written.

    A command that writes several files checks them all first, so a bad second destination
    does not leave the first one behind. Each must be in an existing, writable folder, must not
    be a folder itself, and must differ from the others.
    """
    seen: set[Path] = set()
    for given in paths:
        if given is None:
            continue
        path = Path(given)
        where = path.resolve()
        if where in seen:
            raise NablaError(f"cannot write {path}: it is named for two outputs")
        seen.add(where)
        folder = path.parent
        if not folder.is_dir():
            raise NablaError(f"cannot write {path}: directory {folder} does not exist")
        if path.is_dir():
            raise NablaError(f"cannot write {path}: it is a directory")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise NablaError(f"cannot write {path}: directory {folder} is not writable")


def atomic_write_text(path: Path, text: str) -> None:
    from nabla.io import atomic_write_bytes

    atomic_write_bytes(path, text.encode("utf-8"))


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise NablaError(
            "plots need matplotlib: pip install 'nabla[plot]' (or pass --no-plots)"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> None:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    from nabla.io import atomic_write_bytes

    atomic_write_bytes(path, buffer.getvalue())


def plot_curves(history: Sequence[dict[str, Any]], path: Path) -> None:
    """Loss and accuracy per epoch, training and validation, side by side."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((ax_loss, "loss", "loss"), (ax_acc, "accuracy", "accuracy")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], label="train")
        val = [h[f"val_{key}"] for h in history]
        if any(v is not None for v in val):
            ax.plot(epochs, [np.nan if v is None else v for v in val], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, path)


def plot_confusion(matrix: np.ndarray[Any, Any], class_names: Sequence[str], path: Path) -> None:
    plt = _pyplot()
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), labels=list(class_names), rotation=45, ha="right")
    ax.set_yticks(range(n), labels=list(class_names))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    limit = matrix.max(initial=0) / 2
    for i in range(n):
        for j in range(n):
            color = "white" if matrix[i, j] > limit else "black"
            ax.text(j, i, int(matrix[i, j]), ha="center", va="center", color=color, fontsize=8)
    fig.colorbar(image, ax=ax)
    save_figure(fig, path)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in header]] + [
        [f"{v:.4f}" if isinstance(v, float) else ("-" if v is None else str(v)) for v in row]
        for row in rows
    ]
    widths = [max(len(r[j]) for r in cells) for j in range(len(header))]
    lines = []
    for k, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))
            )
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
