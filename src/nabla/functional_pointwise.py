"""The functions of PyTorch's namespace that are the methods of
:mod:`nabla.tensor_pointwise`, with PyTorch's argument order: ``nb.sin(x)``,
``nb.atan2(x, other)``, ``nb.lerp(start, end, weight)``, ``nb.round(x, decimals=1)``...

A Python number or an array where a tensor is expected becomes a tensor first (``nb.tensor``'s
rules); ``remainder`` and ``xlogy`` also take a number as their first argument, as PyTorch's do.
"""

from __future__ import annotations

from typing import Any

from nabla.creation import as_tensor as _t
from nabla.tensor import Tensor


def _pair(x: Any, other: Any) -> tuple[Tensor, Any]:
    """x as a tensor; a number x beside a tensor takes that tensor's dtype (a weak scalar)."""
    if not isinstance(x, Tensor) and isinstance(other, Tensor):
        return other._lift(x), other
    return _t(x), other


def sin(input: Any) -> Tensor:
    """Sine (``torch.sin``)."""
    return _t(input).sin()


def cos(input: Any) -> Tensor:
    """Cosine (``torch.cos``)."""
    return _t(input).cos()


def tan(input: Any) -> Tensor:
    """Tangent (``torch.tan``)."""
    return _t(input).tan()


def asin(input: Any) -> Tensor:
    """Inverse sine (nan outside [−1, 1]) (``torch.asin``)."""
    return _t(input).asin()


def acos(input: Any) -> Tensor:
    """Inverse cosine (nan outside [−1, 1]) (``torch.acos``)."""
    return _t(input).acos()


def atan(input: Any) -> Tensor:
    """Inverse tangent (``torch.atan``)."""
    return _t(input).atan()


def sinh(input: Any) -> Tensor:
    """Hyperbolic sine (``torch.sinh``)."""
    return _t(input).sinh()


def cosh(input: Any) -> Tensor:
    """Hyperbolic cosine (``torch.cosh``)."""
    return _t(input).cosh()


def asinh(input: Any) -> Tensor:
    """Inverse hyperbolic sine (``torch.asinh``)."""
    return _t(input).asinh()


def acosh(input: Any) -> Tensor:
    """Inverse hyperbolic cosine (nan below 1) (``torch.acosh``)."""
    return _t(input).acosh()


def atanh(input: Any) -> Tensor:
    """Inverse hyperbolic tangent (``torch.atanh``)."""
    return _t(input).atanh()


def deg2rad(input: Any) -> Tensor:
    """Degrees to radians (``torch.deg2rad``)."""
    return _t(input).deg2rad()


def rad2deg(input: Any) -> Tensor:
    """Radians to degrees (``torch.rad2deg``)."""
    return _t(input).rad2deg()


def log1p(input: Any) -> Tensor:
    """log(1 + x), exact for small x (``torch.log1p``)."""
    return _t(input).log1p()


def expm1(input: Any) -> Tensor:
    """eˣ − 1, exact for small x (``torch.expm1``)."""
    return _t(input).expm1()


def log2(input: Any) -> Tensor:
    """Base-2 logarithm (``torch.log2``)."""
    return _t(input).log2()


def log10(input: Any) -> Tensor:
    """Base-10 logarithm (``torch.log10``)."""
    return _t(input).log10()


def exp2(input: Any) -> Tensor:
    """2ˣ (``torch.exp2``)."""
    return _t(input).exp2()


def rsqrt(input: Any) -> Tensor:
    """1 / √x (``torch.rsqrt``)."""
    return _t(input).rsqrt()


def erf(input: Any) -> Tensor:
    """The error function (``torch.erf``)."""
    return _t(input).erf()


def erfc(input: Any) -> Tensor:
    """1 − erf(x), without cancellation (``torch.erfc``)."""
    return _t(input).erfc()


def floor(input: Any) -> Tensor:
    """The largest integer ≤ x (``torch.floor``)."""
    return _t(input).floor()


def ceil(input: Any) -> Tensor:
    """The smallest integer ≥ x (``torch.ceil``)."""
    return _t(input).ceil()


def trunc(input: Any) -> Tensor:
    """x rounded toward 0 (``torch.trunc``)."""
    return _t(input).trunc()


def frac(input: Any) -> Tensor:
    """x − trunc(x) (``torch.frac``)."""
    return _t(input).frac()


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of the point (other, input) (``torch.atan2``)."""
    return _t(input).atan2(other)


def logaddexp(input: Any, other: Any) -> Tensor:
    """log(eˣ + eʸ) without overflow (``torch.logaddexp``)."""
    return _t(input).logaddexp(other)


def logaddexp2(input: Any, other: Any) -> Tensor:
    """log₂(2ˣ + 2ʸ) without overflow (``torch.logaddexp2``)."""
    return _t(input).logaddexp2(other)


def hypot(input: Any, other: Any) -> Tensor:
    """√(x² + y²) without overflow (``torch.hypot``)."""
    return _t(input).hypot(other)


def fmod(input: Any, other: Any) -> Tensor:
    """The remainder with the sign of input (C's fmod) (``torch.fmod``)."""
    return _t(input).fmod(other)


def fmax(input: Any, other: Any) -> Tensor:
    """The elementwise maximum, ignoring nan (``torch.fmax``)."""
    return _t(input).fmax(other)


def fmin(input: Any, other: Any) -> Tensor:
    """The elementwise minimum, ignoring nan (``torch.fmin``)."""
    return _t(input).fmin(other)


def remainder(input: Any, other: Any) -> Tensor:
    """The remainder with the sign of other (Python's %; ``torch.remainder``)."""
    x, y = _pair(input, other)
    return x.remainder(y)


def xlogy(input: Any, other: Any) -> Tensor:
    """input · log(other), 0 where input = 0 (``torch.xlogy``)."""
    x, y = _pair(input, other)
    return x.xlogy(y)


def round(input: Any, *, decimals: int = 0) -> Tensor:
    """input rounded to ``decimals`` places, halves to even (``torch.round``)."""
    return _t(input).round(decimals=decimals)


def lerp(input: Any, end: Any, weight: Any) -> Tensor:
    """input + weight · (end − input) (``torch.lerp``)."""
    return _t(input).lerp(end, weight)


arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh, fix = asinh, acosh, atanh, trunc

__all__ = [
    "acos",
    "acosh",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "ceil",
    "cos",
    "cosh",
    "deg2rad",
    "erf",
    "erfc",
    "exp2",
    "expm1",
    "fix",
    "floor",
    "fmax",
    "fmin",
    "fmod",
    "frac",
    "hypot",
    "lerp",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "logaddexp2",
    "rad2deg",
    "remainder",
    "round",
    "rsqrt",
    "sin",
    "sinh",
    "tan",
    "trunc",
    "xlogy",
]
