"""The op table: the pointwise ops of the tensor surface (issue 16), against PyTorch.

Each op is drawn inside its smooth domain (asin in (−0.9, 0.9), log2 of positives, ...) and,
for the piecewise ones (floor, round, frac, fmod, remainder, fmax), away from their jumps and
ties, where float32 and float64 could land on different sides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import nabla.functional_pointwise as P

from .optable import _positive, _unary, first, op
from .programs import Builder, away, inside

_Pred = Callable[[torch.Tensor], bool] | None


def _within(low: float, high: float) -> Callable[[torch.Tensor], bool]:
    return lambda v: inside(v, low, high)


def _off_grid(step: float = 1.0, offset: float = 0.0) -> Callable[[torch.Tensor], bool]:
    """Every element at least 1e-3 · step from the grid offset + k · step (a rounding's
    jumps), and not huge."""

    def pred(v: torch.Tensor) -> bool:
        r = (v - offset) / step
        return bool(((r - r.round()).abs() > 1e-3).all()) and inside(v, -1e3, 1e3)

    return pred


# name → (domain, low, high)
_SMOOTH: dict[str, tuple[_Pred, float, float]] = {
    "sin": (None, -3.0, 3.0),
    "cos": (None, -3.0, 3.0),
    "tan": (_within(-1.2, 1.2), -1.0, 1.0),
    "asin": (_within(-0.9, 0.9), -0.8, 0.8),
    "acos": (_within(-0.9, 0.9), -0.8, 0.8),
    "atan": (None, -3.0, 3.0),
    "sinh": (_within(-4, 4), -2.0, 2.0),
    "cosh": (_within(-4, 4), -2.0, 2.0),
    "asinh": (None, -3.0, 3.0),
    "acosh": (_within(1.1, 1e4), 1.2, 3.0),
    "atanh": (_within(-0.9, 0.9), -0.8, 0.8),
    "log1p": (_within(-0.9, 1e4), -0.5, 3.0),
    "expm1": (_within(-5, 4), -2.0, 2.0),
    "log2": (_positive, 0.2, 3.0),
    "log10": (_positive, 0.2, 3.0),
    "exp2": (_within(-5, 5), -2.0, 2.0),
    "rsqrt": (_positive, 0.2, 3.0),
    "erf": (None, -2.0, 2.0),
    "erfc": (None, -2.0, 2.0),
    "deg2rad": (None, -2.0, 2.0),
    "rad2deg": (_within(-1, 1), -0.8, 0.8),
}
_ROUNDINGS: dict[str, tuple[_Pred, float, float]] = {
    "floor": (_off_grid(), -3.0, 3.0),
    "ceil": (_off_grid(), -3.0, 3.0),
    "trunc": (_off_grid(), -3.0, 3.0),
    "frac": (_off_grid(), -3.0, 3.0),
    "round": (_off_grid(1.0, 0.5), -3.0, 3.0),
}


def _register_unary(name: str, domain: _Pred, low: float, high: float) -> None:
    _unary(
        name,
        (
            lambda a, p: getattr(P, name)(a[0]),
            lambda a, p: getattr(a[0], name)(),
        ),
        lambda a, p: getattr(torch, name)(a[0]),
        domain,
        low,
        high,
    )


for _name, (_domain, _low, _high) in (_SMOOTH | _ROUNDINGS).items():
    _register_unary(_name, _domain, _low, _high)

_unary(
    "arc_aliases",
    (lambda a, p: P.arcsin(a[0]), lambda a, p: a[0].arctan()),
    lambda a, p: torch.arcsin(a[0]) if p["style"] == 0 else torch.arctan(a[0]),
    _within(-0.9, 0.9),
    -0.8,
    0.8,
)


@op(
    "round_decimals",
    (
        lambda a, p: P.round(a[0], decimals=p["decimals"]),
        lambda a, p: a[0].round(decimals=p["decimals"]),
    ),
    lambda a, p: torch.round(a[0], decimals=p["decimals"]),
)
def _round_decimals(b: Builder) -> bool:
    decimals = int(b.choice([1, 2, -1]))
    x = first(b)
    if not _off_grid(10.0**-decimals, 0.5 * 10.0**-decimals)(b.vals[x]):
        return False
    return b.push("round_decimals", [x], {"decimals": decimals})


# ----- binary ---------------------------------------------------------------------------------
_BINARY = {
    "atan2": torch.atan2,
    "fmod": torch.fmod,
    "remainder": torch.remainder,
    "fmax": torch.fmax,
    "fmin": torch.fmin,
    "hypot": torch.hypot,
    "logaddexp": torch.logaddexp,
    "logaddexp2": torch.logaddexp2,
    "xlogy": torch.xlogy,
}


def _fits(name: str, x: torch.Tensor, y: torch.Tensor) -> bool:
    """The pair lies in the op's smooth region (away from the origin, a jump or a tie)."""
    if name in ("atan2", "hypot"):
        return bool((x * x + y * y > 0.1).all())
    if name in ("fmod", "remainder"):
        q = x / y
        return bool((y.abs() > 0.2).all() and ((q - q.round()).abs() > 1e-3).all())
    if name in ("fmax", "fmin"):
        return away(x - y) and bool((x != y).all())
    if name == "xlogy":
        return _positive(y)
    # far apart, σ(x − y) underflows: PyTorch's 1 / (1 + e^(y−x)) keeps a subnormal there
    return bool(((x - y).abs() < 30).all())


def _binary(name: str) -> Callable[[Builder], bool]:
    def propose(b: Builder) -> bool:
        x = first(b)
        shape = b.broadcastable(tuple(b.vals[x].shape))
        low = 0.3 if name == "xlogy" else -2.0
        y = b.operand(shape, None, low, 2.0)
        if name != "xlogy" and b.chance(0.5):
            x, y = y, x
        try:
            fits = _fits(name, b.vals[x], b.vals[y])
        except RuntimeError:  # shapes that do not broadcast: PyTorch refuses them too
            return False
        return fits and b.push(name, [x, y], {})

    return propose


for _name, _torch_fn in _BINARY.items():
    op(
        _name,
        (
            lambda a, p, n=_name: getattr(P, n)(a[0], a[1]),
            lambda a, p, n=_name: getattr(a[0], n)(a[1]),
        ),
        lambda a, p, f=_torch_fn: f(a[0], a[1]),
    )(_binary(_name))


@op(
    "lerp",
    (
        lambda a, p: P.lerp(a[0], a[1], a[2] if len(a) > 2 else p["w"]),
        lambda a, p: a[0].lerp(a[1], a[2] if len(a) > 2 else p["w"]),
    ),
    lambda a, p: torch.lerp(a[0], a[1], a[2] if len(a) > 2 else p["w"]),
)
def _lerp(b: Builder) -> bool:
    """A scalar weight (each of the two formulas) or a broadcast tensor weight."""
    x = first(b)
    shape = tuple(b.vals[x].shape)
    args = [x, b.operand(b.broadcastable(shape))]
    params: dict[str, Any] = {"w": float(b.choice([0.25, 0.5, 0.8, -0.3, 1.5]))}
    if b.chance(0.5):
        args.append(b.operand(b.broadcastable(shape), None, -1.0, 2.0))
    return b.push("lerp", args, params)
