"""A failure on one rank ends every rank, in time, naming the rank: an exception (10 s), a
SIGKILL (30 s), a rank that hangs (the watchdog's timeout), a non-zero exit status."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
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


def _ended(pid: int) -> bool:
    """Whether process ``pid`` has exited (gone, or a zombie its parent has not reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def test_the_watchdog_names_a_rank_killed_by_sigkill(
    mpirun: Callable[..., Any], open_mpi: bool, tmp_path: Path
) -> None:
    if not open_mpi:
        pytest.skip("--enable-recovery is Open MPI's")
    # with --enable-recovery mpiexec lets the job run on: nabla's watchdog must end the ranks.
    # What Open MPI's launcher does next varies (it may exit 0, or stay up), so the test
    # watches the ranks' own processes, not mpiexec's exit
    from .conftest import MPIEXEC

    assert MPIEXEC is not None
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(PRELUDE.format(rank_one="os.kill(os.getpid(), signal.SIGKILL)"))
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {
        **os.environ,
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
        "NABLA_DISTRIBUTED_TIMEOUT": "25",
    }
    command = [MPIEXEC, "-n", "3", "--oversubscribe", "--enable-recovery", sys.executable]
    log = tmp_path / "output.txt"
    start = time.perf_counter()
    with log.open("w") as out:
        launcher = subprocess.Popen(
            [*command, str(script)], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            survivors = [tmp_path / "pid0", tmp_path / "pid2"]
            while time.perf_counter() - start < 20:
                if all(p.exists() and p.read_text() for p in survivors) and all(
                    _ended(int(p.read_text())) for p in survivors
                ):
                    break
                time.sleep(0.1)
            seconds = time.perf_counter() - start
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    output = log.read_text(errors="replace")
    pid = (tmp_path / "pid1").read_text()
    assert seconds < 10, output  # both survivors ended, well before the 25 s timeout
    assert re.search(rf"rank 1 \(pid {pid} on \S+\) is gone", output), output
    assert "finished" not in output


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
