"""Algebra primitives of the tensor surface: products along an axis (prod, cumprod), rounded
division, scatter and scatter-add, the median of all elements, and the integer orderings behind
cummax/cummin, kthvalue, median and mode (whose values are a gather, differentiable by its rule).

Products are differentiated without dividing by the product, so zeros are exact: the gradient
of ``prod`` at xᵢ is the product of the others, the exclusive prefix product times the exclusive
suffix product (two cumulative products); that of ``cumprod`` runs the backward recurrence
``Sᵢ = gᵢ + xᵢ₊₁ Sᵢ₊₁`` along the axis.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nabla._typing import Array, Shape
from nabla.autograd.function import Function
from nabla.errors import ShapeError
from nabla.ops.arithmetic import promote
from nabla.ops.selection import argsort_array
from nabla.ops.shape import Concatenate, Stack


class MinMax(NamedTuple):
    """What ``aminmax`` returns: the minimum and the maximum (``torch.return_types.aminmax``)."""

    min: Any
    max: Any


# ----- helpers shared by the array path and the graph path (F.graph picks one) ----------------
def _concatenate(F: Any, parts: list[Any], axis: int) -> Any:
    if F.graph:
        return Concatenate.apply(*parts, axis=axis)
    return np.concatenate(parts, axis=axis)


def _stack(F: Any, parts: list[Any], axis: int) -> Any:
    if F.graph:
        return Stack.apply(*parts, axis=axis)
    return np.stack(parts, axis=axis)


def _along(axis: int, item: Any) -> tuple[Any, ...]:
    """The index that applies ``item`` (a slice or an int) to ``axis`` only."""
    return (slice(None),) * axis + (item,)


def exclusive_cumprod(F: Any, x: Any, axis: int, reverse: bool = False) -> Any:
    """Πₖ₍ₖ<ᵢ₎ xₖ along ``axis`` (``reverse``: Πₖ₍ₖ>ᵢ₎ xₖ): the cumulative product of x shifted
    by one, with 1 in front; no division, so zeros are exact."""
    flip = _along(axis, slice(None, None, -1))
    if reverse:
        x = x[flip]
    ones = F.zeros_like(x[_along(axis, slice(0, 1))]) + 1
    shifted = _concatenate(F, [ones, x[_along(axis, slice(0, -1))]], axis)
    out = shifted.cumprod(axis)
    return out[flip] if reverse else out


def _int64_if_integral(x: Array) -> Any:
    return np.int64 if x.dtype.kind in "biu" else x.dtype


# ----- products -------------------------------------------------------------------------------
class Prod(Function):
    """Product along one axis (integers and bools multiply as int64, as PyTorch).

    Forward:  z = Πᵢ xᵢ  along the axis
    Backward: ∇xᵢ = g ⊙ Π_{k<i} x_k ⊙ Π_{k>i} x_k  (exclusive prefix and suffix products: exact at 0)
    """

    latex = r"\nabla_{x_i} = g \odot \operatorname{prod}(x_{k<i}) \operatorname{prod}(x_{k>i})"

    def forward(self, x: Array, axis: int = 0, keepdims: bool = False) -> Array:
        self.axis, self.keepdims = axis, keepdims
        z: Array = np.prod(x, axis=axis, keepdims=keepdims, dtype=_int64_if_integral(x))
        return z

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        if not self.keepdims:
            g = g.reshape(g.shape[: self.axis] + (1,) + g.shape[self.axis :])
        before = exclusive_cumprod(F, x, self.axis)
        after = exclusive_cumprod(F, x, self.axis, reverse=True)
        return (g * (before * after),)


class CumProd(Function):
    """Cumulative product along one axis (integers and bools as int64, as PyTorch).

    Forward:  zᵢ = Π_{k ≤ i} x_k  along the axis
    Backward: ∇xᵢ = Π_{k<i} x_k ⊙ Sᵢ  (Sᵢ = gᵢ + xᵢ₊₁ Sᵢ₊₁ from S_{n−1} = g_{n−1}: no division)
    """

    latex = r"\nabla_{x_i} = \operatorname{prod}(x_{k<i}) \odot S_i"

    def forward(self, x: Array, axis: int = 0) -> Array:
        self.axis = axis
        return np.cumprod(x, axis=axis, dtype=_int64_if_integral(x))

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        axis, n = self.axis, x.shape[self.axis]
        if n == 0:
            return (g,)
        suffix = [g[_along(axis, n - 1)]]
        for i in range(n - 2, -1, -1):  # the reverse scan, one slice at a time
            suffix.append(g[_along(axis, i)] + x[_along(axis, i + 1)] * suffix[-1])
        s = _stack(F, suffix[::-1], axis)
        return (exclusive_cumprod(F, x, axis) * s,)


class DivRounded(Function):
    """Quotient rounded toward zero (``"trunc"``) or down (``"floor"``), PyTorch's
    ``div(rounding_mode=...)``; integers stay integers, an integer divisor 0 is an error.

    Forward:  z = trunc(x / y)  or  ⌊x / y⌋
    Backward: ∇x = 0,  ∇y = 0  (a step function: PyTorch's zero gradient)
    """

    name = "div"
    latex = r"\nabla_x = 0,\; \nabla_y = 0"

    def forward(self, x: Array, y: Array, mode: str = "trunc") -> Array:
        x, y = promote(x, y)
        if x.dtype.kind in "biu" and y.dtype.kind in "biu":
            if x.dtype == np.bool_ and y.dtype == np.bool_:
                x, y = x.astype(np.int64), y.astype(np.int64)
            if (y == 0).any():
                raise ZeroDivisionError("div: integer division by zero (ZeroDivisionError)")
            q: Array = np.floor_divide(x, y)
            if mode == "trunc":  # floor rounds down; toward zero is one more where inexact
                q = q + ((q * y != x) & ((x < 0) != (y < 0)))
            return q
        with np.errstate(divide="ignore", invalid="ignore"):
            if mode == "trunc":
                return np.trunc(x / y)
            # Python's floor division (NumPy's divmod), as PyTorch's div_floor; x / y at y = 0
            out: Array = np.where(y == 0, x / y, np.floor_divide(x, y))
            return out

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        return tuple(F.zeros_like(g) if need else None for need in self.needs_grad)  # type: ignore[return-value]


# ----- scatter --------------------------------------------------------------------------------
def scatter_positions(
    op: str, x_shape: Shape, i: Array, src_shape: Shape | None, axis: int
) -> tuple[tuple[Any, ...], tuple[slice, ...]]:
    """The advanced index of the entries of x that ``index`` writes along ``axis``, and the
    region of src they come from (index's shape, from src's corner), after PyTorch's checks."""
    if i.dtype.kind not in "iu":
        raise TypeError(f"{op}(): Expected dtype int64 for index, got {i.dtype}")
    if i.ndim != len(x_shape) or (src_shape is not None and len(src_shape) != len(x_shape)):
        raise ShapeError(
            f"{op}: index (shape {i.shape}) and src (shape {src_shape}) must have the same "
            f"number of dimensions as self (shape {x_shape})"
        )
    for d, m in enumerate(i.shape):
        if (d != axis and m > x_shape[d]) or (src_shape is not None and m > src_shape[d]):
            raise ShapeError(
                f"{op}: Expected index {list(i.shape)} to be no larger than self "
                f"{list(x_shape)} apart from dimension {axis} and to be no larger size than "
                f"src {list(src_shape or i.shape)}"
            )
    n = x_shape[axis]
    if i.size and (i.min() < 0 or i.max() >= n):
        bad = i.min() if i.min() < 0 else i.max()
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {axis} with size {n}")
    index: list[Any] = []
    for d, m in enumerate(i.shape):
        if d == axis:
            index.append(np.array(i, dtype=np.intp))
        else:
            index.append(np.arange(m).reshape((-1,) + (1,) * (i.ndim - d - 1)))
    return tuple(index), tuple(slice(0, m) for m in i.shape)


class Scatter(Function):
    """x with the entries of src written at ``index`` along one axis (``torch.scatter``):
    ``z[…, index[…, j, …], …] = src[…, j, …]`` (src's region of index's shape).

    Forward:  z = x;  z[index] = src[region]
    Backward: ∇x = g with 0 at the written positions,  ∇src[region] = g[index]  (0 elsewhere)
    """

    saved = ("index", "written")
    latex = r"\nabla_x = g \odot [\text{not written}],\; \nabla_{src} = g[\text{index}]"

    def forward(self, x: Array, src: Array, i: Array, axis: int = 0) -> Array:
        self.index, self.region = scatter_positions(self.name, x.shape, i, src.shape, axis)
        self.src_shape = src.shape
        z = x.copy()
        self.write(z, src[self.region].astype(x.dtype, copy=False))
        self.written = np.zeros(x.shape, dtype=bool)
        self.written[self.index] = True
        return z

    def write(self, z: Array, values: Array) -> None:
        z[self.index] = values

    def backward(self, g: Any, F: Any, x: Any, src: Any, i: Any) -> tuple[Any, Any, None]:
        grad_x = F.where(self.written, 0, g) if self.needs_grad[0] else None
        grad_src = (
            F.index_add(g[self.index], self.src_shape, self.region) if self.needs_grad[1] else None
        )
        return grad_x, grad_src, None


class ScatterAdd(Scatter):
    """x plus the entries of src added at ``index`` along one axis (``torch.scatter_add``;
    repeated positions add up).

    Forward:  z = x;  z[index] += src[region]
    Backward: ∇x = g,  ∇src[region] = g[index]  (0 elsewhere)
    """

    name = "scatter_add"
    latex = r"\nabla_x = g,\; \nabla_{src} = g[\text{index}]"

    def write(self, z: Array, values: Array) -> None:
        np.add.at(z, self.index, values)

    def backward(self, g: Any, F: Any, x: Any, src: Any, i: Any) -> tuple[Any, Any, None]:
        grad_src = (
            F.index_add(g[self.index], self.src_shape, self.region) if self.needs_grad[1] else None
        )
        return (g if self.needs_grad[0] else None), grad_src, None


# ----- order statistics -----------------------------------------------------------------------
class MedianAll(Function):
    """The lower median of all elements (nan if any is nan), as ``torch.median()``; the
    gradient is shared evenly among the elements equal to it (PyTorch's rule).

    Forward:  z = x₍₍ₙ₋₁₎/₂₎  (the ⌊(n−1)/2⌋-th smallest)
    Backward: ∇x = g ⊙ [x = z] / #{x = z}
    """

    name = "median"
    saved = ("ties",)
    latex = r"\nabla_x = g \odot [x = z] / \#\text{ties}"

    def forward(self, x: Array) -> Array:
        flat = x.reshape(-1)
        if flat.size == 0:
            self.ties = np.zeros(x.shape, dtype=bool)
            return np.array(np.nan, dtype=x.dtype)
        nan = np.isnan(flat) if flat.dtype.kind in "fc" else np.zeros(flat.shape, bool)
        value = flat[nan.argmax()] if nan.any() else np.sort(flat)[(flat.size - 1) // 2]
        wide = x.dtype if x.dtype.kind in "fc" else np.float64  # integers carry no gradient
        self.ties = (np.isnan(x) if nan.any() else x == value).astype(wide)
        self.ties /= self.ties.sum()
        return np.asarray(value)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g * self.ties,)


class KthIndex(Function):
    """Position of the k-th smallest entry along one axis (k from 1), int64, keepdims; nan counts
    as the largest; ``median=True``: the lower median, or the first nan of a slice that has one.

    Forward:  i = argsort_axis(x)[k − 1]  (stable: the earliest of equal values first)
    Backward: none (indices are integers)
    """

    name = "kthvalue"

    def forward(self, x: Array, k: int = 1, axis: int = 0, median: bool = False) -> Array:
        n = x.shape[axis]
        if median:
            k = (n - 1) // 2 + 1
        order = argsort_array(x, axis, descending=False)
        i: Array = np.take(order, [k - 1], axis=axis)
        if median and x.dtype.kind in "fc":
            nan = np.isnan(x)
            i = np.where(nan.any(axis, keepdims=True), nan.argmax(axis, keepdims=True), i)
        return i.astype(np.int64, copy=False)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[None]:
        return (None,)


class ModeIndex(Function):
    """Position of the mode along one axis, int64, keepdims: the smallest of the most frequent
    values, at its last occurrence (PyTorch's choice).

    Forward:  i = max{j : x_j = v},  v = min argmax_v #{x = v}
    Backward: none (indices are integers)
    """

    name = "mode"

    def forward(self, x: Array, axis: int = -1) -> Array:
        rows = np.moveaxis(x, axis, -1)
        flat = rows.reshape(-1, rows.shape[-1])
        order = argsort_array(flat, -1, descending=False)
        out = np.empty(flat.shape[0], dtype=np.int64)
        for r, (row, sort) in enumerate(zip(flat, order)):
            s = row[sort]
            ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))  # last of each run
            counts = np.diff(np.append(-1, ends))
            out[r] = sort[ends[counts.argmax()]]  # the first longest run: the smallest value
        return np.expand_dims(out.reshape(rows.shape[:-1]), axis)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[None]:
        return (None,)


class CumExtremeIndex(Function):
    """Positions of the running maximum (``largest``) or minimum along one axis, int64: the
    latest of equal values, and once a nan is met the latest nan (as PyTorch's cummax).

    Forward:  iⱼ = max{k ≤ j : x_k = running extreme at k}
    Backward: none (indices are integers)
    """

    name = "cummax"

    def forward(self, x: Array, axis: int = 0, largest: bool = True) -> Array:
        running = (np.maximum if largest else np.minimum).accumulate(x, axis=axis)
        record = x == running
        if x.dtype.kind in "fc":
            record |= np.isnan(x)
        positions = np.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))
        latest = np.where(record, positions, 0)
        return np.maximum.accumulate(latest, axis=axis).astype(np.int64, copy=False)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[None]:
        return (None,)


__all__ = [
    "CumExtremeIndex",
    "CumProd",
    "DivRounded",
    "KthIndex",
    "MedianAll",
    "MinMax",
    "ModeIndex",
    "Prod",
    "Scatter",
    "ScatterAdd",
    "exclusive_cumprod",
    "scatter_positions",
]
