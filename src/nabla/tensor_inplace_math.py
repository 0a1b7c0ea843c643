"""``TensorInPlaceMath``: the in-place elementwise methods of Tensor (PyTorch's exp_, log_, sqrt_,
pow_, abs_, neg_, sigmoid_, tanh_, relu_, floor_, round_, sin_, lerp_, addcmul_, fmod_,
nan_to_num_, fill_diagonal_, ...) (a mixin :class:`~nabla.tensor.Tensor` inherits).

Each ``f_`` computes the out-of-place method ``f`` (so the values are the same, bit for bit) and
writes the result into the same array, as ``add_`` does (:mod:`nabla.tensor_inplace`): views and
holders of ``.data`` see the change and the version counter moves, so a backward through an op
that saved the old values raises. While recording, the old values (a copy) take this tensor's
place in the graph and ``f`` applied to them becomes this tensor's op: the gradient is that of
the out-of-place chain. A leaf that requires grad is refused, and so is a result whose dtype
cannot be cast into this tensor's (``int64.sqrt_()``), as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.autograd.mode import MODE, no_grad
from nabla.errors import DTypeError, ShapeError
from nabla.ops import elementwise as _el
from nabla.tensor_base import TensorBase

if TYPE_CHECKING:
    from typing_extensions import Self

    from nabla.tensor import Tensor


class TensorInPlaceMath(TensorBase):
    """The inplace math methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    def _update(self, op: str, compute: Callable[[Any], Any], *operands: Any) -> Self:
        """Write ``compute(self)`` (an out-of-place method applied to this tensor) into this
        tensor's array. ``operands``: the other tensors ``compute`` uses; while recording, when
        this tensor or one of them requires grad, the update is an op of the graph."""
        self._check_in_place(op)  # type: ignore[attr-defined]
        if not self.data.flags.writeable:
            raise ValueError(
                f"{op}: the tensor's values are a read-only array and cannot change in place; "
                "clone() it first"
            )
        record = MODE.state.grad_enabled and (
            self.requires_grad
            or any(isinstance(t, TensorBase) and t.requires_grad for t in operands)
        )
        if not record:
            with no_grad():
                result = compute(self).data
        else:
            self._check_view_write(op)  # type: ignore[attr-defined]
            # the change is stamped before the op is recorded: ops that saved these values
            # refuse to backward, the new op (which may save its output, this tensor) does not
            self._bump_version()  # type: ignore[attr-defined]
            before = self._wrap(self.data.copy())
            before._fn, before.requires_grad = self._fn, self.requires_grad
            out = compute(before)
            result = out.data
        if result.shape != self.shape:
            raise ShapeError(
                f"{op}: the result of shape {result.shape} does not fit in place in a tensor "
                f"of shape {self.shape}"
            )
        if not np.can_cast(result.dtype, self.dtype, casting="same_kind"):
            raise DTypeError(
                f"{op}: result type {result.dtype} can't be cast to the tensor's dtype "
                f"{self.dtype} in place"
            )
        self.data[...] = result
        if record:
            self._fn, self.requires_grad = out._fn, out.requires_grad
        else:
            self._bump_version()  # type: ignore[attr-defined]
        return self

    # ----- exponentials, logarithms, powers ---------------------------------------------------
    def exp_(self) -> Self:
        """:meth:`exp` in place."""
        return self._update("exp_", lambda x: x.exp())

    def log_(self) -> Self:
        """:meth:`log` in place."""
        return self._update("log_", lambda x: x.log())

    def log1p_(self) -> Self:
        """:meth:`log1p` in place."""
        return self._update("log1p_", lambda x: x.log1p())

    def expm1_(self) -> Self:
        """:meth:`expm1` in place."""
        return self._update("expm1_", lambda x: x.expm1())

    def log2_(self) -> Self:
        """:meth:`log2` in place."""
        return self._update("log2_", lambda x: x.log2())

    def log10_(self) -> Self:
        """:meth:`log10` in place."""
        return self._update("log10_", lambda x: x.log10())

    def sqrt_(self) -> Self:
        """:meth:`sqrt` in place."""
        return self._update("sqrt_", lambda x: x.sqrt())

    def rsqrt_(self) -> Self:
        """:meth:`rsqrt` in place."""
        return self._update("rsqrt_", lambda x: x.rsqrt())

    def pow_(self, exponent: Any) -> Self:
        """:meth:`pow` in place (``exponent`` a number or a broadcast tensor)."""
        return self._update("pow_", lambda x: x.pow(exponent), exponent)

    def square_(self) -> Self:
        """:meth:`square` in place."""
        return self._update("square_", lambda x: x.square())

    def reciprocal_(self) -> Self:
        """:meth:`reciprocal` in place."""
        return self._update("reciprocal_", lambda x: x.reciprocal())

    # ----- signs and activations --------------------------------------------------------------
    def abs_(self) -> Self:
        """:meth:`abs` in place."""
        return self._update("abs_", lambda x: x.abs())

    absolute_ = abs_

    def neg_(self) -> Self:
        """:meth:`neg` in place."""
        return self._update("neg_", lambda x: x.neg())

    negative_ = neg_

    def sign_(self) -> Self:
        """:meth:`sign` in place; while recording, the result passes gradient 0 back (as
        PyTorch's ``sign_``: a selection of the constant signs, never a product with 0)."""
        return self._update("sign_", _sign_with_zero_gradient)

    def sigmoid_(self) -> Self:
        """:meth:`sigmoid` in place."""
        return self._update("sigmoid_", lambda x: x.sigmoid())

    def tanh_(self) -> Self:
        """:meth:`tanh` in place."""
        return self._update("tanh_", lambda x: x.tanh())

    def relu_(self) -> Self:
        """:meth:`relu` in place."""
        return self._update("relu_", lambda x: x.relu())

    # ----- rounding and remainders ------------------------------------------------------------
    def floor_(self) -> Self:
        """:meth:`floor` in place."""
        return self._update("floor_", lambda x: x.floor())

    def ceil_(self) -> Self:
        """:meth:`ceil` in place."""
        return self._update("ceil_", lambda x: x.ceil())

    def round_(self, *, decimals: int = 0) -> Self:
        """:meth:`round` in place (halves to even)."""
        return self._update("round_", lambda x: x.round(decimals=decimals))

    def trunc_(self) -> Self:
        """:meth:`trunc` in place."""
        return self._update("trunc_", lambda x: x.trunc())

    fix_ = trunc_

    def frac_(self) -> Self:
        """:meth:`frac` in place."""
        return self._update("frac_", lambda x: x.frac())

    def fmod_(self, other: Any) -> Self:
        """:meth:`fmod` in place (the remainder with x's sign)."""
        return self._update("fmod_", lambda x: x.fmod(other), other)

    def remainder_(self, other: Any) -> Self:
        """:meth:`remainder` in place (the remainder with other's sign)."""
        return self._update("remainder_", lambda x: x.remainder(other), other)

    # ----- trigonometric and hyperbolic -------------------------------------------------------
    def sin_(self) -> Self:
        """:meth:`sin` in place."""
        return self._update("sin_", lambda x: x.sin())

    def cos_(self) -> Self:
        """:meth:`cos` in place."""
        return self._update("cos_", lambda x: x.cos())

    def tan_(self) -> Self:
        """:meth:`tan` in place."""
        return self._update("tan_", lambda x: x.tan())

    def asin_(self) -> Self:
        """:meth:`asin` in place."""
        return self._update("asin_", lambda x: x.asin())

    def acos_(self) -> Self:
        """:meth:`acos` in place."""
        return self._update("acos_", lambda x: x.acos())

    def atan_(self) -> Self:
        """:meth:`atan` in place."""
        return self._update("atan_", lambda x: x.atan())

    def sinh_(self) -> Self:
        """:meth:`sinh` in place."""
        return self._update("sinh_", lambda x: x.sinh())

    def cosh_(self) -> Self:
        """:meth:`cosh` in place."""
        return self._update("cosh_", lambda x: x.cosh())

    arcsin_ = asin_
    arccos_ = acos_
    arctan_ = atan_

    # ----- several operands -------------------------------------------------------------------
    def lerp_(self, end: Any, weight: Any) -> Self:
        """:meth:`lerp` in place: x + weight · (end − x)."""
        return self._update("lerp_", lambda x: x.lerp(end, weight), end, weight)

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Self:
        """``self += value · tensor1 · tensor2`` in place (PyTorch's ``addcmul_``)."""
        product = self._lift(tensor1) * tensor2
        return self.add_(product, alpha=value)  # type: ignore[attr-defined, no-any-return]

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Self:
        """``self += value · tensor1 / tensor2`` in place (PyTorch's ``addcdiv_``; integer
        tensor1 and tensor2 are refused, as in PyTorch)."""
        numerator, denominator = self._lift(tensor1), self._lift(tensor2)
        if numerator.dtype.kind in "biu" and denominator.dtype.kind in "biu":
            raise DTypeError(
                f"addcdiv_: integer division of {numerator.dtype} by {denominator.dtype} is not "
                "supported; use (input + value * tensor1 / tensor2) with a float tensor"
            )
        return self.add_(numerator / denominator, alpha=value)  # type: ignore[attr-defined, no-any-return]

    def nan_to_num_(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Self:
        """:meth:`nan_to_num` in place."""
        return self._update(
            "nan_to_num_", lambda x: x.nan_to_num(nan=nan, posinf=posinf, neginf=neginf)
        )

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Self:
        """Write ``fill_value`` on the main diagonal in place (all indices equal); a 2-D
        tensor taller than wide restarts the diagonal every ``cols + 1`` rows when ``wrap``
        (PyTorch's and NumPy's ``fill_diagonal``). While recording, it is ``x[idx] = v``."""
        shape = self.shape
        if self.ndim < 2:
            raise ValueError(f"fill_diagonal_: dimensions must larger than 1, got shape {shape}")
        if self.ndim > 2 and any(n != shape[0] for n in shape):
            raise ValueError(
                f"fill_diagonal_: all dimensions of input must be of equal length, got {shape}"
            )
        if self.ndim == 2:
            rows, cols = shape
            step = cols + 1
            end = rows * cols if wrap else min(rows, cols) * cols
        else:
            step = 1 + int(np.cumprod(shape[:-1]).sum())
            end = int(np.prod(shape))
        flat = np.arange(0, end, step) if step > 0 and end > 0 else np.arange(0)
        index = np.unravel_index(flat, shape)
        self[index] = fill_value  # type: ignore[index]
        return self


def _sign_with_zero_gradient(x: Any) -> Tensor:
    """sign(x); while recording, selected over x everywhere so that x receives gradient 0."""
    signs = x.sign()
    if not x.requires_grad:
        return signs  # type: ignore[no-any-return]
    everywhere = x._wrap(np.ones(x.shape, dtype=bool))
    return _el.Where.apply(everywhere, signs, x)
