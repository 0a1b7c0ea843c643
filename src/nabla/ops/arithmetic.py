"""Arithmetic primitives: add, sub, mul, div, neg, reciprocal, pow.

Every rule ignores broadcasting: the engine sums each gradient back to its input's shape.

Dtypes follow PyTorch where NumPy differs: an integer (or bool) array meeting a floating one
takes the floating one's dtype (NumPy widens int64 with float32 to float64), and true division
of integers gives float32, PyTorch's default dtype (NumPy: float64).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function

#: what true division and the float functions (exp, sigmoid...) make of integer and bool
#: arrays: PyTorch's default dtype (``nabla.tensor.DEFAULT_FLOAT``)
FLOAT = np.dtype(np.float32)


def as_float(x: Array) -> Array:
    """x if it is floating point (or complex), else x as float32 (see ``FLOAT``)."""
    return x if x.dtype.kind in "fc" else x.astype(FLOAT)


def promote(x: Array, y: Array) -> tuple[Array, Array]:
    """The operands of a binary op with PyTorch's result dtype: an integer or bool array
    meeting a floating (or complex) one is cast to that one's dtype; within one category a
    0-d operand takes the dtype of an operand with dims (float32 (3,) with a 0-d float64
    gives float32), and otherwise NumPy and PyTorch agree (int32 with int64 gives int64)."""
    kx, ky = x.dtype.kind, y.dtype.kind
    if kx in "biu" and ky in "fc":
        return x.astype(y.dtype), y
    if ky in "biu" and kx in "fc":
        return x, y.astype(x.dtype)
    category = _CATEGORY.get(kx)
    if (x.ndim == 0) != (y.ndim == 0) and category is not None and category == _CATEGORY.get(ky):
        return (x.astype(y.dtype), y) if x.ndim == 0 else (x, y.astype(x.dtype))
    return x, y


#: PyTorch's dtype categories, lowest first: bool < integer < floating < complex
_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}


class Add(Function):
    """Elementwise sum (NumPy broadcasting).

    Forward:  z = x + y
    Backward: ∇x = g,  ∇y = g
    """

    latex = r"\nabla_x = g,\; \nabla_y = g"

    def forward(self, x: Array, y: Array) -> Array:
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        return x + y

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        return g, g


class Sub(Function):
    """Elementwise difference.

    Forward:  z = x − y
    Backward: ∇x = g,  ∇y = −g
    """

    latex = r"\nabla_x = g,\; \nabla_y = -g"

    def forward(self, x: Array, y: Array) -> Array:
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        return x - y

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        return g, (-g if self.needs_grad[1] else None)


class Mul(Function):
    """Elementwise product.

    Forward:  z = x ⊙ y
    Backward: ∇x = g ⊙ y,  ∇y = g ⊙ x
    """

    latex = r"\nabla_x = g \odot y,\; \nabla_y = g \odot x"

    def forward(self, x: Array, y: Array) -> Array:
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        return x * y

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        grad_x = g * y if self.needs_grad[0] else None
        grad_y = g * x if self.needs_grad[1] else None
        return grad_x, grad_y


class Div(Function):
    """Elementwise true quotient (integers give float32, as PyTorch).

    Forward:  z = x / y
    Backward: ∇x = g / y,  ∇y = −g ⊙ (x / y) / y   (PyTorch's order: y² would underflow)
    """

    latex = r"\nabla_x = g / y,\; \nabla_y = -g \odot (x / y) / y"

    def forward(self, x: Array, y: Array) -> Array:
        if x.dtype is not y.dtype or x.dtype.kind not in "fc":
            x, y = promote(x, y)
            x, y = as_float(x), as_float(y)
        return x / y

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        # a zero divisor gives ±inf or nan gradients, as in PyTorch, without NumPy's warnings
        # (the forward pass warned already if it divided by zero itself)
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_x = g / y if self.needs_grad[0] else None
            # (x / y) / y, not x / (y * y): y = 1e-200 squares to 0 and the gradient to −inf
            grad_y = -g * (x / y / y) if self.needs_grad[1] else None
        return grad_x, grad_y


class Neg(Function):
    """Negation.

    Forward:  z = −x
    Backward: ∇x = −g
    """

    latex = r"\nabla_x = -g"

    def forward(self, x: Array) -> Array:
        return -x

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (-g,)


class Reciprocal(Function):
    """The notes' 1/x node.

    Forward:  z = 1 / x
    Backward: ∇x = −g ⊙ z²   (= −g / x²)
    """

    needs_output = True
    latex = r"\nabla_x = -g \odot z^2"

    def forward(self, x: Array) -> Array:
        return np.reciprocal(as_float(x))

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (-g * z * z,)


class PowScalar(Function):
    """Power with a constant (Python number) exponent p; x⁰ is constant, so its gradient is 0
    even at x = 0, where p x^(p−1) would be 0 · inf (as PyTorch).

    Forward:  z = x ** p
    Backward: ∇x = g ⊙ p x^(p−1)   (0 for p = 0)
    """

    latex = r"\nabla_x = g \odot p\, x^{p-1}"

    # int | float: with plain float, mypy would take isinstance(p, float) as always true
    def forward(self, x: Array, p: int | float = 2.0) -> Array:  # noqa: PYI041
        if isinstance(p, np.generic):
            p = p.item()  # a weak scalar, as a Python number (NumPy: np.float64 widens float32)
        self.p = p
        if x.dtype.kind in "biu":
            # an integer tensor to a float power: float32; a bool one to an int power: int64
            # (as PyTorch; NumPy makes float64 and int8)
            if isinstance(p, float):
                x = as_float(x)
            elif x.dtype.kind == "b":
                x = x.astype(np.int64)
        return x**p

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        p = self.p
        if p == 2:
            return (g * (2 * x),)
        if p == 0:
            # zeros, not g · 0 (nan where g is inf); also what makes the second derivative
            # of x**1 (first derivative 1 · x**0) 0 at x = 0
            return (F.zeros_like(g),)
        with np.errstate(divide="ignore"):  # x**0.5 at 0: an inf derivative, as in PyTorch
            return (g * (p * x ** (p - 1)),)


class Pow(Function):
    """Power with a tensor exponent. As PyTorch, ∇x is 0 where y = 0 (x⁰ is constant) and ∇y
    is 0 where x = 0 and y ≥ 0 (0^y is constant there; z log x would be 0 · (−inf) = nan, or
    −inf at y = 0).

    Forward:  z = x ** y
    Backward: ∇x = g ⊙ y x^(y−1),  ∇y = g ⊙ z log x
    """

    needs_output = True
    latex = r"\nabla_x = g \odot y\, x^{y-1},\; \nabla_y = g \odot z \log x"

    def forward(self, x: Array, y: Array) -> Array:
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        return x**y

    def backward(self, g: Any, F: Any, x: Any, y: Any, z: Any) -> tuple[Any, Any]:
        xd, yd = F.data(x), F.data(y)
        grad_x = grad_y = None
        # the masked-out elements also leave the formula (exponent 1, log of 1): no spurious
        # divide-by-zero warning, and no nan in a second derivative through them
        if self.needs_grad[0]:
            constant = yd == 0
            with np.errstate(divide="ignore"):  # x**0.5 at 0: inf, as in PyTorch
                grad_x = F.where(constant, 0, g * y * x ** F.where(constant, 1, y - 1))
        if self.needs_grad[1]:
            constant = (xd == 0) & (yd >= 0)
            grad_y = F.where(constant, 0, g * z * F.log(F.where(constant, 1, x)))
        return grad_x, grad_y
