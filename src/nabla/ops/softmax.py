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
    n: int = x.shape[axis]
    return n == 0


def log_softmax_array(x: Array, axis: int) -> Array:
    """log softmax(x) = x − m − log Σ exp(x − m), with m the max along ``axis``."""
    if x.ndim == 0:  # one element (PyTorch takes dim 0 or -1): computed as a vector of one
        return log_softmax_array(x.reshape(1), 0).reshape(())
    if _empty_along(x, axis):
        return x.copy()
    # subtract the max so exp never overflows; ufunc.reduce skips np.max's Python wrapper
    shifted = x - np.maximum.reduce(x, axis=axis, keepdims=True)
    shifted -= np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))
    return shifted


def softmax_array(x: Array, axis: int) -> Array:
    """softmax(x) = exp(x − m) / Σ exp(x − m), with m the max along ``axis``."""
    if x.ndim == 0:  # one element (PyTorch takes dim 0 or -1): computed as a vector of one
        return softmax_array(x.reshape(1), 0).reshape(())
    if _empty_along(x, axis):
        return x.copy()
    e = x - np.maximum.reduce(x, axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= np.add.reduce(e, axis=axis, keepdims=True)
    return e


def _checked_axis(op: str, axis: int, ndim: int) -> int | None:
    """The axis the backward sums over: ``axis`` itself, or None (all) for a 0-d input."""
    if ndim == 0:
        if axis not in (0, -1):
            raise IndexError(
                f"{op}: dimension out of range (expected to be in range of [-1, 0] for a "
                f"0-D tensor, but got {axis})"
            )
        return None
    return axis


class Softmax(Function):
    """Softmax along an axis.

    Forward:  s = exp(x) / Σ exp(x)
    Backward: ∇x = s ⊙ (g − Σ(g ⊙ s))
    """

    needs_output = True
    latex = r"\nabla_x = s \odot (g - \textstyle\sum (g \odot s))"

    def forward(self, x: Array, axis: int = -1) -> Array:
        self.axis = _checked_axis("softmax", axis, x.ndim)
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
        self.axis = _checked_axis("log_softmax", axis, x.ndim)
        return log_softmax_array(x, axis)

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (g - F.exp(z) * g.sum(axis=self.axis, keepdims=True),)
