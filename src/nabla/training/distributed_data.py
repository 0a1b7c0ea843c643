"""The data side of a data-parallel ``nabla train`` (see :mod:`nabla.training.distributed`):
each rank's share of each global batch, with the epoch's progress kept as global rows so that
any number of ranks can resume it, and evaluation from every rank's share of the outputs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from nabla.autograd.mode import no_grad
from nabla.distributed.communicator import Communicator
from nabla.distributed.sampler import DistributedSampler, shard_sizes
from nabla.errors import NablaError
from nabla.nn.module import Module
from nabla.tensor import Tensor
from nabla.training.evaluation import predicted_classes

__all__ = ["DistributedLoader", "evaluate_gathered", "gather_outputs", "loss_of_outputs"]

EVAL_BATCH = 4096  # rows per evaluation forward, as nabla.training.evaluation


def _my_rows(n: int, comm: Communicator) -> slice:
    sizes = shard_sizes(n, comm.size)
    start = sum(sizes[: comm.rank])
    return slice(start, start + sizes[comm.rank])


def gather_outputs(
    model: Module, X: np.ndarray[Any, Any], comm: Communicator
) -> np.ndarray[Any, Any] | None:
    """The model's outputs for every row of X (eval mode, no graph), each rank computing a
    contiguous share; None when X has no rows. Every rank calls it and gets all of them."""
    rows = X[_my_rows(len(X), comm)]
    mine = None
    if len(rows):
        was_training = model.training
        model.eval()
        try:
            with no_grad():
                mine = np.concatenate(
                    [
                        model(Tensor(rows[i : i + EVAL_BATCH])).data
                        for i in range(0, len(rows), EVAL_BATCH)
                    ]
                )
        finally:
            model.train(was_training)
    parts = [p for p in comm.allgather_object(mine) if p is not None]
    return np.concatenate(parts) if parts else None


def loss_of_outputs(
    outputs: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    loss_fn: Callable[[Tensor, Any], Tensor],
) -> float:
    """The mean loss of ``outputs`` against ``y``, by batches as one process evaluates it."""
    total = 0.0
    with no_grad():
        for i in range(0, len(y), EVAL_BATCH):
            part = outputs[i : i + EVAL_BATCH]
            total += float(loss_fn(Tensor(part), y[i : i + EVAL_BATCH]).item()) * len(part)
    return total / len(y)


def evaluate_gathered(
    model: Module,
    X: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    loss_fn: Callable[[Tensor, Any], Tensor],
    comm: Communicator,
    classify: bool = True,
) -> tuple[float, float | None, np.ndarray[Any, Any]]:
    """Mean loss, accuracy (None in regression) and outputs (a regression's single column as
    (n,)) of the model on X, y (at least one row), from every rank's share of the outputs.
    Every rank calls it and gets the same numbers."""
    outputs = gather_outputs(model, X, comm)
    assert outputs is not None
    loss = loss_of_outputs(outputs, y, loss_fn)
    if classify:
        return loss, float(np.mean(predicted_classes(outputs) == y)), outputs
    one_column = outputs.ndim == 2 and outputs.shape[1] == 1
    return loss, None, outputs[:, 0] if one_column else outputs


class DistributedLoader:
    """This rank's share of each global batch of N·``batch_size`` rows, with its place in the
    epoch kept as the rows of the permutation done (``offset``), so that a checkpoint can be
    resumed by any number of ranks."""

    def __init__(
        self,
        X: np.ndarray[Any, Any],
        y: np.ndarray[Any, Any],
        comm: Communicator,
        batch_size: int,
        seed: int,
    ) -> None:
        self.X, self.y, self.comm = X, y, comm
        self.batch_size = int(batch_size)
        self.sampler = DistributedSampler(
            range(len(X)), comm.size, comm.rank, shuffle=True, seed=seed, batch_size=batch_size
        )
        self.seed = int(seed)
        self.epoch = 0  # the epoch in progress (or the next one)
        self.offset = 0  # rows of its permutation done (handed out)
        #: (ranks, batch size) of the run whose state was loaded
        self.resumed_layout: tuple[int, int] | None = None

    @property
    def global_batch_size(self) -> int:
        return self.comm.size * self.batch_size

    def __len__(self) -> int:
        """Global batches in a whole epoch."""
        size = self.global_batch_size
        return (len(self.X) + size - 1) // size

    @property
    def finished_epoch(self) -> bool:
        return self.offset >= len(self.X)

    def __iter__(self) -> Iterator[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
        order = self.sampler.permutation(self.epoch)
        size, n = self.global_batch_size, len(self.X)
        while self.offset < n:
            chunk = order[self.offset : self.offset + size]
            sizes = shard_sizes(len(chunk), self.comm.size)
            start = sum(sizes[: self.comm.rank])
            mine = chunk[start : start + sizes[self.comm.rank]]
            self.offset += len(chunk)  # counted as done once handed out
            yield self.X[mine], self.y[mine]
        self.epoch, self.offset = self.epoch + 1, 0

    def state_dict(self, mid_epoch: bool = False) -> dict[str, Any]:
        """Global progress: the epoch and the rows of its permutation done (with
        ``mid_epoch``; else the next whole epoch)."""
        epoch, offset = self.epoch, self.offset
        if not mid_epoch and offset:
            epoch, offset = epoch + 1, 0
        return {
            "kind": "distributed",
            "epoch": epoch,
            "offset": offset,
            "seed": self.seed,
            "rows": len(self.X),
            "ranks": self.comm.size,
            "batch_size": self.batch_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or state.get("kind") != "distributed":
            raise NablaError(
                "cannot resume: the checkpoint was written by a single-process run, whose "
                "batches come from another generator; resume it without mpiexec/--distributed"
            )
        if int(state["rows"]) != len(self.X) or int(state["seed"]) != self.seed:
            raise NablaError(
                f"cannot resume: the checkpoint's epochs have {state['rows']} training rows "
                f"(seed {state['seed']}), this run's {len(self.X)} (seed {self.seed})"
            )
        self.epoch, self.offset = int(state["epoch"]), int(state["offset"])
        self.resumed_layout = (int(state["ranks"]), int(state["batch_size"]))
