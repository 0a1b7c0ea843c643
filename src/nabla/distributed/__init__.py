"""Data-parallel training over many processes (MPI) or threads.

Run ``mpiexec -n 4 python train.py`` (``pip install 'nabla[mpi]'``); in the script::

    import nabla.distributed as dist
    dist.init()                     # MPI under mpiexec, else a world of one
    print(dist.rank(), dist.world_size())

``init()`` makes a failure anywhere end the whole job: an uncaught exception on one rank prints
``nabla.distributed: rank R failed: <Type>: <message>`` and aborts every rank, and a rank that
dies or hangs makes the others abort after ``NABLA_DISTRIBUTED_TIMEOUT`` seconds (30) with a
message naming it. ``NABLA_DISTRIBUTED_DEBUG=1`` turns collectives that differ across ranks
(another shape, order or root) into errors instead of hangs.
"""

from __future__ import annotations

from typing import Any

from nabla.distributed.communicator import (
    Communicator,
    CommunicatorStats,
    DistributedError,
    ThreadCommunicator,
    run_threads,
)
from nabla.distributed.world import (
    LocalCommunicator,
    barrier,
    exit_status,
    get_communicator,
    init,
    is_distributed_environment,
    is_initialized,
    rank,
    world_size,
)

# imported on first use: they pull in nabla.nn and nabla.data, which a bare `init()` needs not
_LAZY = {
    "DistributedDataParallel": "nabla.distributed.ddp",
    "broadcast_optimizer_state": "nabla.distributed.ddp",
    "DistributedSampler": "nabla.distributed.sampler",
    "DistributedBatchSampler": "nabla.distributed.sampler",
    "MPICommunicator": "nabla.distributed.mpi",
    "MetricSums": "nabla.distributed.metrics",
    "reduce_metrics": "nabla.distributed.metrics",
    "reduce_sums": "nabla.distributed.metrics",
}

__all__ = [
    "Communicator",
    "CommunicatorStats",
    "DistributedBatchSampler",
    "DistributedDataParallel",
    "DistributedError",
    "DistributedSampler",
    "LocalCommunicator",
    "MPICommunicator",
    "MetricSums",
    "ThreadCommunicator",
    "barrier",
    "broadcast_optimizer_state",
    "exit_status",
    "get_communicator",
    "init",
    "is_distributed_environment",
    "is_initialized",
    "rank",
    "reduce_metrics",
    "reduce_sums",
    "run_threads",
    "world_size",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nabla.distributed' has no attribute {name!r}")
