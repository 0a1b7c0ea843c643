"""This process's place in the world: :func:`init`, :func:`rank`, :func:`world_size`.

A process started by ``mpiexec`` (or ``srun`` with PMI/PMIx) joins the MPI world; any other
process is a world of one, whose collectives do nothing, so single-process code takes the same
path. ``init`` also makes a failure on one rank end every rank: an uncaught exception prints
``nabla.distributed: rank R failed: <Type>: <message>`` with its traceback and aborts the job
(where plain ``python`` would leave the other ranks waiting forever).
"""

from __future__ import annotations

import os
import sys
import traceback
from types import TracebackType
from typing import Any, NoReturn

import numpy as np

from nabla.distributed.communicator import Communicator, CommunicatorStats, DistributedError
from nabla.distributed.mpi import check_buffer, resolve_timeout

__all__ = [
    "LocalCommunicator",
    "barrier",
    "exit_status",
    "get_communicator",
    "init",
    "is_distributed_environment",
    "is_initialized",
    "rank",
    "world_size",
]

#: variables MPI launchers set in every rank's environment (Open MPI, PMIx, MPICH/Intel, MVAPICH)
LAUNCHER_VARIABLES = (
    "OMPI_COMM_WORLD_SIZE",
    "PMIX_RANK",
    "PMI_SIZE",
    "PMI_RANK",
    "MV2_COMM_WORLD_SIZE",
)

BACKENDS = ("mpi", "local")


class LocalCommunicator:
    """The world of one process: every collective returns at once and changes nothing."""

    def __init__(self, timeout: float | None = None) -> None:
        self.rank = 0
        self.size = 1
        self.timeout = resolve_timeout(timeout)
        self.stats = CommunicatorStats()

    def allreduce(self, buffer: np.ndarray[Any, Any]) -> None:
        check_buffer(buffer, "allreduce")  # refused as MPI refuses it: same code, same errors
        self.stats.allreduce_calls += 1
        self.stats.allreduce_bytes += buffer.nbytes

    def broadcast(self, buffer: np.ndarray[Any, Any], root: int = 0) -> None:
        check_buffer(buffer, "broadcast")
        self._check_root(root, "broadcast")
        self.stats.other_calls += 1

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        self._check_root(root, "broadcast_object")
        self.stats.other_calls += 1
        return obj

    def allgather_object(self, obj: Any) -> list[Any]:
        self.stats.other_calls += 1
        return [obj]

    def barrier(self) -> None:
        pass

    def abort(self, message: str, code: int = 1) -> NoReturn:
        print(message, file=sys.stderr, flush=True)
        raise SystemExit(code)

    def _check_root(self, root: int, what: str) -> None:
        if root != 0:
            raise DistributedError(f"{what}: root {root} is not a rank of a world of 1")


class _World:
    communicator: Communicator | None = None
    previous_excepthook: Any = None


_world = _World()


def is_distributed_environment() -> bool:
    """Whether an MPI launcher (``mpiexec``, ``srun --mpi=...``) started this process."""
    return any(os.environ.get(name) for name in LAUNCHER_VARIABLES)


def init(
    backend: str | None = None, timeout: float | None = None, debug: bool | None = None
) -> Communicator:
    """Join the world (once per process; later calls return the same communicator).

    Parameters
    ----------
    backend : {"mpi", "local"}, optional
        ``"mpi"``: the ranks ``mpiexec`` started (needs ``pip install 'nabla[mpi]'``);
        ``"local"``: a world of one. Default: ``"mpi"`` when an MPI launcher started this
        process, else ``"local"``.
    timeout : float, optional
        Seconds a collective waits for the other ranks before aborting the job
        (default ``$NABLA_DISTRIBUTED_TIMEOUT`` or 30).
    debug : bool, optional
        Check that every rank makes the same collective (``$NABLA_DISTRIBUTED_DEBUG=1``).

    Returns
    -------
    Communicator
        This process's member of the world.
    """
    if backend is not None and backend not in BACKENDS:
        raise DistributedError(
            f"nabla.distributed.init: unknown backend {backend!r} (expected one of {BACKENDS})"
        )
    if _world.communicator is not None:
        return _world.communicator
    if backend is None:
        backend = "mpi" if is_distributed_environment() else "local"
    communicator: Communicator
    if backend == "mpi":
        from nabla.distributed.mpi import MPICommunicator

        communicator = MPICommunicator(timeout=timeout, debug=debug)
    else:
        communicator = LocalCommunicator(timeout=timeout)
    _world.communicator = communicator
    if communicator.size > 1:
        _world.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught
    return communicator


def _abort_on_uncaught(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """Print the traceback and the failing rank, then end every rank of the job."""
    communicator = _world.communicator
    previous = _world.previous_excepthook or sys.__excepthook__
    try:
        previous(exc_type, exc, tb)
    except Exception:  # noqa: BLE001  (a broken hook must not keep the other ranks waiting)
        traceback.print_exception(exc_type, exc, tb)
    if communicator is None or communicator.size == 1:
        return
    detail = f": {exc}" if str(exc) else ""
    communicator.abort(
        f"nabla.distributed: rank {communicator.rank} failed: {exc_type.__name__}{detail}"
    )


def is_initialized() -> bool:
    """Whether :func:`init` has run in this process."""
    return _world.communicator is not None


def get_communicator() -> Communicator:
    """The world's communicator, joining it first (:func:`init` with defaults) if needed."""
    return _world.communicator if _world.communicator is not None else init()


def rank() -> int:
    """This process's rank: 0 before :func:`init` and in a world of one."""
    return 0 if _world.communicator is None else _world.communicator.rank


def world_size() -> int:
    """The number of processes: 1 before :func:`init` and without MPI."""
    return 1 if _world.communicator is None else _world.communicator.size


def barrier() -> None:
    """Wait until every rank has called it (nothing to wait for in a world of one)."""
    if _world.communicator is not None:
        _world.communicator.barrier()


def exit_status(status: int, message: str | None = None) -> int:
    """Pass a rank's exit status through here before it exits: a non-zero status in a world of
    several processes aborts every rank at once, printing the status and ``message``.
    Returns ``status`` when there is nothing to abort.

    For code that turns exceptions into exit statuses itself (the ``nabla`` CLI), where the
    uncaught-exception hook of :func:`init` never sees them. Without it the others still abort,
    about a second after this rank exits, naming it as exited but not why.
    """
    communicator = _world.communicator
    if status != 0 and communicator is not None and communicator.size > 1:
        why = f": {message}" if message else ""
        communicator.abort(
            f"nabla.distributed: rank {communicator.rank} failed with exit status {status}{why}",
            status,
        )
    return status
