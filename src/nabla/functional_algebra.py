"""The functions of PyTorch's namespace that are the methods of :mod:`nabla.tensor_algebra`,
with PyTorch's argument order: ``nb.subtract``, ``nb.mm``, ``nb.prod``, ``nb.median``,
``nb.unique``, ``nb.scatter``… (``nb.add``, ``nb.sub`` and ``nb.div``, with ``alpha`` and
``rounding_mode``, live in :mod:`nabla.functional`).
"""

from __future__ import annotations

from typing import Any

from nabla.creation import as_tensor as _t
from nabla.ops.algebra import MinMax
from nabla.ops.reduction import ValuesIndices
from nabla.tensor import Tensor


# ----- arithmetic -----------------------------------------------------------------------------
def subtract(x: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``x − alpha · other`` (``torch.subtract``)."""
    return _t(x).sub(other, alpha=alpha)


def multiply(x: Any, other: Any) -> Tensor:
    """``x ⊙ other`` (``torch.multiply``)."""
    return _t(x).mul(other)


def divide(x: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """``x / other``, maybe rounded (``torch.divide``; see ``Tensor.div``)."""
    return _t(x).div(other, rounding_mode=rounding_mode)


def floor_divide(x: Any, other: Any) -> Tensor:
    """``x // other``, rounded down (``torch.floor_divide``; gradient 0)."""
    return _t(x).floor_divide(other)


def true_divide(x: Any, other: Any) -> Tensor:
    """``x / other`` (``torch.true_divide``)."""
    return _t(x).true_divide(other)


def negative(x: Any) -> Tensor:
    """``−x`` (``torch.negative``)."""
    return _t(x).neg()


def rsub(x: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other − alpha · x`` (``torch.rsub``)."""
    return _t(x).rsub(other, alpha=alpha)


# ----- products -------------------------------------------------------------------------------
def mm(x: Any, mat2: Any) -> Tensor:
    """The product of two matrices (``torch.mm``)."""
    return _t(x).mm(mat2)


def bmm(x: Any, mat2: Any) -> Tensor:
    """The batched product of (b, n, m) and (b, m, p) (``torch.bmm``)."""
    return _t(x).bmm(mat2)


def dot(x: Any, other: Any) -> Tensor:
    """The inner product of two vectors (``torch.dot``)."""
    return _t(x).dot(other)


def outer(x: Any, vec2: Any) -> Tensor:
    """The outer product of two vectors (``torch.outer``)."""
    return _t(x).outer(vec2)


ger = outer


def addmm(x: Any, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta · x + alpha · (mat1 @ mat2)`` (``torch.addmm``)."""
    return _t(x).addmm(mat1, mat2, beta=beta, alpha=alpha)


def prod(x: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Π over ``dim`` or all elements (``torch.prod``)."""
    return _t(x).prod(dim, keepdim, dtype=dtype)


def cumprod(x: Any, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Tensor:
    """The cumulative product along ``dim`` (``torch.cumprod``)."""
    return _t(x).cumprod(dim, dtype=dtype, axis=axis)


def diff(x: Any, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
    """The n-th forward difference along ``dim`` (``torch.diff``)."""
    return _t(x).diff(n, dim, prepend, append)


# ----- order statistics -----------------------------------------------------------------------
def median(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median, of all elements or ``(values, indices)`` along ``dim``."""
    return _t(x).median(dim, keepdim)


def kthvalue(x: Any, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """``(values, indices)`` of the k-th smallest entry along ``dim`` (``torch.kthvalue``)."""
    return _t(x).kthvalue(k, dim, keepdim)


def mode(x: Any, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """``(values, indices)`` of the most frequent value along ``dim`` (``torch.mode``)."""
    return _t(x).mode(dim, keepdim)


def aminmax(x: Any, *, dim: Any = None, keepdim: bool = False) -> MinMax:
    """``(min, max)`` over ``dim`` or all elements (``torch.aminmax``)."""
    return _t(x).aminmax(dim=dim, keepdim=keepdim)


def cummax(x: Any, dim: int) -> ValuesIndices:
    """``(values, indices)`` of the running maximum along ``dim`` (``torch.cummax``)."""
    return _t(x).cummax(dim)


def cummin(x: Any, dim: int) -> ValuesIndices:
    """``(values, indices)`` of the running minimum along ``dim`` (``torch.cummin``)."""
    return _t(x).cummin(dim)


# ----- counting and scatter -------------------------------------------------------------------
def unique(
    x: Any,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct values (or slices along ``dim``), maybe with inverse and counts."""
    return _t(x).unique(sorted, return_inverse, return_counts, dim)


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Tensor:
    """Counts (or summed weights) of each value of a non-negative integer vector."""
    return _t(x).bincount(weights, minlength)


def histc(x: Any, bins: int = 100, min: Any = 0, max: Any = 0) -> Tensor:
    """A histogram of equal bins over [min, max] (``torch.histc``)."""
    return _t(x).histc(bins, min, max)


def scatter(x: Any, dim: int, index: Any, src: Any = None, *, value: Any = None) -> Tensor:
    """``x`` with ``src`` (or ``value``) written at ``index`` along ``dim``."""
    return _t(x).scatter(dim, index, src, value=value)


def scatter_add(x: Any, dim: int, index: Any, src: Any) -> Tensor:
    """``x`` plus ``src`` added at ``index`` along ``dim`` (``torch.scatter_add``)."""
    return _t(x).scatter_add(dim, index, src)


__all__ = [
    "addmm",
    "aminmax",
    "bincount",
    "bmm",
    "cummax",
    "cummin",
    "cumprod",
    "diff",
    "divide",
    "dot",
    "floor_divide",
    "ger",
    "histc",
    "kthvalue",
    "median",
    "mm",
    "mode",
    "multiply",
    "negative",
    "outer",
    "prod",
    "rsub",
    "scatter",
    "scatter_add",
    "subtract",
    "true_divide",
    "unique",
]
