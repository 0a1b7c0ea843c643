"""The fast backward of a stride-1 convolution, registered beside :class:`nabla.ops.conv.Conv`.

The plain rule sums the patches' gradients back with one slice-add per kernel offset
(col2im); on a stride-1 convolution each add walks rows of only ``out`` pixels (10 for
LeNet-5's second layer), so NumPy spends its time starting rows. Here ∇P = G W is computed
on rows as wide as the padded input (G zero-padded on its last axis), which makes each
offset's patch gradients one contiguous run per sample and channel: the same products and
the same additions in the same order, plus additions of zeros (which change no value: the
sums start from +0.0, so none is −0.0). ``tests/ops/test_kernels.py`` holds it to the plain
rule bitwise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.ops.conv import grouped_product, kernel_offsets
from nabla.ops.namespace import ARRAY_OPS


def wide_rows(fn: Any) -> bool:
    """Whether this call's ∇X can be summed on wide rows: stride 1, one or two spatial axes."""
    return len(fn.geo.size) <= 2 and all(s == 1 for s in fn.geo.stride)


def conv_backward(
    fn: Any, g: Array, x: Array, w: Array, b: Array | None = None
) -> tuple[Any, ...]:
    """Conv's backward; ∇X on wide rows where :func:`wide_rows` allows, else the plain rule."""
    if not fn.needs_grad[0] or not wide_rows(fn):
        return tuple(fn.backward(g, ARRAY_OPS, *([x, w] if b is None else [x, w, b])))
    needs = fn.needs_grad
    fn.needs_grad = (False, *needs[1:])  # ∇W and ∇b by the plain rule
    try:
        rest = fn.backward(g, ARRAY_OPS, *([x, w] if b is None else [x, w, b]))
    finally:
        fn.needs_grad = needs
    return (_input_gradient(fn, g, x, w), *rest[1:])


def _input_gradient(fn: Any, g: Array, x: Array, w: Array) -> Array:
    geo = fn.geo
    n, c, o = x.shape[0], x.shape[1], w.shape[0]
    full = tuple(
        lo + s + hi for lo, s, hi in zip(geo.pad_before, geo.size, geo.pad_after, strict=True)
    )
    width = full[-1]
    # G on rows as wide as the padded input: zeros after each row's `out` positions
    g_wide = np.zeros((n, o, *geo.out[:-1], width), dtype=g.dtype)
    g_wide[..., : geo.out[-1]] = g
    rows = math.prod(geo.out[:-1]) * width
    w_m = w.reshape((o, c // fn.groups * math.prod(geo.kernel)))
    gp = grouped_product(w_m, g_wide.reshape((n, o, rows)), fn.groups, transpose_w=True)
    gp = gp.reshape((n, c, math.prod(geo.kernel), rows))  # ∇Pᵀ per sample, on wide rows
    # one contiguous run per offset; the tail holds the last rows' spill (zeros only)
    spill = (geo.kernel[-1] - 1) * geo.dilation[-1]
    z = np.zeros((n, c, math.prod(full) + spill), dtype=g.dtype)
    steps = np.cumprod((1,) + full[:0:-1])[::-1]  # a pixel's step along each axis
    for k, offset in enumerate(kernel_offsets(geo)):
        start = int(
            sum(int(s) * i * d for s, i, d in zip(steps, offset, geo.dilation, strict=True))
        )
        z[:, :, start : start + rows] += gp[:, :, k]
    z = z[:, :, : math.prod(full)].reshape((n, c, *full))
    inner = (Ellipsis,) + tuple(
        slice(lo, lo + s) for lo, s in zip(geo.pad_before, geo.size, strict=True)
    )
    return np.ascontiguousarray(z[inner])


__all__ = ["conv_backward", "wide_rows"]
