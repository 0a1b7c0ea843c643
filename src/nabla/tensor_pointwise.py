"""``TensorPointwise``: the elementwise math methods of Tensor beyond tensor_math (PyTorch's sin,
cos, tan, their inverses and hyperbolic forms, atan2, log1p, expm1, log2, log10, exp2, rsqrt,
erf, erfc, floor, ceil, round, trunc, frac, fmod, remainder, fmax, fmin, hypot, logaddexp,
xlogy, lerp, deg2rad, rad2deg) (a mixin :class:`~nabla.tensor.Tensor` inherits).

Each is one ``Function`` of :mod:`nabla.ops.pointwise`, :mod:`nabla.ops.rounding` or
:mod:`nabla.ops.pointwise_binary`. Dtypes are PyTorch's: the float functions make float32 of
integer and bool tensors; the roundings keep an integer dtype; a binary op first casts both
operands to their promoted dtype (float32 with float64 gives float64 when both have dims; a
Python number takes the tensor's dtype), so the primitives see one dtype. Where PyTorch takes
only tensors (atan2, fmax, hypot, ...) a Python number is accepted too, as nabla's
``maximum`` accepts one.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.errors import DTypeError
from nabla.ops import pointwise as _pw
from nabla.ops import pointwise_binary as _pb
from nabla.ops import rounding as _rd
from nabla.ops.arithmetic import FLOAT, promote
from nabla.ops.shape import Cast
from nabla.tensor_base import TensorBase

if TYPE_CHECKING:
    from nabla.tensor import Tensor


def cast_to(x: TensorBase, dtype: np.dtype[Any]) -> Tensor:
    """x in ``dtype`` (x itself when it has it; a float-to-float cast carries the gradient)."""
    if x.data.dtype == dtype:
        return x  # type: ignore[return-value]
    return Cast.apply(x, dtype=dtype)


def promoted_dtype(x: TensorBase, y: TensorBase) -> np.dtype[Any]:
    """PyTorch's result dtype of a binary op on x and y (``nabla.ops.arithmetic.promote``),
    found on empty stand-ins of the operands, so nothing is copied."""
    a = np.empty(() if x.ndim == 0 else (0,), x.data.dtype)
    b = np.empty(() if y.ndim == 0 else (0,), y.data.dtype)
    a, b = promote(a, b)
    return np.result_type(a, b)


class TensorPointwise(TensorBase):
    """The pointwise methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    # ----- trigonometric and hyperbolic -------------------------------------------------------
    def sin(self) -> Tensor:
        """Sine, elementwise."""
        return _pw.Sin.apply(self)

    def cos(self) -> Tensor:
        """Cosine, elementwise."""
        return _pw.Cos.apply(self)

    def tan(self) -> Tensor:
        """Tangent, elementwise."""
        return _pw.Tan.apply(self)

    def asin(self) -> Tensor:
        """Inverse sine, elementwise (nan outside [−1, 1])."""
        return _pw.Asin.apply(self)

    def acos(self) -> Tensor:
        """Inverse cosine, elementwise (nan outside [−1, 1])."""
        return _pw.Acos.apply(self)

    def atan(self) -> Tensor:
        """Inverse tangent, elementwise."""
        return _pw.Atan.apply(self)

    def sinh(self) -> Tensor:
        """Hyperbolic sine, elementwise."""
        return _pw.Sinh.apply(self)

    def cosh(self) -> Tensor:
        """Hyperbolic cosine, elementwise."""
        return _pw.Cosh.apply(self)

    def asinh(self) -> Tensor:
        """Inverse hyperbolic sine, elementwise."""
        return _pw.Asinh.apply(self)

    def acosh(self) -> Tensor:
        """Inverse hyperbolic cosine, elementwise (nan below 1)."""
        return _pw.Acosh.apply(self)

    def atanh(self) -> Tensor:
        """Inverse hyperbolic tangent, elementwise (±inf at ±1, nan outside)."""
        return _pw.Atanh.apply(self)

    arcsin = asin
    arccos = acos
    arctan = atan
    arcsinh = asinh
    arccosh = acosh
    arctanh = atanh

    def atan2(self, other: Any) -> Tensor:
        """The angle of the point (other, self): atan(self / other) in the right quadrant
        (``torch.atan2``); integers promote to float32."""
        return _pb.Atan2.apply(*self._operands(other, "atan2", "float"))

    arctan2 = atan2

    def deg2rad(self) -> Tensor:
        """Degrees to radians, x · π / 180."""
        return self._as_float() * (math.pi / 180)

    def rad2deg(self) -> Tensor:
        """Radians to degrees, x · 180 / π."""
        return self._as_float() * (180 / math.pi)

    # ----- exponentials and logarithms --------------------------------------------------------
    def log1p(self) -> Tensor:
        """log(1 + x), exact for small x."""
        return _pw.Log1p.apply(self)

    def expm1(self) -> Tensor:
        """eˣ − 1, exact for small x."""
        return _pw.Expm1.apply(self)

    def log2(self) -> Tensor:
        """Base-2 logarithm, elementwise."""
        return _pw.Log2.apply(self)

    def log10(self) -> Tensor:
        """Base-10 logarithm, elementwise."""
        return _pw.Log10.apply(self)

    def exp2(self) -> Tensor:
        """2ˣ, elementwise."""
        return _pw.Exp2.apply(self)

    def rsqrt(self) -> Tensor:
        """1 / √x, elementwise (inf at 0)."""
        return _pw.Rsqrt.apply(self)

    def erf(self) -> Tensor:
        """The error function, elementwise."""
        return _pw.Erf.apply(self)

    def erfc(self) -> Tensor:
        """1 − erf(x), without cancellation for large x."""
        return _pw.Erfc.apply(self)

    def logaddexp(self, other: Any) -> Tensor:
        """log(eˣ + eʸ) without overflow (floating point only)."""
        return _pb.LogAddExp.apply(*self._operands(other, "logaddexp", "float only"))

    def logaddexp2(self, other: Any) -> Tensor:
        """log₂(2ˣ + 2ʸ) without overflow (floating point only)."""
        return _pb.LogAddExp2.apply(*self._operands(other, "logaddexp2", "float only"))

    def xlogy(self, other: Any) -> Tensor:
        """x · log(other), 0 where x = 0 (even where other = 0), nan where other is nan."""
        return _pb.XLogY.apply(*self._operands(other, "xlogy", "float"))

    def hypot(self, other: Any) -> Tensor:
        """√(x² + other²) without overflow (floating point only)."""
        return _pb.Hypot.apply(*self._operands(other, "hypot", "float only"))

    # ----- rounding and remainders ------------------------------------------------------------
    def floor(self) -> Tensor:
        """The largest integer ≤ x (integers as they are; gradient 0)."""
        return _rd.Floor.apply(self)

    def ceil(self) -> Tensor:
        """The smallest integer ≥ x (integers as they are; gradient 0)."""
        return _rd.Ceil.apply(self)

    def trunc(self) -> Tensor:
        """x rounded toward 0 (integers as they are; gradient 0)."""
        return _rd.Trunc.apply(self)

    fix = trunc

    def round(self, *, decimals: int = 0) -> Tensor:
        """x rounded to ``decimals`` places, halves to even (2.5 → 2, as PyTorch); gradient 0."""
        if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
            raise TypeError(
                f"round(): argument 'decimals' must be int, not {type(decimals).__name__}"
            )
        return _rd.Round.apply(self, decimals=int(decimals))

    def frac(self) -> Tensor:
        """x − trunc(x): the fractional part, with x's sign (floating point only)."""
        return _rd.Frac.apply(self)

    def fmod(self, other: Any) -> Tensor:
        """The remainder of x / other rounded toward 0: the sign of x (C's fmod)."""
        return _rd.FMod.apply(*self._operands(other, "fmod", "keep"))

    def remainder(self, other: Any) -> Tensor:
        """The remainder of x / other rounded down: the sign of other (Python's %)."""
        return _rd.Remainder.apply(*self._operands(other, "remainder", "keep"))

    __mod__ = remainder

    def __rmod__(self, other: Any) -> Tensor:
        return self._lift(other).remainder(self)

    def fmax(self, other: Any) -> Tensor:
        """The elementwise maximum, ignoring nan (nan only where both are)."""
        return _pb.FMax.apply(*self._operands(other, "fmax", "keep"))

    def fmin(self, other: Any) -> Tensor:
        """The elementwise minimum, ignoring nan (nan only where both are)."""
        return _pb.FMin.apply(*self._operands(other, "fmin", "keep"))

    def lerp(self, end: Any, weight: Any) -> Tensor:
        """x + weight · (end − x), broadcast; ``weight`` a number or a tensor. x, end and a
        tensor weight must share one floating dtype, as in PyTorch."""
        if self.data.dtype.kind != "f":
            raise DTypeError(f"lerp: not implemented for dtype {self.data.dtype}")
        e = self._lift(end)
        w = self._lift(weight)
        for name, t in (("end", e), ("weight", w)):
            if t.data.dtype != self.data.dtype:
                raise DTypeError(
                    f"lerp: expected dtype {self.data.dtype} for `{name}` but got dtype "
                    f"{t.data.dtype}"
                )
        return _pb.Lerp.apply(self, e, w)

    # ----- helpers ----------------------------------------------------------------------------
    def _as_float(self) -> Tensor:
        return cast_to(self, self.data.dtype if self.data.dtype.kind in "fc" else FLOAT)

    def _operands(self, other: Any, op: str, result: str) -> tuple[Tensor, Tensor]:
        """self and other cast to their promoted dtype. ``result``: "keep" (that dtype),
        "float" (integers and bools as float32), "float only" (integers refused)."""
        y = self._lift(other)
        dtype = promoted_dtype(self, y)
        if dtype.kind not in "fc":
            if result == "float only":
                raise DTypeError(f"{op}: not implemented for dtype {dtype}")
            if result == "float":
                dtype = FLOAT
        return cast_to(self, dtype), cast_to(y, dtype)
