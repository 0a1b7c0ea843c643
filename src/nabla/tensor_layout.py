"""``TensorLayout``: the layout and construction methods of :class:`~nabla.tensor.Tensor` (a
mixin it inherits), with PyTorch's signatures.

* shapes of another tensor: ``view_as``, ``reshape_as``, ``expand_as``, ``type_as``;
* moving entries: ``flip``, ``fliplr``, ``flipud``, ``roll``, ``unbind``, ``narrow``,
  ``movedim``/``moveaxis``, ``swapdims``, ``tile``, ``sum_to_size``;
* triangles and diagonals: ``tril``, ``triu``, ``diag``, ``diagonal``, ``trace``.

New tensors like this one, ``stride`` and the in-place shape changes are in
:mod:`nabla.tensor_memory`.

Most are compositions of the ops of :mod:`nabla.ops.shape` (``narrow`` and ``unbind`` are basic
indexing, views as in PyTorch; ``movedim`` a permute; ``tile`` a ``repeat``); ``tril``/``triu``
are a :class:`~nabla.ops.elementwise.Where` (a select, so the gradient of the zeroed entries is
exactly 0); ``flip``, ``roll`` and ``diagonal`` have their own rules in :mod:`nabla.ops.layout`.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from nabla.errors import DTypeError, ShapeError
from nabla.ops import elementwise as _el
from nabla.ops import layout as _ly
from nabla.ops import shape as _sh
from nabla.ops.shape import normalize_dim
from nabla.tensor_base import TensorBase

if TYPE_CHECKING:
    from nabla.tensor import Tensor


class TensorLayout(TensorBase):
    """The layout and construction methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    def _me(self) -> Tensor:
        return cast("Tensor", self)

    # ----- the shape or dtype of another tensor -------------------------------------------------
    def view_as(self, other: Any) -> Tensor:
        """This tensor viewed with ``other``'s shape (``x.view(other.size())``)."""
        return self._as("view_as", other)

    def reshape_as(self, other: Any) -> Tensor:
        """This tensor reshaped to ``other``'s shape (``x.reshape(other.size())``)."""
        return self._as("reshape_as", other)

    def _as(self, op: str, other: Any) -> Tensor:
        try:
            return self._me().reshape(other.shape)
        except ShapeError:
            raise ShapeError(
                f"{op}: cannot reshape x of shape {self.shape} ({self.data.size} elements) to "
                f"the shape {other.shape} of other"
            ) from None

    def expand_as(self, other: Any) -> Tensor:
        """This tensor broadcast to ``other``'s shape (a view; the gradient sums the copies)."""
        try:
            return self._me().expand(other.shape)
        except ShapeError:
            raise ShapeError(
                f"expand_as: cannot expand x of shape {self.shape} to the shape {other.shape} "
                "of other"
            ) from None

    def type_as(self, other: Any) -> Tensor:
        """This tensor cast to ``other``'s dtype (itself when it already has it; a cast
        between floating dtypes carries the gradient back, as ``to(dtype)``)."""
        return self._me().astype(other.dtype)

    # ----- moving entries ----------------------------------------------------------------------
    def flip(self, *dims: Any) -> Tensor:
        """The entries in reverse order along ``dims`` (ints or one sequence), a copy
        (``torch.flip``); the gradient is flipped back."""
        axes = [normalize_dim("flip", d, self.ndim) for d in dims_arg(dims)]
        for d in axes:
            if axes.count(d) > 1:
                raise ValueError(f"flip: dim {d} appears multiple times in the list of dims")
        axes = axes if self.ndim else []
        return _ly.Flip.apply(self, axes=tuple(axes))

    def fliplr(self) -> Tensor:
        """The columns (dim 1) in reverse order; the tensor must be at least 2-D."""
        if self.ndim < 2:
            raise ShapeError(f"fliplr: input must be >= 2-d, got x of shape {self.shape}")
        return self.flip(1)

    def flipud(self) -> Tensor:
        """The rows (dim 0) in reverse order; the tensor must be at least 1-D."""
        if self.ndim < 1:
            raise ShapeError(f"flipud: input must be >= 1-d, got x of shape {self.shape}")
        return self.flip(0)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        """The entries shifted cyclically by ``shifts`` along ``dims`` (ints or sequences of
        the same length); without ``dims``, over all entries in row-major order, the shape kept
        (``torch.roll``). The gradient is rolled back."""
        shift_list = [int(s) for s in _as_list(shifts)]
        dim_list = None if dims is None else _as_list(dims)
        if not shift_list:
            raise ValueError("roll: `shifts` required")
        if len(shift_list) != (1 if dim_list is None else len(dim_list)):
            raise ValueError(
                f"roll: shifts and dimensions must align. shifts: {len(shift_list)}, dims: "
                f"{0 if dim_list is None else len(dim_list)}"
            )
        if dim_list is None:
            return _ly.Roll.apply(self, shifts=tuple(shift_list), axes=None)
        if self.ndim == 0:
            raise IndexError(f"roll: dimension specified as {dim_list[0]} but x is 0-d")
        axes = tuple(normalize_dim("roll", d, self.ndim) for d in dim_list)
        return _ly.Roll.apply(self, shifts=tuple(shift_list), axes=axes)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along ``dim``, that dim removed: views, each carrying its gradient back
        (``torch.unbind``)."""
        if self.ndim == 0:
            raise IndexError(f"unbind: dimension specified as {dim} but x is 0-d")
        axis = normalize_dim("unbind", dim, self.ndim)
        head = (slice(None),) * axis
        me = self._me()
        return tuple(me[(*head, i)] for i in range(self.shape[axis]))

    def narrow(self, dim: int, start: Any, length: int) -> Tensor:
        """The ``length`` entries from ``start`` (negative: from the end) along ``dim``, a view
        (``torch.narrow``)."""
        if self.ndim == 0:
            raise ShapeError("narrow() cannot be applied to a 0-dim tensor")
        axis = normalize_dim("narrow", dim, self.ndim)
        start = int(start.data if isinstance(start, TensorBase) else start)
        n = self.shape[axis]
        if not -n <= start <= n:
            raise IndexError(
                f"narrow: start out of range (expected to be in range of [{-n}, {n}], but got "
                f"{start}) for dim {dim} of x of shape {self.shape}"
            )
        start = start + n if start < 0 else start
        if length < 0:
            raise ValueError(f"narrow(): length must be non-negative, got {length}")
        if start + length > n:
            raise ShapeError(
                f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n}) "
                f"of dim {dim} of x of shape {self.shape}"
            )
        return self._me()[(slice(None),) * axis + (slice(start, start + length),)]

    def movedim(self, source: Any, destination: Any) -> Tensor:
        """The dims ``source`` moved to the positions ``destination`` (ints or sequences of the
        same length), the other dims kept in order (``torch.movedim``)."""
        src, dst = _as_list(source), _as_list(destination)
        if len(src) != len(dst):
            raise ShapeError(
                f"movedim: Invalid source or destination dims: source ({src} dims) should "
                f"contain the same number of dims as destination ({dst} dims)"
            )
        src = [normalize_dim("movedim", d, self.ndim) for d in src]
        dst = [normalize_dim("movedim", d, self.ndim) for d in dst]
        for name, dims, given in (("source", src, source), ("destination", dst, destination)):
            if len(set(dims)) != len(dims):
                raise ValueError(f"movedim: repeated dim in `{name}` ({_as_list(given)})")
        if self.ndim == 0:
            return self._me()
        order: list[int | None] = [None] * self.ndim
        for s, d in zip(src, dst):
            order[d] = s
        rest = iter(d for d in range(self.ndim) if d not in src)
        axes = tuple(next(rest) if o is None else o for o in order)
        return _sh.Permute.apply(self, axes=axes)

    moveaxis = movedim

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        """The two dims swapped (``torch.swapdims``, an alias of ``transpose(dim0, dim1)``)."""
        return self._me().swapaxes(dim0, dim1)

    def tile(self, *dims: Any) -> Tensor:
        """The tensor repeated ``dims[i]`` times along dim i, ``dims`` padded with leading 1s
        when shorter than the tensor's dims (``torch.tile``); a copy, the gradient sums the
        copies."""
        reps = tuple(int(r) for r in dims_arg(dims))
        if builtins.any(r < 0 for r in reps):
            raise ValueError(
                f"tile: negative repetition in dims {reps} for x of shape {self.shape}"
            )
        reps = (1,) * (self.ndim - len(reps)) + reps
        out = self._me().repeat(reps)
        if np.may_share_memory(out.data, self.data):  # repeat by ones: a view, tile copies
            out = out.clone()
        return out

    def sum_to_size(self, *size: Any) -> Tensor:
        """The sum of this tensor down to ``size``, a shape that broadcasts to this tensor's
        (the reverse of ``expand``; itself when the shapes are equal)."""
        shape = size_arg("sum_to_size", size)
        lead = self.ndim - len(shape)
        if lead < 0 or builtins.any(
            n not in (1, m) for n, m in zip(shape, self.shape[builtins.max(lead, 0) :])
        ):
            raise ShapeError(
                f"sum_to_size: size {list(shape)} is not expandable to the shape "
                f"{list(self.shape)} of x"
            )
        if shape == self.shape:
            return self._me()
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1 and self.shape[lead + i] != 1
        )
        return self._me().sum(axis=axes, keepdims=True).reshape(shape)

    # ----- triangles and diagonals -------------------------------------------------------------
    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dims: entries with col - row <= ``diagonal``
        kept, the others 0 (``torch.tril``); the zeroed entries get gradient 0 (a select)."""
        return self._triangle("tril", lambda offset: offset <= diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dims: entries with col - row >= ``diagonal``
        kept, the others 0 (``torch.triu``)."""
        return self._triangle("triu", lambda offset: offset >= diagonal)

    def _triangle(self, op: str, keep: Any) -> Tensor:
        if self.ndim < 2:
            raise ShapeError(
                f"{op}: input tensor must have at least 2 dimensions, got x of shape {self.shape}"
            )
        rows, cols = self.shape[-2:]
        mask = keep(np.arange(cols)[None, :] - np.arange(rows)[:, None])
        zero = np.zeros((), dtype=self.dtype)
        return _el.Where.apply(self._wrap(mask), self, self._wrap(zero))

    def diag(self, diagonal: int = 0) -> Tensor:
        """A vector placed on the ``diagonal``-th diagonal of a square zero matrix, or the
        ``diagonal``-th diagonal of a matrix as a vector (a copy), as ``torch.diag``."""
        k = int(diagonal)
        if self.ndim == 1:
            n = self.shape[0]
            m = n + abs(k)
            index = _diagonal_positions(n, k)
            return _sh.IndexAdd.apply(self, shape=(m, m), index=index)
        if self.ndim == 2:
            rows, cols = self.shape
            length = builtins.max(
                0, builtins.min(rows + builtins.min(k, 0), cols - builtins.max(k, 0))
            )
            return _sh.GetItem.apply(self, index=_diagonal_positions(length, k))
        raise ShapeError(
            f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D (x of shape {self.shape})"
        )

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The ``offset``-th diagonal of the dims ``dim1`` and ``dim2``, as a new last dim: a
        view that writes through (``torch.diagonal``)."""
        axis1 = normalize_dim("diagonal", dim1, self.ndim)
        axis2 = normalize_dim("diagonal", dim2, self.ndim)
        if axis1 == axis2:
            raise ValueError(
                f"diagonal: diagonal dimensions cannot be identical {dim1}, {dim2} (x of shape "
                f"{self.shape})"
            )
        return _ly.Diagonal.apply(self, offset=int(offset), axis1=axis1, axis2=axis2)

    def trace(self) -> Tensor:
        """The sum of the main diagonal of a matrix (integers sum as int64, as ``torch.trace``)."""
        if self.ndim != 2:
            raise ShapeError(
                f"trace: expected a matrix, but got tensor with dim {self.ndim} (x of shape "
                f"{self.shape})"
            )
        if self.dtype == np.bool_:
            raise DTypeError("trace: not implemented for dtype bool")
        return self.diagonal().sum()


def _diagonal_positions(length: int, k: int) -> tuple[Any, Any]:
    """The (rows, cols) of the first ``length`` entries of the ``k``-th diagonal, read-only."""
    rows = np.arange(length) + builtins.max(-k, 0)
    cols = np.arange(length) + builtins.max(k, 0)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def _as_list(value: Any) -> list[Any]:
    """An int or a sequence of ints, as a list."""
    if isinstance(value, (tuple, list)):
        return list(value)
    if isinstance(value, TensorBase):
        return [int(v) for v in np.ravel(value.data)]
    return [value]


def dims_arg(args: Sequence[Any]) -> tuple[Any, ...]:
    """Dims given as ints (``0, 1``) or as one sequence (``(0, 1)``), as a tuple."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def size_arg(op: str, args: Sequence[Any]) -> tuple[int, ...]:
    """A size given as ints or as one sequence, as a tuple of non-negative ints."""
    size = dims_arg(args)
    for n in size:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{op}(): size must be a tuple of ints, got {size!r}")
    shape = tuple(int(n) for n in size)
    if builtins.any(n < 0 for n in shape):
        raise ValueError(
            f"{op}: trying to create a tensor with negative dimension {builtins.min(shape)}: "
            f"{list(shape)}"
        )
    return shape
