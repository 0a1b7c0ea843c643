"""Reductions: sum, mean, max, min over any axes (with keepdims) and logsumexp.

The reverse of a reduction is a broadcast: the gradient is reshaped with the reduced axes kept
(size 1) and repeated over them (the notes' repeat/sum pair, read backwards).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array, Shape
from nabla.autograd.function import Function


def normalize_axis(axis: int | tuple[int, ...] | list[int] | None, ndim: int) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints (all axes for ``None``)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(int(a), ndim)
        out.append(int(a) % max(ndim, 1))
    return tuple(sorted(set(out)))


def kept_shape(shape: Shape, axes: tuple[int, ...]) -> Shape:
    """``shape`` with the reduced ``axes`` set to 1 (the keepdims shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class _Reduction(Function):
    def setup(self, x: Array, axis: Any, keepdims: bool) -> tuple[int, ...] | None:
        self.in_shape = x.shape
        self.axes = normalize_axis(axis, x.ndim)
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
        return np.mean(x, axis=axes, keepdims=keepdims)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (F.broadcast_to(self.expand(g) / self.count, self.in_shape),)


class Max(_Reduction):
    """Maximum over axes; ties share the gradient evenly (as PyTorch's amax).

    Forward:  z = max_axes x
    Backward: ∇x = broadcast(g) ⊙ [x = z] / #ties
    """

    needs_output = True
    latex = r"\nabla_x = \operatorname{repeat}(g) \odot [x = z] / \#\text{ties}"
    reduce = staticmethod(np.max)

    def forward(self, x: Array, axis: Any = None, keepdims: bool = False) -> Array:
        axes = self.setup(x, axis, keepdims)
        return type(self).reduce(x, axis=axes, keepdims=keepdims)

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        z_kept = F.data(z).reshape(kept_shape(self.in_shape, self.axes))
        winners = F.data(x) == z_kept
        share = winners / winners.sum(axis=self.axes, keepdims=True)
        return (self.expand(g) * share.astype(F.data(g).dtype),)


class Min(Max):
    """Minimum over axes; ties share the gradient evenly (as PyTorch's amin).

    Forward:  z = min_axes x
    Backward: ∇x = broadcast(g) ⊙ [x = z] / #ties
    """

    reduce = staticmethod(np.min)


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
        z = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        return (
            z if keepdims else z.reshape([n for i, n in enumerate(z.shape) if i not in self.axes])
        )

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (self.expand(g) * F.exp(x - self.expand(z)),)
