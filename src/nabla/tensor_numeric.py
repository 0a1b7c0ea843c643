"""``TensorNumeric``: the further numeric methods of Tensor (PyTorch's addcmul, addcdiv, mv,
nansum, nanmean, logit, logcumsumexp, var_mean, std_mean, unflatten, ravel, index_add,
index_fill, index_copy, kron) (a mixin :class:`~nabla.tensor.Tensor` inherits).

All but ``einsum`` (:mod:`nabla.ops.numeric`) are compositions of existing ops, so their
gradients and second derivatives come from those ops' rules; masks are selects (``where``),
so a nan or a clamped entry never leaks into a gradient.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.errors import DTypeError, ShapeError
from nabla.ops import elementwise as _el
from nabla.ops.numeric import Einsum
from nabla.ops.shape import IndexAdd, normalize_dim
from nabla.tensor_base import TensorBase

if TYPE_CHECKING:
    from nabla.tensor import Tensor


def einsum_of(equation: str, operands: list[Any]) -> Tensor:
    """``einsum`` on tensors (the one primitive of this mixin's family)."""
    return Einsum.apply(*operands, equation=equation)


class TensorNumeric(TensorBase):
    """The numeric methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        """``x + value · tensor1 · tensor2`` (broadcast; ``torch.addcmul``)."""
        me: Any = self
        return me + value * (self._lift(tensor1) * self._lift(tensor2))  # type: ignore[no-any-return]

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        """``x + value · tensor1 / tensor2`` (broadcast; integer division refused as PyTorch)."""
        t1, t2 = self._lift(tensor1), self._lift(tensor2)
        if t1.data.dtype.kind in "biu" and t2.data.dtype.kind in "biu":
            raise DTypeError(
                "addcdiv: integer division of tensors using addcdiv is no longer supported "
                f"(tensor1 {t1.dtype}, tensor2 {t2.dtype})"
            )
        me: Any = self
        return me + value * (t1 / t2)  # type: ignore[no-any-return]

    def mv(self, vec: Any) -> Tensor:
        """Matrix (n, m) times vector (m,) (``torch.mv``)."""
        v = self._lift(vec)
        if self.ndim != 2 or v.ndim != 1 or self.shape[1] != v.shape[0]:
            raise ShapeError(
                f"mv: expected a matrix and a vector of matching size, got shapes {self.shape} "
                f"and {v.shape}"
            )
        me: Any = self
        return me @ v  # type: ignore[no-any-return]

    def logit(self, eps: float | None = None) -> Tensor:
        """``log(x / (1 − x))``; with ``eps``, x clamped to [eps, 1 − eps] first (the
        gradient is 0 outside it, as PyTorch)."""
        x: Any = self if self.data.dtype.kind == "f" else self.astype(np.float32)  # type: ignore[attr-defined]
        if eps is not None:
            x = x.clamp(eps, 1 - eps)
        return (x / (1 - x)).log()  # type: ignore[no-any-return]

    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Sum treating nan as 0 (its gradient is 0 there)."""
        x: Any = self if dtype is None else self.astype(dtype)  # type: ignore[attr-defined]
        if x.data.dtype.kind == "f":
            x = _el.Where.apply(self._lift(np.isnan(x.data)), self._lift(np.zeros((), x.dtype)), x)
        return x.sum(axis=dim, keepdims=keepdim)  # type: ignore[no-any-return]

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Mean of the entries that are not nan (nan where all are)."""
        x: Any = self if dtype is None else self.astype(dtype)  # type: ignore[attr-defined]
        if x.data.dtype.kind != "f":
            raise DTypeError(
                f"nanmean(): expected input to have floating point dtype but got {x.dtype}"
            )
        count = (~np.isnan(x.data)).sum(axis=dim, keepdims=keepdim)
        empty = self._lift(np.asarray(count == 0))
        safe = self._lift(np.maximum(count, 1).astype(x.dtype))  # all-nan slices: nan, no 0/0
        mean = x.nansum(dim, keepdim) / safe
        return _el.Where.apply(empty, self._lift(np.array(np.nan, x.dtype)), mean)

    def logcumsumexp(self, dim: int) -> Tensor:
        """``log Σ_{j ≤ i} exp(x_j)`` along ``dim``, stably: each prefix is a logsumexp of x
        with the later entries masked to −inf (a select, so their gradient is exactly 0)."""
        axis = normalize_dim("logcumsumexp", dim, self.ndim)
        me: Any = self
        if self.ndim == 0:
            return me.clone()  # type: ignore[no-any-return]
        x = me.movedim(axis, -1)
        n = x.shape[-1]
        prefix = np.arange(n)[:, None] <= np.arange(n)[None, :]  # [j, i]: x_j enters output i
        spread = x.unsqueeze(-1).expand(*x.shape, n)
        masked = _el.Where.apply(
            self._lift(prefix), spread, self._lift(np.array(-np.inf, dtype=x.dtype))
        )
        return masked.logsumexp(axis=-2).movedim(-1, axis)

    def var_mean(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
        unbiased: Any = None,
    ) -> tuple[Tensor, Tensor]:
        """``(var, mean)`` over ``dim`` (correction 1 by default, as PyTorch)."""
        me: Any = self
        var = me.var(dim=dim, keepdim=keepdim, correction=correction, unbiased=unbiased)
        return var, me.mean(dim=dim, keepdim=keepdim)

    def std_mean(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
        unbiased: Any = None,
    ) -> tuple[Tensor, Tensor]:
        """``(std, mean)`` over ``dim`` (correction 1 by default, as PyTorch)."""
        me: Any = self
        std = me.std(dim=dim, keepdim=keepdim, correction=correction, unbiased=unbiased)
        return std, me.mean(dim=dim, keepdim=keepdim)

    def unflatten(self, dim: int, sizes: Any) -> Tensor:
        """Dimension ``dim`` split into ``sizes`` (one may be −1)."""
        axis = normalize_dim("unflatten", dim, self.ndim)
        sizes = tuple(int(s) for s in sizes)
        n = self.shape[axis]
        known = math.prod(s for s in sizes if s != -1)
        if (
            sizes.count(-1) > 1
            or (-1 not in sizes and known != n)
            or (-1 in sizes and (known == 0 or n % known))
        ):
            raise ShapeError(
                f"unflatten: sizes {sizes} do not multiply to the size {n} of dimension {dim} "
                f"(x of shape {self.shape})"
            )
        me: Any = self
        return me.reshape(self.shape[:axis] + sizes + self.shape[axis + 1 :])  # type: ignore[no-any-return]

    def ravel(self) -> Tensor:
        """The entries as a 1-D tensor."""
        me: Any = self
        return me.reshape(-1)  # type: ignore[no-any-return]

    def kron(self, other: Any) -> Tensor:
        """The Kronecker product (``torch.kron``): shapes padded to one length, multiplied."""
        a: Any = self
        b: Any = self._lift(other)
        n = max(a.ndim, b.ndim)
        a = a.reshape((1,) * (n - a.ndim) + a.shape)
        b = b.reshape((1,) * (n - b.ndim) + b.shape)
        left, right = "abcdefghijklm"[:n], "nopqrstuvwxyz"[:n]
        eq = f"{left},{right}->" + "".join(x + y for x, y in zip(left, right))
        out = einsum_of(eq, [a, b])
        return out.reshape(tuple(p * q for p, q in zip(a.shape, b.shape)))

    # ----- index_add, index_fill, index_copy -------------------------------------------------
    def _slices_at(self, op: str, dim: int, index: Any) -> tuple[int, Any, tuple[Any, ...]]:
        axis = normalize_dim(op, dim, self.ndim)
        i = self._lift(index)
        if i.data.dtype.kind not in "iu" or i.ndim > 1:
            raise IndexError(f"{op}: index must be an integer vector, got {i.dtype} {i.shape}")
        positions = np.asarray(i.data, dtype=np.intp).reshape(-1)
        n = self.shape[axis] if self.ndim else 1
        if positions.size and (positions.min() < -n or positions.max() >= n):
            raise IndexError(
                f"{op}: index out of range for dimension {dim} with size {n} (x of shape "
                f"{self.shape})"
            )
        return axis, positions % max(n, 1), (slice(None),) * axis + (positions % max(n, 1),)

    def _source_for(self, op: str, axis: int, positions: Any, source: Any) -> Any:
        src: Any = self._lift(source)
        want = self.shape[:axis] + (len(positions),) + self.shape[axis + 1 :]
        if self.ndim == 0:
            want = (len(positions),)
            src = src.reshape(-1) if src.ndim == 0 else src
        if src.shape != want:
            raise ShapeError(
                f"{op}: source of shape {src.shape} does not match x of shape {self.shape} "
                f"with {len(positions)} indices along dim {axis}"
            )
        if src.dtype != self.dtype:
            raise DTypeError(f"{op}: source dtype {src.dtype} does not match x dtype {self.dtype}")
        return src

    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        """x with ``alpha · source`` added to the slices at ``index`` along ``dim`` (repeats add)."""
        axis, positions, at = self._slices_at("index_add", dim, index)
        src = self._source_for("index_add", axis, positions, source)
        me: Any = self if self.ndim else self.reshape(1)  # type: ignore[attr-defined]
        added = IndexAdd.apply(src if alpha == 1 else src * alpha, shape=me.shape, index=at)
        return (me + added).reshape(self.shape)  # type: ignore[no-any-return]

    def index_copy(self, dim: int, index: Any, source: Any) -> Tensor:
        """x with the slices at ``index`` along ``dim`` replaced by ``source``."""
        axis, positions, at = self._slices_at("index_copy", dim, index)
        src = self._source_for("index_copy", axis, positions, source)
        me: Any = self if self.ndim else self.reshape(1)  # type: ignore[attr-defined]
        chosen = np.zeros(me.shape, dtype=bool)
        chosen[at] = True
        placed = IndexAdd.apply(src, shape=me.shape, index=at)
        out = _el.Where.apply(self._lift(chosen), placed, me)
        return out.reshape(self.shape)

    def index_add_(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        """:meth:`index_add` in place (the machinery of :mod:`nabla.tensor_inplace`)."""
        into = _IndexInto("index_add", dim, index, alpha)
        return self._in_place("index_add_", into, source)  # type: ignore[attr-defined, no-any-return]

    def index_copy_(self, dim: int, index: Any, source: Any) -> Tensor:
        """:meth:`index_copy` in place."""
        into = _IndexInto("index_copy", dim, index)
        return self._in_place("index_copy_", into, source)  # type: ignore[attr-defined, no-any-return]

    def index_fill_(self, dim: int, index: Any, value: Any) -> Tensor:
        """:meth:`index_fill` in place."""
        into = _IndexInto("index_fill", dim, index)
        return self._in_place("index_fill_", into, value)  # type: ignore[attr-defined, no-any-return]

    def index_fill(self, dim: int, index: Any, value: Any) -> Tensor:
        """x with the slices at ``index`` along ``dim`` set to ``value`` (a number or 0-d)."""
        _, _, at = self._slices_at("index_fill", dim, index)
        me: Any = self if self.ndim else self.reshape(1)  # type: ignore[attr-defined]
        chosen = np.zeros(me.shape, dtype=bool)
        chosen[at] = True
        value_t: Any = self._lift(value)
        if value_t.ndim != 0:
            raise ShapeError(
                f"index_fill: only supports a 0-dimensional value tensor, got shape {value_t.shape}"
            )
        if value_t.dtype != self.dtype:
            value_t = value_t.astype(self.dtype)
        return _el.Where.apply(self._lift(chosen), value_t, me).reshape(self.shape)


class _IndexInto:
    """An index op at a fixed dim and index as a binary op ``apply(x, operand)``: what the
    in-place machinery of :mod:`nabla.tensor_inplace` calls."""

    def __init__(self, name: str, dim: int, index: Any, alpha: Any = 1) -> None:
        self.name, self.dim, self.index, self.alpha = name, dim, index, alpha

    def apply(self, x: Any, operand: Any) -> Tensor:
        if self.name == "index_add":
            return x.index_add(self.dim, self.index, operand, alpha=self.alpha)  # type: ignore[no-any-return]
        return getattr(x, self.name)(self.dim, self.index, operand)  # type: ignore[no-any-return]
