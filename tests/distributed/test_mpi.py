"""MPICommunicator on real processes under ``mpiexec``: values, roots, objects, stats, and the
debug mode that turns collectives differing across ranks into errors on every rank."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

COLLECTIVES = """
    import json, os, sys
    import numpy as np
    import nabla.distributed as dist
    from nabla.distributed.mpi import MPICommunicator

    comm = dist.init()
    assert isinstance(comm, MPICommunicator), type(comm)
    r, n = comm.rank, comm.size

    def data(rank, dtype, shape):
        # every rank can rebuild every rank's data: the expected sums are known everywhere
        rng = np.random.default_rng(1000 + rank)
        return rng.standard_normal(shape).astype(dtype)

    out = {"rank": r, "size": n, "api": [dist.rank(), dist.world_size(), dist.is_initialized()]}
    sums = {}
    for dtype, shape in [("float64", (5, 3)), ("float32", (7,)), ("float64", ()),
                         ("float64", (0,)), ("float32", (1000, 17))]:
        buffer = data(r, dtype, shape)
        comm.allreduce(buffer)
        expected = sum(data(k, "float64", shape) for k in range(n))
        sums[f"{dtype}{shape}"] = [float(np.max(np.abs(buffer - expected), initial=0.0)),
                                  buffer.dtype.str, list(buffer.shape),
                                  buffer.tobytes().hex()]
    ints = np.arange(4, dtype=np.int64) * (r + 1)
    comm.allreduce(ints)
    out["ints"] = ints.tolist()
    out["sums"] = sums

    root = n - 1
    payload = np.full((2, 3), float(r))
    comm.broadcast(payload, root=root)
    out["broadcast"] = payload.tolist()
    out["object"] = comm.broadcast_object({"from": r, "list": [r, "x"]}, root=1)
    out["gathered"] = comm.allgather_object((r, os.getpid()))
    comm.barrier()
    dist.barrier()
    try:
        comm.allreduce(np.zeros((4, 4))[:, 0])
    except dist.DistributedError as exc:
        out["strided"] = str(exc)
    try:
        comm.broadcast(np.zeros(2), root=n)
    except dist.DistributedError as exc:
        out["bad_root"] = str(exc)
    s = comm.stats
    out["stats"] = [s.allreduce_calls, s.allreduce_bytes, s.seconds, s.other_calls]
    out["pid"] = os.getpid()
    out["peers"] = comm.peers
    with open(f"rank{r}.json", "w") as f:
        json.dump(out, f)
"""


@pytest.mark.parametrize(("n", "debug"), [(2, "0"), (3, "1")])
def test_collectives_on_real_processes(mpirun: Callable[..., Any], n: int, debug: str) -> None:
    run = mpirun(COLLECTIVES, n, env={"NABLA_DISTRIBUTED_DEBUG": debug})
    assert run.returncode == 0, run.output
    ranks = [json.loads((run.folder / f"rank{r}.json").read_text()) for r in range(n)]
    pids = [out["pid"] for out in ranks]
    assert len(set(pids)) == n  # real processes
    for r, out in enumerate(ranks):
        assert out["rank"] == r and out["size"] == n and out["api"] == [r, n, True]
        for key, (error, dtype, shape, raw) in out["sums"].items():
            tolerance = 1e-12 if "float64" in key else 1e-4
            assert error <= tolerance, (key, error)
            assert raw == ranks[0]["sums"][key][3], key  # the same bits on every rank
            assert (dtype, shape) == tuple(ranks[0]["sums"][key][1:3])
        assert out["sums"]["float32(7,)"][1] == np.dtype(np.float32).str
        assert out["ints"] == (np.arange(4) * sum(range(1, n + 1))).tolist()
        assert out["broadcast"] == np.full((2, 3), float(n - 1)).tolist()
        assert out["object"] == {"from": 1, "list": [1, "x"]}
        assert out["gathered"] == [[k, pids[k]] for k in range(n)]
        assert [p[1] for p in out["peers"]] == pids
        assert "C-contiguous" in out["strided"] and "(4,)" in out["strided"]
        assert f"root {n} is not a rank" in out["bad_root"]
        calls, nbytes, seconds, other = out["stats"]
        assert calls == 6  # 5 float + 1 int allreduces (the refused strided one is not counted)
        assert nbytes == (15 * 8 + 7 * 4 + 8 + 0 + 17000 * 4) + 4 * 8
        assert 0 < seconds < 30
        assert other == 3  # broadcast, broadcast_object, allgather_object


MISMATCH = """
    import numpy as np
    import nabla.distributed as dist

    comm = dist.init()
    comm.allreduce(np.ones(3))
    if comm.rank == 1:
        {rank_one}
    else:
        comm.allreduce(np.ones(3))
    print(f"rank {{comm.rank}} went on", flush=True)
"""


@pytest.mark.parametrize(
    ("rank_one", "described"),
    [
        ("comm.allreduce(np.ones(2))", "rank 1 called allreduce((2,), float64) as call 2"),
        ("comm.barrier()", "rank 1 called barrier() as call 2"),
        ("comm.broadcast(np.ones(3), root=1)", "rank 1 called broadcast((3,), float64, root=1)"),
    ],
)
def test_debug_mode_turns_a_mismatch_into_an_error_on_every_rank(
    mpirun: Callable[..., Any], rank_one: str, described: str
) -> None:
    run = mpirun(
        MISMATCH.format(rank_one=rank_one),
        3,
        env={"NABLA_DISTRIBUTED_DEBUG": "1", "NABLA_DISTRIBUTED_TIMEOUT": "5"},
    )
    assert run.returncode != 0, run.output
    assert "went on" not in run.output
    assert run.seconds < 20, run.output
    mismatch = (
        "mismatched collectives across ranks: rank 0 called allreduce((3,), float64) as call 2"
    )
    assert mismatch in run.output and described in run.output, run.output
    # every rank found it (the first to abort may stop the others before they print)
    assert "failed: DistributedError: mismatched collectives" in run.output, run.output
