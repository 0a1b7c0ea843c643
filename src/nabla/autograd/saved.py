"""Checks on what an op saved for backward: values changed in place after it was recorded,
and a graph whose saved values a first backward already freed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nabla.errors import GraphError

if TYPE_CHECKING:
    from nabla.tensor import Tensor


def check_versions(fn: Any, inputs: Sequence[Tensor], output: Tensor) -> None:
    """Refuse to run ``fn``'s backward on values changed in place after it was recorded
    (PyTorch's "modified by an inplace operation"): a change stamps the tensor's version
    counter with a sequence number later than every op recorded before it."""
    seq = fn.seq
    for i, inp in enumerate(inputs):
        counter = inp._version_counter
        if counter is not None and counter[1] > seq:
            raise _modified_error(fn, f"input {i}", inp, counter[0])
    if fn.needs_output:
        counter = output._version_counter
        if counter is not None and counter[1] > seq:
            raise _modified_error(fn, "the output", output, counter[0])


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


__all__ = ["check_versions", "freed_graph_error"]
