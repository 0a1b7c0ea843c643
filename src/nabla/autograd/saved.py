"""Checks on what an op saved for backward: values changed in place after it was recorded,
and a graph whose saved values a first backward already freed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nabla.errors import GraphError

if TYPE_CHECKING:
    from nabla.tensor import Tensor


class LatestWrite:
    """The sequence stamp of the latest in-place change to any tensor (see ``Tensor._bump_version``):
    an op recorded after it (``fn.seq`` larger) cannot have an input changed since, so its
    backward skips the per-input version checks. In a training loop every op of a step is
    recorded after the previous optimizer update, so the checks cost one comparison per op."""

    __slots__ = ("stamp",)

    def __init__(self) -> None:
        self.stamp = 0


LATEST_WRITE = LatestWrite()


def saved_values(
    fn: Any, inputs: Sequence[Tensor] | None, output: Tensor, arrays: bool
) -> list[Any]:
    """What ``fn``'s backward reads: its inputs, then its output when it needs it (their arrays,
    or the tensors themselves when ``arrays`` is False, for a recorded backward).

    Refuses values changed in place after ``fn`` was recorded (PyTorch's "modified by an
    inplace operation": a change stamps the tensor's version counter with a sequence number
    later than every op recorded before it), and a graph a first backward already freed."""
    if inputs is None:
        raise freed_graph_error(fn)
    seq = fn.seq
    if LATEST_WRITE.stamp < seq:  # nothing changed in place since fn was recorded
        values: list[Any] = [inp.data for inp in inputs] if arrays else list(inputs)
        if fn.needs_output:
            values.append(output.data if arrays else output)
        return values
    values = []
    for inp in inputs:
        counter = inp._version_counter
        if counter is not None and counter[1] > seq:
            index = next(i for i, x in enumerate(inputs) if x is inp)
            raise _modified_error(fn, f"input {index}", inp, counter[0])
        values.append(inp.data if arrays else inp)
    if fn.needs_output:
        counter = output._version_counter
        if counter is not None and counter[1] > seq:
            raise _modified_error(fn, "the output", output, counter[0])
        values.append(output.data if arrays else output)
    return values


def _modified_error(fn: Any, which: str, t: Tensor, version: int) -> GraphError:
    name = f" {t.name!r}" if t.name else ""
    return GraphError(
        f"one of the tensors needed for gradient computation has been modified by an inplace "
        f"operation: {which} of {fn.name}, a tensor{name} of shape {t.shape} and dtype "
        f"{t.dtype}, was changed after {fn.name} saved it (it is now at version {version}): an "
        "optimizer step, x[i] = v or another in-place change ran between this forward and "
        "backward"
    )


def freed_graph_error(fn: Any) -> GraphError:
    return GraphError(
        f"trying to backward through the graph a second time (through {fn.name}): its saved "
        "values were freed by the first backward; pass retain_graph=True to the first backward "
        "(or nb.grad) to keep them"
    )


__all__ = ["LATEST_WRITE", "freed_graph_error", "saved_values"]
