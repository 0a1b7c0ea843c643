"""The fast backward of a stride-1 convolution, registered beside :class:`nabla.ops.conv.Conv`.

The plain rule sums the patches' gradients back with one slice-add per kernel offset
(col2im); on a stride-1 convolution each add walks rows of only ``out`` pixels (10 for
LeNet-5's second layer), so NumPy spends its time starting rows. Here G is laid out tall: each
output position's gradient sits on its patch's first pixel in the padded input, and every
sample's plane follows the last, as one (O, N·plane) matrix (zeros elsewhere). ∇P = G W is one
product on it, and offset k's patch gradients land on the pixels ``start(k)`` further along,
so each offset is one add of one long run for each channel: the same products and the same
additions in the same order as the plain rule, plus additions of zeros (which change no value:
the sums start from +0.0, so none is −0.0). ``tests/ops/test_kernels.py`` holds it to the plain
rule bitwise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.ops.conv import flat_offsets, grouped_product
from nabla.ops.namespace import ARRAY_OPS


def tall_rows(fn: Any) -> bool:
    """Whether this call's ∇X can be summed on the tall layout: stride 1."""
    return all(s == 1 for s in fn.geo.stride)


def conv_backward(
    fn: Any, g: Array, x: Array, w: Array, b: Array | None = None
) -> tuple[Any, ...]:
    """Conv's backward: ∇X on the tall layout where :func:`tall_rows` allows (else the plain
    rule), ∇W and ∇b by the plain rule."""
    if not fn.needs_grad[0] or not tall_rows(fn):
        return tuple(fn.backward(g, ARRAY_OPS, *([x, w] if b is None else [x, w, b])))
    g_t = g.reshape((g.shape[0], g.shape[1], math.prod(fn.geo.out)))
    # ∇W first, while the saved patches are still in cache (∇X streams a larger array through
    # it): 3-8% of a LeNet-5 step in an interleaved A/B
    rest = fn.parameter_grads(g_t, ARRAY_OPS, x, w, b)
    return (_input_gradient(fn, g, x, w), *rest)


def _input_gradient(fn: Any, g: Array, x: Array, w: Array) -> Array:
    geo = fn.geo
    n, c, o = x.shape[0], x.shape[1], w.shape[0]
    full = tuple(
        lo + s + hi for lo, s, hi in zip(geo.pad_before, geo.size, geo.pad_after, strict=True)
    )
    plane = math.prod(full)
    # G in the padded input's shape, every sample's plane after the last (O, N·plane): output
    # position p's patch starts at padded pixel p, so offset k's patch gradients are one run
    g_tall = np.zeros((o, n, *full), dtype=g.dtype)
    corner = (slice(None), slice(None), *(slice(0, m) for m in geo.out))
    g_tall[corner] = g.transpose((1, 0, *range(2, g.ndim)))
    columns = n * plane
    w_m = w.reshape((o, c // fn.groups * math.prod(geo.kernel)))
    gp = grouped_product(w_m, g_tall.reshape((1, o, columns)), fn.groups, transpose_w=True)
    gp = gp.reshape((c, math.prod(geo.kernel), columns))  # ∇Pᵀ, a column per padded pixel
    starts = flat_offsets(geo, full)  # offset k's patch gradients start starts[k] further on
    z = np.zeros((c, columns + max(starts)), dtype=g.dtype)
    for k, start in enumerate(starts):
        z[:, start : start + columns] += gp[:, k]
    inner = (slice(None), slice(None)) + tuple(
        slice(lo, lo + s) for lo, s in zip(geo.pad_before, geo.size, strict=True)
    )
    z = z[:, :columns].reshape((c, n, *full))[inner]
    return np.ascontiguousarray(z.transpose((1, 0, *range(2, z.ndim))))


__all__ = ["conv_backward", "tall_rows"]
