"""Functions of PyTorch's namespace (numeric), with PyTorch's argument order: ``nb.einsum``,
``nb.tensordot``, ``nb.kron``, ``nb.addcmul``... Each is its method of
:mod:`nabla.tensor_numeric` (or the ``Einsum`` primitive of :mod:`nabla.ops.numeric`)."""

from __future__ import annotations

from typing import Any

from nabla.creation import as_tensor as _t
from nabla.errors import ShapeError
from nabla.tensor import Tensor
from nabla.tensor_numeric import einsum_of


def einsum(equation: str, *operands: Any) -> Tensor:
    """The sum of products over the labels of ``equation`` (``torch.einsum``; ``...`` and an
    implicit output accepted; operands may also come as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return einsum_of(equation, [_t(x) for x in operands])


def tensordot(a: Any, b: Any, dims: Any = 2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b``, or the listed pairs."""
    x, y = _t(a), _t(b)
    if isinstance(dims, int) or (hasattr(dims, "ndim") and getattr(dims, "ndim", 1) == 0):
        n = int(dims)
        if n < 0 or n > min(x.ndim, y.ndim):
            raise ShapeError(
                f"tensordot: dims {n} out of range for shapes {x.shape} and {y.shape}"
            )
        pairs = (list(range(x.ndim - n, x.ndim)), list(range(n)))
    else:
        first, second = dims
        first = [first] if isinstance(first, int) else list(first)
        second = [second] if isinstance(second, int) else list(second)
        pairs = ([d % max(x.ndim, 1) for d in first], [d % max(y.ndim, 1) for d in second])
    if len(pairs[0]) != len(pairs[1]):
        raise ShapeError(f"tensordot: both dim lists should have the same length, got {dims}")
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    left = [next(letters) for _ in range(x.ndim)]
    right = [next(letters) for _ in range(y.ndim)]
    for i, j in zip(*pairs):
        if x.shape[i] != y.shape[j]:
            raise ShapeError(
                f"tensordot: contracted dimensions need to match, but first has size "
                f"{x.shape[i]} in dim {i} and second has size {y.shape[j]} in dim {j}"
            )
        right[j] = left[i]
    out = [c for i, c in enumerate(left) if i not in pairs[0]]
    out += [c for j, c in enumerate(right) if j not in pairs[1]]
    return einsum_of("".join(left) + "," + "".join(right) + "->" + "".join(out), [x, y])


def kron(a: Any, b: Any) -> Tensor:
    """The Kronecker product (``torch.kron``)."""
    return _t(a).kron(b)


def addcmul(x: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """``x + value · tensor1 · tensor2`` (``torch.addcmul``)."""
    return _t(x).addcmul(tensor1, tensor2, value=value)


def addcdiv(x: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """``x + value · tensor1 / tensor2`` (``torch.addcdiv``)."""
    return _t(x).addcdiv(tensor1, tensor2, value=value)


def mv(x: Any, vec: Any) -> Tensor:
    """Matrix times vector (``torch.mv``)."""
    return _t(x).mv(vec)


def logit(x: Any, eps: float | None = None) -> Tensor:
    """``log(x / (1 − x))``, x clamped to [eps, 1 − eps] when eps is given (``torch.logit``)."""
    return _t(x).logit(eps)


def nansum(x: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum treating nan as 0 (``torch.nansum``)."""
    return _t(x).nansum(dim, keepdim, dtype=dtype)


def nanmean(x: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Mean over the entries that are not nan (``torch.nanmean``)."""
    return _t(x).nanmean(dim, keepdim, dtype=dtype)


def logcumsumexp(x: Any, dim: int) -> Tensor:
    """``log Σ_{j ≤ i} exp(x_j)`` along ``dim``, stably (``torch.logcumsumexp``)."""
    return _t(x).logcumsumexp(dim)


def var_mean(
    x: Any, dim: Any = None, *, correction: Any = None, keepdim: bool = False, unbiased: Any = None
) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` (``torch.var_mean``; correction 1 by default)."""
    if isinstance(dim, bool):  # torch.var_mean(x, unbiased)
        dim, unbiased = None, dim
    return _t(x).var_mean(dim, keepdim, correction=correction, unbiased=unbiased)


def std_mean(
    x: Any, dim: Any = None, *, correction: Any = None, keepdim: bool = False, unbiased: Any = None
) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` (``torch.std_mean``; correction 1 by default)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return _t(x).std_mean(dim, keepdim, correction=correction, unbiased=unbiased)


def cdist(x1: Any, x2: Any, p: float = 2.0, compute_mode: Any = None) -> Tensor:
    """The p-norm distances between the rows of ``x1`` (…, P, M) and of ``x2`` (…, R, M),
    shape (…, P, R); where a distance is 0 its gradient is 0 (``torch.cdist``)."""
    a, b = _t(x1), _t(x2)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ShapeError(
            f"cdist: x1 of shape {a.shape} and x2 of shape {b.shape} need at least 2 dims and "
            "the same last size"
        )
    if p < 0:
        raise ValueError(f"cdist: only supports non-negative p values, got {p}")
    diff = a.unsqueeze(-2) - b.unsqueeze(-3)
    return diff.norm(p, dim=-1)


def dist(a: Any, b: Any, p: float = 2) -> Tensor:
    """The p-norm of ``a − b`` (broadcast) (``torch.dist``)."""
    x: Any = _t(a) - _t(b)
    return x.norm(p)  # type: ignore[no-any-return]


def unflatten(x: Any, dim: int, sizes: Any) -> Tensor:
    """Dimension ``dim`` split into ``sizes`` (``torch.unflatten``)."""
    return _t(x).unflatten(dim, sizes)


def ravel(x: Any) -> Tensor:
    """The entries as a 1-D tensor (``torch.ravel``)."""
    return _t(x).ravel()


def index_add(x: Any, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
    """``alpha · source`` added to the slices of x at ``index`` (``torch.index_add``)."""
    return _t(x).index_add(dim, index, source, alpha=alpha)


def index_copy(x: Any, dim: int, index: Any, source: Any) -> Tensor:
    """The slices of x at ``index`` replaced by ``source`` (``torch.index_copy``)."""
    return _t(x).index_copy(dim, index, source)


def index_fill(x: Any, dim: int, index: Any, value: Any) -> Tensor:
    """The slices of x at ``index`` set to ``value`` (``torch.index_fill``)."""
    return _t(x).index_fill(dim, index, value)


__all__ = [
    "addcdiv",
    "addcmul",
    "cdist",
    "dist",
    "einsum",
    "index_add",
    "index_copy",
    "index_fill",
    "kron",
    "logcumsumexp",
    "logit",
    "mv",
    "nanmean",
    "nansum",
    "ravel",
    "std_mean",
    "tensordot",
    "unflatten",
    "var_mean",
]
