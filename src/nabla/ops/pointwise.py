"""Unary pointwise primitives beyond :mod:`nabla.ops.elementwise`: the trigonometric and
hyperbolic functions and their inverses, log1p, expm1, log2, log10, exp2, rsqrt and erfc.

The float functions make float32 of integer and bool inputs (PyTorch's default dtype), as
:mod:`nabla.ops.elementwise` does. Outside a function's domain (asin of 2, log2 of −1, rsqrt of
0) the result is IEEE's nan or ±inf, as in PyTorch, and NumPy's warnings are silenced: PyTorch
gives the same values without warning. Derivatives are PyTorch's (``derivatives.yaml``); where a
rule can use the output (tan, expm1, exp2, rsqrt) it does, so it costs no second transcendental.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.ops.arithmetic import as_float

LN2 = math.log(2.0)
LN10 = math.log(10.0)
#: d/dx erf(x) = 2/√π e^(−x²)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_ERF = np.vectorize(math.erf, otypes=[np.float64])
_ERFC = np.vectorize(math.erfc, otypes=[np.float64])


def float_ufunc(ufunc: Any, x: Array) -> Array:
    """``ufunc(x)`` on x as a float (float32 for integers and bools), quietly at the domain's
    edges (IEEE's nan and ±inf, as PyTorch, which does not warn)."""
    with np.errstate(all="ignore"):
        out: Array = ufunc(as_float(x))
    return out


class Sin(Function):
    """Sine.

    Forward:  z = sin(x)
    Backward: ∇x = g ⊙ cos(x)
    """

    latex = r"\nabla_x = g \odot \operatorname{cos}(x)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.sin, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g * F.cos(x),)


class Cos(Function):
    """Cosine.

    Forward:  z = cos(x)
    Backward: ∇x = −g ⊙ sin(x)
    """

    latex = r"\nabla_x = -g \odot \operatorname{sin}(x)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.cos, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g * -F.sin(x),)


class Tan(Function):
    """Tangent; the derivative 1 + tan² reads the output.

    Forward:  z = tan(x)
    Backward: ∇x = g ⊙ (1 + z²)
    """

    needs_output = True
    latex = r"\nabla_x = g \odot (1 + z^2)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.tan, x)

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (g * (1 + z * z),)


class Asin(Function):
    """Inverse sine (nan outside [−1, 1]; the derivative is inf at ±1, as PyTorch's).

    Forward:  z = asin(x)
    Backward: ∇x = g / √(1 − x²)
    """

    latex = r"\nabla_x = g / \sqrt{1 - x^2}"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.arcsin, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(all="ignore"):  # 1/0 at ±1 and nan outside, as PyTorch
            return (g / F.sqrt(1 - x * x),)


class Acos(Function):
    """Inverse cosine (nan outside [−1, 1]).

    Forward:  z = acos(x)
    Backward: ∇x = −g / √(1 − x²)
    """

    latex = r"\nabla_x = -g / \sqrt{1 - x^2}"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.arccos, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(all="ignore"):  # as Asin
            return (-g / F.sqrt(1 - x * x),)


class Atan(Function):
    """Inverse tangent.

    Forward:  z = atan(x)
    Backward: ∇x = g / (1 + x²)
    """

    latex = r"\nabla_x = g / (1 + x^2)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.arctan, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(over="ignore"):  # x² = inf for huge x: the gradient is 0
            return (g / (1 + x * x),)


class Sinh(Function):
    """Hyperbolic sine.

    Forward:  z = sinh(x)
    Backward: ∇x = g ⊙ cosh(x)
    """

    latex = r"\nabla_x = g \odot \operatorname{cosh}(x)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.sinh, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(over="ignore"):  # cosh overflows to inf where sinh did
            return (g * F.cosh(x),)


class Cosh(Function):
    """Hyperbolic cosine.

    Forward:  z = cosh(x)
    Backward: ∇x = g ⊙ sinh(x)
    """

    latex = r"\nabla_x = g \odot \operatorname{sinh}(x)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.cosh, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(over="ignore"):  # as Sinh
            return (g * F.sinh(x),)


class Asinh(Function):
    """Inverse hyperbolic sine.

    Forward:  z = asinh(x)
    Backward: ∇x = g / √(x² + 1)
    """

    latex = r"\nabla_x = g / \sqrt{x^2 + 1}"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.arcsinh, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(over="ignore"):  # x² = inf for huge x: 0, as PyTorch's
            return (g / F.sqrt(x * x + 1),)


class Acosh(Function):
    """Inverse hyperbolic cosine (nan below 1; the derivative is inf at 1).

    Forward:  z = acosh(x)
    Backward: ∇x = g / √(x² − 1)
    """

    latex = r"\nabla_x = g / \sqrt{x^2 - 1}"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.arccosh, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(all="ignore"):  # 1/0 at 1, nan below, as PyTorch
            return (g / F.sqrt(x * x - 1),)


class Atanh(Function):
    """Inverse hyperbolic tangent (±inf at ±1, nan outside).

    Forward:  z = atanh(x)
    Backward: ∇x = g / (1 − x²)
    """

    latex = r"\nabla_x = g / (1 - x^2)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.arctanh, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(all="ignore"):  # 1/0 at ±1, as PyTorch
            return (g / (1 - x * x),)


class Log1p(Function):
    """log(1 + x), exact for small x (NumPy's log1p, never 1 + x rounded first).

    Forward:  z = log1p(x)
    Backward: ∇x = g / (1 + x)
    """

    latex = r"\nabla_x = g / (1 + x)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.log1p, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(all="ignore"):  # 1/0 at −1, as PyTorch
            return (g / (x + 1),)


class Expm1(Function):
    """eˣ − 1, exact for small x (NumPy's expm1); the derivative eˣ = z + 1 reads the output.

    Forward:  z = expm1(x)
    Backward: ∇x = g ⊙ (z + 1)
    """

    needs_output = True
    latex = r"\nabla_x = g \odot (z + 1)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.expm1, x)

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (g * (z + 1),)


class Log2(Function):
    """Base-2 logarithm.

    Forward:  z = log2(x)
    Backward: ∇x = g / (x ln 2)
    """

    latex = r"\nabla_x = g / (x \log 2)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.log2, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(all="ignore"):  # 1/0 at 0, as PyTorch
            return (g / (x * LN2),)


class Log10(Function):
    """Base-10 logarithm.

    Forward:  z = log10(x)
    Backward: ∇x = g / (x ln 10)
    """

    latex = r"\nabla_x = g / (x \log 10)"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.log10, x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(all="ignore"):  # as Log2
            return (g / (x * LN10),)


class Exp2(Function):
    """2ˣ; the derivative 2ˣ ln 2 reads the output.

    Forward:  z = exp2(x)
    Backward: ∇x = g ⊙ z ln 2
    """

    needs_output = True
    latex = r"\nabla_x = g \odot z \log 2"

    def forward(self, x: Array) -> Array:
        return float_ufunc(np.exp2, x)

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (g * (z * LN2),)


class Rsqrt(Function):
    """1 / √x; the derivative −½ x^(−3/2) = −½ z³ reads the output (inf at 0, as PyTorch).

    Forward:  z = 1 / √x
    Backward: ∇x = −½ g ⊙ z³
    """

    needs_output = True
    latex = r"\nabla_x = -\tfrac{1}{2} g \odot z^3"

    def forward(self, x: Array) -> Array:
        x = as_float(x)
        with np.errstate(all="ignore"):  # inf at 0, nan below, as PyTorch
            z: Array = 1 / np.sqrt(x)
        return z

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        with np.errstate(all="ignore"):  # z = inf at 0
            return (g * (z * z * z) * -0.5,)


class Erf(Function):
    """Error function (Python's math.erf per element, in float64).

    Forward:  z = erf(x)
    Backward: ∇x = g ⊙ 2/√π · exp(−x²)
    """

    latex = r"\nabla_x = g \odot \tfrac{2}{\sqrt{\text{π}}} e^{-x^2}"

    def forward(self, x: Array) -> Array:
        x = as_float(x)
        out: Array = _ERF(x).astype(x.dtype, copy=False)
        return out.reshape(x.shape)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g * (F.exp(-(x * x)) * TWO_OVER_SQRT_PI),)


class Erfc(Function):
    """Complementary error function 1 − erf(x), without the cancellation of 1 − erf for large
    x (Python's math.erfc per element, in float64).

    Forward:  z = erfc(x)
    Backward: ∇x = −g ⊙ 2/√π · exp(−x²)
    """

    latex = r"\nabla_x = -g \odot \tfrac{2}{\sqrt{\text{π}}} e^{-x^2}"

    def forward(self, x: Array) -> Array:
        x = as_float(x)
        out: Array = _ERFC(x).astype(x.dtype, copy=False)
        return out.reshape(x.shape)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g * (F.exp(-(x * x)) * -TWO_OVER_SQRT_PI),)
