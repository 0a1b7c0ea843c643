"""A tiny run of the convolution benchmark (benchmarks/conv.py): both libraries train both
networks from the same weights; correctness only (timings at this size mean nothing)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

import pytest

from nabla.cli.bench import find_benchmarks

pytest.importorskip("torch")


@pytest.fixture
def conv_bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(find_benchmarks()))
    return importlib.import_module("benchmarks.conv")


def test_tiny_run_reports_both_libraries_on_both_networks(
    conv_bench: ModuleType, tmp_path: Path
) -> None:
    assert conv_bench.main(["--rounds", "1", "--steps", "2", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "conv.json").read_text())
    assert set(results["networks"]) == set(conv_bench.NETWORKS)
    for entry in results["networks"].values():
        torch_run, nabla_run = entry["torch"], entry["nabla"]
        assert torch_run["median_samples_per_s"] > 0 and nabla_run["median_samples_per_s"] > 0
        assert nabla_run["median_peak_mb"] > 0
        # the same weights, batch and 8 SGD steps: the same loss up to float32 round-off
        assert nabla_run["final_loss"] == pytest.approx(torch_run["final_loss"], rel=1e-3)
    table = (tmp_path / "conv.md").read_text()
    assert "| relu-maxpool | nabla |" in table and "× PyTorch" in table
