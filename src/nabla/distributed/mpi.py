"""The :class:`~nabla.distributed.communicator.Communicator` of processes joined by MPI (mpi4py).

Arrays move with mpi4py's buffer calls (``Iallreduce`` with ``MPI.IN_PLACE``, ``Ibcast``): no
pickling, no copies. Only the small ``*_object`` calls pickle, and they too travel as byte
buffers. Every collective is started nonblocking and polled with ``Test()`` under a watchdog:
a rank whose process has died on this host is noticed within a second (``rank 1 (pid 1234 on
node3) is gone``), and a member that does not arrive within ``timeout`` seconds
(``NABLA_DISTRIBUTED_TIMEOUT``, 30 by default) is named as not answering; either way the
waiting members print the message and call ``MPI_Abort``, so that ``mpiexec`` ends every rank
instead of leaving them hanging. A rank that exits (its script's end, ``sys.exit``, the CLI's
error status) tells the others at interpreter exit: one still waiting in a collective aborts a
second later (``rank 1 (pid 1234 on node3) has exited``).

With ``debug=True`` (``NABLA_DISTRIBUTED_DEBUG=1``) every collective is preceded by an
exchange of signatures (call number, kind, shape, dtype, root); a mismatch raises
:class:`~nabla.distributed.communicator.DistributedError` on every rank, naming each rank's
call, where MPI would hang or return garbage.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import socket
import sys
import threading
import time
from typing import Any, NoReturn

import numpy as np

from nabla.distributed.communicator import DEFAULT_TIMEOUT, CommunicatorStats, DistributedError

__all__ = [
    "DEBUG_ENV",
    "TIMEOUT_ENV",
    "MPICommunicator",
    "check_buffer",
    "import_mpi",
    "resolve_timeout",
]

#: seconds MPI_Abort gets to end the job before this process exits by itself
ABORT_GRACE = 3.0

#: environment variable: seconds a collective waits for the other ranks
TIMEOUT_ENV = "NABLA_DISTRIBUTED_TIMEOUT"
#: environment variable: "1" checks that every rank calls the same collective
DEBUG_ENV = "NABLA_DISTRIBUTED_DEBUG"

_INSTALL_HINT = "pip install 'nabla[mpi]'"
# tags of the side channel: a timed-out rank's question and the answers; a rank that exits
_QUERY, _REPLY, _LEAVING = 17001, 17002, 17003
_GRACE = 2.0  # seconds a timed-out rank waits for the others' answers
_LEFT_GRACE = 1.0  # seconds a collective may still take to complete after a member left


def import_mpi() -> Any:
    """mpi4py's ``MPI`` module (initialising MPI), or a one-line error saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise DistributedError(
            f"nabla.distributed: MPI needs mpi4py and an MPI library ({exc}); "
            f"install them with: {_INSTALL_HINT}"
        ) from None
    return MPI


def resolve_timeout(timeout: float | None) -> float:
    """``timeout``, else ``$NABLA_DISTRIBUTED_TIMEOUT``, else 30 s; it must be positive."""
    if timeout is None:
        raw = os.environ.get(TIMEOUT_ENV, "").strip()
        if not raw:
            return DEFAULT_TIMEOUT
        try:
            timeout = float(raw)
        except ValueError:
            raise DistributedError(
                f"nabla.distributed: {TIMEOUT_ENV}={raw!r} is not a number of seconds"
            ) from None
    if not timeout > 0:
        raise DistributedError(f"nabla.distributed: timeout must be > 0 seconds, got {timeout!r}")
    return float(timeout)


def debug_from_environment() -> bool:
    """Whether ``$NABLA_DISTRIBUTED_DEBUG`` asks for the collective checks."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def describe_call(kind: str, shape: Any = None, dtype: Any = None, root: Any = None) -> str:
    """``allreduce((3,), float64)``, ``broadcast((2,), int64, root=1)``, ``barrier()``."""
    parts = [] if shape is None else [str(tuple(shape)), str(dtype)]
    if root is not None:
        parts.append(f"root={root}")
    return f"{kind}({', '.join(parts)})"


def check_buffer(buffer: Any, what: str) -> np.ndarray[Any, Any]:
    if not isinstance(buffer, np.ndarray):
        raise DistributedError(f"{what}: expected a NumPy array, got {type(buffer).__name__}")
    if not buffer.flags.c_contiguous or not buffer.flags.writeable:
        raise DistributedError(
            f"{what}: buffer of shape {buffer.shape} must be C-contiguous and writeable "
            "(use np.ascontiguousarray and copy the result back)"
        )
    return buffer


class MPICommunicator:
    """This process's member of an MPI communicator (``MPI.COMM_WORLD`` by default).

    Parameters
    ----------
    comm : mpi4py communicator, optional
        The processes to join; it is duplicated, so nabla's messages never meet the caller's.
    timeout : float, optional
        Seconds a collective waits for the others before aborting the job
        (default ``$NABLA_DISTRIBUTED_TIMEOUT`` or 30).
    debug : bool, optional
        Check before every collective that all ranks call the same one
        (default ``$NABLA_DISTRIBUTED_DEBUG``).
    """

    def __init__(self, comm: Any = None, timeout: float | None = None, debug: bool | None = None):
        self._mpi = import_mpi()
        world = self._mpi.COMM_WORLD if comm is None else comm
        self._world = world
        self.rank: int = world.Get_rank()
        self.size: int = world.Get_size()
        self.timeout = resolve_timeout(timeout)
        self.debug = debug_from_environment() if debug is None else bool(debug)
        self.stats = CommunicatorStats()
        self._calls = 0  # collectives started so far (the debug signatures' call numbers)
        self._call: tuple[Any, ...] = ("init",)  # the collective in progress
        self._pending_replies: list[Any] = []
        self._left: dict[int, float] = {}  # ranks that exited: when we heard it
        #: (hostname, pid) of every rank, to name a lost one
        self.peers: list[tuple[str, int]] = []
        # duplicates, under the watchdog too (a rank that never calls init must not hang the
        # others): one for the collectives, one for a timed-out rank's questions
        self._side: Any = None
        side, request = world.Idup()
        self._wait(request)
        self._side = side
        self._comm, request = world.Idup()
        self._wait(request)
        self.peers = [
            (str(h), int(p)) for h, p in self._allgather_bytes((socket.gethostname(), os.getpid()))
        ]
        # a rank that exits while the others wait in a collective (a script's end, sys.exit,
        # the CLI's error status) tells them, so they abort now rather than at the timeout;
        # registered after mpi4py's MPI_Finalize hook, so it runs first
        atexit.register(self._say_leaving)

    # -- the collectives ----------------------------------------------------------------------
    def allreduce(self, buffer: np.ndarray[Any, Any]) -> None:
        buffer = check_buffer(buffer, "allreduce")
        self._begin("allreduce", buffer.shape, buffer.dtype)
        start = time.perf_counter()
        self._wait(self._comm.Iallreduce(self._mpi.IN_PLACE, buffer, op=self._mpi.SUM))
        self.stats.seconds += time.perf_counter() - start
        self.stats.allreduce_calls += 1
        self.stats.allreduce_bytes += buffer.nbytes

    def broadcast(self, buffer: np.ndarray[Any, Any], root: int = 0) -> None:
        buffer = check_buffer(buffer, "broadcast")
        self._check_root(root, "broadcast")
        self._begin("broadcast", buffer.shape, buffer.dtype, root)
        self._wait(self._comm.Ibcast(buffer, root=root))
        self.stats.other_calls += 1

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        self._check_root(root, "broadcast_object")
        self._begin("broadcast_object", root=root)
        self.stats.other_calls += 1
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL) if self.rank == root else b""
        length = np.array([len(data)], np.int64)
        self._wait(self._comm.Ibcast(length, root=root))
        payload = np.frombuffer(data, np.uint8).copy() if self.rank == root else None
        if payload is None:
            payload = np.empty(int(length[0]), np.uint8)
        self._wait(self._comm.Ibcast(payload, root=root))
        return obj if self.rank == root else pickle.loads(payload.tobytes())

    def allgather_object(self, obj: Any) -> list[Any]:
        self._begin("allgather_object")
        self.stats.other_calls += 1
        return self._allgather_bytes(obj)

    def barrier(self) -> None:
        self._begin("barrier")
        self._wait(self._comm.Ibarrier())

    def abort(self, message: str, code: int = 1) -> NoReturn:
        """Print ``message`` on stderr and end every rank of the job (``MPI_Abort``).

        ``MPI_Abort`` can itself wait on a lost peer (seen under ``mpiexec --enable-recovery``,
        where the job outlived it by minutes): a timer ends this process after
        :data:`ABORT_GRACE` seconds whatever MPI does, so no rank outlives the failure."""
        sys.stdout.flush()
        print(message, file=sys.stderr, flush=True)
        timer = threading.Timer(ABORT_GRACE, os._exit, args=(code,))
        timer.daemon = True
        timer.start()
        self._world.Abort(code)
        os._exit(code)  # pragma: no cover  (Abort does not return)

    # -- machinery ----------------------------------------------------------------------------
    def _check_root(self, root: int, what: str) -> None:
        if not 0 <= root < self.size:
            raise DistributedError(f"{what}: root {root} is not a rank of a world of {self.size}")

    def _begin(self, kind: str, shape: Any = None, dtype: Any = None, root: Any = None) -> None:
        """Count the call and, in debug mode, check that every rank makes the same one."""
        self._calls += 1
        self._call = (kind, shape, dtype, root)
        if not self.debug:
            return
        call = self._describe()
        signatures = self._allgather_bytes((self._calls, call))
        if any(s != signatures[0] for s in signatures):
            described = ", ".join(
                f"rank {r} called {c} as call {n}" for r, (n, c) in enumerate(signatures)
            )
            raise DistributedError(f"mismatched collectives across ranks: {described}")

    def _describe(self) -> str:
        """The collective in progress, as ``allreduce((3,), float64)``."""
        kind, shape, dtype, root = (self._call + (None,) * 4)[:4]
        return describe_call(kind, shape, None if dtype is None else np.dtype(dtype), root)

    @property
    def _current(self) -> str:
        return f"{self._describe()} (call {self._calls})"

    def _allgather_bytes(self, obj: Any) -> list[Any]:
        data = np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), np.uint8)
        lengths = np.empty(self.size, np.int64)
        self._wait(self._comm.Iallgather(np.array([data.size], np.int64), lengths))
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        gathered = np.empty(int(lengths.sum()), np.uint8)
        self._wait(
            self._comm.Iallgatherv(
                data.copy(), [gathered, (lengths.tolist(), offsets.tolist()), self._mpi.BYTE]
            )
        )
        return [
            pickle.loads(gathered[o : o + n].tobytes())
            for o, n in zip(offsets.tolist(), lengths.tolist())
        ]

    def _wait(self, request: Any) -> None:
        """Poll ``request`` until it completes. A rank of this host whose process has died
        aborts the job at once (checked every second); past ``timeout``, the ranks that do not
        answer are named and the job aborted."""
        try:
            if request.Test():
                return
            start = time.perf_counter()
            next_answer, next_check = start + 0.05, start + 1.0
            while not request.Test():
                now = time.perf_counter()
                elapsed = now - start
                if elapsed > self.timeout:
                    self._lost(f"timed out after {self.timeout:g} s")
                if now > next_answer and self._side is not None:
                    self._answer_queries()  # a slow collective: answer ranks that timed out
                    next_answer = now + 0.05
                    if self._left and now - min(self._left.values()) > _LEFT_GRACE:
                        self._lost(f"cannot complete (waited {elapsed:.1f} s)")
                if now > next_check:
                    if self._gone_ranks():
                        self._lost(f"cannot complete (waited {elapsed:.1f} s)")
                    next_check = now + 1.0
                # spin at first (small messages take microseconds), then sleep a little:
                # Open MPI advances a nonblocking collective only inside Test()
                if elapsed > 0.005:
                    time.sleep(0.0002 if elapsed < 1 else 0.005)
        except self._mpi.Exception as exc:
            self._lost(f"failed in MPI ({str(exc).strip()})")

    def _say_leaving(self) -> None:
        """Tell every other rank this process is exiting (at interpreter exit)."""
        if self._mpi.Is_finalized() or self.size == 1:
            return
        with contextlib.suppress(self._mpi.Exception):
            requests = [
                self._side.isend(self.rank, dest=r, tag=_LEAVING)
                for r in range(self.size)
                if r != self.rank
            ]
            deadline = time.perf_counter() + 0.5  # small messages: sent at once
            while not self._mpi.Request.Testall(requests) and time.perf_counter() < deadline:
                time.sleep(0.001)

    def _answer_queries(self) -> None:
        status = self._mpi.Status()
        while self._side.Iprobe(source=self._mpi.ANY_SOURCE, tag=_LEAVING, status=status):
            source = status.Get_source()
            self._side.recv(source=source, tag=_LEAVING)
            self._left.setdefault(source, time.perf_counter())
        while self._side.Iprobe(source=self._mpi.ANY_SOURCE, tag=_QUERY, status=status):
            source = status.Get_source()
            self._side.recv(source=source, tag=_QUERY)
            self._pending_replies.append(
                self._side.isend((self.rank, self._current), dest=source, tag=_REPLY)
            )

    def _gone_ranks(self) -> list[int]:
        """Ranks whose process has died on this host."""
        here = socket.gethostname()
        gone = []
        for rank, (host, pid) in enumerate(self.peers):
            if rank == self.rank or host != here:
                continue
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                gone.append(rank)
            except PermissionError:  # alive, under another user
                pass
        return gone

    def _ask_others(self) -> dict[int, str]:
        """Which ranks answer within a short grace period, and the collective each waits in."""
        requests = []
        for rank in range(self.size):
            if rank != self.rank:
                with contextlib.suppress(self._mpi.Exception):
                    requests.append(self._side.isend(self.rank, dest=rank, tag=_QUERY))
        self._pending_replies.extend(requests)  # kept alive until the abort
        answers: dict[int, str] = {}
        status = self._mpi.Status()
        deadline = time.perf_counter() + min(_GRACE, self.timeout)
        while len(answers) < self.size - 1 and time.perf_counter() < deadline:
            self._answer_queries()
            while self._side.Iprobe(source=self._mpi.ANY_SOURCE, tag=_REPLY, status=status):
                rank, current = self._side.recv(source=status.Get_source(), tag=_REPLY)
                answers[int(rank)] = str(current)
            time.sleep(0.01)
        return answers

    def _lost(self, reason: str) -> NoReturn:
        """Name the ranks this collective lost, then abort the job."""
        gone = self._gone_ranks() if self.peers else []
        if self._side is None:
            who = "a rank did not call nabla.distributed.init() (stuck before it, or lost)"
        elif gone or self._left:
            who = "; ".join(
                f"rank {r} (pid {self.peers[r][1]} on {self.peers[r][0]}) "
                + ("is gone" if r in gone else "has exited")
                for r in sorted(set(gone) | set(self._left))
            )
        else:
            try:
                answers = self._ask_others()
            except self._mpi.Exception:
                answers = {}
            silent = [r for r in range(self.size) if r != self.rank and r not in answers]
            elsewhere = [
                f"rank {r} waits in {answers[r]}"
                for r in sorted(answers)
                if answers[r] != self._current
            ]
            who = (
                f"rank(s) {', '.join(map(str, silent))} did not answer (stuck, or lost on "
                "another host)"
                if silent
                else "every rank answered"
            )
            if elsewhere:
                who += "; " + "; ".join(elsewhere)
        self.abort(
            f"nabla.distributed: rank {self.rank}: {self._current} {reason}: {who}; "
            "aborting every rank"
        )
