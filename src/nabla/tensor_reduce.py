"""``TensorReductions``: the reductions of :class:`~nabla.tensor.Tensor` (a mixin it inherits).

Each method takes NumPy's ``axis``/``keepdims`` and PyTorch's ``dim``/``keepdim`` alike and
calls one ``Function`` from :mod:`nabla.ops.reduction`; ``nabla.functional`` offers the same
reductions as functions (``nb.sum(x)`` is ``x.sum()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.ops import elementwise as _el
from nabla.ops import reduction as _rd
from nabla.tensor_base import TensorBase
from nabla.tensor_math import no_grad_apply

if TYPE_CHECKING:
    from nabla.tensor import Tensor


class TensorReductions(TensorBase):
    """Sums, means, extrema, spreads and arg-extrema of ``Tensor``."""

    __slots__ = ()

    def sum(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
    ) -> Tensor:
        """Σ over ``axis`` (an int, a tuple, or None for all elements)."""
        return _rd.Sum.apply(self, axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def mean(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
    ) -> Tensor:
        """The mean over ``axis`` (floating point tensors only, as PyTorch)."""
        if self.data.dtype.kind not in "fc":
            raise TypeError(f"mean: input dtype should be floating point, got {self.data.dtype}")
        return _rd.Mean.apply(self, axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def max(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
    ) -> Any:
        """The maximum: over all elements (a tensor; ties share the gradient, as ``amax``), or
        along one axis as PyTorch's named pair ``(values, indices)`` (int64 indices; the
        gradient goes to the returned index only).

        >>> import nabla as nb
        >>> values, indices = nb.tensor([[1.0, 3.0], [4.0, 2.0]]).max(1)
        >>> indices
        tensor([1, 0])
        """
        return self._extremum("max", _axis(axis, dim), keepdims or keepdim)

    def min(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
    ) -> Any:
        """The minimum: over all elements (a tensor, as ``amin``), or along one axis as the
        named pair ``(values, indices)`` (see :meth:`max`)."""
        return self._extremum("min", _axis(axis, dim), keepdims or keepdim)

    def _extremum(self, name: str, axis: Any, keepdims: bool) -> Any:
        if isinstance(axis, TensorBase):  # torch.max(x, other): the elementwise maximum
            op = _el.Maximum if name == "max" else _el.Minimum
            return op.apply(self, axis)
        if axis is None:
            whole = _rd.Max if name == "max" else _rd.Min
            return whole.apply(self, keepdims=keepdims, select=True)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(
                f"{name}: dim must be one int (the result is values and indices), got "
                f"{axis!r}; use a{name} to reduce several axes"
            )
        axis = int(axis)
        if self.ndim and self.shape[_rd.normalize_axis(axis, self.ndim, name)[0]] == 0:
            raise IndexError(
                f"{name}: expected reduction dim {axis} to have non-zero size, x has shape "
                f"{self.shape}"
            )
        # the indices are integers: they carry no gradient (nor requires_grad)
        arg = _rd.ArgMax if name == "max" else _rd.ArgMin
        indices = no_grad_apply(arg, self, axis=axis, keepdims=keepdims)
        values = _rd.TakeAlongAxis.apply(self, indices, axis=axis, keepdims=keepdims)
        return _rd.ValuesIndices(values, indices)

    def amax(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
    ) -> Tensor:
        """Maximum values over axes (values only; ties share the gradient evenly)."""
        return _rd.Max.apply(self, axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def amin(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
    ) -> Tensor:
        """Minimum values over axes (values only; ties share the gradient evenly)."""
        return _rd.Min.apply(self, axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def var(
        self,
        axis: Any = None,
        keepdims: bool = False,
        *,
        correction: float | None = None,
        ddof: float | None = None,
        unbiased: bool | None = None,
        dim: Any = None,
        keepdim: bool = False,
    ) -> Tensor:
        """Variance Σ(x − mean)² / (n − correction); correction defaults to 1 (PyTorch).

        ``ddof`` (NumPy) and ``unbiased`` (older PyTorch) are accepted as aliases of
        ``correction``. Float32 and float16 inputs are accumulated in float64 (as PyTorch), so
        values near 1e30 do not overflow on the way.
        """
        correction = _correction(correction, ddof, unbiased)
        return self._spread(_rd.Var, _axis(axis, dim), keepdims or keepdim, correction)

    def std(
        self,
        axis: Any = None,
        keepdims: bool = False,
        *,
        correction: float | None = None,
        ddof: float | None = None,
        unbiased: bool | None = None,
        dim: Any = None,
        keepdim: bool = False,
    ) -> Tensor:
        """Standard deviation √var (same arguments as :meth:`var`); where it is 0 (a constant
        slice) the gradient is 0, as PyTorch's."""
        correction = _correction(correction, ddof, unbiased)
        return self._spread(_rd.Std, _axis(axis, dim), keepdims or keepdim, correction)

    def _spread(self, op: Any, axis: Any, keepdims: bool, correction: float) -> Tensor:
        if self.data.dtype.kind != "f":
            raise TypeError(
                f"{op.name}: input dtype should be floating point, got {self.data.dtype}"
            )
        return op.apply(self, axis=axis, keepdims=keepdims, correction=correction)  # type: ignore[no-any-return]

    def logsumexp(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
    ) -> Tensor:
        """log Σ exp(x) over axes, computed stably."""
        return _rd.LogSumExp.apply(self, axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def argmax(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
    ) -> Tensor:
        """Indices of the maxima (int64, no gradient): along one axis, or into the flattened
        tensor when ``axis`` is None. An op, so a compiled step computes them on every call."""
        return _indices(_rd.ArgMax, self, _axis(axis, dim), keepdims or keepdim)

    def argmin(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False
    ) -> Tensor:
        """Indices of the minima (int64, no gradient); see :meth:`argmax`."""
        return _indices(_rd.ArgMin, self, _axis(axis, dim), keepdims or keepdim)


def _axis(axis: Any, dim: Any) -> Any:
    """PyTorch's ``dim`` when given, else NumPy's ``axis``."""
    return dim if dim is not None else axis


def _correction(correction: float | None, ddof: float | None, unbiased: bool | None) -> float:
    if correction is not None:
        return correction
    return ddof if ddof is not None else (0 if unbiased is False else 1)


def _indices(op: Any, x: Any, axis: Any, keepdims: bool) -> Tensor:
    # integers: no gradient, and the result never requires grad
    return no_grad_apply(op, x, axis=None if axis is None else int(axis), keepdims=keepdims)
