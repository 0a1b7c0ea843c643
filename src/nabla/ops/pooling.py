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
from nabla.ops.conv import Geometry, kernel_offsets, patches_view


def max_positions(x: Array, geo: Geometry) -> tuple[Array, Array]:
    """The maxima of the patches of ``x`` (N, C, *out) and where each lies in its patch (the
    flat kernel index of the first of equal maxima, or of the last NaN: PyTorch's choice).

    One pass per kernel offset over output-sized slices, not a copy of every patch."""
    view = patches_view(x, geo)
    offsets = kernel_offsets(geo)
    first: tuple[Any, ...] = (Ellipsis, *offsets[0])
    top = np.array(view[first])
    where = np.zeros(top.shape, dtype=np.int64)
    for k, offset in enumerate(offsets[1:], start=1):
        at: tuple[Any, ...] = (Ellipsis, *offset)
        v = view[at]
        better = v > top
        better |= np.isnan(v)  # a NaN wins (and a later NaN over an earlier one)
        np.copyto(top, v, where=better)
        np.copyto(where, k, where=better)
    return top, where


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
