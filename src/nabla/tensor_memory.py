"""``TensorMemory``: new tensors like a :class:`~nabla.tensor.Tensor`, its memory layout and its
in-place shape changes (a mixin ``Tensor`` inherits), with PyTorch's signatures.

* new tensors with this tensor's dtype: ``new_zeros``, ``new_ones``, ``new_full``,
  ``new_empty``, ``new_tensor`` (leaves; ``requires_grad=False`` unless asked);
* memory layout: ``stride``, ``element_size``, ``itemsize``, ``nbytes``;
* in-place shape changes: ``squeeze_``, ``unsqueeze_``, ``t_`` (a recorded Reshape/Permute, and
  the version counter moves, as for every in-place change).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from nabla.autograd.mode import MODE
from nabla.device import check_device
from nabla.ops import shape as _sh
from nabla.ops.shape import normalize_dim
from nabla.tensor_base import TensorBase
from nabla.tensor_layout import size_arg

if TYPE_CHECKING:
    from typing_extensions import Self

    from nabla.tensor import Tensor


class TensorMemory(TensorBase):
    """New tensors like this one, the memory layout and in-place shape changes of ``Tensor``."""

    __slots__ = ()

    def _me(self) -> Tensor:
        return cast("Tensor", self)

    # ----- new tensors like this one ------------------------------------------------------------
    def new_zeros(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **ignored: Any,
    ) -> Tensor:
        """A tensor of zeros of ``size`` (ints or one sequence), with this tensor's dtype
        unless ``dtype`` is given (``layout=``/``pin_memory=`` are accepted and ignored)."""
        return self._new("new_zeros", np.zeros, size, dtype, device, requires_grad)

    def new_ones(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **ignored: Any,
    ) -> Tensor:
        """A tensor of ones of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        return self._new("new_ones", np.ones, size, dtype, device, requires_grad)

    def new_empty(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **ignored: Any,
    ) -> Tensor:
        """An uninitialized tensor of ``size`` (its values are arbitrary), with this tensor's
        dtype unless ``dtype`` is given."""
        return self._new("new_empty", np.empty, size, dtype, device, requires_grad)

    def new_full(
        self,
        size: Any,
        fill_value: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **ignored: Any,
    ) -> Tensor:
        """A tensor of ``size`` (a sequence) filled with ``fill_value``, cast to this tensor's
        dtype unless ``dtype`` is given."""
        if not isinstance(size, (tuple, list)):
            raise TypeError(
                f"new_full(): argument 'size' must be a tuple of ints, not {type(size).__name__}"
            )
        if isinstance(fill_value, TensorBase):
            fill_value = fill_value.data
        return self._new(
            "new_full",
            lambda shape, dt: np.full(shape, fill_value, dtype=dt),
            (size,),
            dtype,
            device,
            requires_grad,
        )

    def new_tensor(
        self,
        data: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **ignored: Any,
    ) -> Tensor:
        """A new leaf holding a copy of ``data``, with this tensor's dtype unless ``dtype`` is
        given (PyTorch's ``new_tensor``: never in the graph of ``data``)."""
        if isinstance(data, TensorBase):
            data = data.data
        return self._new(
            "new_tensor",
            lambda shape, dt: np.array(data, dtype=dt, copy=True),
            (),
            dtype,
            device,
            requires_grad,
        )

    def _new(
        self, op: str, make: Any, size: Sequence[Any], dtype: Any, device: Any, grad: bool
    ) -> Tensor:
        check_device(device)
        out = self._wrap(make(size_arg(op, size), self.dtype if dtype is None else dtype))
        return out.requires_grad_(grad) if grad else out

    # ----- memory layout -----------------------------------------------------------------------
    def stride(self, dim: int | None = None) -> Any:
        """The step, in elements, between neighbours along each dim (one dim's with ``dim``).

        These are the strides of the NumPy array that holds the values, so they describe the
        actual memory: 0 along broadcast dims, as PyTorch's ``expand``, and transposed by
        ``permute``, as PyTorch's; unlike PyTorch they may be negative (a NumPy array reversed
        by a negative-step slice) or Fortran-ordered (an array made that way), and along a dim
        of length 1 (where the step is never taken) they are whatever NumPy holds. A tensor
        without elements reports the row-major steps, as a new PyTorch tensor."""
        if self.data.size == 0:  # NumPy holds zeros; PyTorch's row-major steps (no step taken)
            steps = np.cumprod((1, *(builtins.max(n, 1) for n in self.shape[:0:-1])))
            strides = tuple(int(s) for s in steps[::-1])
        else:
            strides = tuple(s // self.data.itemsize for s in self.data.strides)
        if dim is None:
            return strides
        if self.ndim == 0:
            raise IndexError(f"stride: dimension specified as {dim} but x is 0-d")
        return strides[normalize_dim("stride", dim, self.ndim)]

    def element_size(self) -> int:
        """The size of one element in bytes."""
        return self.data.itemsize

    @property
    def itemsize(self) -> int:
        """The size of one element in bytes (``element_size()``)."""
        return self.data.itemsize

    @property
    def nbytes(self) -> int:
        """The number of elements times their size in bytes."""
        return self.data.size * self.data.itemsize

    # ----- in-place shape changes --------------------------------------------------------------
    def squeeze_(self, dim: Any = None) -> Self:
        """Remove dims of length 1 (all of them, or those among ``dim``), in place."""
        return self._reshape_in_place("squeeze_", self._me().squeeze(dim).shape)

    def unsqueeze_(self, dim: int) -> Self:
        """Insert a dim of length 1 at ``dim``, in place."""
        return self._reshape_in_place("unsqueeze_", self._me().unsqueeze(dim).shape)

    def t_(self) -> Self:
        """Transpose a matrix in place (a vector or a 0-d tensor is left as it is)."""
        self._me().t()  # the check: at most 2-D
        self._check_in_place("t_")  # type: ignore[attr-defined]
        return self._change_in_place(_sh.Permute, axes=None)

    def _reshape_in_place(self, op: str, shape: tuple[int, ...]) -> Self:
        self._check_in_place(op)  # type: ignore[attr-defined]
        return self._change_in_place(_sh.Reshape, shape=shape)

    def _change_in_place(self, cls: Any, **params: Any) -> Self:
        """Give this tensor the layout ``cls(self, **params)`` (a view: the values stay), as
        PyTorch's in-place view ops. The version counter moves, so an op that saved this tensor
        before refuses to backward; while recording, the change is an op: the tensor as it was
        takes this tensor's place in the graph, and this tensor becomes the op's output."""
        record = MODE.state.grad_enabled and self.requires_grad
        if not record:
            self.data = cls().forward(self.data, **params)
            self._bump_version()  # type: ignore[attr-defined]
            return self
        before = self._wrap(self.data)
        before._fn, before.requires_grad = self._fn, True
        self._bump_version()  # type: ignore[attr-defined]
        before._version_counter = list(self._shared_version_counter())
        out = cls.apply(before, **params)
        self.data, self._fn = out.data, out._fn
        return self
