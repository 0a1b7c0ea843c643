"""``TensorAlgebra``: the arithmetic-method, product and order-statistic methods of Tensor (PyTorch's add/sub/mul/div with alpha, mm, bmm, dot, outer, addmm, prod, cumprod, diff, median, mode, kthvalue, unique, scatter, ...)
(a mixin :class:`~nabla.tensor.Tensor` inherits)."""

from __future__ import annotations

from nabla.tensor_base import TensorBase


class TensorAlgebra(TensorBase):
    """The algebra methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
