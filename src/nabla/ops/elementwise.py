"""Elementwise primitives: exp, log, sqrt, abs, tanh, sigmoid, relu, leaky_relu, max/min, clip, where.

Masks (which branch of a piecewise function an element took) are plain boolean arrays read from
the data (``F.data``): they carry no gradient, so the same rule serves both backward paths. A
mask selects (``F.where``, ``F.mask``), never multiplies: where g is inf or nan on a masked-out
element (``sqrt(relu(x))`` at x < 0), the gradient there is 0, as in PyTorch, not inf · 0 = nan.

The float functions (exp, log, sqrt, tanh, sigmoid, leaky_relu) make float32 of integer and
bool inputs, as PyTorch does (its default dtype), where NumPy would make float64.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function
from nabla.ops.arithmetic import as_float, promote
from nabla.ops.constants import max_operand, relu_array

#: a signed integer type of each float size: a select is a bitwise and (see ``select_bits``)
BITS = {2: np.int16, 4: np.int32, 8: np.int64}
#: below this many elements ``np.where`` costs less than the bitwise and; above it, its
#: branch per element loses to the and (on random signs, ~10x slower at 1024 × 256)
SELECT_BITS_FROM = 1024


def stable_sigmoid(x: Array) -> Array:
    """σ(x) = e^min(x, 0) / (1 + e^(−|x|)), branch-free and without overflow.

    For x ≥ 0 it is 1 / (1 + e^(−x)); for x < 0, e^x / (1 + e^x). Only exponents ≤ 0 are ever
    computed, so nothing overflows and the tails keep their relative precision.
    """
    if x.ndim == 0:  # a ufunc returns a NumPy scalar for a 0-d array, and out= refuses those
        return stable_sigmoid(x.reshape(1)).reshape(())
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)  # e^(−|x|)
    denominator = e + 1
    if e.size >= 1024:
        # e^min(x, 0) from the same exponential: e^x where x < 0 (there −|x| = x), 1 elsewhere;
        # the same values as a second exp, a third faster on arrays of 32k elements
        np.fmax(e, x >= 0, out=e)
    else:  # on small arrays the mixed-type fmax costs more than it saves
        e = np.minimum(x, max_operand(x.shape, x.dtype))
        np.exp(e, out=e)
    e /= denominator
    return e


def select_bits(g: Array, bits: Array, into_g: bool) -> Array:
    """g where the int8 ``bits`` are −1, +0 where they are 0: a bitwise and with the mask
    sign-extended to g's item size. It selects (inf or nan masked out gives 0, not the nan of
    a multiply by the mask) without np.where's branch per element. ``into_g``: the result
    overwrites g."""
    ints = BITS[g.dtype.itemsize]
    out = g if into_g else np.empty_like(g)
    np.bitwise_and(g.view(ints), bits, out=out.view(ints))
    return out


def select_where(g: Array, drop: Array, into_g: bool) -> Array:
    """0 where ``drop``, else g, with NumPy's select (an array also for 0-d g)."""
    if into_g and type(g) is np.ndarray:  # (a 0-d sum of gradients may be a NumPy scalar)
        np.copyto(g, 0, where=drop)
        return g
    return np.where(drop, 0, g)


def mask_array(g: Array, keep: Array, into_g: bool = False) -> Array:
    """where(keep, g, 0) for a boolean ``keep`` of g's shape: a select, so a masked-out inf or
    nan gives 0 (PyTorch's masks select; a multiply would give inf · 0 = nan)."""
    if g.size < SELECT_BITS_FROM or g.dtype.itemsize not in BITS:
        return select_where(g, ~keep, into_g)
    bits = np.negative(keep.view(np.int8))  # True (1) → −1: every bit set
    return select_bits(g, bits, into_g)


class Exp(Function):
    """Exponential.

    Forward:  z = exp(x)
    Backward: ∇x = g ⊙ z
    """

    needs_output = True
    latex = r"\nabla_x = g \odot e^{x}"

    def forward(self, x: Array) -> Array:
        return np.exp(as_float(x))

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (g * z,)


class Log(Function):
    """Natural logarithm.

    Forward:  z = log(x)
    Backward: ∇x = g / x
    """

    latex = r"\nabla_x = g / x"

    def forward(self, x: Array) -> Array:
        return np.log(as_float(x))

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        with np.errstate(divide="ignore"):  # at x = 0 the derivative is inf, as in PyTorch
            return (g / x,)


class Sqrt(Function):
    """Square root.

    Forward:  z = √x
    Backward: ∇x = g / (2 z)
    """

    needs_output = True
    latex = r"\nabla_x = g / (2\sqrt{x})"

    def forward(self, x: Array) -> Array:
        return np.sqrt(as_float(x))

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        with np.errstate(divide="ignore"):  # at x = 0 the derivative is inf, as in PyTorch
            return (g / (2 * z),)


class Abs(Function):
    """Absolute value (subgradient 0 at 0, as PyTorch).

    Forward:  z = |x|
    Backward: ∇x = g ⊙ sign(x)
    """

    latex = r"\nabla_x = g \odot \operatorname{sign}(x)"

    def forward(self, x: Array) -> Array:
        return np.abs(x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g * F.sign(x),)


class Tanh(Function):
    """Hyperbolic tangent, the notes' hidden activation.

    Forward:  h = tanh(x)
    Backward: ∇x = g ⊙ (1 − h²)
    """

    needs_output = True
    latex = r"\nabla_x = g \odot (1 - h^2)"

    def forward(self, x: Array) -> Array:
        return np.tanh(as_float(x))

    def backward(self, g: Any, F: Any, x: Any, h: Any) -> tuple[Any]:
        return (g * (1 - h * h),)


class Sigmoid(Function):
    """Logistic sigmoid, computed without overflow.

    Forward:  z = 1 / (1 + exp(−x))
    Backward: ∇x = g ⊙ z(1 − z)
    """

    needs_output = True
    latex = r"\nabla_x = g \odot z (1 - z)"

    def forward(self, x: Array) -> Array:
        return stable_sigmoid(as_float(x))

    def backward(self, g: Any, F: Any, x: Any, z: Any) -> tuple[Any]:
        return (g * (z * (1 - z)),)


class Relu(Function):
    """Rectified linear unit (gradient 0 at 0, as PyTorch; a nan input passes g, as there).
    The bracket selects: an inf g where x ≤ 0 gives 0.

    Forward:  z = max(x, 0)
    Backward: ∇x = g ⊙ [x > 0]
    """

    latex = r"\nabla_x = g \odot [x > 0]"

    def forward(self, x: Array) -> Array:
        return relu_array(x)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (F.where(F.data(x) <= 0, 0, g),)  # ≤ 0 drops: a nan input passes g


class LeakyRelu(Function):
    """Leaky ReLU with negative slope a.

    Forward:  z = x if x > 0 else a x
    Backward: ∇x = g if x > 0 else a g
    """

    latex = r"\nabla_x = g \odot ([x > 0] + a [x \le 0])"

    def forward(self, x: Array, negative_slope: float = 0.01) -> Array:
        self.slope = negative_slope
        x = as_float(x)
        return np.where(x > 0, x, x * negative_slope)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (F.where(F.data(x) > 0, g, g * self.slope),)


class Maximum(Function):
    """Elementwise maximum; on ties each input gets g/2 (as PyTorch, whose selects also pass
    g to both inputs where one is nan). The brackets select: an inf g gives a loser 0.

    Forward:  z = max(x, y)
    Backward: ∇x = g ⊙ [x > y] + ½ g ⊙ [x = y],  ∇y = g ⊙ [y > x] + ½ g ⊙ [x = y]
    """

    latex = (
        r"\nabla_x = g \odot [x > y] + \tfrac{g}{2} [x = y],\;"
        r" \nabla_y = g \odot [y > x] + \tfrac{g}{2} [x = y]"
    )
    #: where an input loses: x < y for the maximum (x > y for the minimum)
    loses: ClassVar[Any] = np.less

    def forward(self, x: Array, y: Array) -> Array:
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        return np.maximum(x, y) if type(self) is Maximum else np.minimum(x, y)

    def backward(self, g: Any, F: Any, x: Any, y: Any) -> tuple[Any, Any]:
        # selects, not multiplies by a 0/½/1 share: an inf g on a loser gives 0, not nan
        xd, yd = F.data(x), F.data(y)
        split = F.where(xd == yd, g / 2, g)
        loses = type(self).loses
        grad_x = F.where(loses(xd, yd), 0, split) if self.needs_grad[0] else None
        grad_y = F.where(loses(yd, xd), 0, split) if self.needs_grad[1] else None
        return grad_x, grad_y


class Minimum(Maximum):
    """Elementwise minimum; on ties the gradient is split evenly (as PyTorch).

    Forward:  z = min(x, y)
    Backward: ∇x = g ⊙ [x < y] + ½ g ⊙ [x = y],  ∇y = g ⊙ [y < x] + ½ g ⊙ [x = y]
    """

    latex = (
        r"\nabla_x = g \odot [x < y] + \tfrac{g}{2} [x = y],\;"
        r" \nabla_y = g \odot [y < x] + \tfrac{g}{2} [x = y]"
    )
    loses = np.greater


class Clip(Function):
    """Clamp into [lo, hi] (either bound may be None); gradient passes where lo ≤ x ≤ hi.

    Forward:  z = min(max(x, lo), hi)
    Backward: ∇x = g where lo ≤ x ≤ hi, else 0
    """

    latex = r"\nabla_x = g \odot [lo \le x \le hi]"

    def forward(self, x: Array, lo: float | None = None, hi: float | None = None) -> Array:
        self.lo, self.hi = lo, hi
        if x.dtype.kind in "biu" and (_is_float(lo) or _is_float(hi)):
            x = as_float(x)  # an integer tensor clamped to a float bound: float32 (PyTorch)
        return np.clip(x, lo, hi)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        xd = F.data(x)
        inside = np.ones(xd.shape, dtype=bool)
        if self.lo is not None:
            inside &= xd >= self.lo
        if self.hi is not None:
            inside &= xd <= self.hi
        return (F.mask(g, inside),)


class Where(Function):
    """Select from x where the boolean condition holds, else from y (the condition is an input
    that carries no gradient).

    Forward:  z = cond ? x : y
    Backward: ∇x = g ⊙ cond,  ∇y = g ⊙ ¬cond
    """

    latex = r"\nabla_x = g \odot c,\; \nabla_y = g \odot (1 - c)"

    def forward(self, condition: Array, x: Array, y: Array) -> Array:
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        return np.where(condition, x, y)

    def backward(self, g: Any, F: Any, condition: Any, x: Any, y: Any) -> tuple[None, Any, Any]:
        c = F.data(condition)
        grad_x = F.where(c, g, 0) if self.needs_grad[1] else None
        grad_y = F.where(c, 0, g) if self.needs_grad[2] else None
        return None, grad_x, grad_y


def _is_float(bound: Any) -> bool:
    return isinstance(bound, (float, np.floating)) or (
        isinstance(bound, np.ndarray) and bound.dtype.kind in "fc"
    )
