"""``TensorLogic``: the comparison and logic methods of :class:`~nabla.tensor.Tensor` (a mixin
it inherits), with PyTorch's names and signatures.

* comparisons ``eq ne lt le gt ge`` (and ``greater``, ``less_equal``…, ``equal``, ``isclose``,
  ``allclose``), the value tests ``isnan``…, ``logical_*`` and ``bitwise_*``, the boolean
  reductions ``all``, ``any``, ``count_nonzero`` and the positions ``nonzero``/``argwhere``:
  bool or integer results that carry no gradient, each one op of :mod:`nabla.ops.compare` or
  :mod:`nabla.ops.logic` (recorded under no_grad, so a compiled step recomputes them);
* the differentiable ones: ``where`` (a select), ``clamp_min``/``clamp_max`` (the gradient
  passes where x is not clamped), ``nan_to_num`` (it passes through the finite entries) and
  ``masked_select`` (it goes back to the selected positions), with the in-place
  ``clamp_``/``clip_``/``clamp_min_``/``clamp_max_`` of :mod:`nabla.tensor_inplace`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.errors import DTypeError, ShapeError
from nabla.ops import compare as _cmp
from nabla.ops import elementwise as _el
from nabla.ops import logic as _lg
from nabla.ops.shape import normalize_dim
from nabla.tensor_base import TensorBase
from nabla.tensor_math import no_grad_apply

if TYPE_CHECKING:
    from typing_extensions import Self

    from nabla.tensor import Tensor


class TensorLogic(TensorBase):
    """Comparisons, value tests, logical and bitwise ops, all/any and selections of ``Tensor``."""

    __slots__ = ()

    # ----- comparisons ----------------------------------------------------------------------
    def _binary(self, name: str, cls: Any, other: Any, **params: Any) -> Tensor:
        """``cls(self, other)`` without gradient, other lifted (a number takes x's dtype); a
        one-line ShapeError naming ``name`` when the shapes do not broadcast."""
        operand = self._lift(other)
        try:
            return no_grad_apply(cls, self, operand, **params)
        except ShapeError:
            raise ShapeError(
                f"{name}: x of shape {self.shape} and other of shape {operand.shape} do not "
                "broadcast together"
            ) from None

    def eq(self, other: Any) -> Tensor:
        """``x == other`` elementwise, broadcast (bool, no gradient; ``torch.eq``)."""
        return self._binary("eq", _cmp.Compare, other, op="equal")

    def ne(self, other: Any) -> Tensor:
        """``x != other`` elementwise, broadcast (bool, no gradient)."""
        return self._binary("ne", _cmp.Compare, other, op="not_equal")

    def lt(self, other: Any) -> Tensor:
        """``x < other`` elementwise, broadcast (bool, no gradient)."""
        return self._binary("lt", _cmp.Compare, other, op="less")

    def le(self, other: Any) -> Tensor:
        """``x <= other`` elementwise, broadcast (bool, no gradient)."""
        return self._binary("le", _cmp.Compare, other, op="less_equal")

    def gt(self, other: Any) -> Tensor:
        """``x > other`` elementwise, broadcast (bool, no gradient)."""
        return self._binary("gt", _cmp.Compare, other, op="greater")

    def ge(self, other: Any) -> Tensor:
        """``x >= other`` elementwise, broadcast (bool, no gradient)."""
        return self._binary("ge", _cmp.Compare, other, op="greater_equal")

    # PyTorch's long names of the same methods
    not_equal = ne
    less = lt
    less_equal = le
    greater = gt
    greater_equal = ge

    def equal(self, other: Any) -> bool:
        """True when ``other`` has x's shape and equal values (``torch.equal``; dtypes may
        differ; nan equals nothing)."""
        operand = self._lift(other)
        if operand.shape != self.shape:
            return False
        return bool(no_grad_apply(_lg.AllTrue, self.eq(operand)))

    def isclose(
        self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
    ) -> Tensor:
        """Whether each entry is within ``atol + rtol · |other|`` of ``other`` (bool, no
        gradient; ``torch.isclose``). x and other must have one dtype (a number takes x's)."""
        operand = self._lift(other)
        if operand.dtype != self.dtype:
            raise DTypeError(
                f"isclose: x and other must have the same dtype, got {self.dtype} and "
                f"{operand.dtype}"
            )
        for label, value in (("rtol", rtol), ("atol", atol)):
            if value < 0:
                raise ValueError(
                    f"isclose: {label} must be greater than or equal to zero, but got {value}"
                )
        return self._binary(
            "isclose", _lg.IsClose, operand, rtol=rtol, atol=atol, equal_nan=bool(equal_nan)
        )

    def allclose(
        self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
    ) -> bool:
        """True when every entry is close to ``other`` (see :meth:`isclose`), as a Python bool
        (``torch.allclose``)."""
        return bool(no_grad_apply(_lg.AllTrue, self.isclose(other, rtol, atol, equal_nan)))

    # ----- value tests ----------------------------------------------------------------------
    def isnan(self) -> Tensor:
        """True where x is nan (bool, no gradient)."""
        return no_grad_apply(_lg.ValueTest, self, test="isnan")

    def isinf(self) -> Tensor:
        """True where x is +inf or −inf."""
        return no_grad_apply(_lg.ValueTest, self, test="isinf")

    def isfinite(self) -> Tensor:
        """True where x is neither nan nor infinite (always, for bool and integer tensors)."""
        return no_grad_apply(_lg.ValueTest, self, test="isfinite")

    def isposinf(self) -> Tensor:
        """True where x is +inf."""
        return no_grad_apply(_lg.ValueTest, self, test="isposinf")

    def isneginf(self) -> Tensor:
        """True where x is −inf."""
        return no_grad_apply(_lg.ValueTest, self, test="isneginf")

    # ----- logical and bitwise ----------------------------------------------------------------
    def logical_and(self, other: Any) -> Tensor:
        """``x ≠ 0 and other ≠ 0`` elementwise, broadcast (bool; any dtypes)."""
        return self._binary("logical_and", _cmp.Compare, other, op="logical_and")

    def logical_or(self, other: Any) -> Tensor:
        """``x ≠ 0 or other ≠ 0`` elementwise, broadcast (bool; any dtypes)."""
        return self._binary("logical_or", _cmp.Compare, other, op="logical_or")

    def logical_xor(self, other: Any) -> Tensor:
        """Exactly one of ``x ≠ 0`` and ``other ≠ 0``, elementwise, broadcast (bool)."""
        return self._binary("logical_xor", _cmp.Compare, other, op="logical_xor")

    def logical_not(self) -> Tensor:
        """``x == 0`` elementwise (bool; any dtype)."""
        return no_grad_apply(_cmp.Compare, self, op="logical_not")

    def bitwise_not(self) -> Tensor:
        """``~x`` of a bool or integer tensor (on bools, logical not)."""
        return no_grad_apply(_lg.Bitwise, self, op="bitwise_not")

    def bitwise_and(self, other: Any) -> Tensor:
        """``x & other`` of bool or integer tensors, broadcast."""
        return self._binary("bitwise_and", _lg.Bitwise, other, op="bitwise_and")

    def bitwise_or(self, other: Any) -> Tensor:
        """``x | other`` of bool or integer tensors, broadcast."""
        return self._binary("bitwise_or", _lg.Bitwise, other, op="bitwise_or")

    def bitwise_xor(self, other: Any) -> Tensor:
        """``x ^ other`` of bool or integer tensors, broadcast."""
        return self._binary("bitwise_xor", _lg.Bitwise, other, op="bitwise_xor")

    def __xor__(self, other: Any) -> Tensor:
        """``x ^ other``: :meth:`bitwise_xor` (bool and integer tensors)."""
        return self.bitwise_xor(other)

    __rxor__ = __xor__  # xor commutes, and the result dtype is symmetric

    # ----- boolean reductions and positions -----------------------------------------------------
    def all(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: bool = False,
    ) -> Tensor:
        """True where every entry over ``dim`` (an int, a tuple, or None for all; NumPy's
        ``axis`` accepted) is nonzero; bool (uint8 for uint8 x, as PyTorch)."""
        axes = _reduction_axes("all", dim if dim is not None else axis, self.ndim)
        return no_grad_apply(_lg.AllTrue, self, axis=axes, keepdims=keepdim or keepdims)

    def any(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: bool = False,
    ) -> Tensor:
        """True where some entry over ``dim`` is nonzero (see :meth:`all`)."""
        axes = _reduction_axes("any", dim if dim is not None else axis, self.ndim)
        return no_grad_apply(_lg.AnyTrue, self, axis=axes, keepdims=keepdim or keepdims)

    def count_nonzero(self, dim: Any = None) -> Tensor:
        """The number of nonzero entries over ``dim`` (an int, a tuple; None or () for all),
        int64."""
        axes = _reduction_axes("count_nonzero", dim, self.ndim)
        return no_grad_apply(_lg.CountNonzero, self, axis=axes or None)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The positions of the nonzero entries: an int64 tensor of shape (n, x.ndim), one row
        per entry in row-major order, or with ``as_tuple`` one int64 vector per dimension
        (one for a 0-d x), as ``torch.nonzero``."""
        positions = no_grad_apply(_lg.NonZero, self)
        if not as_tuple:
            return positions
        if self.ndim == 0:
            return (no_grad_apply(_lg.NonZero, self.reshape(1))[:, 0],)  # type: ignore[attr-defined]
        return tuple(positions[:, k] for k in range(self.ndim))

    def argwhere(self) -> Tensor:
        """The positions of the nonzero entries, shape (n, x.ndim) (``torch.argwhere``)."""
        return no_grad_apply(_lg.NonZero, self)

    def is_nonzero(self) -> bool:
        """The truth of a one-element tensor (``torch.is_nonzero``); an error otherwise."""
        if self.data.size != 1:
            amount = "no values" if self.data.size == 0 else "more than one value"
            raise ShapeError(
                f"is_nonzero: Boolean value of Tensor with {amount} is ambiguous (shape "
                f"{self.shape})"
            )
        return bool(self.item())  # type: ignore[attr-defined]

    def is_floating_point(self) -> bool:
        """True for a floating point dtype (float16, float32, float64)."""
        return bool(self.data.dtype.kind == "f")

    def is_complex(self) -> bool:
        """True for a complex dtype."""
        return bool(self.data.dtype.kind == "c")

    # ----- differentiable selections ------------------------------------------------------------
    def where(self, condition: Any, other: Any) -> Tensor:
        """x where the boolean ``condition`` holds, else ``other`` (a tensor or number; all
        three broadcast): ``x.where(c, y)`` is ``nb.where(c, x, y)``. The gradient is a
        select: x gets g where c, other where not."""
        if isinstance(condition, TensorBase):
            cond = condition
        else:
            cond = self._wrap(np.asarray(condition))
        if cond.data.dtype != np.bool_:
            raise DTypeError(
                "where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{cond.dtype}"
            )
        return _el.Where.apply(cond, self, self._lift(other))

    def clamp_min(self, min: Any) -> Tensor:
        """max(x, min) (``torch.clamp_min``; min a number or a broadcast tensor); the gradient
        passes where x ≥ min (to a tensor min where x < min)."""
        return self.clip(min=min)  # type: ignore[attr-defined, no-any-return]

    def clamp_max(self, max: Any) -> Tensor:
        """min(x, max) (``torch.clamp_max``); the gradient passes where x ≤ max."""
        return self.clip(max=max)  # type: ignore[attr-defined, no-any-return]

    def clamp_min_(self, min: Any) -> Self:
        """:meth:`clamp_min` in place (PyTorch's ``clamp_min_``)."""
        return self._in_place("clamp_min_", _ClampStep("min"), min)  # type: ignore[attr-defined, no-any-return]

    def clamp_max_(self, max: Any) -> Self:
        """:meth:`clamp_max` in place."""
        return self._in_place("clamp_max_", _ClampStep("max"), max)  # type: ignore[attr-defined, no-any-return]

    def clamp_(self, min: Any = None, max: Any = None) -> Self:
        """Clamp into [min, max] in place (where min > max the result is max, as PyTorch)."""
        if min is None and max is None:
            raise ValueError("clamp_: at least one of 'min' or 'max' must not be None")
        if min is not None:
            self._in_place("clamp_", _ClampStep("min"), min)  # type: ignore[attr-defined]
        if max is not None:
            self._in_place("clamp_", _ClampStep("max"), max)  # type: ignore[attr-defined]
        return self

    clip_ = clamp_

    def nan_to_num(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Tensor:
        """nan, +inf and −inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0
        and the dtype's largest and smallest finite values); bool and integer tensors are
        copied. The gradient passes through the finite entries, 0 at the replaced ones."""
        with np.errstate(over="ignore"):  # posinf=1e40 in float32 is inf, as in PyTorch
            return _lg.NanToNum.apply(
                self,
                nan=float(nan),
                posinf=None if posinf is None else float(posinf),
                neginf=None if neginf is None else float(neginf),
            )

    def masked_select(self, mask: Any) -> Tensor:
        """The entries of x where the boolean ``mask`` is True, x and mask broadcast
        together, as a 1-D tensor (``torch.masked_select``); the gradient goes back to the
        selected positions (summed over broadcast copies)."""
        mask_t = mask if isinstance(mask, TensorBase) else self._wrap(np.asarray(mask))
        if mask_t.data.dtype != np.bool_:
            raise DTypeError(f"masked_select: expected a bool mask, got dtype {mask_t.dtype}")
        return _lg.MaskedSelect.apply(self, mask_t)


class _ClampStep:
    """One bound of a clamp as an in-place step of ``TensorInPlace._in_place`` (which calls
    ``apply(x, bound)``): x clamped from below (``side`` "min") or above ("max")."""

    def __init__(self, side: str) -> None:
        self.side = side

    def apply(self, x: Any, bound: Any) -> Tensor:
        return x.clip(**{self.side: bound})  # type: ignore[no-any-return]


def _reduction_axes(op: str, dim: Any, ndim: int) -> tuple[int, ...] | None:
    """``dim`` (None, an int, or a sequence of ints) as a tuple of distinct non-negative axes
    (None: all); a 0-d tensor accepts dims 0 and −1 and reduces none."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    axes = tuple(normalize_dim(op, d, ndim) for d in dims)
    for a in axes:
        if axes.count(a) > 1:
            raise ValueError(f"{op}: dim {a} appears multiple times in the list of dims")
    return axes if ndim else ()
