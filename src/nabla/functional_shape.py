"""The shape functions of :mod:`nabla.functional`: reshape, permute, cat, stack, indexing, casts.

A function of one tensor is its method (``nb.reshape(x, (2, 3))`` is ``x.reshape(2, 3)``, written
in :mod:`nabla.tensor_shape`); ``concatenate`` and ``stack`` check their operands' shapes here
and call their op.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nabla.creation import as_tensor as _t
from nabla.errors import ShapeError
from nabla.ops import shape as sh
from nabla.tensor import Tensor


def reshape(x: Any, shape: Sequence[int] | int) -> Tensor:
    """The same values in a new shape (one dimension may be -1: inferred)."""
    return _t(x).reshape((shape,) if isinstance(shape, (int, np.integer)) else tuple(shape))


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the dimensions ``start_dim … end_dim`` into one."""
    return _t(x).flatten(start_dim, end_dim)


def permute(x: Any, axes: Sequence[int] | None = None, *, dims: Any = None) -> Tensor:
    """Reorder the axes (reverse them when ``axes`` is None)."""
    axes = dims if dims is not None else axes
    return sh.Permute.apply(_t(x), axes=None if axes is None else tuple(axes))


def transpose(x: Any, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap exactly two axes (PyTorch's ``transpose``), for tensors of any number of dims."""
    return _t(x).swapaxes(dim0, dim1)


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """``x`` repeated to ``shape`` (NumPy's broadcasting rules)."""
    return _t(x).broadcast_to(tuple(shape))


def squeeze(x: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """Remove axes of length 1: all of them, or those among ``axis`` (an int or a tuple);
    axes named that are not of length 1 are left alone (PyTorch)."""
    return _t(x).squeeze(axis, dim=dim)


def unsqueeze(x: Any, axis: int, *, dim: int | None = None) -> Tensor:
    """Insert an axis of length 1 at ``axis`` (``-ndim-1 … ndim``, as PyTorch)."""
    return _t(x).unsqueeze(axis, dim=dim)


expand_dims = unsqueeze


def concatenate(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (sizes must match on the others)."""
    if len(tensors) == 0:
        raise ValueError("concatenate: need at least one tensor")
    ts = [_t(t) for t in tensors]
    if ts[0].ndim == 0:
        raise ShapeError("concatenate: 0-d tensors cannot be concatenated (use stack)")
    axis = sh.normalize_dim("concatenate", axis if dim is None else dim, ts[0].ndim)
    first = ts[0].shape
    for t in ts[1:]:
        if t.ndim != len(first) or any(
            n != m for i, (n, m) in enumerate(zip(t.shape, first)) if i != axis
        ):
            shapes = ", ".join(str(u.shape) for u in ts)
            raise ShapeError(
                f"concatenate: sizes must match except along dim {axis}, got shapes {shapes}"
            )
    return sh.Concatenate.apply(*ts, axis=axis)


cat = concatenate


def stack(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors of one shape along a new axis."""
    if len(tensors) == 0:
        raise ValueError("stack: need at least one tensor")
    ts = [_t(t) for t in tensors]
    if len({t.shape for t in ts}) != 1:
        shapes = ", ".join(str(t.shape) for t in ts)
        raise ShapeError(f"stack: all tensors must have the same shape, got {shapes}")
    axis = sh.normalize_dim("stack", axis if dim is None else dim, ts[0].ndim, new_axis=True)
    return sh.Stack.apply(*ts, axis=axis)


def split(
    x: Any, split_size_or_sections: Any, axis: int = 0, *, dim: int | None = None
) -> list[Tensor]:
    """Split into chunks of a given size (int) or of the given sizes (list), as PyTorch."""
    return _t(x).split(split_size_or_sections, axis, dim=dim)


def getitem(x: Any, index: Any) -> Tensor:
    """x[index] for slices, integers, integer arrays and boolean masks."""
    return _t(x)[index]


def cast(x: Any, dtype: Any) -> Tensor:
    """``x`` as ``dtype`` (see :meth:`Tensor.astype <nabla.tensor_shape.TensorShape.astype>`)."""
    return _t(x).astype(dtype)


def clone(x: Any) -> Tensor:
    """A copy that stays in the graph (gradient passes through unchanged)."""
    return _t(x).clone()


def detach(x: Any) -> Tensor:
    """A new leaf sharing the data, cut from the graph."""
    return _t(x).detach()
