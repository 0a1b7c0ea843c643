"""``TensorSelection``: selecting, ordering, scanning and norms of :class:`~nabla.tensor.Tensor`
(a mixin it inherits).

``gather``, ``index_select``, ``masked_fill``, ``sort``, ``argsort``, ``topk``, ``cumsum`` and
``norm`` with PyTorch's signatures. Each calls one ``Function`` of :mod:`nabla.ops.selection`,
:mod:`nabla.ops.scan` or :mod:`nabla.ops.norm` (``masked_fill`` is a ``where``: a select, so a
non-finite value under the mask never leaks into the gradient). ``sort`` and ``topk`` return
PyTorch's named pair ``(values, indices)``; the indices are integers and carry no gradient, the
values are a gather and carry it back to the positions they came from.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.errors import DTypeError, ShapeError
from nabla.ops import elementwise as _el
from nabla.ops import norm as _nm
from nabla.ops import scan as _sc
from nabla.ops import selection as _sl
from nabla.ops.reduction import ValuesIndices
from nabla.ops.shape import normalize_dim
from nabla.tensor_base import TensorBase
from nabla.tensor_math import no_grad_apply

if TYPE_CHECKING:
    from nabla.tensor import Tensor


class TensorSelection(TensorBase):
    """Gather, index_select, masked_fill, sort, argsort, topk, cumsum and norm of ``Tensor``."""

    __slots__ = ()

    # ----- selecting ----------------------------------------------------------------------------
    def gather(self, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
        """The entries at ``index`` along ``dim``: ``out[i][j] = x[index[i][j]][j]`` for dim 0
        (``torch.gather``). ``index`` is an integer tensor of x's number of dimensions, no longer
        than x on the other dims; the result has its shape. The gradient adds up at repeats."""
        axis = normalize_dim("gather", dim, self.ndim)
        i = self._lift(index)
        if self.ndim == 0:  # a 0-d x is a 1-element vector, indexed by 0 only
            out = _sl.Gather.apply(self._as_vector(), i.reshape(-1), axis=0)
            return out.reshape(i.shape)
        return _sl.Gather.apply(self, i, axis=axis)

    def index_select(self, dim: int, index: Any) -> Tensor:
        """The slices at the positions ``index`` (an integer vector) along ``dim``
        (``torch.index_select``); the gradient adds up at repeated positions."""
        axis = normalize_dim("index_select", dim, self.ndim)
        i = self._lift(index)
        if self.ndim == 0:
            out = _sl.IndexSelect.apply(self._as_vector(), i, axis=0)
            return out.reshape(() if out.size == 1 else out.shape)
        return _sl.IndexSelect.apply(self, i, axis=axis)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """``value`` where the boolean ``mask`` (broadcast with x) is True, else x.
        ``value`` is a number or a 0-d tensor (which receives the gradient of the filled
        entries); x's dtype is kept."""
        mask_t, value_t = masked_fill_operands(self, mask, value)
        return _el.Where.apply(mask_t, value_t, self)

    # ----- ordering -----------------------------------------------------------------------------
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
        """The values sorted along ``dim`` and their positions, as ``(values, indices)``. The
        sort is always stable (equal values keep their order, ``stable`` is accepted for
        PyTorch); nan counts as the largest value, as in PyTorch."""
        indices = self.argsort(dim, descending, stable)
        return ValuesIndices(self._take(indices, normalize_dim("sort", dim, self.ndim)), indices)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """The positions that sort x along ``dim`` (int64, no gradient; stable, see :meth:`sort`)."""
        axis = normalize_dim("argsort", dim, self.ndim)
        return no_grad_apply(_sl.ArgSort, self, axis=axis, descending=bool(descending))

    def topk(
        self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
    ) -> ValuesIndices:
        """The ``k`` largest (``largest=False``: smallest) entries along ``dim`` and their
        positions, as ``(values, indices)``, in sorted order. Among equal values the earlier
        position comes first (PyTorch leaves that order unspecified)."""
        axis = normalize_dim("topk", dim, self.ndim)
        indices = no_grad_apply(_sl.TopKIndices, self, k=int(k), axis=axis, largest=largest)
        return ValuesIndices(self._take(indices, axis), indices)

    def _take(self, indices: Tensor, axis: int) -> Tensor:
        if self.ndim == 0:
            out = _sl.Gather.apply(self._as_vector(), indices.reshape(1), axis=0)
            return out.reshape(())
        return _sl.Gather.apply(self, indices, axis=axis)

    def _as_vector(self) -> Tensor:
        return self.reshape(1)  # type: ignore[attr-defined, no-any-return]

    # ----- scans and norms ----------------------------------------------------------------------
    def cumsum(self, dim: Any = None, *, axis: Any = None, dtype: Any = None) -> Tensor:
        """Cumulative sum along ``dim`` (NumPy's ``axis`` accepted); integers and bools sum
        as int64, ``dtype`` casts x first (``torch.cumsum``). The gradient of x_i is the sum of
        the output gradient from i to the end."""
        dim = dim if dim is not None else axis
        if dim is None:
            raise TypeError("cumsum(): missing required argument 'dim'")
        x: Any = self if dtype is None else self.astype(dtype)  # type: ignore[attr-defined]
        return _sc.CumSum.apply(x, axis=normalize_dim("cumsum", dim, self.ndim))

    def norm(
        self,
        p: Any = "fro",
        dim: Any = None,
        keepdim: bool = False,
        dtype: Any = None,
        *,
        axis: Any = None,
        keepdims: bool = False,
    ) -> Tensor:
        """The vector p-norm over ``dim`` (all dims when None): ``p`` a number, ``inf``,
        ``-inf``, or ``"fro"`` (the 2-norm over at most two dims), as ``torch.norm``. Where the
        norm is 0 its gradient is 0; the ∞-norm shares its gradient among the ties."""
        x: Any = self if dtype is None else self.astype(dtype)  # type: ignore[attr-defined]
        if x.data.dtype.kind not in "fc":
            raise DTypeError(
                f"norm: expected a floating point tensor as input, got dtype {x.data.dtype}"
            )
        dim = dim if dim is not None else axis
        if isinstance(p, str):
            if p != "fro":
                raise ValueError(f"norm: p={p!r} is not supported; use 'fro' or a number")
            if dim is not None and not isinstance(dim, (int, np.integer)) and len(dim) > 2:
                raise ValueError(f"norm: 'fro' takes at most two dims, got dim={dim}")
            p = 2.0
        p = float(p)
        if math.isnan(p):
            raise ValueError("norm: p must be a number, inf or -inf, got nan")
        return _nm.VectorNorm.apply(x, p=p, axis=dim, keepdims=keepdim or keepdims)


def masked_fill_operands(
    x: TensorBase, mask: Any, value: Any, in_place: bool = False
) -> tuple[Tensor, Tensor]:
    """``masked_fill``'s mask as a bool tensor that broadcasts with x (in place: to x's shape,
    as PyTorch), and its value as a 0-d tensor of x's dtype; a one-line error otherwise."""
    mask_t = x._lift(mask)
    if mask_t.data.dtype != np.bool_:
        raise DTypeError(
            f"masked_fill only supports boolean masks, but got mask with dtype {mask_t.dtype}"
        )
    try:
        shape = np.broadcast_shapes(mask_t.shape, x.shape)
    except ValueError:
        shape = None
    if shape is None or (in_place and shape != x.shape):
        name, relation = ("masked_fill_", "to") if in_place else ("masked_fill", "with")
        raise ShapeError(
            f"{name}: mask of shape {mask_t.shape} does not broadcast {relation} x of shape "
            f"{x.shape}"
        )
    value_t = x._lift(value)
    if value_t.ndim != 0:
        raise ShapeError(
            "masked_fill only supports a 0-dimensional value tensor, but got tensor with "
            f"{value_t.ndim} dimension(s)"
        )
    if value_t.dtype != x.dtype:
        value_t = value_t.astype(x.dtype)
    return mask_t, value_t
