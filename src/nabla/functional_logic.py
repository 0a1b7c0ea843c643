"""The comparison and logic functions of PyTorch's namespace (``nb.eq``, ``nb.isclose``,
``nb.isnan``, ``nb.logical_and``, ``nb.all``, ``nb.nonzero``, ``nb.masked_select``…).

Each is its method (written in :mod:`nabla.tensor_logic`) with PyTorch's argument order. The
operands may be tensors, arrays or numbers; a number meeting a tensor takes its dtype, as an
operator's does. ``nb.where`` itself is in :mod:`nabla.functional`.
"""

from __future__ import annotations

from typing import Any

from nabla.creation import as_tensor as _t
from nabla.tensor import Tensor


def _first(x: Any, other: Any) -> Tensor:
    """``x`` as the tensor whose method runs: a number or array meeting a tensor ``other``
    is lifted by it (taking its dtype, as ``2 == y`` would)."""
    if isinstance(x, Tensor):
        return x
    return other._lift(x) if isinstance(other, Tensor) else _t(x)


# ----- comparisons ------------------------------------------------------------------------------
def eq(x: Any, other: Any) -> Tensor:
    """``x == other`` elementwise, broadcast (bool; ``torch.eq``)."""
    return _first(x, other).eq(other)


def ne(x: Any, other: Any) -> Tensor:
    """``x != other`` elementwise, broadcast (bool; ``torch.ne``)."""
    return _first(x, other).ne(other)


def lt(x: Any, other: Any) -> Tensor:
    """``x < other`` elementwise, broadcast (bool; ``torch.lt``)."""
    return _first(x, other).lt(other)


def le(x: Any, other: Any) -> Tensor:
    """``x <= other`` elementwise, broadcast (bool; ``torch.le``)."""
    return _first(x, other).le(other)


def gt(x: Any, other: Any) -> Tensor:
    """``x > other`` elementwise, broadcast (bool; ``torch.gt``)."""
    return _first(x, other).gt(other)


def ge(x: Any, other: Any) -> Tensor:
    """``x >= other`` elementwise, broadcast (bool; ``torch.ge``)."""
    return _first(x, other).ge(other)


not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def equal(x: Any, other: Any) -> bool:
    """True when both have one shape and equal values (``torch.equal``)."""
    return _first(x, other).equal(other)


def isclose(
    x: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """Whether ``|x − other| ≤ atol + rtol · |other|`` elementwise (``torch.isclose``)."""
    return _first(x, other).isclose(other, rtol, atol, equal_nan)


def allclose(
    x: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """True when every entry of ``x`` is close to ``other`` (``torch.allclose``)."""
    return _first(x, other).allclose(other, rtol, atol, equal_nan)


# ----- value tests ----------------------------------------------------------------------------
def isnan(x: Any) -> Tensor:
    """True where ``x`` is nan (``torch.isnan``)."""
    return _t(x).isnan()


def isinf(x: Any) -> Tensor:
    """True where ``x`` is +inf or −inf (``torch.isinf``)."""
    return _t(x).isinf()


def isfinite(x: Any) -> Tensor:
    """True where ``x`` is neither nan nor infinite (``torch.isfinite``)."""
    return _t(x).isfinite()


def isposinf(x: Any) -> Tensor:
    """True where ``x`` is +inf (``torch.isposinf``)."""
    return _t(x).isposinf()


def isneginf(x: Any) -> Tensor:
    """True where ``x`` is −inf (``torch.isneginf``)."""
    return _t(x).isneginf()


# ----- logical and bitwise --------------------------------------------------------------------
def logical_and(x: Any, other: Any) -> Tensor:
    """``x ≠ 0 and other ≠ 0`` elementwise (``torch.logical_and``)."""
    return _first(x, other).logical_and(other)


def logical_or(x: Any, other: Any) -> Tensor:
    """``x ≠ 0 or other ≠ 0`` elementwise (``torch.logical_or``)."""
    return _first(x, other).logical_or(other)


def logical_xor(x: Any, other: Any) -> Tensor:
    """Exactly one of ``x ≠ 0`` and ``other ≠ 0`` (``torch.logical_xor``)."""
    return _first(x, other).logical_xor(other)


def logical_not(x: Any) -> Tensor:
    """``x == 0`` elementwise (``torch.logical_not``)."""
    return _t(x).logical_not()


def bitwise_not(x: Any) -> Tensor:
    """``~x`` of a bool or integer tensor (``torch.bitwise_not``)."""
    return _t(x).bitwise_not()


def bitwise_and(x: Any, other: Any) -> Tensor:
    """``x & other`` of bool or integer tensors (``torch.bitwise_and``)."""
    return _first(x, other).bitwise_and(other)


def bitwise_or(x: Any, other: Any) -> Tensor:
    """``x | other`` of bool or integer tensors (``torch.bitwise_or``)."""
    return _first(x, other).bitwise_or(other)


def bitwise_xor(x: Any, other: Any) -> Tensor:
    """``x ^ other`` of bool or integer tensors (``torch.bitwise_xor``)."""
    return _first(x, other).bitwise_xor(other)


# ----- reductions and positions ---------------------------------------------------------------
def all(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where every entry over ``dim`` is nonzero (``torch.all``)."""
    return _t(x).all(dim, keepdim)


def any(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where some entry over ``dim`` is nonzero (``torch.any``)."""
    return _t(x).any(dim, keepdim)


def count_nonzero(x: Any, dim: Any = None) -> Tensor:
    """The number of nonzero entries over ``dim``, int64 (``torch.count_nonzero``)."""
    return _t(x).count_nonzero(dim)


def nonzero(x: Any, *, as_tuple: bool = False) -> Any:
    """The positions of the nonzero entries (``torch.nonzero``; see ``Tensor.nonzero``)."""
    return _t(x).nonzero(as_tuple=as_tuple)


def argwhere(x: Any) -> Tensor:
    """The positions of the nonzero entries, shape (n, x.ndim) (``torch.argwhere``)."""
    return _t(x).argwhere()


def is_nonzero(x: Any) -> bool:
    """The truth of a one-element tensor (``torch.is_nonzero``)."""
    return _t(x).is_nonzero()


def is_floating_point(x: Any) -> bool:
    """True for a floating point tensor (``torch.is_floating_point``)."""
    return _t(x).is_floating_point()


def is_complex(x: Any) -> bool:
    """True for a complex tensor (``torch.is_complex``)."""
    return _t(x).is_complex()


# ----- differentiable -------------------------------------------------------------------------
def clamp_min(x: Any, min: Any) -> Tensor:
    """max(x, min) (``torch.clamp_min``); the gradient passes where x ≥ min."""
    return _t(x).clamp_min(min)


def clamp_max(x: Any, max: Any) -> Tensor:
    """min(x, max) (``torch.clamp_max``); the gradient passes where x ≤ max."""
    return _t(x).clamp_max(max)


def clamp_(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Clamp ``x`` into [min, max] in place (``torch.clamp_``)."""
    return x.clamp_(min, max)


clip_ = clamp_


def clamp_min_(x: Tensor, min: Any) -> Tensor:
    """max(x, min) in place (``torch.clamp_min_``)."""
    return x.clamp_min_(min)


def clamp_max_(x: Tensor, max: Any) -> Tensor:
    """min(x, max) in place (``torch.clamp_max_``)."""
    return x.clamp_max_(max)


def nan_to_num(
    x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """nan, +inf, −inf replaced by numbers (``torch.nan_to_num``); the gradient passes
    through the finite entries."""
    return _t(x).nan_to_num(nan, posinf, neginf)


def masked_select(x: Any, mask: Any) -> Tensor:
    """The entries of ``x`` where ``mask`` is True, broadcast together, as a 1-D tensor
    (``torch.masked_select``); the gradient goes back to the selected positions."""
    return _t(x).masked_select(mask)


__all__ = [
    "all",
    "allclose",
    "any",
    "argwhere",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "clamp_",
    "clamp_max",
    "clamp_max_",
    "clamp_min",
    "clamp_min_",
    "clip_",
    "count_nonzero",
    "eq",
    "equal",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "is_complex",
    "is_floating_point",
    "is_nonzero",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "le",
    "less",
    "less_equal",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "masked_select",
    "nan_to_num",
    "ne",
    "nonzero",
    "not_equal",
]
