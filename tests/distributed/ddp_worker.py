"""Train an MLP with dropout data-parallel, for test_ddp_mpi.py.

``mpiexec -n N python ddp_worker.py OUT N``: every rank trains with DistributedDataParallel
and a DistributedSampler (local batch B, an uneven last global batch) and writes its
parameters after every step to ``OUT.rank<r>.npz``.
``python ddp_worker.py OUT N --single``: one process with batch N·B over the same global
batches, applying to each rank's share of a batch the dropout masks that rank draws (the
per-rank seed rule: every rank seeds ``nb.manual_seed(DROPOUT_SEED + rank)`` after building
its model), writes ``OUT.npz``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

import nabla as nb
import nabla.nn.functional as F
from nabla import nn, optim

B, EPOCHS, DROPOUT_SEED = 4, 2, 1000


def make_model(seed: int) -> nn.Module:
    nb.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(5, 8, dtype=np.float64),
        nn.Tanh(),
        nn.Dropout(0.3),
        nn.Linear(8, 3, dtype=np.float64),
    )


def make_data(size: int) -> tuple[np.ndarray, np.ndarray]:
    n = 2 * size * B + 1  # the last global batch has one row: the other ranks get none
    rng = np.random.default_rng(7)
    return rng.normal(size=(n, 5)), rng.integers(0, 3, n)


def optimizers(model: nn.Module) -> list[Any]:
    params = list(model.parameters())
    return [optim.SGD(params[:2], lr=0.1, momentum=0.9), optim.Adam(params[2:], lr=0.01)]


def distributed(out: str, size: int) -> None:
    import nabla.distributed as dist
    from nabla.distributed.ddp import DistributedDataParallel
    from nabla.distributed.sampler import DistributedSampler

    dist.init()
    comm = dist.get_communicator()
    assert comm.size == size, (comm.size, size)
    X, y = make_data(size)
    model = DistributedDataParallel(make_model(100 + comm.rank), comm)
    nb.manual_seed(DROPOUT_SEED + comm.rank)
    opts = optimizers(model)
    sampler = DistributedSampler(X, batch_size=B, seed=3)
    history = []
    for _ in range(EPOCHS):
        for batch in sampler.batches():
            for o in opts:
                o.zero_grad()
            loss = F.cross_entropy(model(nb.tensor(X[batch])), nb.tensor(y[batch]))
            loss.backward()
            for o in opts:
                o.step()
            history.extend(p.data.copy() for p in model.parameters())
    np.savez(f"{out}.rank{comm.rank}.npz", *history)


def single(out: str, size: int) -> None:
    from nabla.distributed.sampler import DistributedSampler

    X, y = make_data(size)
    model = make_model(100)
    states = []
    for r in range(size):
        nb.manual_seed(DROPOUT_SEED + r)
        states.append(nb.get_rng_state())
    opts = optimizers(model)
    sampler = DistributedSampler(X, num_replicas=size, rank=0, batch_size=B, seed=3)
    history = []
    for epoch in range(EPOCHS):
        order = sampler.permutation(epoch)
        for k in range(sampler.num_batches()):
            batch = order[k * size * B : (k + 1) * size * B]
            for o in opts:
                o.zero_grad()
            total: Any = 0.0
            for r, share in enumerate(np.array_split(batch, size)):
                nb.set_rng_state(states[r])  # rank r's dropout stream
                logits = model(nb.tensor(X[share]))
                states[r] = nb.get_rng_state()
                total = total + F.cross_entropy(logits, nb.tensor(y[share]), reduction="sum")
            (total / len(batch)).backward()
            for o in opts:
                o.step()
            history.extend(p.data.copy() for p in model.parameters())
    np.savez(f"{out}.npz", *history)


if __name__ == "__main__":
    (single if "--single" in sys.argv else distributed)(sys.argv[1], int(sys.argv[2]))
