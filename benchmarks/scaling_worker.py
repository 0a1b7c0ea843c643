"""What every rank of ``benchmarks/scaling.py`` runs under ``mpiexec``; rank 0 prints one JSON line.

``mpiexec -n N python benchmarks/scaling_worker.py train WIDTHS BATCH STEPS``: data-parallel
training of the MLP ``WIDTHS`` (``784,256,128,10``: Linear layers with ReLU between them),
float32, plain SGD (lr 0.01), cross-entropy, wrapped in ``DistributedDataParallel`` (one
allreduce of every gradient per backward). Each rank trains on its own fixed batch of ``BATCH``
rows (the compute and the communication, not data loading). After 5 warm-up steps, ``STEPS``
steps are timed one by one; for each, the communicator's ``stats`` give the allreduce calls,
bytes and seconds it added. Every rank reports its median step, allreduce and compute
(step minus allreduce) seconds, and the totals of step and allreduce seconds over the steps.

``mpiexec -n N python benchmarks/scaling_worker.py curve REPEATS``: allreduce time against
buffer size, 8 B to 8 MiB of float32 (doubling; the wider MLP's gradients are 7.5 MB), through
nabla's ``MPICommunicator.allreduce`` (what training uses: nonblocking ``Iallreduce`` polled under the watchdog) and through plain
``mpi4py`` ``Allreduce`` (blocking, no watchdog). Each call follows a barrier; a rank's time is
the median over ``REPEATS`` calls, and the reported time the slowest rank's.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import sys
import time
from typing import Any

import numpy as np

WARMUP = 5
CURVE_BYTES = [8 * 2**k for k in range(21)]  # 8 B ... 8 MiB


def blas_threads() -> int | None:
    """The BLAS thread count NumPy uses (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [int(p["num_threads"]) for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else None


def train(widths: list[int], batch: int, steps: int) -> dict[str, Any] | None:
    import nabla as nb
    import nabla.distributed as dist
    import nabla.nn.functional as F
    from nabla import nn, optim
    from nabla.distributed.ddp import DistributedDataParallel

    comm = dist.init()
    nb.manual_seed(0)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        layers += [nn.Linear(n_in, n_out)] + ([nn.ReLU()] if i < len(widths) - 2 else [])
    model = DistributedDataParallel(nn.Sequential(*layers), comm)
    n_params = sum(int(p.data.size) for p in model.parameters())
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(1 + comm.rank)  # each rank its own batch
    x = nb.tensor(rng.standard_normal((batch, widths[0])).astype(np.float32))
    y = nb.tensor(rng.integers(0, widths[-1], batch))

    def step() -> float:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    for _ in range(WARMUP):
        step()
    comm.barrier()
    rows: list[tuple[float, float, int, int]] = []  # step s, allreduce s, calls, bytes
    for _ in range(steps):
        calls, sent, seconds = (
            comm.stats.allreduce_calls,
            comm.stats.allreduce_bytes,
            comm.stats.seconds,
        )
        start = time.perf_counter()
        loss = step()
        total = time.perf_counter() - start
        rows.append(
            (
                total,
                comm.stats.seconds - seconds,
                comm.stats.allreduce_calls - calls,
                comm.stats.allreduce_bytes - sent,
            )
        )
    mine = {
        "step_s": statistics.median(r[0] for r in rows),
        "allreduce_s": statistics.median(r[1] for r in rows),
        "compute_s": statistics.median(r[0] - r[1] for r in rows),
        "step_total_s": sum(r[0] for r in rows),
        "allreduce_total_s": sum(r[1] for r in rows),
        "allreduce_calls_per_step": sorted({r[2] for r in rows}),
        "allreduce_bytes_per_step": sorted({r[3] for r in rows}),
        "blas_threads": blas_threads(),
        "loss": loss,
    }
    every = comm.allgather_object(mine)
    if comm.rank != 0:
        return None
    return {"ranks": comm.size, "n_params": n_params, "per_rank": every}


def curve(repeats: int) -> dict[str, Any] | None:
    import nabla.distributed as dist

    comm = dist.init()
    mpi: Any = getattr(comm, "_comm", None)  # the mpi4py communicator under nabla's
    from mpi4py import MPI

    timings: dict[str, list[float]] = {"nabla": [], "mpi4py": []}
    for nbytes in CURVE_BYTES:
        buffer = np.ones(nbytes // 4, np.float32)
        calls = {
            "nabla": lambda buffer=buffer: comm.allreduce(buffer),
            "mpi4py": lambda buffer=buffer: mpi.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM),
        }
        count = repeats if nbytes <= 64 * 1024 else max(5, repeats // 4)
        for name, call in calls.items():
            for _ in range(3):
                call()
            times = []
            for _ in range(count):
                mpi.Barrier()
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            timings[name].append(statistics.median(times))
    every = comm.allgather_object(timings)
    if comm.rank != 0:
        return None
    slowest = {
        name: [max(rank[name][i] for rank in every) for i in range(len(CURVE_BYTES))]
        for name in timings
    }
    return {"ranks": comm.size, "bytes": CURVE_BYTES, "seconds": slowest}


def main(argv: list[str]) -> int:
    if argv[0] == "train":
        reply = train([int(w) for w in argv[1].split(",")], int(argv[2]), int(argv[3]))
    elif argv[0] == "curve":
        reply = curve(int(argv[1]))
    else:
        raise SystemExit(f"scaling_worker: unknown mode {argv[0]!r} (train or curve)")
    if reply is not None:
        reply["env_threads"] = os.environ.get("OPENBLAS_NUM_THREADS")
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
