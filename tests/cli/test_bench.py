"""nabla bench runs the repository's benchmark suite (here: a quick, NumPy-only round)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nabla.cli import main
from nabla.cli.bench import find_benchmarks


def test_bench_runs_the_suite(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    find_benchmarks()  # the tests run from a checkout, so the suite is there
    out = tmp_path / "results"
    args = [
        "bench",
        "--quick",
        "--frameworks",
        "numpy (hand-written),nabla eager,nabla compiled",
        "--configs",
        "tiny",
        "--rounds",
        "2",
        "--seconds",
        "0.02",
        "--no-memory",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    rates = results["configs"][0]["samples_per_s"]
    assert set(rates) == {"numpy (hand-written)", "nabla eager", "nabla compiled"}
    assert all(rate > 0 for rate in rates.values())
    # the ceiling: the step's matrix products alone run faster than any whole step
    ceiling = results["configs"][0]["products_only_samples_per_s"]
    assert ceiling > max(rates.values())
    text = (out / "results.md").read_text()
    assert "| nabla eager |" in text and "matrix products alone" in text
    assert "Best round per framework" in text  # 2 rounds: the least disturbed one, too
    faults = results["configs"][0]["page_faults_per_step"]
    assert set(faults) == set(rates) and all(f >= 0 for f in faults.values())
    assert "Page faults per training step" in text
