"""``TensorShape``: reshaping, indexing and casting :class:`~nabla.tensor.Tensor` (a mixin it
inherits).

Each method calls a ``Function`` from :mod:`nabla.ops.shape`. Shapes may be given as separate
ints or as one sequence (``x.reshape(2, 3)`` or ``x.reshape((2, 3))``), as PyTorch;
``nabla.functional`` offers the same operations as functions.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.device import CPU, names_an_index, to_arguments
from nabla.device import device as Device
from nabla.errors import ShapeError
from nabla.ops import arithmetic as _ar
from nabla.ops import shape as _sh
from nabla.tensor_base import TensorBase

if TYPE_CHECKING:
    from nabla.tensor import Tensor


class TensorShape(TensorBase):
    """Shape, indexing and dtype methods of ``Tensor``."""

    __slots__ = ()

    # ----- shape ------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        """The same values in a new shape (one dimension may be -1: inferred)."""
        new_shape = _shape_arg(shape)
        try:
            return _sh.Reshape.apply(self, shape=new_shape)
        except ShapeError:
            raise
        except ValueError as exc:
            raise ShapeError(
                f"reshape: cannot reshape x of shape {self.shape} into {new_shape}"
            ) from exc

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge the dimensions ``start_dim … end_dim`` into one."""
        start = _sh.normalize_dim("flatten", start_dim, self.ndim)
        end = _sh.normalize_dim("flatten", end_dim, self.ndim)
        if start > end:
            raise ValueError(
                f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a "
                f"{self.ndim}-D tensor"
            )
        if self.ndim == 0:
            return self.reshape(1)
        shape = self.shape
        size = int(np.prod(shape[start : end + 1]))
        return self.reshape(shape[:start] + (size,) + shape[end + 1 :])

    def transpose(self, *axes: Any) -> Tensor:
        """``transpose(dim0, dim1)`` swaps exactly those two axes (PyTorch), whatever the
        number of dims; no argument reverses the axes and a tuple is a full permutation
        (NumPy)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            return _sh.Permute.apply(self, axes=tuple(axes[0]))
        if len(axes) == 2:
            return self.swapaxes(axes[0], axes[1])
        return _sh.Permute.apply(self, axes=tuple(axes) if axes else None)

    def permute(self, *axes: Any) -> Tensor:
        """Reorder the axes: ``x.permute(2, 0, 1)`` or ``x.permute((2, 0, 1))``."""
        return _sh.Permute.apply(self, axes=_shape_arg(axes))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Swap exactly two axes (PyTorch's ``transpose(dim0, dim1)``), for any number of dims."""
        if self.ndim == 0:  # PyTorch: a 0-d tensor accepts dims -1 and 0 and is returned as is
            _sh.normalize_dim("transpose", axis1, 0)
            _sh.normalize_dim("transpose", axis2, 0)
            return self  # type: ignore[return-value]
        axes = list(range(self.ndim))
        d0 = _sh.normalize_dim("transpose", axis1, self.ndim)
        d1 = _sh.normalize_dim("transpose", axis2, self.ndim)
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return _sh.Permute.apply(self, axes=tuple(axes))

    @property
    def T(self) -> Tensor:
        """The axes reversed."""
        return _sh.Permute.apply(self, axes=None)

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped (a batch of transposed matrices)."""
        return self.swapaxes(-1, -2)

    def squeeze(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        """Remove axes of length 1: all of them, or those among ``axis`` (an int or a tuple);
        axes named that are not of length 1 are left alone (PyTorch)."""
        axis = axis if dim is None else dim
        shape = self.shape
        if axis is None:
            axes = tuple(i for i, n in enumerate(shape) if n == 1)
        else:
            named = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
            axes = tuple(_sh.normalize_dim("squeeze", a, self.ndim) for a in named)
            axes = tuple(a for a in axes if self.ndim and shape[a] == 1)
        return self.reshape(tuple(n for i, n in enumerate(shape) if i not in axes))

    def unsqueeze(self, axis: int, *, dim: int | None = None) -> Tensor:
        """Insert an axis of length 1 at ``axis`` (``-ndim-1 … ndim``, as PyTorch)."""
        axis = _sh.normalize_dim(
            "unsqueeze", axis if dim is None else dim, self.ndim, new_axis=True
        )
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def broadcast_to(self, *shape: Any) -> Tensor:
        """A view repeated to ``shape`` (NumPy's broadcasting rules)."""
        new_shape = _shape_arg(shape)
        if self.shape == new_shape:
            return self  # type: ignore[return-value]
        try:
            return _sh.BroadcastTo.apply(self, shape=new_shape)
        except ShapeError:
            raise
        except ValueError as exc:
            raise ShapeError(
                f"broadcast_to: cannot broadcast x of shape {self.shape} to {new_shape}"
            ) from exc

    expand = broadcast_to

    def split(
        self, split_size_or_sections: Any, axis: int = 0, *, dim: int | None = None
    ) -> list[Tensor]:
        """Split into chunks of a given size (int) or of the given sizes (list), as PyTorch."""
        axis = _sh.normalize_dim("split", axis if dim is None else dim, self.ndim)
        if self.ndim == 0:
            raise ValueError("split: a 0-d tensor cannot be split")
        n = self.shape[axis]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size <= 0:
                raise ValueError(f"split: split size must be positive, got {size}")
            sizes = [builtins.min(size, n - i) for i in range(0, n, size)] or [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if builtins.sum(sizes) != n:
                raise ShapeError(f"split: sizes {sizes} do not add up to {n} along axis {axis}")
        head = (slice(None),) * axis
        out, start = [], 0
        for s in sizes:
            out.append(self[(*head, slice(start, start + s))])
            start += s
        return out

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """Up to ``chunks`` pieces of equal size ``ceil(n / chunks)`` along ``dim``, the last
        smaller (fewer pieces when they run out), as ``torch.chunk``."""
        if chunks <= 0:
            raise ValueError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        if self.ndim == 0:
            raise ValueError("chunk expects at least a 1-dimensional tensor")
        n = self.shape[_sh.normalize_dim("chunk", dim, self.ndim)]
        if n == 0:  # PyTorch: `chunks` empty pieces
            return tuple(self.split([0] * chunks, dim))
        return tuple(self.split(-(-n // chunks), dim))

    def repeat(self, *sizes: Any) -> Tensor:
        """The tensor tiled ``sizes[i]`` times along dim i (extra leading sizes add dims), as
        ``torch.repeat``: a broadcast of interleaved size-1 axes, so the gradient sums copies."""
        reps = _shape_arg(sizes)
        if len(reps) < self.ndim:
            raise ValueError(
                f"repeat: number of repeat dims ({len(reps)}) can not be smaller than the "
                f"number of dims of the tensor ({self.ndim})"
            )
        shape = (1,) * (len(reps) - self.ndim) + self.shape
        spread = [n for s in shape for n in (1, s)]
        tiled = [n for r, s in zip(reps, shape) for n in (r, s)]
        out = self.reshape(spread).broadcast_to(tiled)
        return out.reshape(tuple(r * s for r, s in zip(reps, shape)))

    def t(self) -> Tensor:
        """A matrix transposed; a vector or a 0-d tensor as it is (``torch.t``: at most 2-D)."""
        if self.ndim > 2:
            raise ShapeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D"
            )
        return self.T

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """Itself when its values are laid out row by row, else such a copy (in the graph)."""
        if self.data.flags.c_contiguous:
            return self  # type: ignore[return-value]
        return _sh.Contiguous.apply(self)

    def is_contiguous(self, memory_format: Any = None) -> builtins.bool:
        """Whether the values are laid out row by row (C order)."""
        return builtins.bool(self.data.flags.c_contiguous)

    # ----- indexing ---------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> Tensor:
        """``x[index]`` for slices, integers, integer arrays and boolean masks."""
        idx = normalize_index(index)
        try:
            return _sh.GetItem.apply(self, index=idx)
        except IndexError as exc:
            raise IndexError(
                f"getitem: index {index!r} on a tensor of shape {self.shape}: {exc}"
            ) from None

    # ----- dtype and copies -------------------------------------------------------------------
    def astype(self, dtype: Any) -> Tensor:
        """The values cast to ``dtype`` (itself when it already has it); a cast to an integer
        dtype carries no gradient."""
        dtype = np.dtype(dtype)
        if self.data.dtype == dtype:
            return self  # type: ignore[return-value]
        if dtype.kind not in "fc" and self.requires_grad:
            return self._wrap(self.data.astype(dtype))  # an integer copy carries no gradient
        return _sh.Cast.apply(self, dtype=dtype)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """This tensor with another dtype or device, as PyTorch's ``Tensor.to``.

        ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (other's dtype and
        device), each also with ``non_blocking=`` (ignored) and ``copy=``. The device is the
        CPU (``"cpu"``, ``"cpu:0"``, ``nb.device("cpu")``); any other raises
        :class:`~nabla.device.DeviceError`. When nothing changes and ``copy`` is False the
        result is this tensor itself; ``copy=True`` gives a copy in the graph (as ``clone``).
        A cast between floating dtypes carries the gradient back (cast to this tensor's dtype);
        one to an integer or bool dtype does not. A device with an index (``"cpu:0"``) is
        another device than the tensor's ``device("cpu")``: as in PyTorch, the result is a
        copy.
        """
        dtype, copy = _to_arguments(self, args, kwargs)
        if dtype is None or dtype == self.data.dtype:
            return self.clone() if copy else self  # type: ignore[return-value]
        return self.astype(dtype)

    def cpu(self) -> Tensor:
        """This tensor (nabla's tensors are on the CPU)."""
        return self  # type: ignore[return-value]

    def cuda(self, device: Any = None, non_blocking: builtins.bool = False) -> Tensor:
        """Refused: nabla runs on the CPU only (:class:`~nabla.device.DeviceError`)."""
        Device("cuda" if device is None else device)
        raise AssertionError("unreachable: nb.device refuses every device but the CPU")

    @property
    def device(self) -> Device:
        """Where the values live: always ``nb.device("cpu")``."""
        return CPU

    @property
    def is_cuda(self) -> builtins.bool:
        """False: nabla's tensors are on the CPU."""
        return False

    def type(self, dtype: Any = None, non_blocking: builtins.bool = False) -> Any:
        """Without ``dtype``, the tensor type's name as PyTorch writes it under nabla's name
        (``"nabla.FloatTensor"``, ``"nabla.LongTensor"``…); with one (a dtype or such a name,
        ``"torch.FloatTensor"`` too), this tensor cast to it, itself when it already has it."""
        if dtype is None:
            name = _TYPE_NAMES.get(self.data.dtype)
            if name is None:
                raise TypeError(f"type(): no tensor type name for dtype {self.data.dtype}")
            return f"nabla.{name}"
        if isinstance(dtype, str):
            prefix, _, name = dtype.rpartition(".")
            found = [d for d, n in _TYPE_NAMES.items() if n == name]
            if prefix not in ("nabla", "torch") or not found:
                raise ValueError(f"type(): invalid type {dtype!r}")
            dtype = found[0]
        return self.astype(dtype)

    def float(self) -> Tensor:
        """Cast to float32 (itself when already float32)."""
        return self.astype(np.float32)

    def double(self) -> Tensor:
        """Cast to float64 (itself when already float64)."""
        return self.astype(np.float64)

    def half(self) -> Tensor:
        """Cast to float16 (itself when already float16)."""
        return self.astype(np.float16)

    def long(self) -> Tensor:
        """Cast to int64 (no gradient)."""
        return self.astype(np.int64)

    def int(self) -> Tensor:
        """Cast to int32 (no gradient)."""
        return self.astype(np.int32)

    def short(self) -> Tensor:
        """Cast to int16 (no gradient)."""
        return self.astype(np.int16)

    def char(self) -> Tensor:
        """Cast to int8 (no gradient)."""
        return self.astype(np.int8)

    def byte(self) -> Tensor:
        """Cast to uint8 (no gradient)."""
        return self.astype(np.uint8)

    def bool(self) -> Tensor:
        """Cast to bool (no gradient)."""
        return self.astype(np.bool_)

    def ndimension(self) -> builtins.int:
        """The number of dimensions (PyTorch's alias of ``dim()``)."""
        return self.data.ndim

    def nelement(self) -> builtins.int:
        """The number of elements (PyTorch's alias of ``numel()``)."""
        return self.data.size

    def clone(self) -> Tensor:
        """A copy that stays in the graph (gradient passes through unchanged)."""
        return _ar.Add.apply(self, self._wrap(np.zeros((), dtype=self.data.dtype)))


#: PyTorch's legacy tensor type names (``x.type()``), by dtype
_TYPE_NAMES = {
    np.dtype(np.float32): "FloatTensor",
    np.dtype(np.float64): "DoubleTensor",
    np.dtype(np.float16): "HalfTensor",
    np.dtype(np.int64): "LongTensor",
    np.dtype(np.int32): "IntTensor",
    np.dtype(np.int16): "ShortTensor",
    np.dtype(np.int8): "CharTensor",
    np.dtype(np.uint8): "ByteTensor",
    np.dtype(np.bool_): "BoolTensor",
}


def _to_arguments(
    x: TensorShape, args: Sequence[Any], kwargs: dict[str, Any]
) -> tuple[np.dtype[Any] | None, builtins.bool]:
    """Read ``Tensor.to``'s arguments (:func:`nabla.device.to_arguments`): the dtype (None:
    unchanged) and whether to copy (asked, or a device with an index: another device)."""
    dtype, dev, flags = to_arguments(args, kwargs, TensorBase, ("non_blocking", "copy"))
    return dtype, builtins.bool(flags.get("copy", False)) or names_an_index(dev)


def _shape_arg(args: Sequence[Any]) -> tuple[int, ...]:
    """A shape given as ints (``2, 3``) or as one sequence (``(2, 3)``), as a tuple."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def plain_index(index: Any) -> Any:
    """``index`` with its tensors replaced by their arrays."""
    if isinstance(index, TensorBase):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, TensorBase) else i for i in index)
    return index


def normalize_index(index: Any) -> Any:
    """``index`` as the ops take it: tensors as arrays, lists as read-only integer arrays
    (copies), boolean masks as the integer positions of their True elements."""
    index = plain_index(index)
    items = index if isinstance(index, tuple) else (index,)
    if not builtins.any(isinstance(i, (list, np.ndarray)) for i in items):
        return index
    out: list[Any] = []
    for i in items:
        if isinstance(i, (list, np.ndarray)):
            # a copy: backward scatters through the index saved now, so the caller may
            # change its own array after the forward pass without moving the gradient;
            # an empty list is an empty integer index (NumPy would make it float)
            i = np.array(i, dtype=np.intp) if isinstance(i, list) and not i else np.array(i)
            i.flags.writeable = False
        if isinstance(i, np.ndarray) and i.dtype == bool:
            out.extend(np.nonzero(i))  # a mask selects its True positions
        else:
            out.append(i)
    return tuple(out)
