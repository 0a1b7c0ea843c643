"""A tiny run of the loader benchmark (benchmarks/loader.py): every reader measured, both files
written; correctness only (timings at this size mean nothing)."""

from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from nabla.cli.bench import find_benchmarks
from nabla.data import read_table

pytest.importorskip("pandas")


@pytest.fixture
def loader(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(find_benchmarks()))
    return importlib.import_module("benchmarks.loader")


def test_generated_file_has_the_documented_shape(loader: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    loader.write_csv(path, 50)
    with path.open(newline="") as stream:
        rows = list(csv.reader(stream))
    assert len(rows) == 51 and all(len(row) == 21 for row in rows)
    values = [float(cell) for row in rows[1:] for cell in row[:20]]
    assert all(float(f"{v:.8g}") == v for v in values)  # at most 8 significant digits
    assert any(float(f"{v:.5g}") != v for v in values)  # more than 5 in places
    table = read_table(path)
    assert all(table.is_numeric(f"f{j}") for j in range(20))
    assert set(table.columns["species"]) <= {"setosa", "versicolor", "virginica"}
    assert np.isfinite(np.column_stack([table.columns[f"f{j}"] for j in range(20)])).all()


def test_tiny_run_reports_every_reader(loader: ModuleType, tmp_path: Path) -> None:
    assert loader.main(["--rows", "300", "--rounds", "1", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "loader.json").read_text())
    assert results["rows"] == 300 and results["columns"] == 21
    assert set(results["readers"]) == set(loader.READERS)
    for reader in results["readers"].values():
        assert reader["median_seconds"] > 0 and reader["median_peak_mb"] > 10
    table = (tmp_path / "loader.md").read_text()
    for name in loader.READERS:
        assert f"| {name} |" in table
    assert "x pandas" in table and "pandas.read_csv" in table
