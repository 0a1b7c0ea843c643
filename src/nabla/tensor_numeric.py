"""``TensorNumeric``: the further numeric methods of Tensor (PyTorch's addcmul, addcdiv, mv, nansum, nanmean, logit, logcumsumexp, unflatten, ravel, index_add, index_fill, index_copy, kron, ...)
(a mixin :class:`~nabla.tensor.Tensor` inherits)."""

from __future__ import annotations

from nabla.tensor_base import TensorBase


class TensorNumeric(TensorBase):
    """The numeric methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
