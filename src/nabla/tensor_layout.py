"""``TensorLayout``: the layout and construction methods of Tensor (PyTorch's view_as, reshape_as, expand_as, type_as, new_*, flip, roll, unbind, narrow, movedim, tile, tril, triu, diag, trace, stride, ...)
(a mixin :class:`~nabla.tensor.Tensor` inherits)."""

from __future__ import annotations

from nabla.tensor_base import TensorBase


class TensorLayout(TensorBase):
    """The layout methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
