"""``mpiexec -n N nabla train`` (issue 17): real processes, a real SIGINT and a real SIGKILL.

Two ranks with ``--batch-size 6`` train the iris MLP to the weights and metrics of one process
with ``--distributed --batch-size 12`` (float32 round-off), printing once; Ctrl-C on one rank
stops every rank after the same step with one checkpoint, which 1, 2 and 3 ranks resume (with
the same global batch of 12: the weights of the uninterrupted run; with another: a note, and
the run finishes); a rank killed by SIGKILL ends the job, and the run resumes from its last
checkpoint to the uninterrupted run's weights, bit for bit. Skipped without mpiexec/mpi4py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nabla.io import load_checkpoint

MPIEXEC = shutil.which("mpiexec")
WORKER = str(Path(__file__).with_name("cli_worker.py"))
SRC = str(Path(__file__).resolve().parents[2] / "src")
COMMON = ["train", "--data", "iris", "--epochs", "5", "--no-plots", "--no-progress"]
FLOAT32_ROUND_OFF = 1e-5  # the weights are O(1); measured 6e-8 to 9e-8

pytestmark = pytest.mark.skipif(
    MPIEXEC is None or importlib.util.find_spec("mpi4py") is None,
    reason="needs mpi4py and mpiexec: pip install 'nabla[mpi]'",
)


def _is_open_mpi() -> bool:
    if MPIEXEC is None:
        return False
    done = subprocess.run(
        [MPIEXEC, "--version"], check=False, capture_output=True, text=True, timeout=30
    )
    return "open mpi" in (done.stdout + done.stderr).lower()


OVERSUBSCRIBE = ["--oversubscribe"] if _is_open_mpi() else []


@dataclass
class Done:
    returncode: int
    output: str
    seconds: float


def nabla(
    folder: Path, args: list[str], ranks: int = 0, fault: str | None = None, limit: float = 60
) -> Done:
    """``nabla ARGS`` in ``folder``: one plain process (ranks=0) or ``mpiexec -n ranks``."""
    env = {
        **os.environ,
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "NABLA_DISTRIBUTED_TIMEOUT": "20",
        "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("NABLA_TEST_FAULT", None)
    if fault:
        env["NABLA_TEST_FAULT"] = fault
    command = [sys.executable, WORKER, *args]
    if ranks:
        assert MPIEXEC is not None
        command = [MPIEXEC, "-n", str(ranks), *OVERSUBSCRIBE, *command]
    start = time.perf_counter()
    done = subprocess.run(
        command,
        check=False,
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=limit,
    )
    return Done(done.returncode, done.stdout + done.stderr, time.perf_counter() - start)


def checkpoint(folder: Path) -> dict[str, Any]:
    state: dict[str, Any] = load_checkpoint(folder / "checkpoint.safetensors")
    return state


def max_difference(a: Path, b: Path) -> float:
    wa, wb = checkpoint(a)["model"], checkpoint(b)["model"]
    assert sorted(wa) == sorted(wb)
    return max(float(np.abs(wa[k] - wb[k]).max()) for k in wa)


def metrics(folder: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((folder / "metrics.json").read_text())
    return result


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Done]:
    """``ref``: one process, global batch 12; ``two``: two ranks of 6, uninterrupted."""
    folder = tmp_path_factory.mktemp("cli_distributed")
    ref = nabla(folder, [*COMMON, "--distributed", "--batch-size", "12", "--out", "ref"])
    assert ref.returncode == 0, ref.output
    two = nabla(folder, [*COMMON, "--batch-size", "6", "--out", "two", "-v"], ranks=2)
    assert two.returncode == 0, two.output
    return folder, two


def test_two_ranks_train_like_one_process_with_the_global_batch(runs: tuple[Path, Done]) -> None:
    folder, two = runs
    assert max_difference(folder / "ref", folder / "two") <= FLOAT32_ROUND_OFF
    one, both = metrics(folder / "ref"), metrics(folder / "two")
    for a, b in zip(one["epochs"], both["epochs"], strict=True):
        for key in ("train_loss", "val_loss"):
            assert b[key] == pytest.approx(a[key], rel=1e-5)
        for key in ("train_accuracy", "val_accuracy", "lr"):
            assert b[key] == a[key]
    for split, result in one["final"].items():
        assert both["final"][split]["accuracy"] == result["accuracy"]
        assert both["final"][split]["loss"] == pytest.approx(result["loss"], rel=1e-5)
        assert both["final"][split]["samples"] == result["samples"]
    # rank 0 alone prints and writes
    assert "data-parallel: 2 rank(s) × batch 6 = global batch 12 rows per step" in two.output
    for line in ("nabla train: mlp on iris", "epoch 5/5 ", "held-out test accuracy", "wrote "):
        assert two.output.count(line) == 1, two.output
    assert sorted(os.listdir(folder / "two")) == sorted(os.listdir(folder / "ref"))
    assert (both["ranks"], both["global_batch_size"]) == (2, 12)
    assert (one["ranks"], one["global_batch_size"]) == (1, 12)


def test_ctrl_c_on_one_rank_stops_every_rank_and_1_2_3_ranks_resume(
    runs: tuple[Path, Done], tmp_path: Path
) -> None:
    folder, _ = runs
    # SIGINT reaches rank 1 alone after step 13: its flag travels in step 14's allreduce
    stopped = nabla(
        tmp_path, [*COMMON, "--batch-size", "6", "--out", "int"], ranks=2, fault="1:13:SIGINT"
    )
    assert stopped.returncode == 130, stopped.output
    assert stopped.output.count("continue with:") == 1, stopped.output
    saved = checkpoint(tmp_path / "int")
    assert saved["global_step"] == 14 and saved["epoch"] == 1  # 9 steps per epoch
    assert saved["partial"]["step"] == 5 and saved["partial"]["seen"] == 60
    assert saved["loader"]["offset"] == 60 and saved["ranks"]["size"] == 2
    for ranks, batch in ((0, 12), (3, 4), (2, 6)):  # global batch 12 each time
        out = tmp_path / f"resumed{ranks}"
        shutil.copytree(tmp_path / "int", out)
        args = [*COMMON, "--batch-size", str(batch), "--out", out.name, "--resume"]
        resumed = nabla(tmp_path, args, ranks=ranks)
        assert resumed.returncode == 0, resumed.output
        assert checkpoint(out)["global_step"] == 45
        assert max_difference(folder / "ref", out) <= FLOAT32_ROUND_OFF
        if ranks == 2:  # the same ranks: the uninterrupted run's arithmetic
            assert max_difference(folder / "two", out) == 0
        else:
            assert "the same global batches follow" in resumed.output
    # another global batch: said, and the run finishes
    out = tmp_path / "other"
    shutil.copytree(tmp_path / "int", out)
    other = nabla(tmp_path, [*COMMON, "--batch-size", "6", "--out", "other", "--resume"])
    assert other.returncode == 0, other.output
    assert "later batches differ (for the same ones pass --batch-size 12)" in other.output
    assert checkpoint(out)["epoch"] == 5


def test_a_rank_killed_mid_run_ends_the_job_and_the_run_resumes_from_its_checkpoint(
    runs: tuple[Path, Done], tmp_path: Path
) -> None:
    folder, _ = runs
    args = [*COMMON, "--batch-size", "6", "--out", "killed", "--checkpoint-every", "1"]
    killed = nabla(tmp_path, args, ranks=2, fault="1:30:SIGKILL")  # step 3 of epoch 4
    assert killed.returncode != 0, killed.output
    assert killed.seconds < 30, killed.output
    assert re.search(r"\brank 1\b", killed.output), killed.output
    saved = checkpoint(tmp_path / "killed")
    assert saved["epoch"] == 3 and saved["partial"] is None
    resumed = nabla(tmp_path, [*args, "--resume"], ranks=2)
    assert resumed.returncode == 0, resumed.output
    assert "resuming from killed/checkpoint.safetensors after epoch 3" in resumed.output
    assert max_difference(folder / "two", tmp_path / "killed") == 0
