"""The one rule for adding gradients, shared by the backward engine and compiled replays.

A gradient may be written in place only when a rule made it fresh (see
:func:`may_add_in_place`); sums go into whichever operand is owned (:func:`add_gradients`).
The engine keeps its pending gradients as ``[array, owned]`` entries (:func:`accumulate`) and
hands a leaf its total (:func:`accumulate_leaf`); ``nb.compile``'s generated code calls the same
two functions for the slots that receive several gradients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nabla.tensor import Tensor


def may_add_in_place(g: Any, upstream: Any) -> bool:
    """The one rule for adding into a gradient in place: the engine (and a compiled replay) may
    overwrite a gradient when a rule made it fresh — not the upstream gradient itself, not a
    view (``base is None``), writeable. Rules return fresh arrays or views of ``g``, never
    saved forward values, so a fresh array is read by nothing else."""
    return g is not upstream and g.base is None and g.flags.writeable


def add_gradients(total: Any, total_owned: bool, g: Any, g_owned: bool) -> tuple[Any, bool]:
    """``total + g`` for two gradients of one tensor, written into whichever is owned (see
    :func:`may_add_in_place`); returns the sum and whether the engine owns it."""
    if total_owned:
        total += g
        return total, True
    if g_owned:
        g += total
        return g, True
    total = total + g
    # two 0-d arrays add up to a NumPy scalar: keep gradients arrays (in-place kernels)
    return (total if type(total) is np.ndarray else np.asarray(total)), True


def as_owned(g: Any, dtype: Any, upstream: Any) -> tuple[Any, bool]:
    """``g`` in the tensor's dtype, and whether the engine may add into it."""
    if g.dtype != dtype:
        return g.astype(dtype), True
    return g, g is not upstream and g.base is None and g.flags.writeable  # may_add_in_place


def first_entry(g: Any, dtype: Any, graph: bool, upstream: Any) -> list[Any]:
    """The pending entry ``[gradient, owned]`` of a tensor's first gradient ``g``."""
    if graph:
        return [g if g.dtype == dtype else g.astype(dtype), False]
    if g.dtype != dtype:
        return [g.astype(dtype), True]
    return [g, g is not upstream and g.base is None and g.flags.writeable]  # may_add_in_place


def accumulate(
    pending: dict[int, list[Any]], key: int, g: Any, dtype: Any, graph: bool, upstream: Any = None
) -> None:
    """Add ``g`` to the gradient pending for tensor ``key`` (under ``graph``, as Tensors)."""
    entry = pending.get(key)
    if entry is None:
        pending[key] = first_entry(g, dtype, graph, upstream)
    elif graph:
        entry[0] = entry[0] + (g if g.dtype == dtype else g.astype(dtype))
    else:
        g, owned = as_owned(g, dtype, upstream)
        entry[0], entry[1] = add_gradients(entry[0], entry[1], g, owned)


def accumulate_leaf(t: Tensor, g: Any, owned: bool) -> None:
    if not isinstance(g, (np.ndarray, np.generic)):  # a Tensor, under create_graph
        g = g.data
        owned = False
    if t._grad is None:
        t._grad = g if owned else np.array(g)
    else:
        t._grad += g


__all__ = [
    "accumulate",
    "accumulate_leaf",
    "add_gradients",
    "as_owned",
    "first_entry",
    "may_add_in_place",
]
