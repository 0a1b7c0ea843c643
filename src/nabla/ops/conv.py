"""Convolution as the notes' dense layer applied to patches (im2col), and its two linear maps.

``im2col`` cuts the (padded) input into one patch per output position; a convolution is then the
dense layer Z = P Wᵀ + b on the patch matrix P (one row per output position, one column per
weight), so its backward is the notes' rule: ∇W = Gᵀ P, ∇P = G W, ∇b = 1ᵀ G. A pixel belongs to
several overlapping patches (it was repeated), so ``col2im`` sums the patches' gradients back
onto it: the repeat → sum rule. ``im2col`` and ``col2im`` are each other's adjoint, so they are
each other's backward and every order of derivative follows.

Layouts: inputs are (N, C, *spatial) (PyTorch's NCHW); patches are (N, C, *out, *kernel).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.errors import ShapeError


@dataclass(frozen=True)
class Geometry:
    """Where the patches of one call lie: per spatial axis the kernel, stride, dilation, the
    padding before and after, and the input and output sizes."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad_before: tuple[int, ...]
    pad_after: tuple[int, ...]
    size: tuple[int, ...]  # the input's spatial size
    out: tuple[int, ...]  # the number of patches along each axis
    #: the value the padding holds (0 for convolution, −inf for max pooling)
    fill: float = 0.0

    @property
    def extent(self) -> tuple[int, ...]:
        """The span of one dilated kernel along each axis."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation, strict=True))


def output_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil: bool) -> int:
    """PyTorch's output length of a convolution or pooling along one axis."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if not ceil:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad:  # the last window must start inside the input
        out -= 1
    return out


def geometry(
    op: str,
    size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    dilation: tuple[int, ...],
    ceil_mode: bool = False,
    fill: float = 0.0,
) -> Geometry:
    """The geometry of a call, or a one-line error when the kernel does not fit."""
    before = tuple(p[0] for p in padding)
    after = [p[1] for p in padding]
    outs = []
    for i, n in enumerate(size):
        k, s, d = kernel[i], stride[i], dilation[i]
        if ceil_mode:
            out = output_size(n, k, s, before[i], d, True)
        else:
            span = n + before[i] + after[i] - d * (k - 1) - 1
            out = span // s + 1 if span >= 0 else 0
        if out <= 0:
            raise ShapeError(
                f"{op}: input of spatial size {tuple(size)} is too small for kernel "
                f"{tuple(kernel)} with dilation {tuple(dilation)} and padding "
                f"{tuple(padding)}: the output size would be {out}"
            )
        # the patches must end inside the padded input (ceil mode pads the end further)
        after[i] = max(after[i], (out - 1) * s + d * (k - 1) + 1 - n - before[i])
        outs.append(out)
    return Geometry(kernel, stride, dilation, before, tuple(after), size, tuple(outs), fill)


def padded(x: Array, geo: Geometry) -> Array:
    """``x`` with the geometry's padding on its spatial axes (``x`` itself when there is none)."""
    widths = tuple(zip(geo.pad_before, geo.pad_after, strict=True))
    if not any(lo or hi for lo, hi in widths):
        return x
    lead = ((0, 0),) * (x.ndim - len(widths))
    return np.pad(x, lead + widths, constant_values=geo.fill)


def patches_view(x: Array, geo: Geometry) -> Array:
    """The patches of ``x`` as a strided view (N, C, *out, *kernel) of its padded copy."""
    spatial = len(geo.size)
    axes = tuple(range(x.ndim - spatial, x.ndim))
    view = sliding_window_view(padded(x, geo), geo.extent, axis=axes)
    index = (Ellipsis,) + tuple(
        slice(0, o * s, s) for o, s in zip(geo.out, geo.stride, strict=True)
    )
    index += tuple(slice(None, None, d) for d in geo.dilation)
    return view[index]


def im2col_array(x: Array, geo: Geometry) -> Array:
    """The patches of ``x``, (N, C, *out, *kernel), as a new contiguous array."""
    return np.ascontiguousarray(patches_view(x, geo))


def col2im_array(p: Array, geo: Geometry) -> Array:
    """The adjoint of im2col: each patch entry added back onto the input position it came from
    (positions in several patches receive the sum), the padding cut off. ``p`` is
    (N, C, *out, *kernel); one slice-add per kernel offset, none per pixel."""
    spatial = len(geo.size)
    return add_patches(p.shape[: p.ndim - 2 * spatial], p.dtype, geo, lambda k, at: p[at], p)


def kernel_offsets(geo: Geometry) -> list[tuple[int, ...]]:
    """The kernel's positions in row-major order (the order of a patch's flat entries)."""
    return list(itertools.product(*(range(k) for k in geo.kernel)))


def add_patches(
    lead: tuple[int, ...],
    dtype: Any,
    geo: Geometry,
    piece: Callable[[int, tuple[Any, ...]], Array],
    like: Array | None = None,
) -> Array:
    """Σ over kernel offsets k of ``piece(k, (…, *offset))`` (N, C, *out) added onto the input
    positions it covers, as an (N, C, *size) array (col2im, one slice-add per offset).

    The sum is laid out in memory in the order of ``like``'s leading axes, so each add walks
    both operands in the same order."""
    spatial = len(geo.size)
    full = tuple(
        lo + n + hi for lo, n, hi in zip(geo.pad_before, geo.size, geo.pad_after, strict=True)
    )
    order = list(range(len(lead)))
    if like is not None:
        order.sort(key=lambda a: -abs(like.strides[a]))
    buffer = np.zeros(tuple(lead[a] for a in order) + full, dtype=dtype)
    z = buffer.transpose((*np.argsort(order), *range(len(lead), len(lead) + spatial)))
    for k, offset in enumerate(kernel_offsets(geo)):
        index = (Ellipsis,) + tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s)
            for o, d, n, s in zip(offset, geo.dilation, geo.out, geo.stride, strict=True)
        )
        z[index] += piece(k, (Ellipsis, *offset))
    inner = (Ellipsis,) + tuple(
        slice(lo, lo + n) for lo, n in zip(geo.pad_before, geo.size, strict=True)
    )
    return np.ascontiguousarray(z[inner])


class Im2Col(Function):
    """The patches of the input, one per output position.

    Forward:  P = im2col(x)           (N, C, *size) → (N, C, *out, *kernel)
    Backward: ∇x = col2im(g)  (each pixel sums the gradients of the patches it is in)
    """

    latex = r"\nabla_x = \operatorname{col2im}(g)"

    def forward(self, x: Array, geo: Geometry | None = None) -> Array:
        assert geo is not None
        self.geo = geo
        return im2col_array(x, geo)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (F.col2im(g, self.geo),)


class Col2Im(Function):
    """Patches added back onto the positions they were cut from (the adjoint of im2col).

    Forward:  x = col2im(p)           (N, C, *out, *kernel) → (N, C, *size)
    Backward: ∇p = im2col(g)
    """

    latex = r"\nabla_p = \operatorname{im2col}(g)"

    def forward(self, p: Array, geo: Geometry | None = None) -> Array:
        assert geo is not None
        self.geo = geo
        return col2im_array(p, geo)

    def backward(self, g: Any, F: Any, p: Any) -> tuple[Any]:
        return (F.im2col(g, self.geo),)


def _columns_first(spatial: int) -> tuple[int, ...]:
    """The permutation (N, C, *out, *k) → (C, *k, N, *out): Pᵀ, one patch per column.

    The patch matrix is stored transposed: copying the patches in this order moves runs of
    neighbouring pixels (a shifted image per kernel offset) instead of one short kernel row at
    a time, and the products read Pᵀ as BLAS's transposed operand."""
    return (1, *range(2 + spatial, 2 + 2 * spatial), 0, *range(2, 2 + spatial))


class Conv(Function):
    """Convolution (PyTorch's cross-correlation), as the dense layer on the patch matrix.

    Forward:  Z = im2col(X) Wᵀ + b   (P: a row per output position, a column per weight)
    Backward: ∇X = col2im(G W),  ∇W = Gᵀ P,  ∇b = 1ᵀ G   (G: g with one row per output position)

    With ``groups`` > 1 the channels split into groups, each its own dense layer on its own
    columns of P. ``nb.explain`` prints each product with the call's matrix shapes.
    """

    name = "conv"
    latex = (
        r"\nabla_X = \operatorname{col2im}(G W),\; \nabla_W = G^\top P,\; "
        r"\nabla_b = \mathbf{1}^\top G"
    )
    saved = ("patches_t",)

    def forward(
        self,
        x: Array,
        w: Array,
        b: Array | None = None,
        geo: Geometry | None = None,
        groups: int = 1,
    ) -> Array:
        assert geo is not None
        self.geo, self.groups = geo, groups
        spatial = len(geo.size)
        n, o = x.shape[0], w.shape[0]
        # Pᵀ, (c·kernel) × (n·out): one copy of the strided patches
        self.patches_t = _patch_columns(
            np.transpose(patches_view(x, geo), _columns_first(spatial))
        )
        z = _group_product(w.reshape((o, -1)), self.patches_t, groups)  # Zᵀ = W Pᵀ
        if b is not None:
            z += b.reshape((o, 1))
        z = z.reshape((o, n, *geo.out))
        return np.ascontiguousarray(np.swapaxes(z, 0, 1))

    def backward(self, g: Any, F: Any, x: Any, w: Any, b: Any = None) -> tuple[Any, ...]:
        geo, groups, spatial = self.geo, self.groups, len(self.geo.size)
        o = w.shape[0]
        # Gᵀ: one row per output channel, one column per output position (n, *out)
        g_t = F.permute(g, (1, 0, *range(2, 2 + spatial))).reshape((o, -1))
        w_m = w.reshape((o, -1))
        if F.graph:
            p_t = F.permute(F.im2col(x, geo), _columns_first(spatial))
            p_t = p_t.reshape((_rows(p_t, spatial), -1))
        else:
            p_t = self.patches_t
        grad_x = grad_w = grad_b = None
        if self.needs_grad[0]:
            # ∇Pᵀ = Wᵀ Gᵀ (that is, ∇P = G W), then the patches summed back onto the pixels
            gp_t = _group_product(w_m, g_t, groups, transpose_w=True, F=F)
            gp_t = gp_t.reshape((x.shape[1], *geo.kernel, x.shape[0], *geo.out))
            grad_x = F.col2im(F.permute(gp_t, tuple(np.argsort(_columns_first(spatial)))), geo)
        if self.needs_grad[1]:
            grad_w = _weight_grad(g_t, p_t, groups, F).reshape(w.shape)  # ∇W = Gᵀ P
        if b is not None and self.needs_grad[2]:
            grad_b = g_t.sum(axis=1)  # ∇b = 1ᵀ G
        return (grad_x, grad_w) if b is None else (grad_x, grad_w, grad_b)


def _rows(p_t: Any, spatial: int) -> int:
    """The number of rows of Pᵀ (channels × kernel positions) from its unflattened shape."""
    return math.prod(p_t.shape[: 1 + spatial])


def _patch_columns(view: Array) -> Array:
    """A (C, *kernel, N, *out) view copied into the matrix Pᵀ (C·kernel, N·out)."""
    rows = math.prod(view.shape[: (view.ndim - 1) // 2 + 1])
    return np.ascontiguousarray(view).reshape((rows, -1))


def _group_product(w_m: Any, a: Any, groups: int, transpose_w: bool = False, F: Any = None) -> Any:
    """W A (or Wᵀ A), each group of W's rows against its own block of A's rows.

    ``w_m`` is (out, cols/groups); A has cols rows for W A, out rows for Wᵀ A.
    """
    permute = np.transpose if F is None else F.permute
    if groups == 1:
        return (permute(w_m, (1, 0)) if transpose_w else w_m) @ a
    o, k = w_m.shape
    w_g = w_m.reshape((groups, o // groups, k))
    if transpose_w:
        w_g = permute(w_g, (0, 2, 1))
    a_g = a.reshape((groups, a.shape[0] // groups, a.shape[1]))
    z = w_g @ a_g  # (groups, rows, n·out)
    return z.reshape((groups * z.shape[1], z.shape[2]))


def _weight_grad(g_t: Any, p_t: Any, groups: int, F: Any) -> Any:
    """Gᵀ P, per group: group k's rows of Gᵀ against its rows of Pᵀ."""
    if groups == 1:
        return g_t @ F.permute(p_t, (1, 0))
    o, cols = g_t.shape[0], p_t.shape[0]
    g_g = g_t.reshape((groups, o // groups, g_t.shape[1]))
    p_g = F.permute(p_t.reshape((groups, cols // groups, p_t.shape[1])), (0, 2, 1))
    return (g_g @ p_g).reshape((o, cols // groups))
