"""``TensorRandom``: the in-place random fills of Tensor (PyTorch's normal_, uniform_, bernoulli_, random_, exponential_, geometric_, log_normal_, cauchy_)
(a mixin :class:`~nabla.tensor.Tensor` inherits)."""

from __future__ import annotations

from nabla.tensor_base import TensorBase


class TensorRandom(TensorBase):
    """The random methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
