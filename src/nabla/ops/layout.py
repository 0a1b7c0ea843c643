"""Layout primitives: flip, roll and the diagonal view.

Each moves values without changing them, so each backward moves the gradient back: flip it
again, roll it the other way, or scatter it onto the diagonal of a zero tensor. The other layout
methods (``narrow``, ``unbind``, ``movedim``, ``tile``, ``tril``, ``diag``…) are compositions
of :mod:`nabla.ops.shape` and :class:`~nabla.ops.elementwise.Where` and need no rule of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function


def reversed_axes_index(axes: tuple[int, ...], ndim: int) -> tuple[Any, ...]:
    """The basic index that reverses ``axes`` of an ``ndim``-D array (``x[index]``; it starts
    with an Ellipsis so that a 0-d array stays an array)."""
    return (Ellipsis, *(slice(None, None, -1) if d in axes else slice(None) for d in range(ndim)))


class Flip(Function):
    """Reverse the order of the entries along the given axes (a copy, as ``torch.flip``).

    Forward:  z[…, i, …] = x[…, n-1-i, …]  along each axis in axes
    Backward: ∇x = flip(g, axes)
    """

    latex = r"\nabla_x = \operatorname{flip}(g, \text{axes})"

    def forward(self, x: Array, axes: tuple[int, ...] = ()) -> Array:
        self.index = reversed_axes_index(axes, x.ndim)
        z: Array = x[self.index].copy()  # a copy: PyTorch's flip never shares memory
        return z

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g[self.index],)  # basic indexing, shared by ndarrays and Tensors


class Roll(Function):
    """Shift the entries cyclically along axes (all entries in row-major order when axes is
    None), as ``torch.roll``.

    Forward:  z[…, (i + s) mod n, …] = x[…, i, …]  for each shift s along its axis
    Backward: ∇x = roll(g, -shifts, axes)
    """

    latex = r"\nabla_x = \operatorname{roll}(g, -\text{shifts})"

    def forward(
        self, x: Array, shifts: tuple[int, ...] = (), axes: tuple[int, ...] | None = None
    ) -> Array:
        self.shifts, self.axes = shifts, axes
        if axes is None:
            return np.roll(x, shifts[0])
        return np.roll(x, shifts, axes)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        back = tuple(-s for s in self.shifts)
        if F.graph:
            return (Roll.apply(g, shifts=back, axes=self.axes),)
        return (np.roll(g, back[0]) if self.axes is None else np.roll(g, back, self.axes),)


class Diagonal(Function):
    """The entries x[…, i, …, i + offset, …] of two axes as a new last axis: a view of x that
    writes through, as ``torch.diagonal`` (read-only when x is).

    Forward:  z[…, k] = x[…, r_k, …, c_k, …]  (r_k = k + max(-offset, 0), c_k = k + max(offset, 0))
    Backward: ∇x = zeros(x.shape) with g written on that diagonal
    """

    saved = ("index",)
    latex = r"\nabla_x[r_k, c_k] = g_k"

    shares_memory = True

    def forward(self, x: Array, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
        z = np.diagonal(x, offset, axis1, axis2)
        if x.flags.writeable:  # NumPy hands out a read-only view; PyTorch's writes through
            z.flags.writeable = True
        n = z.shape[-1]
        rows = np.arange(n) + max(-offset, 0)
        cols = np.arange(n) + max(offset, 0)
        rows.flags.writeable = cols.flags.writeable = False
        index: list[Any] = [slice(None)] * x.ndim
        index[axis1], index[axis2] = rows, cols
        self.index, self.in_shape = tuple(index), x.shape
        # x[index] puts the diagonal where the two axes were when they are neighbours, else
        # first (NumPy's rule for separated index arrays); g has it last
        at = min(axis1, axis2) if abs(axis1 - axis2) == 1 else 0
        order = list(range(z.ndim - 1))
        order.insert(at, z.ndim - 1)
        self.order = tuple(order)
        return z

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (F.index_add(F.permute(g, self.order), self.in_shape, self.index),)


__all__ = ["Diagonal", "Flip", "Roll", "reversed_axes_index"]
