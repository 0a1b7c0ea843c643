"""The algebra ops (:mod:`nabla.ops.algebra`) whose docstring rule holds for every call as
written: it names the axis, the index, the ties or the written positions rather than spelling
them out (prod and cumprod along their axis, scatter at index, the median's ties, the zero
gradient of a rounded division). :mod:`nabla.viz.rules` adds them to its ``GENERIC`` set."""

from __future__ import annotations

ALGEBRA_GENERIC = frozenset(
    {"Prod", "CumProd", "DivRounded", "Scatter", "ScatterAdd", "MedianAll"}
)

__all__ = ["ALGEBRA_GENERIC"]
