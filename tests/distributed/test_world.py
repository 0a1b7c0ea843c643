"""init() without MPI: a world of one whose collectives change nothing; the launcher is
detected from the environment; bad settings and a missing mpi4py are one-line errors; the
uncaught-exception hook names the rank and aborts."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

import nabla.distributed as dist
from nabla.distributed import world
from nabla.distributed.communicator import Communicator, CommunicatorStats, DistributedError
from nabla.distributed.mpi import import_mpi, resolve_timeout


@pytest.fixture(autouse=True)
def _fresh_world(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts uninitialised, outside any launcher, and leaves sys.excepthook alone."""
    for name in world.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NABLA_DISTRIBUTED_TIMEOUT", raising=False)
    monkeypatch.setattr(world._world, "communicator", None)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)


def test_without_a_launcher_the_world_has_one_process_and_collectives_change_nothing() -> None:
    assert not dist.is_distributed_environment() and not dist.is_initialized()
    assert (dist.rank(), dist.world_size()) == (0, 1)
    hook = sys.excepthook
    comm = dist.init()
    assert isinstance(comm, dist.LocalCommunicator) and isinstance(comm, Communicator)
    assert dist.is_initialized() and dist.init() is comm and dist.get_communicator() is comm
    assert (dist.rank(), dist.world_size(), comm.timeout) == (0, 1, 30.0)
    assert sys.excepthook is hook  # nothing to abort in a world of one
    for buffer in (np.arange(6.0).reshape(2, 3), np.full((), 2.5, np.float32), np.zeros(0)):
        before = buffer.copy()
        comm.allreduce(buffer)
        comm.broadcast(buffer)
        np.testing.assert_array_equal(buffer, before)
        assert buffer.dtype == before.dtype
    assert comm.broadcast_object({"a": [1]}) == {"a": [1]}
    assert comm.allgather_object(7) == [7]
    dist.barrier()
    assert comm.stats.allreduce_calls == 3 and comm.stats.allreduce_bytes == 48 + 4
    with pytest.raises(DistributedError, match=r"shape \(2,\) must be C-contiguous"):
        comm.allreduce(np.zeros((2, 2))[:, 1])
    with pytest.raises(DistributedError, match="root 1 is not a rank of a world of 1"):
        comm.broadcast(np.zeros(2), root=1)
    with pytest.raises(SystemExit) as stopped:
        comm.abort("stop", 4)
    assert stopped.value.code == 4


def test_get_communicator_joins_the_world_when_nobody_did() -> None:
    comm = dist.get_communicator()
    assert dist.is_initialized() and comm.size == 1


@pytest.mark.parametrize("name", world.LAUNCHER_VARIABLES)
def test_a_launcher_is_detected_from_its_environment(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "2")
    assert dist.is_distributed_environment()


def test_timeouts_come_from_the_argument_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert resolve_timeout(None) == 30.0 and resolve_timeout(2) == 2.0
    monkeypatch.setenv("NABLA_DISTRIBUTED_TIMEOUT", "7.5")
    assert resolve_timeout(None) == 7.5 and dist.init(timeout=None).timeout == 7.5
    monkeypatch.setenv("NABLA_DISTRIBUTED_TIMEOUT", "soon")
    with pytest.raises(DistributedError, match="NABLA_DISTRIBUTED_TIMEOUT='soon' is not a number"):
        resolve_timeout(None)
    with pytest.raises(DistributedError, match="timeout must be > 0 seconds, got 0"):
        resolve_timeout(0)


def test_an_unknown_backend_is_refused_in_one_line() -> None:
    with pytest.raises(DistributedError, match="unknown backend 'nccl'"):
        dist.init(backend="nccl")


def test_without_mpi4py_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(DistributedError, match=r"pip install 'nabla\[mpi\]'") as caught:
        import_mpi()
    assert "\n" not in str(caught.value)
    with pytest.raises(DistributedError, match=r"nabla\[mpi\]"):
        dist.init(backend="mpi")


class _Recorder:
    """A member of a world of two that records its abort instead of ending the process."""

    rank, size, timeout = 1, 2, 30.0

    def __init__(self) -> None:
        self.stats = CommunicatorStats()
        self.aborted: list[tuple[str, int]] = []

    def abort(self, message: str, code: int = 1) -> None:
        self.aborted.append((message, code))

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected collective {name}")


def test_the_exception_hook_names_the_rank_and_aborts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(world._world, "communicator", recorder)
    monkeypatch.setattr(world._world, "previous_excepthook", sys.__excepthook__)
    try:
        raise KeyError("weights")
    except KeyError as exc:
        world._abort_on_uncaught(KeyError, exc, exc.__traceback__)
    assert recorder.aborted == [("nabla.distributed: rank 1 failed: KeyError: 'weights'", 1)]
    assert "Traceback" in capsys.readouterr().err
    assert dist.exit_status(0) == 0 and len(recorder.aborted) == 1
    dist.exit_status(2, "disk full")
    assert recorder.aborted[-1] == (
        "nabla.distributed: rank 1 failed with exit status 2: disk full",
        2,
    )


def test_the_lazy_names_resolve() -> None:
    assert dist.MPICommunicator.__name__ == "MPICommunicator"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        dist.nope  # noqa: B018
