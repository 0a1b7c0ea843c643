"""Real processes under ``mpiexec``: 2 and 3 ranks (oversubscribed) training an MLP with
dropout, SGD-momentum and Adam, and an uneven last batch, give step by step the parameters of
one process with the whole batch (float64 to 1e-12); every rank holds the same ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")
pytest.importorskip("nabla.distributed.mpi")  # the MPI communicator
MPIEXEC = shutil.which("mpiexec")
WORKER = Path(__file__).with_name("ddp_worker.py")
ENV = {
    **os.environ,
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "NABLA_DISTRIBUTED_TIMEOUT": "30",
}

pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="mpiexec is not installed")


def _run(command: list[str]) -> None:
    done = subprocess.run(
        command, check=False, env=ENV, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _load(path: str) -> list[np.ndarray]:
    with np.load(path) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


@pytest.mark.parametrize("size", [2, 3])
def test_mpi_ranks_equal_one_process_with_the_whole_batch(size: int, tmp_path: Path) -> None:
    assert MPIEXEC is not None
    out = str(tmp_path / "params")
    _run([sys.executable, str(WORKER), out, str(size), "--single"])
    launch = [MPIEXEC, "-n", str(size)] + (["--oversubscribe"] if size > 2 else [])
    _run([*launch, sys.executable, str(WORKER), out, str(size)])
    single = _load(out + ".npz")
    ranks = [_load(f"{out}.rank{r}.npz") for r in range(size)]
    assert len(single) == 4 * 2 * 3  # 4 parameters, 2 epochs of 3 global batches
    for params in ranks:
        assert len(params) == len(single)
        for p, q, first in zip(params, single, ranks[0]):
            np.testing.assert_array_equal(p, first)  # every rank holds the same parameters
            assert np.max(np.abs(p - q)) <= 1e-12
