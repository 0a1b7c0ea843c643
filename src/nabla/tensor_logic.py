"""``TensorLogic``: the comparison and logic methods of Tensor (PyTorch's eq, ne, lt, le, gt, ge, equal, isclose, allclose, isnan, isinf, isfinite, logical_*, all, any, where, clamp_min/clamp_max, nan_to_num, ...)
(a mixin :class:`~nabla.tensor.Tensor` inherits)."""

from __future__ import annotations

from nabla.tensor_base import TensorBase


class TensorLogic(TensorBase):
    """The logic methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
