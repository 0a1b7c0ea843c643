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


def flat_offsets(geo: Geometry, plane: tuple[int, ...]) -> list[int]:
    """How far each kernel position (in :func:`kernel_offsets`' order) lies from its patch's
    first pixel, counted in the flat numbering of a row-major ``plane`` (the input's spatial
    shape, padded or not): the patch of every position is then one shift of the others."""
    steps = [math.prod(plane[axis + 1 :]) for axis in range(len(plane))]
    return [
        sum(s * i * d for s, i, d in zip(steps, offset, geo.dilation, strict=True))
        for offset in kernel_offsets(geo)
    ]


def tiles(geo: Geometry) -> bool:
    """Whether the patches tile the input without overlap or padding (stride = kernel, no
    dilation): each input position is in at most one patch."""
    return (
        geo.stride == geo.kernel
        and all(d == 1 for d in geo.dilation)
        and not any(geo.pad_before)
        and not any(geo.pad_after)
    )


def _place_tiles(
    lead: tuple[int, ...],
    dtype: Any,
    geo: Geometry,
    piece: Callable[[int, tuple[Any, ...]], Array],
) -> Array:
    """:func:`add_patches` for patches that tile the input: each position receives one entry,
    so the pieces are stacked and interleaved by one transposing copy instead of strided
    adds (positions past the last whole patch stay 0)."""
    spatial = len(geo.size)
    offsets = kernel_offsets(geo)
    stack = np.empty((len(offsets), *lead, *geo.out), dtype=dtype)
    for k, offset in enumerate(offsets):
        stack[k] = piece(k, (Ellipsis, *offset))
    m = len(lead)
    # (*kernel, *lead, *out) → (*lead, out₀, kernel₀, out₁, kernel₁, …)
    blocks = stack.reshape((*geo.kernel, *lead, *geo.out))
    axes = (*range(spatial, spatial + m),) + tuple(
        a for i in range(spatial) for a in (spatial + m + i, i)
    )
    covered = tuple(o * k for o, k in zip(geo.out, geo.kernel, strict=True))
    tiled = blocks.transpose(axes).reshape((*lead, *covered))
    if covered == geo.size:
        return np.ascontiguousarray(tiled)
    z = np.zeros((*lead, *geo.size), dtype=dtype)
    corner: tuple[Any, ...] = (Ellipsis, *(slice(0, c) for c in covered))
    z[corner] = tiled
    return z


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
    if tiles(geo):
        return _place_tiles(lead, dtype, geo, piece)
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


def _per_sample_columns(spatial: int) -> tuple[int, ...]:
    """The permutation (N, C, *out, *k) → (N, C, *k, *out): each sample's Pᵀ, one patch per
    column.

    The patch matrix is stored transposed, sample by sample: copying the patches in this order
    moves runs of neighbouring pixels (a shifted image per kernel offset), and the products
    W Pₙᵀ give each sample's output channels × positions, already in (N, C, H, W) order."""
    return (0, 1, *range(2 + spatial, 2 + 2 * spatial), *range(2, 2 + spatial))


class Conv(Function):
    """Convolution (PyTorch's cross-correlation), as the dense layer on the patch matrix.

    Forward:  Z = im2col(X) Wᵀ + b   (P: a row per output position, a column per weight)
    Backward: ∇X = col2im(G W),  ∇W = Gᵀ P,  ∇b = 1ᵀ G   (G: g with one row per output position)

    The rows of P and G are the output positions of every sample: ∇W = Gᵀ P sums the samples'
    products. With ``groups`` > 1 the channels split into groups, each its own dense layer on
    its own columns of P. ``nb.explain`` prints each product with the call's matrix shapes.
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
        # Pₙᵀ per sample, (n, c·kernel, positions): one copy of the strided patches
        view = np.transpose(patches_view(x, geo), _per_sample_columns(spatial))
        columns = x.shape[1] * math.prod(geo.kernel)  # counted: -1 is undefined at size 0
        self.patches_t = np.ascontiguousarray(view).reshape((n, columns, math.prod(geo.out)))
        z: Array = grouped_product(
            w.reshape((o, columns // groups)), self.patches_t, groups
        )  # W Pₙᵀ
        if b is not None:
            z += b.reshape((o, 1))
        return z.reshape((n, o, *geo.out))

    def backward(self, g: Any, F: Any, x: Any, w: Any, b: Any = None) -> tuple[Any, ...]:
        geo, groups, spatial = self.geo, self.groups, len(self.geo.size)
        n, c, o = x.shape[0], x.shape[1], w.shape[0]
        g_t = g.reshape((n, o, math.prod(geo.out)))  # Gₙᵀ: output channels × positions
        grad_x = None
        if self.needs_grad[0]:
            # ∇Pₙᵀ = Wᵀ Gₙᵀ (that is, ∇P = G W), then the patches summed back onto the pixels
            w_m = w.reshape((o, c // groups * math.prod(geo.kernel)))
            gp_t = grouped_product(w_m, g_t, groups, transpose_w=True, F=F)
            gp_t = gp_t.reshape((n, c, *geo.kernel, *geo.out))
            grad_x = F.col2im(
                F.permute(gp_t, tuple(np.argsort(_per_sample_columns(spatial)))), geo
            )
        return (grad_x, *self.parameter_grads(g_t, F, x, w, b))

    def parameter_grads(self, g_t: Any, F: Any, x: Any, w: Any, b: Any) -> tuple[Any, ...]:
        """∇W = Gᵀ P and ∇b = 1ᵀ G (where needed), from ``g_t``: g as (N, O, positions)."""
        geo, spatial = self.geo, len(self.geo.size)
        n, positions = x.shape[0], math.prod(geo.out)
        if F.graph:
            p_t = F.permute(F.im2col(x, geo), _per_sample_columns(spatial))
            p_t = p_t.reshape((n, x.shape[1] * math.prod(geo.kernel), positions))
        else:
            p_t = self.patches_t
        grad_w = grad_b = None
        if self.needs_grad[1]:
            grad_w = _weight_grad(g_t, p_t, self.groups, F).reshape(w.shape)  # ∇W = Gᵀ P
        if b is not None and self.needs_grad[2]:
            grad_b = g_t.sum(axis=(0, 2))  # ∇b = 1ᵀ G
        return (grad_w,) if b is None else (grad_w, grad_b)


def grouped_product(
    w_m: Any, a: Any, groups: int, transpose_w: bool = False, F: Any = None
) -> Any:
    """W Aₙ (or Wᵀ Aₙ) for every sample n, each group of W's rows against its own block of
    Aₙ's rows. ``w_m`` is (out, cols/groups); A is (n, rows, positions)."""
    permute = np.transpose if F is None else F.permute
    if groups == 1:
        return (permute(w_m, (1, 0)) if transpose_w else w_m) @ a
    o, k = w_m.shape
    w_g = w_m.reshape((groups, o // groups, k))
    if transpose_w:
        w_g = permute(w_g, (0, 2, 1))
    n, rows, positions = a.shape
    z = w_g @ a.reshape((n, groups, rows // groups, positions))  # (n, groups, rows, positions)
    return z.reshape((n, groups * z.shape[2], positions))


def _weight_grad(g_t: Any, p_t: Any, groups: int, F: Any) -> Any:
    """Gᵀ P = Σₙ Gₙᵀ Pₙ, per group: group k's output channels against its patch rows."""
    n, o, positions = g_t.shape
    cols = p_t.shape[1]
    if groups == 1:
        return (g_t @ F.permute(p_t, (0, 2, 1))).sum(axis=0)
    g_g = g_t.reshape((n, groups, o // groups, positions))
    p_g = F.permute(p_t.reshape((n, groups, cols // groups, positions)), (0, 1, 3, 2))
    return (g_g @ p_g).sum(axis=0).reshape((o, cols // groups))
