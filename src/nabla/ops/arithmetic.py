"""Arithmetic primitives: add, sub, mul, div, neg, reciprocal, pow.

Every rule ignores broadcasting: the engine sums each gradient back to its input's shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function


class Add(Function):
    """Elementwise sum (NumPy broadcasting).

    Forward:  z = x + y
    Backward: ∇x = g,  ∇y = g
    """

    latex = r"\nabla_x = g,\; \nabla_y = g"

    def forward(self, x: Array, y: Array) -> Array:
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
        return x * y

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        grad_x = g * y if self.needs_grad[0] else None
        grad_y = g * x if self.needs_grad[1] else None
        return grad_x, grad_y


class Div(Function):
    """Elementwise quotient.

    Forward:  z = x / y
    Backward: ∇x = g / y,  ∇y = −g ⊙ x / y²
    """

    latex = r"\nabla_x = g / y,\; \nabla_y = -g \odot x / y^2"

    def forward(self, x: Array, y: Array) -> Array:
        return x / y

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        grad_x = g / y if self.needs_grad[0] else None
        grad_y = -g * x / (y * y) if self.needs_grad[1] else None
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
        return np.reciprocal(x) if x.dtype.kind in "fc" else 1.0 / x

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (-g * z * z,)


class PowScalar(Function):
    """Power with a constant (Python number) exponent p.

    Forward:  z = x ** p
    Backward: ∇x = g ⊙ p x^(p−1)
    """

    latex = r"\nabla_x = g \odot p\, x^{p-1}"

    def forward(self, x: Array, p: float = 2.0) -> Array:
        self.p = p
        return x**p

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        p = self.p
        if p == 2:
            return (g * (2 * x),)
        return (g * (p * x ** (p - 1)),)


class Pow(Function):
    """Power with a tensor exponent.

    Forward:  z = x ** y
    Backward: ∇x = g ⊙ y x^(y−1),  ∇y = g ⊙ z log x
    """

    needs_output = True
    latex = r"\nabla_x = g \odot y\, x^{y-1},\; \nabla_y = g \odot z \log x"

    def forward(self, x: Array, y: Array) -> Array:
        return x**y

    def backward(self, g: Any, F: Any, x: Any, y: Any, z: Any) -> tuple[Any, Any]:
        grad_x = g * y * x ** (y - 1) if self.needs_grad[0] else None
        grad_y = g * z * F.log(x) if self.needs_grad[1] else None
        return grad_x, grad_y
