"""Side effects of normalisation layers that must happen inside the graph's op sequence.

``UpdateRunningStats`` moves BatchNorm's running mean and variance towards the batch's. It is an
op (not Python code in the layer) so a step traced by ``nb.compile`` replays it every call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function


class UpdateRunningStats(Function):
    """Exponential moving averages of the batch statistics, updated in place (no gradient).

    Forward:  μ_run ← (1 − m) μ_run + m μ_batch,  σ²_run ← (1 − m) σ²_run + m σ²_batch n/(n − 1)
    Backward: none (the statistics are buffers, not parameters)
    """

    name = "update_running_stats"
    #: the layer's buffers, updated in place: a compiled step keeps referring to the same arrays
    constant_params = ("running_mean", "running_var", "count")

    def forward(
        self,
        mean: Array,
        var: Array,
        running_mean: Any = None,
        running_var: Any = None,
        count: Any = None,
        momentum: float = 0.1,
        n: int = 2,
    ) -> Array:
        unbiased = var.reshape(-1) * (n / (n - 1))
        running_mean[...] = (1 - momentum) * running_mean + momentum * mean.reshape(-1)
        running_var[...] = (1 - momentum) * running_var + momentum * unbiased
        count[...] += 1
        return np.empty(0, dtype=mean.dtype)

    def backward(self, g: Any, F: Any, mean: Any, var: Any) -> tuple[None, None]:
        return None, None
