"""``TensorInPlaceMath``: the in-place elementwise methods of Tensor (PyTorch's exp_, log_, sqrt_, pow_, abs_, neg_, sigmoid_, tanh_, relu_, floor_, ...)
(a mixin :class:`~nabla.tensor.Tensor` inherits)."""

from __future__ import annotations

from nabla.tensor_base import TensorBase


class TensorInPlaceMath(TensorBase):
    """The inplace math methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
