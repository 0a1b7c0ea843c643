"""Comparisons and logical ops (``==``, ``<``, ``&``, ``~``…): boolean results, no gradient.

They are ops, not plain NumPy calls, so that a compiled step recomputes them from its inputs on
every call (a mask such as ``x > 0`` depends on the data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.function import Function

#: the NumPy ufunc of each comparison, by the name the op records
UFUNCS = {
    name: getattr(np, name)
    for name in (
        "equal",
        "not_equal",
        "less",
        "less_equal",
        "greater",
        "greater_equal",
        "logical_and",
        "logical_or",
        "logical_xor",
        "logical_not",
    )
}


class Compare(Function):
    """An elementwise comparison or logical op, with NumPy broadcasting.

    Forward:  z = x ∘ y  (booleans; ∘ one of == ≠ < ≤ > ≥ and or xor, or not x)
    Backward: none (booleans carry no gradient)
    """

    name = "compare"

    def forward(self, *arrays: Array, op: str = "equal") -> Array:
        return np.asarray(UFUNCS[op](*arrays))

    def backward(self, g: Any, F: Any, *args: Any) -> tuple[None, ...]:
        return (None,) * len(args)
