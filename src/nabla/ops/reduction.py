"""Reductions: sum, mean, max, min (with or without indices), var, std and logsumexp, over any
axes (with keepdims).

The reverse of a reduction is a broadcast: the gradient is reshaped with the reduced axes kept
(size 1) and repeated over them (the notes' repeat/sum pair, read backwards).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, NamedTuple

import numpy as np

from nabla._typing import Array, Shape
from nabla.autograd.function import Function


def normalize_axis(
    axis: int | tuple[int, ...] | list[int] | None, ndim: int, op: str = "reduction"
) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints (all axes for ``None``); IndexError naming
    ``op`` for an axis out of range (PyTorch's "dimension out of range")."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    size = max(ndim, 1)
    for a in axes:
        if not -size <= a < size:
            raise IndexError(
                f"{op}: dimension out of range (expected to be in range of [{-size}, "
                f"{size - 1}] for a {ndim}-D tensor, but got {a})"
            )
        out.append(int(a) % size)
    if ndim == 0:  # PyTorch: a 0-d tensor reduces over dim 0 or -1 to itself
        return ()
    return tuple(sorted(set(out)))


def kept_shape(shape: Shape, axes: tuple[int, ...]) -> Shape:
    """``shape`` with the reduced ``axes`` set to 1 (the keepdims shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduced_shape(shape: Shape, axes: tuple[int, ...]) -> Shape:
    """``shape`` without the reduced ``axes``."""
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class _Reduction(Function):
    def setup(self, x: Array, axis: Any, keepdims: bool) -> tuple[int, ...] | None:
        self.in_shape = x.shape
        self.axes = normalize_axis(axis, x.ndim, self.name)
        self.keepdims = keepdims
        return None if axis is None else self.axes

    def expand(self, g: Any) -> Any:
        """Reshape ``g`` to the keepdims shape so it broadcasts against the input."""
        return g if self.keepdims else g.reshape(kept_shape(self.in_shape, self.axes))


class Sum(_Reduction):
    """Sum over axes (the notes' "repeat → sum" node read forwards).

    Forward:  z = Σ_axes x
    Backward: ∇x = broadcast(g)  (g repeated over the summed axes)
    """

    latex = r"\nabla_x = \operatorname{repeat}(g)"

    def forward(self, x: Array, axis: Any = None, keepdims: bool = False) -> Array:
        axes = self.setup(x, axis, keepdims)
        return np.sum(x, axis=axes, keepdims=keepdims)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (F.broadcast_to(self.expand(g), self.in_shape),)


class Mean(_Reduction):
    """Mean over axes (the 1/m averaging of the notes).

    Forward:  z = (1/n) Σ_axes x
    Backward: ∇x = broadcast(g) / n
    """

    latex = r"\nabla_x = \operatorname{repeat}(g) / n"

    def forward(self, x: Array, axis: Any = None, keepdims: bool = False) -> Array:
        axes = self.setup(x, axis, keepdims)
        self.count = int(np.prod([x.shape[a] for a in self.axes], dtype=np.int64))
        if self.count == 0:  # the mean of nothing is nan, without NumPy's warning (PyTorch)
            total = np.sum(x, axis=axes, keepdims=keepdims)
            return np.full(total.shape, np.nan, dtype=np.result_type(total.dtype, np.float16))
        z: Array = np.mean(x, axis=axes, keepdims=keepdims)
        return z

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        if self.count == 0:  # x is empty: so is its gradient (no division by 0)
            return (F.broadcast_to(self.expand(g), self.in_shape),)
        return (F.broadcast_to(self.expand(g) / self.count, self.in_shape),)


class Max(_Reduction):
    """Maximum over axes; ties share the gradient evenly (as PyTorch's amax, and its max()
    of all elements, which selects: a non-finite g leaves the other elements at 0).

    Forward:  z = max_axes x
    Backward: ∇x = broadcast(g) ⊙ [x = z] / #ties
    """

    needs_output = True
    latex = r"\nabla_x = \operatorname{repeat}(g) \odot [x = z] / \#\text{ties}"
    reduce: Any = staticmethod(np.max)

    def forward(
        self, x: Array, axis: Any = None, keepdims: bool = False, select: bool = False
    ) -> Array:
        axes = self.setup(x, axis, keepdims)
        self.select = select
        empty = [a for a in self.axes if x.shape[a] == 0]
        if empty:  # a maximum of nothing has no value (PyTorch refuses it too)
            raise IndexError(
                f"{self.name}: expected reduction dim {empty[0]} to have non-zero size, x has "
                f"shape {x.shape}"
            )
        z: Array = type(self).reduce(x, axis=axes, keepdims=keepdims)
        return z

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        z_kept = F.data(z).reshape(kept_shape(self.in_shape, self.axes))
        xd = F.data(x)
        winners = xd == z_kept
        dtype = F.data(g).dtype
        if not self.select:  # amax: PyTorch multiplies by the share (inf g: nan elsewhere)
            share = winners / winners.sum(axis=self.axes, keepdims=True)
            return (self.expand(g) * share.astype(dtype),)
        # max() of all elements: PyTorch's masked_fill, where a nan maximum is won by the nans
        if np.isnan(z_kept).any():
            winners |= np.isnan(xd) & np.isnan(z_kept)
        count = winners.sum(axis=self.axes, keepdims=True).astype(dtype)
        return (F.where(winners, self.expand(g) / count, 0),)


class Min(Max):
    """Minimum over axes; ties share the gradient evenly (as PyTorch's amin).

    Forward:  z = min_axes x
    Backward: ∇x = broadcast(g) ⊙ [x = z] / #ties
    """

    reduce = staticmethod(np.min)


class ValuesIndices(NamedTuple):
    """What ``max`` and ``min`` along one dim return: the values and their int64 indices
    (PyTorch's ``torch.return_types.max``), so ``values, indices = x.max(1)`` unpacks them."""

    values: Any
    indices: Any


def _one_axis(axis: int, ndim: int, op: str) -> int | None:
    """The axis as a non-negative int; None for a 0-d array (which takes 0 and −1, as PyTorch)."""
    a = normalize_axis(axis, ndim, op)
    return a[0] if a else None


class ArgMax(Function):
    """Indices of the maxima along one axis, int64 (the first of equal maxima; nan wins).

    Forward:  i = argmax_axis x
    Backward: none (indices are integers)
    """

    select: Any = staticmethod(np.argmax)

    def forward(self, x: Array, axis: int | None = 0, keepdims: bool = False) -> Array:
        if axis is None:  # the index into the flattened array
            if x.size == 0:
                raise ValueError(f"{self.name}: cannot take the {self.name} of an empty tensor")
            flat = type(self).select(x.reshape(-1))
            return np.full((1,) * x.ndim if keepdims else (), flat, dtype=np.int64)
        a = _one_axis(axis, x.ndim, self.name)
        if a is None:
            return np.zeros((), dtype=np.int64)
        if x.shape[a] == 0:  # no element to point at (PyTorch refuses it too)
            raise IndexError(
                f"{self.name}: expected reduction dim {axis} to have non-zero size, x has shape {x.shape}"
            )
        i: Array = type(self).select(x, axis=a, keepdims=keepdims)
        return i.astype(np.int64, copy=False)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[None]:
        return (None,)


class ArgMin(ArgMax):
    """Indices of the minima along one axis, int64 (the first of equal minima; nan wins).

    Forward:  i = argmin_axis x
    Backward: none (indices are integers)
    """

    select = staticmethod(np.argmin)


class TakeAlongAxis(Function):
    """The entries of x at given indices along one axis: the values of ``max(dim)`` and
    ``min(dim)``, whose gradient goes to the returned index only (PyTorch).

    Forward:  z = x[i] along the axis  (i: one index per slice, as ``argmax`` returns)
    Backward: ∇x = g at i along the axis, 0 elsewhere  (the indices get none)
    """

    name = "take_along_axis"
    latex = r"\nabla_x = g \odot [\text{position} = i]"

    def forward(self, x: Array, index: Array, axis: int = 0, keepdims: bool = False) -> Array:
        self.in_shape, self.keepdims = x.shape, keepdims
        self.axis = a = _one_axis(axis, x.ndim, self.name)
        if a is None:
            return x.copy()
        z = np.take_along_axis(x, index if keepdims else np.expand_dims(index, a), axis=a)
        return z if keepdims else z.squeeze(a)

    def backward(self, g: Any, F: Any, x: Any, index: Any) -> tuple[Any, None]:
        a = self.axis
        if a is None:
            return g, None
        kept = F.data(index) if self.keepdims else np.expand_dims(F.data(index), a)
        if not self.keepdims:
            g = g.reshape(kept.shape)
        positions = np.arange(self.in_shape[a]).reshape(
            (-1,) + (1,) * (len(self.in_shape) - a - 1)
        )
        return F.where(positions == kept, g, 0), None


def warn_at_caller(message: str) -> None:
    """A UserWarning attributed to the first stack frame outside nabla (the user's line)."""
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("nabla."):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _degrees_of_freedom(name: str, n: int, correction: float) -> float:
    dof = n - correction
    if dof <= 0:  # PyTorch warns and returns inf or nan
        warn_at_caller(
            f"{name}: degrees of freedom is <= 0 (n = {n}, correction = {correction}); "
            "the result is inf or nan"
        )
    return dof


def _sum_of_squares(x: Array, axes: tuple[int, ...], keepdims: bool) -> Array:
    """Σ(x − x̄)² over ``axes``, in float64 whatever x's float width (as PyTorch accumulates):
    in float32, (1e30)² is already inf although the variance's square root is finite."""
    wide = x.astype(np.float64) if x.dtype.itemsize < 8 else x
    centered = wide - np.mean(wide, axis=axes, keepdims=True)
    total: Array = np.sum(centered * centered, axis=axes, keepdims=keepdims)
    return total


def _narrow(a: Array, dtype: Any) -> Array:
    """``a`` cast back to the input's dtype; beyond its range it is inf, silently (PyTorch)."""
    with np.errstate(over="ignore"):
        return a.astype(dtype, copy=False)


class Var(_Reduction):
    """Variance over axes, Σ(x − x̄)² / (n − c) with c the correction (1: unbiased).

    Forward:  z = Σ_axes (x − x̄)² / (n − c)   (accumulated in float64, then cast back)
    Backward: ∇x = broadcast(g) ⊙ 2 (x − x̄) / (n − c)
    """

    name = "var"
    latex = r"\nabla_x = \operatorname{repeat}(g) \odot 2 (x - \bar x) / (n - c)"

    def forward(
        self, x: Array, axis: Any = None, keepdims: bool = False, correction: float = 1
    ) -> Array:
        return _narrow(self.variance(x, axis, keepdims, correction), x.dtype)

    def variance(self, x: Array, axis: Any, keepdims: bool, correction: float) -> Array:
        """The variance in float64 (or wider); sets what backward needs."""
        self.setup(x, axis, keepdims)
        n = int(np.prod([x.shape[a] for a in self.axes], dtype=np.int64))
        self.dof = dof = _degrees_of_freedom(self.name, n, correction)
        if n == 0:  # the mean of nothing: nan, as PyTorch
            kept = kept_shape(x.shape, self.axes)
            return np.full(kept if keepdims else _reduced_shape(x.shape, self.axes), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):  # dof ≤ 0: inf or nan (warned)
            return _sum_of_squares(x, self.axes, keepdims) / max(dof, 0)

    def backward(self, g: Any, F: Any, x: Any, *_: Any) -> tuple[Any]:
        # PyTorch's var_backward: (2 / (n − c)) · g · (x − mean(x))
        scale = 2.0 / self.dof if self.dof > 0 else float("nan")
        return ((self.expand(g) * scale) * (x - x.mean(axis=self.axes, keepdims=True)),)


class Std(Var):
    """Standard deviation over axes, √var; a slice whose std is 0 gets a zero gradient
    (PyTorch's masked division), not 0/0.

    Forward:  z = √(Σ_axes (x − x̄)² / (n − c))   (accumulated in float64, then cast back)
    Backward: ∇x = var's rule applied to g / (2z), with 0 where z = 0
    """

    name = "std"
    needs_output = True
    latex = r"\nabla_x = \nabla^{\mathrm{var}}_x\big(g / (2 z)\big)"

    def forward(
        self, x: Array, axis: Any = None, keepdims: bool = False, correction: float = 1
    ) -> Array:
        return _narrow(np.sqrt(self.variance(x, axis, keepdims, correction)), x.dtype)

    def backward(self, g: Any, F: Any, x: Any, *args: Any) -> tuple[Any]:
        (z,) = args
        zero = F.data(z) == 0
        if zero.any():  # a constant slice: its gradient is 0 (never divide by the zero)
            g = F.where(zero, 0, g / (2 * F.where(zero, 1, z)))
        else:
            g = g / (2 * z)
        return Var.backward(self, g, F, x)


class LogSumExp(_Reduction):
    """log Σ exp over axes, stable by construction (the max is subtracted first).

    Forward:  z = m + log Σ_axes exp(x − m),  m = max_axes x
    Backward: ∇x = broadcast(g) ⊙ exp(x − z)   (= g ⊙ softmax(x))
    """

    needs_output = True
    latex = r"\nabla_x = g \odot \exp(x - z)"

    def forward(self, x: Array, axis: Any = None, keepdims: bool = False) -> Array:
        axes = self.setup(x, axis, keepdims)
        m = (
            np.max(x, axis=axes, keepdims=True)
            if x.size
            else np.zeros(kept_shape(x.shape, self.axes), x.dtype)
        )
        # log-sum-exp: subtract the max so exp never overflows (and keep -inf rows finite)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):  # log 0 = −inf: an empty or all −inf slice (PyTorch)
            z: Array = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        return z if keepdims else z.reshape(_reduced_shape(z.shape, self.axes))

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (self.expand(g) * F.exp(x - self.expand(z)),)
