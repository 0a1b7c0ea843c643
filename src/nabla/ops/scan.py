"""Scans: the cumulative sum along one axis.

Each output is the sum of a prefix, so each input reaches every output at or after it: the
gradient of x_i is the sum of g over the suffix from i, the same scan run backwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function


class CumSum(Function):
    """Cumulative sum along one axis (integers and bools sum as int64, as PyTorch).

    Forward:  zᵢ = Σ_{j ≤ i} x_j  along the axis
    Backward: ∇xᵢ = Σ_{j ≥ i} g_j  (the cumulative sum of g from the end: flip, cumsum, flip)
    """

    latex = r"\nabla_{x_i} = \sum_{i \le j} g_j"

    def forward(self, x: Array, axis: int = 0) -> Array:
        if x.ndim == 0:  # PyTorch: a 0-d tensor's cumulative sum is itself
            self.axis = None
            return x.astype(np.int64) if x.dtype.kind in "biu" else x.copy()
        self.axis = axis
        dtype = np.int64 if x.dtype.kind in "biu" else x.dtype
        return np.cumsum(x, axis=axis, dtype=dtype)

    def backward(self, g: Any, F: Any, x: Any) -> tuple[Any]:
        axis = self.axis
        if axis is None:
            return (g,)
        # slices and .cumsum(axis) are shared by ndarrays and Tensors: one rule, two paths
        backwards = (slice(None),) * axis + (slice(None, None, -1),)
        return (g[backwards].cumsum(axis)[backwards],)


__all__ = ["CumSum"]
