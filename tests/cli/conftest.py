"""Fixtures for CLI tests: small CSV files with known problems."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def blobs_csv(tmp_path: Path) -> Path:
    """Three well separated Gaussian blobs with named columns and string labels."""
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0, 0], [4, 4, 0], [0, 4, 4]], dtype=float)
    names = ["setosa", "versicolor", "virginica"]
    lines = ["f1,f2,f3,species"]
    for i in range(150):
        c = i % 3
        x = centers[c] + rng.standard_normal(3) * 0.5
        lines.append(",".join(f"{v:.4f}" for v in x) + f",{names[c]}")
    path = tmp_path / "blobs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path
