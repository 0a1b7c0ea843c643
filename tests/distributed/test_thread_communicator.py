"""The in-process communicator: sums in rank order, objects, and failures that name the rank."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nabla.distributed.communicator import DistributedError, ThreadCommunicator, run_threads


def test_collectives_agree_on_every_rank() -> None:
    def work(comm: ThreadCommunicator) -> Any:
        buffer = np.full(3, comm.rank + 1.0)
        comm.allreduce(buffer)
        root = np.arange(2.0) + comm.rank
        comm.broadcast(root, root=2)
        return (
            buffer,
            root,
            comm.broadcast_object({"from": comm.rank}, 1),
            comm.allgather_object(comm.rank),
        )

    for buffer, root, obj, gathered in run_threads(3, work):
        np.testing.assert_array_equal(buffer, [6.0, 6.0, 6.0])
        np.testing.assert_array_equal(root, [2.0, 3.0])
        assert obj == {"from": 1} and gathered == [0, 1, 2]


def test_sums_are_taken_in_rank_order() -> None:
    values = [np.float32(1e8), np.float32(1.0), np.float32(-1e8)]

    def work(comm: ThreadCommunicator) -> Any:
        buffer = np.array([values[comm.rank]], np.float32)
        comm.allreduce(buffer)
        return buffer[0]

    expected = (values[0] + values[1]) + values[2]  # float32: the 1 is lost, in this order
    assert run_threads(3, work) == [expected] * 3


def test_an_exception_names_its_rank() -> None:
    def work(comm: ThreadCommunicator) -> None:
        if comm.rank == 1:
            raise ValueError("boom")
        comm.barrier()

    with pytest.raises(DistributedError, match="rank 1 failed: ValueError: boom"):
        run_threads(3, work, timeout=5)


def test_a_missing_rank_times_out_and_is_named() -> None:
    def work(comm: ThreadCommunicator) -> None:
        if comm.rank != 2:
            comm.barrier()

    with pytest.raises(DistributedError, match=r"timed out after 0.5 s waiting for rank\(s\) 2"):
        run_threads(3, work, timeout=0.5)


def test_mismatched_collectives_are_errors_not_hangs() -> None:
    def work(comm: ThreadCommunicator) -> None:
        comm.allreduce(np.zeros(3 if comm.rank == 0 else 2))

    with pytest.raises(DistributedError, match=r"mismatched collectives.*rank 1: .*\(2,\)"):
        run_threads(2, work, timeout=5)
