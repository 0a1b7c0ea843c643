"""The ``mpirun`` fixture: a script run by N real processes under ``mpiexec``, timed.

Tests using it skip when mpi4py or ``mpiexec`` is missing (``pip install 'nabla[mpi]'``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

MPIEXEC = shutil.which("mpiexec")


def _is_open_mpi() -> bool:
    if MPIEXEC is None:
        return False
    version = subprocess.run(
        [MPIEXEC, "--version"], check=False, capture_output=True, text=True, timeout=30
    )
    return "open mpi" in (version.stdout + version.stderr).lower()


OPEN_MPI = _is_open_mpi()


@pytest.fixture
def open_mpi() -> bool:
    """Whether ``mpiexec`` is Open MPI's (``--oversubscribe``, ``--enable-recovery``)."""
    return OPEN_MPI


@dataclass
class MPIRun:
    """What a run under ``mpiexec`` left: exit status, output and wall time."""

    returncode: int
    output: str  # stdout and stderr of every rank and of mpiexec
    seconds: float
    folder: Path


@pytest.fixture
def mpirun(tmp_path: Path) -> Callable[..., MPIRun]:
    """``mpirun(source, n, env={}, launcher_args=(), limit=60)`` runs ``source`` (dedented) on
    ``n`` ranks from a file in tmp_path (also the working directory) and returns an
    :class:`MPIRun`; a run past ``limit`` seconds is killed and fails the test."""
    if importlib.util.find_spec("mpi4py") is None or MPIEXEC is None:
        pytest.skip("needs mpi4py and mpiexec: pip install 'nabla[mpi]'")

    def run(
        source: str,
        n: int,
        env: dict[str, str] | None = None,
        launcher_args: Sequence[str] = (),
        limit: float = 60,
    ) -> MPIRun:
        assert MPIEXEC is not None
        script = tmp_path / "script.py"
        script.write_text(textwrap.dedent(source))
        src = str(Path(__file__).resolve().parents[2] / "src")
        environment = {
            **os.environ,
            "OMPI_ALLOW_RUN_AS_ROOT": "1",  # CI runs as root
            "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
            "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
            **(env or {}),
        }
        command = [MPIEXEC, "-n", str(n)]
        command += ["--oversubscribe"] if OPEN_MPI else []
        command += [*launcher_args, sys.executable, str(script)]
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # to end every rank if the run hangs
        )
        try:
            output, _ = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            pytest.fail(f"mpiexec -n {n} still running after {limit} s:\n{output}")
        return MPIRun(process.returncode, output, time.perf_counter() - start, tmp_path)

    return run
