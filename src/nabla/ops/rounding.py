"""Rounding primitives: floor, ceil, trunc, round, frac, and the remainders fmod and remainder.

The roundings are piecewise constant: their gradient is 0 everywhere (PyTorch's convention at
the jumps too), returned as zeros so ``x.grad`` exists. frac = x − trunc(x) passes g. The
remainders are x − q y for a rounded quotient q (truncated for fmod, floored for remainder):
∇x = g and ∇y = −g ⊙ q, PyTorch's rule, with q read from the data (it is piecewise constant).

Integer tensors keep their dtype (floor, ceil, trunc and round of an integer are the integer);
bool is refused, as PyTorch refuses it. An integer division by 0 raises ZeroDivisionError (a
float one gives nan, as in PyTorch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.errors import DTypeError


class Floor(Function):
    """Largest integer ≤ x (an integer tensor is returned as it is; bool is refused, as
    PyTorch). Piecewise constant: the gradient is 0.

    Forward:  z = ⌊x⌋
    Backward: ∇x = 0
    """

    latex = r"\nabla_x = 0"
    ufunc: Any = np.floor

    def forward(self, x: Array) -> Array:
        if x.dtype.kind == "b":
            raise DTypeError(f"{self.name}: not implemented for dtype bool")
        if x.dtype.kind in "iu":
            return x.copy()
        out: Array = type(self).ufunc(x)
        return out

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (F.zeros_like(g),)


class Ceil(Floor):
    """Smallest integer ≥ x (see Floor).

    Forward:  z = ⌈x⌉
    Backward: ∇x = 0
    """

    ufunc = np.ceil


class Trunc(Floor):
    """x rounded toward 0 (see Floor).

    Forward:  z = trunc(x)
    Backward: ∇x = 0
    """

    ufunc = np.trunc


class Round(Floor):
    """x rounded to ``decimals`` decimal places, halves to even (PyTorch's nearbyint: 2.5 → 2);
    negative ``decimals`` round to tens, hundreds... Integers only with decimals = 0.

    Forward:  z = rint(x · 10ᵈ) / 10ᵈ
    Backward: ∇x = 0
    """

    def forward(self, x: Array, decimals: int = 0) -> Array:
        if x.dtype.kind not in "fc":
            if decimals != 0 and x.dtype.kind in "iu":
                raise DTypeError(f"round: decimals={decimals} is not implemented for {x.dtype}")
            return super().forward(x)
        if decimals == 0:
            return np.rint(x)
        with np.errstate(over="ignore"):  # a huge x times 10ᵈ: inf, as PyTorch
            out: Array = np.round(x, decimals)
        return out


class Frac(Function):
    """The fractional part, with x's sign (floats only, as PyTorch).

    Forward:  z = x − trunc(x)
    Backward: ∇x = g
    """

    latex = r"\nabla_x = g"

    def forward(self, x: Array) -> Array:
        if x.dtype.kind not in "fc":
            raise DTypeError(f"frac: not implemented for dtype {x.dtype}")
        with np.errstate(invalid="ignore"):  # inf − inf = nan, as PyTorch
            out: Array = x - np.trunc(x)
        return out

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g,)


def _check_operands(op: str, x: Array, y: Array) -> None:
    """PyTorch refuses bool remainders and integer division by 0."""
    if x.dtype.kind == "b" or y.dtype.kind == "b":
        raise DTypeError(f"{op}: not implemented for dtype bool")
    if x.dtype.kind in "iu" and y.dtype.kind in "iu" and y.size and not y.all():
        raise ZeroDivisionError(f"{op}: integer division by zero (divisor of shape {y.shape})")


class FMod(Function):
    """Remainder of the division rounded toward 0: the dividend's sign (C's fmod,
    ``torch.fmod``); nan where y = 0 or x = ±inf.

    Forward:  z = x − trunc(x / y) ⊙ y
    Backward: ∇x = g,  ∇y = −g ⊙ trunc(x / y)
    """

    latex = r"\nabla_x = g,\; \nabla_y = -g \odot \operatorname{trunc}(x / y)"

    def forward(self, x: Array, y: Array) -> Array:
        _check_operands(self.name, x, y)
        with np.errstate(all="ignore"):  # nan at y = 0 or x = inf, as PyTorch
            out: Array = np.fmod(x, y)
        return out

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        grad_y = None
        if self.needs_grad[1]:
            with np.errstate(all="ignore"):  # x / 0 = ±inf: −g ⊙ inf, as PyTorch
                q = np.trunc(F.data(x) / F.data(y))
                grad_y = -g * q
        return g, grad_y


class Remainder(Function):
    """Remainder of the division rounded down: the divisor's sign (Python's %,
    ``torch.remainder``). For floats PyTorch's formula: fmod, plus y where the signs differ
    (so −0.0 % 2 is −0.0, and −1 % inf is inf).

    Forward:  z = x − ⌊x / y⌋ ⊙ y
    Backward: ∇x = g,  ∇y = −g ⊙ ⌊x / y⌋
    """

    latex = r"\nabla_x = g,\; \nabla_y = -g \odot \operatorname{floor}(x / y)"

    def forward(self, x: Array, y: Array) -> Array:
        _check_operands(self.name, x, y)
        if x.dtype.kind in "iu":
            return np.remainder(x, y)
        with np.errstate(all="ignore"):  # as FMod
            m = np.fmod(x, y)
            out: Array = np.where((m != 0) & ((y < 0) != (m < 0)), m + y, m)
        return out

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        grad_y = None
        if self.needs_grad[1]:
            # NumPy's floor_divide is Python's (and PyTorch's) floor division: 1 // 0.1 = 9
            with np.errstate(all="ignore"):
                q = np.floor_divide(F.data(x), F.data(y))
                grad_y = -g * q
        return g, grad_y
