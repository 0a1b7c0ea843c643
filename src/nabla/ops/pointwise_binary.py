"""Binary (and ternary) pointwise primitives: atan2, fmax, fmin, hypot, logaddexp, logaddexp2,
xlogy and lerp.

The operands arrive with one dtype (``nabla.tensor_pointwise`` casts them first, with PyTorch's
promotion), so a rule never mixes float32 with an integer array. Rules ignore broadcasting: the
engine sums each gradient back to its input's shape. Where a derivative is singular (atan2 and
hypot at the origin, xlogy at y = 0) the values are PyTorch's, and NumPy's warnings are silenced
(PyTorch gives the same IEEE values without warning).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function

LN2 = math.log(2.0)


class Atan2(Function):
    """The angle of the point (y, x) as atan(x / y) in the right quadrant (``torch.atan2``,
    x the numerator). At the origin, where x² + y² = 0, the gradient is 0 (PyTorch's choice).

    Forward:  z = atan2(x, y)
    Backward: ∇x = g ⊙ y / (x² + y²),  ∇y = −g ⊙ x / (x² + y²)
    """

    latex = r"\nabla_x = g \odot y / (x^2 + y^2),\; \nabla_y = -g \odot x / (x^2 + y^2)"

    def forward(self, x: Array, y: Array) -> Array:
        return np.arctan2(x, y)

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        with np.errstate(all="ignore"):  # 1/0 is masked next; inf · 0 = nan as in PyTorch
            r2 = x * x + y * y
            # PyTorch zeroes 1/r² where r² = 0 (a select: the inf never reaches the product)
            reciprocal = F.where(F.data(r2) == 0, 0, 1 / r2)
            grad_x = g * y * reciprocal if self.needs_grad[0] else None
            grad_y = g * -x * reciprocal if self.needs_grad[1] else None
        return grad_x, grad_y


class FMax(Function):
    """Elementwise maximum that ignores nan: the other operand where one is nan, nan where both
    are (``torch.fmax``). g goes to x where x ≥ y or y is nan (ties: all to x), else to y.

    Forward:  z = fmax(x, y)
    Backward: ∇x = g ⊙ [x ≥ y or y = nan],  ∇y = g ⊙ [x < y or x = nan ≠ y]
    """

    latex = (
        r"\nabla_x = g \odot [y \le x \text{ or } y = \text{nan}],\;"
        r" \nabla_y = g \odot [\text{otherwise}]"
    )
    #: where x wins: x ≥ y for the maximum (x ≤ y for the minimum)
    wins: ClassVar[Any] = np.greater_equal

    def forward(self, x: Array, y: Array) -> Array:
        out: Array = np.fmax(x, y) if type(self) is FMax else np.fmin(x, y)
        return out

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        xd, yd = F.data(x), F.data(y)
        to_x = type(self).wins(xd, yd) | np.isnan(yd)  # PyTorch's masks (derivatives.yaml)
        grad_x = F.where(to_x, g, 0) if self.needs_grad[0] else None
        grad_y = F.where(to_x, 0, g) if self.needs_grad[1] else None
        return grad_x, grad_y


class FMin(FMax):
    """Elementwise minimum that ignores nan (``torch.fmin``); ties send g to x.

    Forward:  z = fmin(x, y)
    Backward: ∇x = g ⊙ [x ≤ y or y = nan],  ∇y = g ⊙ [x > y or x = nan ≠ y]
    """

    latex = (
        r"\nabla_x = g \odot [x \le y \text{ or } y = \text{nan}],\;"
        r" \nabla_y = g \odot [\text{otherwise}]"
    )
    wins = np.less_equal


class Hypot(Function):
    """√(x² + y²) without overflow or underflow of the squares (NumPy's hypot); the gradient
    reads the output (nan at the origin, as PyTorch's).

    Forward:  z = √(x² + y²)
    Backward: ∇x = g ⊙ x / z,  ∇y = g ⊙ y / z
    """

    needs_output = True
    latex = r"\nabla_x = g \odot x / z,\; \nabla_y = g \odot y / z"

    def forward(self, x: Array, y: Array) -> Array:
        return np.hypot(x, y)

    def backward(self, g: Any, F: Any, x: Any, y: Any, z: Any) -> tuple[Any, Any]:
        with np.errstate(all="ignore"):  # 0/0 at the origin, as PyTorch
            grad_x = g * x / z if self.needs_grad[0] else None
            grad_y = g * y / z if self.needs_grad[1] else None
        return grad_x, grad_y


class LogAddExp(Function):
    """log(eˣ + eʸ), computed as max + log1p(e^(−|x − y|)) (NumPy's logaddexp): no overflow;
    equal infinities give themselves. Each gradient is a sigmoid of the difference.

    Forward:  z = log(exp(x) + exp(y))
    Backward: ∇x = g ⊙ σ(x − y),  ∇y = g ⊙ σ(y − x)
    """

    latex = r"\nabla_x = g \odot \sigma(x - y),\; \nabla_y = g \odot \sigma(y - x)"
    #: the log's base, as a factor of the difference (e: 1; 2: ln 2)
    scale: ClassVar[float] = 1.0

    def forward(self, x: Array, y: Array) -> Array:
        with np.errstate(invalid="ignore"):  # nan in, nan out
            out: Array = np.logaddexp(x, y) if self.scale == 1.0 else np.logaddexp2(x, y)
        return out

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        with np.errstate(invalid="ignore"):  # inf − inf = nan, as PyTorch's
            d = x - y if self.scale == 1.0 else (x - y) * self.scale
            grad_x = g * F.sigmoid(d) if self.needs_grad[0] else None
            grad_y = g * F.sigmoid(-d) if self.needs_grad[1] else None
        return grad_x, grad_y


class LogAddExp2(LogAddExp):
    """log₂(2ˣ + 2ʸ), without overflow (NumPy's logaddexp2).

    Forward:  z = log2(exp2(x) + exp2(y))
    Backward: ∇x = g ⊙ σ((x − y) ln 2),  ∇y = g ⊙ σ((y − x) ln 2)
    """

    latex = (
        r"\nabla_x = g \odot \sigma((x - y) \log 2),\; \nabla_y = g \odot \sigma((y - x) \log 2)"
    )
    scale = LN2


class XLogY(Function):
    """x log y, 0 where x = 0 (even at y = 0), nan where y is nan (``torch.xlogy``).

    Forward:  z = x log(y)  (0 where x = 0, nan where y = nan)
    Backward: ∇x = g ⊙ log(y)  (0 where x = 0 and y ≤ 0),  ∇y = g ⊙ x / y
    """

    latex = r"\nabla_x = g \odot \log(y),\; \nabla_y = g \odot x / y"

    def forward(self, x: Array, y: Array) -> Array:
        with np.errstate(all="ignore"):  # log of 0 or of a negative: selected away or kept
            z = np.where(x == 0, 0, x * np.log(y))
            out: Array = np.where(np.isnan(y), y, z).astype(x.dtype, copy=False)
        return out

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        grad_x = grad_y = None
        with np.errstate(all="ignore"):  # log and 1/y at 0, as PyTorch
            if self.needs_grad[0]:
                # PyTorch's xlogy(g, y), masked to 0 where x = 0 and y ≤ 0; xlogy(g, y) is
                # g log y with 0 where g = 0 (even at y = 0 or inf), nan where y is nan
                xd, yd = F.data(x), F.data(y)
                g_log_y = F.where((F.data(g) == 0) & ~np.isnan(yd), 0, g * F.log(y))
                grad_x = F.where((xd == 0) & (yd <= 0), 0, g_log_y)
            if self.needs_grad[1]:
                grad_y = g * x / y
        return grad_x, grad_y


class Lerp(Function):
    """Linear interpolation from ``start`` to ``end`` by ``weight`` (broadcast together;
    ``torch.lerp``), with PyTorch's two formulas: from start where |w| < 0.5, from end
    otherwise, so w = 1 gives end exactly.

    Forward:  z = s + w ⊙ (e − s)
    Backward: ∇s = g ⊙ (1 − w),  ∇e = g ⊙ w,  ∇w = g ⊙ (e − s)
    """

    latex = r"\nabla_s = g \odot (1 - w),\; \nabla_e = g \odot w,\; \nabla_w = g \odot (e - s)"

    def forward(self, s: Array, e: Array, w: Array) -> Array:
        with np.errstate(all="ignore"):  # inf − inf = nan, as PyTorch
            diff = e - s
            out: Array = np.where(np.abs(w) < 0.5, s + w * diff, e - diff * (1 - w))
        return out

    def backward(self, g: Any, F: Any, s: Any, e: Any, w: Any) -> tuple[Any, Any, Any]:
        with np.errstate(all="ignore"):  # as forward
            grad_s = g * (1 - w) if self.needs_grad[0] else None
            grad_e = g * w if self.needs_grad[1] else None
            grad_w = g * (e - s) if self.needs_grad[2] else None
        return grad_s, grad_e, grad_w
