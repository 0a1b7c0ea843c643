"""``TensorPointwise``: the elementwise math methods of Tensor beyond tensor_math (PyTorch's sin, cos, tan, atan2, log1p, expm1, log2, log10, exp2, rsqrt, floor, ceil, round, trunc, frac, fmod, remainder, fmax, fmin, lerp, ...)
(a mixin :class:`~nabla.tensor.Tensor` inherits)."""

from __future__ import annotations

from nabla.tensor_base import TensorBase


class TensorPointwise(TensorBase):
    """The pointwise methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
