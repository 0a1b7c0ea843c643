"""Metrics summed exactly across ranks, so that a distributed evaluation reports what one
process would: each rank adds up loss·rows, correct predictions and rows (float64), one
allreduce sums them in rank order, and the ratios are taken once, from the totals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nabla.distributed.communicator import Communicator

__all__ = ["MetricSums", "reduce_metrics", "reduce_sums"]


def reduce_sums(values: Mapping[str, float], comm: Communicator | None = None) -> dict[str, float]:
    """Every key's sum over ranks (one float64 allreduce; every rank passes the same keys)."""
    if comm is None:
        from nabla.distributed.ddp import default_communicator

        comm = default_communicator()
    keys = sorted(values)
    buffer = np.array([float(values[k]) for k in keys], dtype=np.float64)
    comm.allreduce(buffer)
    return {k: float(v) for k, v in zip(keys, buffer)}


def reduce_metrics(
    loss_sum: float, correct: float, rows: int, comm: Communicator | None = None
) -> dict[str, float]:
    """The global mean loss and accuracy from each rank's ``loss_sum`` (Σ loss·rows over its
    batches), ``correct`` count and ``rows``: ``{"loss", "accuracy", "loss_sum", "correct",
    "rows"}`` (loss and accuracy are nan when no rank had a row)."""
    total = reduce_sums({"loss_sum": loss_sum, "correct": correct, "rows": rows}, comm)
    n = total["rows"]
    total["loss"] = total["loss_sum"] / n if n else float("nan")
    total["accuracy"] = total["correct"] / n if n else float("nan")
    return total


class MetricSums:
    """Running sums of one rank's evaluation: ``add`` each batch, ``reduce`` once at the end.

    >>> sums = MetricSums()
    >>> sums.add(loss=0.5, rows=4, correct=3)
    >>> sums.add(loss=1.0, rows=0, correct=0)  # an empty batch adds nothing (no nan)
    >>> sums.loss_sum, sums.correct, sums.rows
    (2.0, 3.0, 4)
    """

    def __init__(self) -> None:
        self.loss_sum = 0.0
        self.correct = 0.0
        self.rows = 0

    def add(self, loss: Any, rows: int, correct: Any = 0) -> None:
        """A batch of ``rows`` rows whose mean loss is ``loss`` (ignored when rows is 0)."""
        if rows:
            self.loss_sum += float(getattr(loss, "item", lambda: loss)()) * rows
            self.correct += float(getattr(correct, "item", lambda: correct)())
            self.rows += int(rows)

    def reduce(self, comm: Communicator | None = None) -> dict[str, float]:
        """The global metrics (a collective: every rank calls it)."""
        return reduce_metrics(self.loss_sum, self.correct, self.rows, comm)
