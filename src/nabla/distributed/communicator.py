"""The collectives data-parallel training needs, behind one small interface.

A :class:`Communicator` joins ``size`` processes (or threads), each knowing its ``rank``. Every
collective is called by every member in the same order with buffers of the same shape and
dtype; a member that does not arrive within ``timeout`` seconds makes the others raise
:class:`DistributedError` naming it, instead of waiting forever.

Two implementations: :class:`nabla.distributed.mpi.MPICommunicator` (processes and machines,
through mpi4py) and :class:`ThreadCommunicator` (threads of one process: tests, and users
without MPI). Sums are taken in rank order, so a result is bitwise reproducible for a given
number of members.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nabla.errors import NablaError

__all__ = [
    "Communicator",
    "CommunicatorStats",
    "DistributedError",
    "ThreadCommunicator",
    "run_threads",
]

#: seconds a collective waits for the other members by default
DEFAULT_TIMEOUT = 30.0


class DistributedError(NablaError):
    """A collective failed: a member was lost, timed out, or called a different collective."""


@dataclass
class CommunicatorStats:
    """What a communicator has moved: allreduce calls and bytes, and the seconds spent in them."""

    allreduce_calls: int = 0
    allreduce_bytes: int = 0
    seconds: float = 0.0
    other_calls: int = 0

    def reset(self) -> None:
        self.allreduce_calls = self.allreduce_bytes = self.other_calls = 0
        self.seconds = 0.0


@runtime_checkable
class Communicator(Protocol):
    """The collectives, called by every member in the same order."""

    rank: int
    size: int
    timeout: float
    stats: CommunicatorStats

    def allreduce(self, buffer: np.ndarray[Any, Any]) -> None:
        """Replace ``buffer`` (a contiguous array) by the sum over members, in place."""

    def broadcast(self, buffer: np.ndarray[Any, Any], root: int = 0) -> None:
        """Replace ``buffer`` by ``root``'s, in place."""

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        """``root``'s ``obj`` (JSON-like data: numbers, strings, lists, dicts), on every member."""

    def allgather_object(self, obj: Any) -> list[Any]:
        """Every member's ``obj``, in rank order."""

    def barrier(self) -> None:
        """Return once every member has called it."""

    def abort(self, message: str, code: int = 1) -> None:
        """Stop every member: print ``message`` and exit with ``code`` (does not return)."""


@dataclass
class _Group:
    """The state the threads of one :class:`ThreadCommunicator` group share."""

    size: int
    timeout: float
    slots: list[Any] = field(default_factory=list)
    kinds: list[Any] = field(default_factory=list)
    barrier: threading.Barrier | None = None
    aborted: str | None = None

    def __post_init__(self) -> None:
        self.slots = [None] * self.size
        self.kinds = [None] * self.size
        self.barrier = threading.Barrier(self.size)


class ThreadCommunicator:
    """One member of a group of threads in this process (made by :func:`run_threads`).

    Collectives exchange arrays through shared slots between two barriers; sums are taken in
    rank order. A thread that does not reach a collective within ``timeout`` seconds breaks the
    barrier: the others raise :class:`DistributedError` naming the ranks that did not arrive.
    Mismatched collectives (another kind, shape or dtype) raise on every member.
    """

    def __init__(self, group: _Group, rank: int) -> None:
        self._group = group
        self.rank = rank
        self.size = group.size
        self.timeout = group.timeout
        self.stats = CommunicatorStats()

    def _wait(self, what: str) -> None:
        barrier = self._group.barrier
        assert barrier is not None
        try:
            barrier.wait(self.timeout)
        except threading.BrokenBarrierError:
            if self._group.aborted is not None:
                raise DistributedError(self._group.aborted) from None
            missing = [r for r, k in enumerate(self._group.kinds) if k is None]
            who = ", ".join(map(str, missing)) if missing else "unknown"
            raise DistributedError(
                f"rank {self.rank}: {what} timed out after {self.timeout:g} s waiting for "
                f"rank(s) {who} (lost or stuck)"
            ) from None

    def _exchange(self, kind: Any, value: Any) -> list[Any]:
        """Every member's ``value`` after checking they all called the same collective."""
        group = self._group
        group.slots[self.rank] = value
        group.kinds[self.rank] = kind
        self._wait(str(kind[0]))
        kinds, values = list(group.kinds), list(group.slots)
        self._wait(str(kind[0]))  # everyone has read the slots
        if self.rank == 0:
            group.kinds = [None] * self.size
        self._wait(str(kind[0]))
        if any(k != kinds[0] for k in kinds):
            described = "; ".join(f"rank {r}: {k}" for r, k in enumerate(kinds))
            raise DistributedError(f"mismatched collectives across ranks: {described}")
        return values

    def allreduce(self, buffer: np.ndarray[Any, Any]) -> None:
        values = self._exchange(("allreduce", buffer.shape, str(buffer.dtype)), buffer.copy())
        total = values[0].copy()
        for v in values[1:]:
            total += v  # rank order: bitwise reproducible
        buffer[...] = total
        self.stats.allreduce_calls += 1
        self.stats.allreduce_bytes += buffer.nbytes

    def broadcast(self, buffer: np.ndarray[Any, Any], root: int = 0) -> None:
        values = self._exchange(
            ("broadcast", buffer.shape, str(buffer.dtype), root), buffer.copy()
        )
        buffer[...] = values[root]
        self.stats.other_calls += 1

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        self.stats.other_calls += 1
        return self._exchange(("broadcast_object", root), obj)[root]

    def allgather_object(self, obj: Any) -> list[Any]:
        self.stats.other_calls += 1
        return self._exchange(("allgather_object",), obj)

    def barrier(self) -> None:
        self._exchange(("barrier",), None)

    def abort(self, message: str, code: int = 1) -> None:
        self._group.aborted = f"rank {self.rank} aborted the group: {message}"
        assert self._group.barrier is not None
        self._group.barrier.abort()
        raise DistributedError(self._group.aborted)


def run_threads(
    size: int, fn: Callable[[ThreadCommunicator], Any], timeout: float = DEFAULT_TIMEOUT
) -> list[Any]:
    """Run ``fn(communicator)`` on ``size`` threads joined in one group; their results in rank
    order. An exception on any thread aborts the group and is raised here (the first one, by
    rank), naming its rank."""
    group = _Group(size, timeout)
    results: list[Any] = [None] * size
    errors: list[Exception | None] = [None] * size

    def member(rank: int) -> None:
        comm = ThreadCommunicator(group, rank)
        try:
            results[rank] = fn(comm)
        except Exception as exc:  # noqa: BLE001  (any failure is reported to the caller below)
            errors[rank] = exc
            if group.aborted is None:
                group.aborted = (
                    str(exc)
                    if isinstance(exc, DistributedError)
                    else f"rank {rank} failed: {type(exc).__name__}: {exc}"
                )
            assert group.barrier is not None
            group.barrier.abort()

    threads = [threading.Thread(target=member, args=(r,), daemon=True) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first = next(
        (
            (r, e)
            for r, e in enumerate(errors)
            if e is not None and not isinstance(e, DistributedError)
        ),
        None,
    )
    if first is None:
        first = next(((r, e) for r, e in enumerate(errors) if e is not None), None)
    if first is not None:
        rank, exc = first
        raise DistributedError(f"rank {rank} failed: {type(exc).__name__}: {exc}") from exc
    return results
