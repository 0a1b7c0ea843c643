"""Vector norms over any axes: ‖x‖_p = (Σ |x|^p)^(1/p), with p = ∞ (max |x|), -∞ (min |x|)
and 0 (the count of non-zero entries) as limits.

The gradient is 0 where the norm is 0 (PyTorch's rule: the subgradient 0 of a kink), and the
∞-norm shares its gradient evenly among the entries of largest magnitude, as ``amax``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.ops.reduction import kept_shape, normalize_axis


class VectorNorm(Function):
    """‖x‖_p over the given axes (all when None), p any float, ±inf or 0.

    Forward:  n = (Σ |x|^p)^(1/p)  (max |x| for p = ∞, min |x| for -∞, #{x ≠ 0} for 0)
    Backward: ∇x = g ⊙ sign(x) ⊙ |x|^(p-1) / n^(p-1)  (0 where n = 0, for ±∞ shared by ties)

    For p = ±∞ the rule is g ⊙ sign(x) ⊙ [|x| = n] / #ties (``amax``'s), for p = 1 it is
    g ⊙ sign(x), and p = 0 (a count) has none.
    """

    name = "norm"
    needs_output = True
    latex = r"\nabla_x = g \odot \operatorname{sign}(x)\,|x|^{p-1} / n^{p-1}"

    def forward(self, x: Array, p: float = 2.0, axis: Any = None, keepdims: bool = False) -> Array:
        self.p = p
        self.axes = axes = normalize_axis(axis, x.ndim, self.name)
        self.kept = kept_shape(x.shape, axes)
        a = np.abs(x)
        if p == math.inf or p == -math.inf:
            if x.size == 0 and any(x.shape[d] == 0 for d in axes):
                raise IndexError(
                    f"{self.name}: the ∞-norm of an empty slice is undefined (x has shape "
                    f"{x.shape}, dims {axis})"
                )
            reduce = np.amax if p > 0 else np.amin
            n = reduce(a, axis=axes, keepdims=keepdims)
        elif p == 0:
            n = np.sum(a != 0, axis=axes, keepdims=keepdims).astype(x.dtype)
        elif p == 1:
            n = np.sum(a, axis=axes, keepdims=keepdims)
        elif p == 2:
            n = np.sqrt(np.sum(a * a, axis=axes, keepdims=keepdims))
        else:
            n = np.sum(a**p, axis=axes, keepdims=keepdims) ** (1.0 / p)
        return np.asarray(n, dtype=x.dtype)

    def backward(self, g: Any, F: Any, x: Any, n: Any) -> tuple[Any]:
        p = self.p
        g, n = g.reshape(self.kept), n.reshape(self.kept)
        xd = F.data(x)
        if p == 0:
            return (None,)
        if p == 1:
            return (g * F.sign(x),)
        if p == math.inf or p == -math.inf:
            ties = np.abs(xd) == F.data(n)
            count = ties.sum(axis=self.axes, keepdims=True)
            return (g * (F.sign(x) * ties / count).astype(xd.dtype),)
        # |x|^(p-1) and n^(p-1) through bases that are 1 where x or n is 0, so neither
        # path divides by 0; sign(0) = 0 and x = 0 wherever n = 0 make those entries 0
        n_safe = F.where(F.data(n) == 0, 1, n)
        if p == 2:
            return (x * (g / n_safe),)
        base = F.where(xd == 0, 1, abs(x))
        return (F.sign(x) * base ** (p - 1) * (g / n_safe ** (p - 1)),)


__all__ = ["VectorNorm"]
