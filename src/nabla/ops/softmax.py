"""Softmax and log-softmax along an axis, stable by construction (log-sum-exp); along an axis
of length 0 the result is empty (as PyTorch)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function


def _empty_along(x: Array, axis: int) -> bool:
    """Whether ``axis`` has length 0 (the max would have nothing to reduce; PyTorch returns an
    empty result). Checked only for empty arrays, so the common case pays one attribute read."""
    if x.size:
        return False
    if not -x.ndim <= axis < x.ndim:
        raise np.exceptions.AxisError(axis, x.ndim)
    return x.shape[axis] == 0


def log_softmax_array(x: Array, axis: int) -> Array:
    """log softmax(x) = x − m − log Σ exp(x − m), with m the max along ``axis``."""
    if _empty_along(x, axis):
        return x.copy()
    # subtract the max so exp never overflows; ufunc.reduce skips np.max's Python wrapper
    shifted = x - np.maximum.reduce(x, axis=axis, keepdims=True)
    shifted -= np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))
    return shifted


def softmax_array(x: Array, axis: int) -> Array:
    """softmax(x) = exp(x − m) / Σ exp(x − m), with m the max along ``axis``."""
    if _empty_along(x, axis):
        return x.copy()
    e = x - np.maximum.reduce(x, axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= np.add.reduce(e, axis=axis, keepdims=True)
    return e


class Softmax(Function):
    """Softmax along an axis.

    Forward:  s = exp(x) / Σ exp(x)
    Backward: ∇x = s ⊙ (g − Σ(g ⊙ s))
    """

    needs_output = True
    latex = r"\nabla_x = s \odot (g - \textstyle\sum (g \odot s))"

    def forward(self, x: Array, axis: int = -1) -> Array:
        self.axis = axis
        return softmax_array(x, axis)

    def backward(self, g: Any, F: Any, x: Any, s: Any) -> tuple[Any]:
        return (s * (g - (g * s).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """Log-softmax along an axis.

    Forward:  z = x − log Σ exp(x)
    Backward: ∇x = g − exp(z) ⊙ Σ g
    """

    needs_output = True
    latex = r"\nabla_x = g - e^{z} \odot \textstyle\sum g"

    def forward(self, x: Array, axis: int = -1) -> Array:
        self.axis = axis
        return log_softmax_array(x, axis)

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (g - F.exp(z) * g.sum(axis=self.axis, keepdims=True),)
