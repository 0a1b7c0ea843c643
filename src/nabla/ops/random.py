"""Primitives that draw random numbers in forward: dropout.

The draw happens inside ``forward``, from nabla's seedable generator, so replaying a traced
step (``nb.compile``) draws a fresh mask each time, exactly as eager code does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function


class Dropout(Function):
    """Inverted dropout: keep each element with probability 1 − p and scale it by 1/(1 − p).

    Forward:  z = x ⊙ m / (1 − p),  m ~ Bernoulli(1 − p)  (one m per channel: Dropout2d)
    Backward: ∇x = g ⊙ m / (1 − p)
    """

    saved = ("scale",)

    latex = r"\nabla_x = g \odot m / (1 - p)"

    def forward(
        self, x: Array, p: float = 0.5, generator: Any = None, mask_axes: int | None = None
    ) -> Array:
        from nabla.creation import default_generator

        gen = generator if generator is not None else default_generator()
        draw_dtype = np.float64 if x.dtype == np.float64 else np.float32
        # channel dropout draws one value per leading (sample, channel) entry and broadcasts it
        shape = x.shape if mask_axes is None else x.shape[:mask_axes] + (1,) * (x.ndim - mask_axes)
        keep = gen.random(shape, dtype=draw_dtype) >= p
        self.scale = keep.astype(x.dtype) * x.dtype.type(1 / (1 - p))
        z: Array = x * self.scale
        return z

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        return (g * self.scale,)
