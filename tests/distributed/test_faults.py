"""A failure on one rank ends every rank, in time, naming the rank: an exception (10 s), a
SIGKILL (30 s), a rank that hangs (the watchdog's timeout), a non-zero exit status."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

PRELUDE = """
    import os, signal, sys, time
    import numpy as np
    import nabla.distributed as dist

    comm = dist.init()
    buffer = np.ones(3)
    comm.allreduce(buffer)  # every rank is up
    with open(f"pid{{comm.rank}}", "w") as f:
        f.write(str(os.getpid()))
    if comm.rank == 1:
        {rank_one}
    comm.allreduce(buffer)
    print(f"rank {{comm.rank}} finished", flush=True)
"""

FAST = {"NABLA_DISTRIBUTED_TIMEOUT": "5"}


def test_an_exception_on_one_rank_ends_every_rank_within_10_s(
    mpirun: Callable[..., Any],
) -> None:
    run = mpirun(PRELUDE.format(rank_one='raise ValueError("bad batch on rank one")'), 3, FAST)
    assert run.returncode != 0, run.output
    assert run.seconds < 10, run.output
    assert "nabla.distributed: rank 1 failed: ValueError: bad batch on rank one" in run.output
    assert "Traceback" in run.output  # the traceback too
    assert "finished" not in run.output


def test_a_nonzero_exit_status_passed_to_exit_status_ends_every_rank(
    mpirun: Callable[..., Any],
) -> None:
    run = mpirun(PRELUDE.format(rank_one='sys.exit(dist.exit_status(3, "disk full"))'), 2, FAST)
    assert run.returncode != 0, run.output
    assert run.seconds < 10, run.output
    assert "nabla.distributed: rank 1 failed with exit status 3: disk full" in run.output
    assert "finished" not in run.output


@pytest.mark.parametrize("leave", ["sys.exit(1)", "sys.exit(0)"])
def test_a_rank_that_exits_early_ends_every_rank_within_10_s(
    mpirun: Callable[..., Any], leave: str
) -> None:
    # as the nabla CLI does: it turns an error into a status, so no exception hook sees it
    run = mpirun(PRELUDE.format(rank_one=leave), 3, {"NABLA_DISTRIBUTED_TIMEOUT": "25"})
    pid = (run.folder / "pid1").read_text()
    assert run.returncode != 0, run.output
    assert run.seconds < 10, run.output
    assert re.search(rf"rank 1 \(pid {pid} on \S+\) has exited", run.output), run.output
    assert "finished" not in run.output


def test_a_rank_killed_by_sigkill_ends_every_rank_within_30_s(
    mpirun: Callable[..., Any],
) -> None:
    run = mpirun(PRELUDE.format(rank_one="os.kill(os.getpid(), signal.SIGKILL)"), 3, FAST)
    assert run.returncode != 0, run.output
    assert run.seconds < 30, run.output
    # Open MPI's mpiexec ends the job itself ("process rank 1 ... exited on signal 9")
    assert re.search(r"\brank 1\b", run.output), run.output
    assert "finished" not in run.output


def test_the_watchdog_names_a_rank_killed_by_sigkill(
    mpirun: Callable[..., Any], open_mpi: bool
) -> None:
    if not open_mpi:
        pytest.skip("--enable-recovery is Open MPI's")
    # with --enable-recovery mpiexec lets the job run on: nabla's watchdog must end it
    # a dead process on this host is noticed within a second, long before the timeout
    run = mpirun(
        PRELUDE.format(rank_one="os.kill(os.getpid(), signal.SIGKILL)"),
        3,
        {"NABLA_DISTRIBUTED_TIMEOUT": "25"},
        launcher_args=["--enable-recovery"],
    )
    pid = (run.folder / "pid1").read_text()
    assert run.returncode != 0, run.output
    assert run.seconds < 10, run.output
    assert re.search(rf"rank 1 \(pid {pid} on \S+\) is gone", run.output), run.output
    assert "finished" not in run.output


def test_a_hanging_rank_is_named_after_the_timeout(mpirun: Callable[..., Any]) -> None:
    run = mpirun(PRELUDE.format(rank_one="time.sleep(120)"), 3, FAST)
    assert run.returncode != 0, run.output
    assert 5 < run.seconds < 20, run.output
    assert re.search(
        r"rank [02]: allreduce\(\(3,\), float64\) \(call 2\) timed out after 5 s: "
        r"rank\(s\) 1 did not answer",
        run.output,
    ), run.output
    assert "finished" not in run.output


def test_a_rank_that_never_calls_init_is_reported(mpirun: Callable[..., Any]) -> None:
    source = """
        import time
        from mpi4py import MPI  # MPI itself is up on every rank
        if MPI.COMM_WORLD.Get_rank() == 1:
            time.sleep(120)
        import nabla.distributed as dist
        dist.init()
        print("finished", flush=True)
    """
    run = mpirun(source, 2, FAST)
    assert run.returncode != 0, run.output
    assert run.seconds < 20, run.output
    assert "init() (call 0) timed out after 5 s: a rank did not call" in run.output, run.output
    assert "finished" not in run.output
