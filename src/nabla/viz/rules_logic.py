"""The differentiable logic primitives (``nabla.ops.logic``) whose docstring rule holds for
every call as written, so explain prints the class's own ``Backward:`` line: nan_to_num's
gradient is g where x is finite (elementwise, its replacement numbers do not enter it), and
masked_select's scatters g back to the mask's positions (named, as getitem's index is); where
x was broadcast against the mask, the engine sums that over the copies, as for every op."""

from __future__ import annotations

#: joined to ``nabla.viz.rules.GENERIC``
EXACT_LOGIC = frozenset({"NanToNum", "MaskedSelect"})
