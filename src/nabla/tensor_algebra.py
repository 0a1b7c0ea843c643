"""``TensorAlgebra``: the arithmetic-method, product and order-statistic methods of Tensor
(a mixin :class:`~nabla.tensor.Tensor` inherits), with PyTorch's signatures.

* arithmetic methods: ``add``/``sub`` with ``alpha``, ``mul``, ``div`` with ``rounding_mode``,
  ``neg``, ``rsub`` and their aliases; each is the operator's op (same graph, same gradient);
* products: ``mm``, ``bmm``, ``dot``, ``outer``/``ger``, ``addmm`` (matmul with PyTorch's shape
  checks), ``prod``, ``cumprod`` (exact gradients at zeros, :mod:`nabla.ops.algebra`), ``diff``;
* order statistics: ``median``, ``mode``, ``kthvalue``, ``aminmax``, ``cummax``, ``cummin``: the
  indices are integers without gradient; the values are a gather at them, so the gradient goes
  to the chosen position (``median()`` of all elements shares it among ties, as PyTorch);
* counting (no gradient): ``unique``, ``bincount``, ``histc``;
* ``scatter`` and ``scatter_add``, differentiable in x and src.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.errors import DTypeError, ShapeError
from nabla.ops import algebra as _al
from nabla.ops import arithmetic as _ar
from nabla.ops import counting as _ct
from nabla.ops import linalg as _la
from nabla.ops import selection as _sl
from nabla.ops.reduction import ValuesIndices
from nabla.ops.shape import Concatenate, normalize_dim
from nabla.tensor_base import TensorBase
from nabla.tensor_math import no_grad_apply

if TYPE_CHECKING:
    from typing_extensions import Self

    from nabla.tensor import Tensor


def _torch_dtype(dtype: np.dtype[Any]) -> str:
    return {"float32": "float", "float64": "double", "int64": "long", "int32": "int"}.get(
        dtype.name, dtype.name
    )


class TensorAlgebra(TensorBase):
    """The algebra methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    # ----- arithmetic methods ---------------------------------------------------------------
    def _scaled(self, other: Any, alpha: Any) -> Tensor:
        if isinstance(alpha, bool) or alpha != 1:
            if self.dtype.kind in "biu" and isinstance(alpha, (float, np.floating)):
                raise TypeError(
                    "For integral input tensors, argument alpha must not be a floating point "
                    "number."
                )
            return self._lift(other) * alpha  # type: ignore[no-any-return]
        return self._lift(other)

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """``self + alpha · other`` (``torch.add``)."""
        return _ar.Add.apply(self, self._scaled(other, alpha))

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """``self − alpha · other`` (``torch.sub``)."""
        return _ar.Sub.apply(self, self._scaled(other, alpha))

    subtract = sub

    def rsub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """``other − alpha · self`` (``torch.rsub``)."""
        scaled = self if alpha == 1 else self * alpha
        return _ar.Sub.apply(self._lift(other), scaled)

    def mul(self, other: Any) -> Tensor:
        """``self ⊙ other`` (``torch.mul``)."""
        return _ar.Mul.apply(self, self._lift(other))

    multiply = mul

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """``self / other``; ``rounding_mode`` ``"trunc"`` rounds toward zero, ``"floor"``
        down (integers then stay integers; the gradient is 0), as ``torch.div``."""
        if rounding_mode is None:
            return _ar.Div.apply(self, self._lift(other))
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(
                "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                f"{rounding_mode!r}"
            )
        return _al.DivRounded.apply(self, self._lift(other), mode=rounding_mode)

    divide = div

    def floor_divide(self, other: Any) -> Tensor:
        """``self // other``: the quotient rounded down (``torch.floor_divide``, the same as
        ``div(other, rounding_mode="floor")``; its gradient is 0)."""
        return self.div(other, rounding_mode="floor")

    __floordiv__ = floor_divide

    def __rfloordiv__(self, other: Any) -> Tensor:
        """``other // self`` for a number or array ``other``."""
        return _al.DivRounded.apply(self._lift(other), self, mode="floor")

    def true_divide(self, other: Any) -> Tensor:
        """``self / other`` (``torch.true_divide``)."""
        return _ar.Div.apply(self, self._lift(other))

    def neg(self) -> Tensor:
        """``−self`` (``torch.neg``)."""
        return _ar.Neg.apply(self)

    negative = neg

    # ----- products -------------------------------------------------------------------------
    def _same_dtype(self, other: Tensor, op: str) -> None:
        if self.dtype != other.dtype:
            raise DTypeError(
                f"{op}: expected m1 and m2 to have the same dtype, but got: "
                f"{_torch_dtype(self.dtype)} != {_torch_dtype(other.dtype)}"
            )

    def mm(self, mat2: Any) -> Tensor:
        """The matrix product of two matrices (``torch.mm``)."""
        other = self._lift(mat2)
        if self.ndim != 2 or other.ndim != 2:
            raise ShapeError(
                f"mm: {'self' if self.ndim != 2 else 'mat2'} must be a matrix (self of shape "
                f"{self.shape}, mat2 of shape {other.shape})"
            )
        if self.shape[1] != other.shape[0]:
            raise ShapeError(
                f"mm: mat1 and mat2 shapes cannot be multiplied ({self.shape[0]}x"
                f"{self.shape[1]} and {other.shape[0]}x{other.shape[1]})"
            )
        self._same_dtype(other, "mm")
        return _la.MatMul.apply(self, other)

    def bmm(self, mat2: Any) -> Tensor:
        """The batched matrix product of (b, n, m) and (b, m, p) (``torch.bmm``)."""
        other = self._lift(mat2)
        for name, t in (("batch1", self), ("batch2", other)):
            if t.ndim != 3:
                raise ShapeError(f"bmm: {name} must be a 3D tensor, got shape {t.shape}")
        b, _, m = self.shape
        if other.shape[:2] != (b, m):
            raise ShapeError(
                "bmm: Expected size for first two dimensions of batch2 tensor to be: "
                f"[{b}, {m}] but got: [{other.shape[0]}, {other.shape[1]}]."
            )
        self._same_dtype(other, "bmm")
        return _la.MatMul.apply(self, other)

    def dot(self, other: Any) -> Tensor:
        """Σ xᵢ yᵢ of two vectors of one length and dtype (``torch.dot``)."""
        y = self._lift(other)
        if self.ndim != 1 or y.ndim != 1:
            raise ShapeError(
                f"dot: 1D tensors expected, but got {self.ndim}D and {y.ndim}D tensors"
            )
        if self.shape != y.shape:
            raise ShapeError(
                f"dot: inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                f"[{y.shape[0]}] to have the same number of elements"
            )
        if self.dtype != y.dtype:
            raise DTypeError(
                "dot: expected both vectors to have same dtype, but found "
                f"{_torch_dtype(self.dtype)} and {_torch_dtype(y.dtype)}"
            )
        return _la.MatMul.apply(self, y)

    def outer(self, vec2: Any) -> Tensor:
        """The outer product x yᵀ of two vectors (``torch.outer``)."""
        y = self._lift(vec2)
        for name, t in (("self", self), ("vec2", y)):
            if t.ndim != 1:
                raise ShapeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
        return _ar.Mul.apply(self.reshape(-1, 1), y.reshape(1, -1))  # type: ignore[attr-defined]

    ger = outer

    def addmm(self, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """``beta · self + alpha · (mat1 @ mat2)``, self broadcast to the product's shape;
        ``beta = 0`` ignores self (its nan and inf too), as ``torch.addmm``."""
        product: Tensor = self._lift(mat1).mm(mat2)
        try:
            shape = np.broadcast_shapes(self.shape, product.shape)
        except ValueError:
            shape = None
        if shape != product.shape:
            raise ShapeError(
                f"addmm: self of shape {self.shape} does not broadcast to the product's shape "
                f"{product.shape}"
            )
        if alpha != 1:
            product = product * alpha
        if beta == 0:  # PyTorch's rule: self is not read at all
            return product
        return product + (self if beta == 1 else self * beta)

    def prod(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Π over ``dim`` (one int) or all elements (``torch.prod``); integers and bools give
        int64. The gradient is the product of the other entries, exact where entries are 0."""
        x: Any = self if dtype is None else self.astype(dtype)  # type: ignore[attr-defined]
        if dim is None:
            flat = x.reshape(-1)
            out = _al.Prod.apply(flat, axis=0)
            return out.reshape((1,) * self.ndim) if keepdim else out
        axis = normalize_dim("prod", dim, self.ndim)
        if self.ndim == 0:
            return _al.Prod.apply(x.reshape(1), axis=0).reshape(())
        return _al.Prod.apply(x, axis=axis, keepdims=keepdim)

    def cumprod(self, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Tensor:
        """Cumulative product along ``dim`` (``torch.cumprod``; NumPy's ``axis`` accepted);
        integers and bools give int64. Its gradient needs no division: exact at zeros."""
        dim = dim if dim is not None else axis
        if dim is None:
            raise TypeError("cumprod(): missing required argument 'dim'")
        x: Any = self if dtype is None else self.astype(dtype)  # type: ignore[attr-defined]
        a = normalize_dim("cumprod", dim, self.ndim)
        if self.ndim == 0:
            return _al.CumProd.apply(x.reshape(1), axis=0).reshape(())
        return _al.CumProd.apply(x, axis=a)

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
        """The n-th forward difference ``x[1:] − x[:-1]`` along ``dim``, after joining
        ``prepend`` and ``append`` to x along it (``torch.diff``; bools give ``!=``)."""
        if self.ndim == 0:
            raise ShapeError("diff expects input to be at least one-dimensional")
        axis = normalize_dim("diff", dim, self.ndim)
        x: Any = self
        if prepend is not None or append is not None:
            before = [self._lift(prepend)] if prepend is not None else []
            after = [self._lift(append)] if append is not None else []
            x = Concatenate.apply(*before, self, *after, axis=axis)
        head = (slice(None),) * axis
        for _ in range(int(n)):
            if x.shape[axis] == 0:
                break
            later, earlier = x[(*head, slice(1, None))], x[(*head, slice(None, -1))]
            x = later != earlier if x.dtype == np.bool_ else later - earlier
        return x  # type: ignore[no-any-return]

    # ----- order statistics -----------------------------------------------------------------
    def _pick(self, op: str, dim: Any, keepdim: bool, index_op: Any, **params: Any) -> Any:
        """(values, indices) along ``dim`` from an op giving one index per slice (keepdims);
        a 0-d x is a 1-element vector."""
        x: Any = self.reshape(1) if self.ndim == 0 else self  # type: ignore[attr-defined]
        axis = normalize_dim(op, dim, self.ndim)
        if x.shape[axis] == 0:
            raise IndexError(
                f"{op}(): Expected reduction dim {axis} to have non-zero size (x has shape "
                f"{self.shape})"
            )
        indices = no_grad_apply(index_op, x, axis=axis, **params)
        values = _sl.Gather.apply(x, indices, axis=axis)
        if self.ndim == 0:
            return ValuesIndices(values.reshape(()), indices.reshape(()))
        if not keepdim:
            values, indices = values.squeeze(axis), indices.squeeze(axis)
        return ValuesIndices(values, indices)

    def median(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The lower median (the ⌊(n−1)/2⌋-th smallest; nan if there is one): of all elements
        (a tensor; the gradient is shared among entries equal to it), or along ``dim`` as
        ``(values, indices)`` (the gradient goes to the index), as ``torch.median``."""
        if dim is None:
            return _al.MedianAll.apply(self)
        return self._pick("median", dim, keepdim, _al.KthIndex, median=True)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
        """The k-th smallest entry along ``dim`` (k from 1; nan the largest) and its position,
        as ``(values, indices)`` (``torch.kthvalue``)."""
        n = self.shape[normalize_dim("kthvalue", dim, self.ndim)] if self.ndim else 1
        if not 1 <= k <= n:
            raise IndexError(
                f"kthvalue(): selected number k ({k}) out of range for dimension {dim} of size {n}"
            )
        return self._pick("kthvalue", dim, keepdim, _al.KthIndex, k=int(k))  # type: ignore[no-any-return]

    def mode(self, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
        """The most frequent value along ``dim`` (the smallest among equally frequent ones) and
        its last position, as ``(values, indices)`` (``torch.mode``)."""
        return self._pick("mode", dim, keepdim, _al.ModeIndex)  # type: ignore[no-any-return]

    def aminmax(self, *, dim: Any = None, keepdim: bool = False) -> _al.MinMax:
        """``(min, max)`` over ``dim`` (one int) or all elements, as ``torch.aminmax``; ties
        share the gradient evenly, as ``amin`` and ``amax``."""
        if self.size == 0 or (dim is not None and self.ndim and self.shape[dim] == 0):
            raise ShapeError(
                "aminmax(): cannot compute aminmax over an empty dimension as the operation "
                f"has no identity (x has shape {self.shape})"
            )
        if dim is not None:
            normalize_dim("aminmax", dim, self.ndim)
        low: Any = self.amin(dim=dim, keepdim=keepdim)  # type: ignore[attr-defined]
        high: Any = self.amax(dim=dim, keepdim=keepdim)  # type: ignore[attr-defined]
        return _al.MinMax(low, high)

    def _cumulative_extreme(self, op: str, dim: Any, largest: bool) -> ValuesIndices:
        x: Any = self.reshape(1) if self.ndim == 0 else self  # type: ignore[attr-defined]
        axis = normalize_dim(op, dim, self.ndim)
        indices = no_grad_apply(_al.CumExtremeIndex, x, axis=axis, largest=largest)
        values = _sl.Gather.apply(x, indices, axis=axis)
        if self.ndim == 0:
            return ValuesIndices(values.reshape(()), indices.reshape(()))
        return ValuesIndices(values, indices)

    def cummax(self, dim: int) -> ValuesIndices:
        """The running maximum along ``dim`` and its positions (the latest of equal values; nan
        propagates), as ``(values, indices)`` (``torch.cummax``)."""
        return self._cumulative_extreme("cummax", dim, largest=True)

    def cummin(self, dim: int) -> ValuesIndices:
        """The running minimum along ``dim`` and its positions (see :meth:`cummax`)."""
        return self._cumulative_extreme("cummin", dim, largest=False)

    # ----- counting (no gradient) -----------------------------------------------------------
    def unique(
        self,
        sorted: bool = True,
        return_inverse: bool = False,
        return_counts: bool = False,
        dim: int | None = None,
    ) -> Any:
        """The distinct values (sorted), or with ``dim`` the distinct slices along it; with
        ``return_inverse`` the position of each entry in them, with ``return_counts`` how often
        each occurs (int64, no gradient), as ``torch.unique``."""
        axis = None if dim is None else normalize_dim("unique", dim, self.ndim)
        values, inverse, counts = _ct.unique_arrays(self.data, axis)
        out = self._wrap(values)
        extra = [self._wrap(inverse)] if return_inverse else []
        if return_counts:
            extra.append(self._wrap(counts))
        return (out, *extra) if extra else out

    def bincount(self, weights: Any = None, minlength: int = 0) -> Tensor:
        """How often each value 0, 1, … occurs in a 1-D tensor of non-negative integers (with
        ``weights``: their sums), at least ``minlength`` long (``torch.bincount``)."""
        w = None if weights is None else self._lift(weights).data
        return self._wrap(_ct.bincount_array(self.data, w, int(minlength)))

    def histc(self, bins: int = 100, min: Any = 0, max: Any = 0) -> Tensor:
        """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are
        0; values outside are not counted), in x's float dtype (``torch.histc``)."""
        return self._wrap(_ct.histc_array(self.data, int(bins), min, max))

    # ----- scatter --------------------------------------------------------------------------
    def _scatter_operands(self, op: str, index: Any, src: Any, value: Any) -> tuple[Any, Any]:
        """index and src as tensors; a number (``value``) becomes a constant src."""
        if (src is None) == (value is None):
            raise TypeError(f"{op}(): expected exactly one of src and value")
        i = self._lift(index)
        if src is None or not isinstance(src, TensorBase):
            s: Any = self._wrap(np.full(i.shape, value if src is None else src, self.dtype))
        elif src.dtype != self.dtype:
            raise DTypeError(
                f"{op}(): Expected self.dtype to be equal to src.dtype (got {self.dtype} and "
                f"{src.dtype})"
            )
        else:
            s = src
        return i, s

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None) -> Tensor:
        """x with ``src``'s entries (or ``value``) written at ``index`` along ``dim``
        (``torch.scatter``). The gradient of x is 0 where written; src's is g at index."""
        i, s = self._scatter_operands("scatter", index, src, value)
        return _ScatterInto(_al.Scatter, i, dim).apply(self, s)

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        """x plus ``src``'s entries added at ``index`` along ``dim``, repeats adding up
        (``torch.scatter_add``)."""
        i, s = self._scatter_operands("scatter_add", index, src, None)
        return _ScatterInto(_al.ScatterAdd, i, dim).apply(self, s)

    def scatter_(self, dim: int, index: Any, src: Any = None, *, value: Any = None) -> Self:
        """:meth:`scatter` in place (recorded as ``add_`` is: the old values take this
        tensor's place in the graph)."""
        i, s = self._scatter_operands("scatter_", index, src, value)
        return self._in_place("scatter_", _ScatterInto(_al.Scatter, i, dim), s)  # type: ignore[attr-defined, no-any-return]

    def scatter_add_(self, dim: int, index: Any, src: Any) -> Self:
        """:meth:`scatter_add` in place."""
        i, s = self._scatter_operands("scatter_add_", index, src, None)
        return self._in_place("scatter_add_", _ScatterInto(_al.ScatterAdd, i, dim), s)  # type: ignore[attr-defined, no-any-return]


class _ScatterInto:
    """A scatter at a fixed index and dim as a binary op ``apply(x, src)``: what the in-place
    machinery of :mod:`nabla.tensor_inplace` calls (a 0-d x is a 1-element vector)."""

    def __init__(self, op: Any, index: Tensor, dim: int) -> None:
        self.op, self.index, self.dim = op, index, dim

    def apply(self, x: Any, src: Any) -> Tensor:
        axis = normalize_dim(self.op.name, self.dim, x.ndim)
        if x.ndim == 0:
            out = self.op.apply(x.reshape(1), src.reshape(-1), self.index.reshape(-1), axis=0)
            return out.reshape(())  # type: ignore[no-any-return]
        return self.op.apply(x, src, self.index, axis=axis)  # type: ignore[no-any-return]
