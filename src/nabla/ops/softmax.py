"""Softmax and log-softmax along an axis, stable by construction (log-sum-exp)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function


def log_softmax_array(x: Array, axis: int) -> Array:
    """log softmax(x) = x − m − log Σ exp(x − m), with m the max along ``axis``."""
    # subtract the max so exp never overflows; ufunc.reduce skips np.max's Python wrapper
    shifted = x - np.maximum.reduce(x, axis=axis, keepdims=True)
    shifted -= np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))
    return shifted


def softmax_array(x: Array, axis: int) -> Array:
    """softmax(x) = exp(x − m) / Σ exp(x − m), with m the max along ``axis``."""
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
