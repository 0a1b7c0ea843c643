"""Max pooling: the largest entry of each patch, its gradient routed back to that entry.

The patches are :mod:`nabla.ops.conv`'s (padding holds −inf, so it never wins). Each output
is one entry of its patch, so the gradient goes to that entry alone (the first of equal
maxima, as PyTorch picks), and ``col2im`` adds up what overlapping patches send one pixel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.ops.conv import Geometry, flat_offsets, kernel_offsets, patches_view


def max_positions(x: Array, geo: Geometry) -> tuple[Array, Array]:
    """The maxima of the patches of ``x`` (N, C, *out) and where each lies in its patch (the
    flat kernel index of the first of equal maxima, or of the last NaN: PyTorch's choice).

    One pass per kernel offset over output-sized slices, each copied contiguous first (the
    comparisons then run ten times faster than on the strided slice), not a copy of every
    patch."""
    view = patches_view(x, geo)
    offsets = kernel_offsets(geo)
    first: tuple[Any, ...] = (Ellipsis, *offsets[0])
    top = np.array(view[first])
    where = np.zeros(top.shape, dtype=np.min_scalar_type(len(offsets) - 1))
    v, step = np.empty_like(top), np.empty_like(where)
    better, nan = np.empty(top.shape, dtype=bool), np.empty(top.shape, dtype=bool)
    for k, offset in enumerate(offsets[1:], start=1):
        at: tuple[Any, ...] = (Ellipsis, *offset)
        np.copyto(v, view[at])
        np.greater(v, top, out=better)
        better |= np.isnan(v, out=nan)  # a NaN wins (and a later NaN over an earlier one)
        np.maximum(top, v, out=top)  # (NaN-propagating: the same as taking v where better)
        # where ← k where better: arithmetic, not a masked copy (branch-free, 40x faster)
        np.subtract(k, where, out=step)
        step *= better
        where += step
    return top, where


def plane_positions(where: Array, geo: Geometry) -> Array:
    """Each winner's flat index in its (unpadded) input plane, from its flat kernel index
    ``where`` (N, C, *out): PyTorch's ``return_indices``.

    A winner's index is its patch's corner (one per output position) plus its offset inside
    the patch (one per kernel position): one lookup in the table of offsets and one add of
    the corners, both in the plane's flat numbering."""
    steps = np.cumprod((1,) + geo.size[:0:-1])[::-1]  # a pixel's flat step along each axis
    offsets = np.array(flat_offsets(geo, geo.size), dtype=np.int64)
    corners = np.zeros(geo.out, dtype=np.int64)
    for axis, (step, out) in enumerate(zip(steps, geo.out, strict=True)):
        shape = [1] * len(geo.out)
        shape[axis] = out
        start = np.arange(out, dtype=np.int64) * geo.stride[axis] - geo.pad_before[axis]
        corners += (start * int(step)).reshape(shape)
    flat: Array = offsets[where]
    flat += corners
    return flat


class MaxPool(Function):
    """The maximum of each patch (max pooling).

    Forward:  z = max over each patch of x
    Backward: ∇x = col2im(g at each patch's argmax, 0 elsewhere)  (overlapping patches add)
    """

    name = "max_pool"
    latex = r"\nabla_x = \operatorname{col2im}(g \odot [x = \max])"
    saved = ("where",)

    def forward(self, x: Array, geo: Geometry | None = None) -> Array:
        assert geo is not None
        self.geo = geo
        top, self.where = max_positions(x, geo)
        return top

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        geo = self.geo
        hit = self.where[..., None] == np.arange(math.prod(geo.kernel))  # each patch's winner
        patches = F.where(hit, g.reshape(g.shape + (1,)), 0)  # (N, C, *out, K)
        return (F.col2im(patches.reshape(g.shape + geo.kernel), geo),)
