"""The smooth and clipped activations of PyTorch 2.13: gelu, silu, elu, softplus, mish, hardtanh.

Each is written with differentiable ops (or, for erf and softplus, a Function whose backward is
itself written with ops), so first and second derivatives both follow from the graph.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nabla import functional as fn
from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.nn.normalization import layer_norm  # re-exported by nn.functional with these
from nabla.nn.sparse import embedding
from nabla.ops.arithmetic import as_float
from nabla.ops.pointwise import Erf
from nabla.tensor import Tensor

__all__ = ["elu", "embedding", "erf", "gelu", "hardtanh", "layer_norm", "mish", "silu", "softplus"]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _number(op: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}(): argument '{name}' must be a number, not {type(value).__name__}")
    return float(value)


class Softplus(Function):
    """Softplus with PyTorch's ``beta`` and linear region above ``threshold``.

    Forward:  z = log(1 + exp(β x)) / β, or x where β x > threshold
    Backward: ∇x = g ⊙ σ(β x), or g where β x > threshold
    """

    latex = r"\nabla_x = g \odot \sigma(\beta x)"

    def forward(self, x: Array, beta: float = 1.0, threshold: float = 20.0) -> Array:
        self.beta, self.threshold = beta, threshold
        x = as_float(x)
        bx = x * x.dtype.type(beta)
        smooth = np.logaddexp(np.zeros((), x.dtype), bx) / x.dtype.type(beta)
        out: Array = np.where(bx > threshold, x, smooth).astype(x.dtype, copy=False)
        return out

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        bx = x * self.beta
        linear = F.data(bx) > self.threshold
        return (F.where(linear, g, g * F.sigmoid(bx)),)


def erf(x: Any) -> Tensor:
    """The error function, elementwise."""
    return Erf.apply(_t(x))


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """x Φ(x) (``approximate="none"``) or its tanh approximation (``"tanh"``), as PyTorch."""
    x = _t(input)
    if approximate == "none":
        return x * 0.5 * (erf(x * (1.0 / math.sqrt(2.0))) + 1.0)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (fn.tanh(inner) + 1.0)
    raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")


def silu(input: Any, inplace: bool = False) -> Tensor:
    """x σ(x) (the swish)."""
    x = _t(input)
    return x * fn.sigmoid(x)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else α (eˣ − 1)."""
    x = _t(input)
    alpha = _number("elu", "alpha", alpha)
    positive = x.data > 0
    # exp only of the non-positive entries: no overflow, and no gradient through the other branch
    negative = (fn.exp(fn.where(positive, 0.0, x)) - 1.0) * alpha
    return fn.where(positive, x, negative)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(β x)) / β, linear (x) where β x > threshold."""
    beta = _number("softplus", "beta", beta)
    threshold = _number("softplus", "threshold", threshold)
    return Softplus.apply(_t(input), beta=beta, threshold=threshold)


def mish(input: Any, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    x = _t(input)
    return x * fn.tanh(softplus(x))


def hardtanh(
    input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """x clipped to [min_val, max_val]; gradient 1 strictly inside, 0 elsewhere (as PyTorch)."""
    x = _t(input)
    low = _number("hardtanh", "min_val", min_val)
    high = _number("hardtanh", "max_val", max_val)
    if low > high:
        raise ValueError("min_val cannot be greater than max_val")
    data = as_float(x.data)
    inside = (data > low) & (data < high)
    return fn.where(inside, x, np.clip(data, low, high))
