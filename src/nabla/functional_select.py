"""The selecting, ordering, scanning and norm functions of PyTorch's namespace: ``nb.gather``,
``nb.index_select``, ``nb.masked_fill``, ``nb.sort``, ``nb.argsort``, ``nb.topk``,
``nb.cumsum``, ``nb.norm``, and the shape functions ``nb.chunk`` and ``nb.t``.

Each is its method (written in :mod:`nabla.tensor_select` and :mod:`nabla.tensor_shape`) with
PyTorch's argument order.
"""

from __future__ import annotations

from typing import Any

from nabla.creation import as_tensor as _t
from nabla.ops.reduction import ValuesIndices
from nabla.tensor import Tensor


def gather(x: Any, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
    """The entries of ``x`` at ``index`` along ``dim`` (``torch.gather``)."""
    return _t(x).gather(dim, index)


def index_select(x: Any, dim: int, index: Any) -> Tensor:
    """The slices of ``x`` at the positions ``index`` along ``dim`` (``torch.index_select``)."""
    return _t(x).index_select(dim, index)


def masked_fill(x: Any, mask: Any, value: Any) -> Tensor:
    """``value`` where ``mask`` is True, else ``x`` (``torch.masked_fill``)."""
    return _t(x).masked_fill(mask, value)


def sort(x: Any, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
    """``(values, indices)`` of ``x`` sorted along ``dim``, stably (``torch.sort``)."""
    return _t(x).sort(dim, descending, stable)


def argsort(x: Any, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The positions that sort ``x`` along ``dim``, stably (``torch.argsort``)."""
    return _t(x).argsort(dim, descending, stable)


def topk(
    x: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> ValuesIndices:
    """``(values, indices)`` of the ``k`` largest (or smallest) entries along ``dim``."""
    return _t(x).topk(k, dim, largest, sorted)


def cumsum(x: Any, dim: Any = None, *, axis: Any = None, dtype: Any = None) -> Tensor:
    """Cumulative sum along ``dim`` (``torch.cumsum``; NumPy's ``axis`` accepted)."""
    return _t(x).cumsum(dim, axis=axis, dtype=dtype)


def norm(
    x: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
) -> Tensor:
    """The vector p-norm of ``x`` over ``dim`` (``torch.norm``; see ``Tensor.norm``)."""
    return _t(x).norm(p, dim, keepdim, dtype)


def chunk(x: Any, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Up to ``chunks`` equal pieces of ``x`` along ``dim`` (``torch.chunk``)."""
    return _t(x).chunk(chunks, dim)


def t(x: Any) -> Tensor:
    """A matrix transposed; a vector or 0-d tensor as it is (``torch.t``)."""
    return _t(x).t()


__all__ = [
    "argsort",
    "chunk",
    "cumsum",
    "gather",
    "index_select",
    "masked_fill",
    "norm",
    "sort",
    "t",
    "topk",
]
