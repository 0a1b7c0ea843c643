"""Selection primitives: gather and index_select (entries at integer positions along one axis),
and the orderings sort and topk whose indices pick the values through gather.

Selecting moves values without changing them, so each backward scatters the gradient back to
the positions it came from (repeated positions add up: the notes' repeat → sum rule). The
orderings themselves are integers and carry no gradient; ``x.sort()`` is ``gather(x, argsort)``,
so its values are differentiable by gather's rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function


def _check_positions(op: str, i: Array, n: int, axis: int, x_shape: tuple[int, ...]) -> Array:
    """``i`` as a read-only intp copy, or IndexError when a position is outside ``0 … n-1``
    (PyTorch refuses negative positions here, unlike NumPy)."""
    if i.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {i.dtype}")
    if i.size and (i.min() < 0 or i.max() >= n):
        bad = i.min() if i.min() < 0 else i.max()
        raise IndexError(
            f"{op}: index {bad} is out of bounds for dimension {axis} with size {n} "
            f"(x has shape {x_shape})"
        )
    positions = np.array(i, dtype=np.intp)
    positions.flags.writeable = False
    return positions


class Gather(Function):
    """Entries of x at the positions i along one axis (``torch.gather``; the values of sort
    and topk). z has i's shape; on the other axes i may be shorter than x.

    Forward:  z[…, j, …] = x[…, i[…, j, …], …]  (i replaces the index of the axis)
    Backward: ∇x = scatter-add of g into zeros(x.shape) at those positions (repeats add up)
    """

    saved = ("index",)
    latex = r"\nabla_x[\text{index}] \mathrel{+}= g"

    def forward(self, x: Array, i: Array, axis: int = 0) -> Array:
        if i.ndim != x.ndim:
            raise IndexError(
                f"{self.name}: index has {i.ndim} dimensions but x has {x.ndim} "
                f"(x of shape {x.shape}, index of shape {i.shape})"
            )
        for d, (m, n) in enumerate(zip(i.shape, x.shape)):
            if d != axis and m > n:
                raise IndexError(
                    f"{self.name}: size {m} of index is larger than size {n} of x at dimension "
                    f"{d} (x of shape {x.shape}, index of shape {i.shape}, dim {axis})"
                )
        positions = _check_positions(self.name, i, x.shape[axis], axis, x.shape)
        self.in_shape = x.shape
        index: list[Any] = []
        for d, m in enumerate(i.shape):
            if d == axis:
                index.append(positions)
            else:  # the same coordinate as the output's, broadcast over the other axes
                index.append(np.arange(m).reshape((-1,) + (1,) * (i.ndim - d - 1)))
        self.index = tuple(index)
        z: Array = x[self.index]
        return z

    def backward(self, g: Any, F: Any, x: Any, i: Any) -> tuple[Any, None]:
        return F.index_add(g, self.in_shape, self.index), None


class IndexSelect(Gather):
    """The slices of x at the positions i (1-D) along one axis (``torch.index_select``).

    Forward:  z = x[:, …, i, …]  (the axis's length becomes len(i))
    Backward: ∇x = scatter-add of g into zeros(x.shape) at i along the axis (repeats add up)
    """

    name = "index_select"

    def forward(self, x: Array, i: Array, axis: int = 0) -> Array:
        if i.ndim > 1:
            raise IndexError(
                f"{self.name}: index should have at most 1 dimension, got shape {i.shape} "
                f"(x of shape {x.shape})"
            )
        positions = _check_positions(self.name, i.reshape(-1), x.shape[axis], axis, x.shape)
        self.in_shape = x.shape
        self.index = (slice(None),) * axis + (positions,)
        z: Array = x[self.index]
        return z


def argsort_array(x: Array, axis: int, descending: bool) -> Array:
    """Stable argsort along ``axis`` as PyTorch orders: equal values keep their order, nan
    counts as the largest value (last ascending, first descending)."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    # ascending on the reversed axis puts later copies of a value first; reversing that
    # result restores the original order among equal values
    n = x.shape[axis]
    flipped = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    out: Array = n - 1 - np.flip(flipped, axis)
    return out


class ArgSort(Function):
    """Positions that sort x along one axis, int64 (stable: equal values keep their order;
    nan is the largest).

    Forward:  i = argsort_axis x  (descending: of the reversed order)
    Backward: none (indices are integers)
    """

    def forward(self, x: Array, axis: int = -1, descending: bool = False) -> Array:
        if x.ndim == 0:
            return np.zeros((), dtype=np.int64)
        return argsort_array(x, axis, descending).astype(np.int64, copy=False)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[None]:
        return (None,)


class TopKIndices(Function):
    """Positions of the k largest (or smallest) entries along one axis, int64, in sorted order
    (among equal values the earlier position first; nan counts as the largest).

    Forward:  i = argsort_axis(x, descending=largest)[:k]
    Backward: none (indices are integers)
    """

    name = "topk"

    def forward(self, x: Array, k: int = 1, axis: int = -1, largest: bool = True) -> Array:
        n = x.shape[axis] if x.ndim else 1
        if not 0 <= k <= n:
            raise IndexError(
                f"{self.name}: k ({k}) is out of range for dimension {axis} of size {n} "
                f"(x of shape {x.shape})"
            )
        if x.ndim == 0:
            return np.zeros((), dtype=np.int64)
        order = argsort_array(x, axis, descending=largest)
        first_k: Array = np.take(order, np.arange(k), axis=axis)
        return first_k.astype(np.int64, copy=False)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[None]:
        return (None,)


__all__ = ["ArgSort", "Gather", "IndexSelect", "TopKIndices", "argsort_array"]
