"""The numeric primitives (``nabla.ops.numeric``) whose docstring rule holds for every call as
written, so explain prints the class's own ``Backward:`` line: einsum's gradient for one
operand is the same contraction of g with the other operands, written to that operand's
subscripts (the equation is the call's own, so no case needs spelling out)."""

from __future__ import annotations

#: joined to ``nabla.viz.rules.GENERIC``
EXACT_NUMERIC = frozenset({"Einsum"})
