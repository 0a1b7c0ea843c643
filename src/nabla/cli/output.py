"""What the CLI checks and draws: output destinations, the confusion-matrix plot, text tables.

The atomic file writers are in :mod:`nabla.io.atomic`, the PNG helpers and a training run's
files in :mod:`nabla.training.outputs`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nabla.errors import NablaError
from nabla.training.outputs import pyplot, save_figure


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


def plot_confusion(matrix: np.ndarray[Any, Any], class_names: Sequence[str], path: Path) -> None:
    plt = pyplot()
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


#: longest class name printed in full in tables and plots
MAX_NAME = 40


def display_names(names: Sequence[str], limit: int = MAX_NAME) -> list[str]:
    """Class names for tables and plots: a long one keeps its start and says how long it was."""
    shown = [
        name if len(name) <= limit else f"{name[: limit - 16]}...({len(name)} chars)"
        for name in map(str, names)
    ]
    repeated = {name for name in shown if shown.count(name) > 1}
    return [f"{name} #{i}" if name in repeated else name for i, name in enumerate(shown)]
