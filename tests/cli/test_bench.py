"""nabla bench runs the repository's benchmark suite (here: a quick, NumPy-only round); a quick
or partial run writes a scratch folder, never the committed benchmarks/results/."""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shutil
import tempfile
from pathlib import Path
from types import ModuleType

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
    # the goal statistic: the products' time over the step's time (rates invert), per framework
    section = text.split("Fraction of the NumPy ceiling", 1)[1].split("\n\n", 2)[1]
    assert f"| nabla eager | {rates['nabla eager'] / ceiling:.2f} |" in section.splitlines()
    assert "1024³ float32 GEMM rate reached" not in text  # no longer the goal
    assert "Best round per framework" in text  # 2 rounds: the least disturbed one, too
    faults = results["configs"][0]["page_faults_per_step"]
    assert set(faults) == set(rates) and all(f >= 0 for f in faults.values())
    assert "Page faults per training step" in text


def _committed(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (root / "benchmarks" / "results").iterdir()}


def test_quick_run_writes_a_scratch_folder(capfd: pytest.CaptureFixture[str]) -> None:
    root = find_benchmarks()
    before = _committed(root)
    args = ["bench", "--quick", "--frameworks", "numpy (hand-written)", "--configs", "tiny"]
    assert main([*args, "--rounds", "1", "--seconds", "0.01", "--no-memory"]) == 0
    found = re.search(r"^results written to (.+)/$", capfd.readouterr().out, re.MULTILINE)
    assert found, "the run names its output folder at the end"
    folder = Path(found.group(1))
    try:
        assert json.loads((folder / "results.json").read_text())["configs"]
        assert root.resolve() not in folder.resolve().parents  # not in the checkout at all
        assert _committed(root) == before  # the committed tables are untouched
    finally:
        shutil.rmtree(folder)


@pytest.fixture
def suite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    """benchmarks/__main__.py, with temporary folders made under tmp_path."""
    monkeypatch.syspath_prepend(str(find_benchmarks()))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return importlib.import_module("benchmarks.__main__")


@pytest.mark.parametrize(
    "argv",
    [
        ["--quick"],
        ["--configs", "tiny"],
        ["--frameworks", "nabla eager"],
        ["--no-sweep"],
        ["--no-memory"],
        ["--ab", "HEAD"],
    ],
)
def test_only_a_full_run_defaults_to_the_committed_results(
    suite: ModuleType, tmp_path: Path, argv: list[str]
) -> None:
    args: argparse.Namespace = suite.build_parser().parse_args(argv)
    out = suite.output_dir(args)
    assert out.parent == tmp_path and out.is_dir() and not any(out.iterdir())
    committed = find_benchmarks() / "benchmarks" / "results"
    full = suite.build_parser().parse_args(["--rounds", "9"])
    assert suite.output_dir(full).resolve() == committed.resolve()
    explicit = suite.build_parser().parse_args([*argv, "--out", str(committed)])
    assert suite.output_dir(explicit) == committed
