"""The pointwise math primitives (``nabla.ops.pointwise``, ``rounding``, ``pointwise_binary``)
whose docstring rule holds for every call as written: each is elementwise with no parameter that
changes the formula (round's ``decimals`` leaves its gradient 0), so explain prints the class's
own ``Backward:`` line. Where an operand of a binary one was broadcast, its gradient is that
rule summed over the copies, as the engine does for every op."""

from __future__ import annotations

UNARY_MATH = frozenset(
    {"Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh"}
    | {"Log1p", "Expm1", "Log2", "Log10", "Exp2", "Rsqrt", "Erf", "Erfc"}
    | {"Floor", "Ceil", "Trunc", "Round", "Frac"}
)
BINARY_MATH = frozenset(
    {"Atan2", "FMod", "Remainder", "FMax", "FMin", "Hypot", "LogAddExp", "LogAddExp2"}
    | {"XLogY", "Lerp"}
)
#: joined to ``nabla.viz.rules.GENERIC``
EXACT_POINTWISE = UNARY_MATH | BINARY_MATH
