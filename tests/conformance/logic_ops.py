"""The op table: the logic ops of the tensor surface (issue 16), against PyTorch.

Comparisons, logical ops, value tests, all/any/count_nonzero and nonzero give bool or integer
values (compared exactly, so their operands are drawn away from the decision: a comparison's
operands differ by more than the margin or not at all, a logical op's are 0 or clearly not);
``where`` as a method, clamp_min/clamp_max (out of place and in place), nan_to_num and
masked_select carry gradients. The functions come from :mod:`nabla.functional_logic`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nabla import functional_logic as FL

from .optable import first, op, tidx
from .programs import Builder, away
from .reduce_ops import draw_axis

COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less")
COMPARISONS += ("less_equal", "not_equal")


def _other(a: list[Any], p: dict[str, Any]) -> Any:
    """The second operand: the tensor, or the number ``p["s"]`` when one was drawn."""
    return a[1] if len(a) > 1 else p["s"]


# ----- comparisons and logical ops (bool, no gradient) ---------------------------------------
@op(
    "compare",
    (
        lambda a, p: getattr(a[0], p["name"])(_other(a, p)),
        lambda a, p: getattr(FL, p["name"])(a[0], _other(a, p)),
    ),
    lambda a, p: getattr(torch, p["name"])(a[0], _other(a, p)),
    weight=0.5,
)
def _compare(b: Builder) -> bool:
    x = first(b)
    name = b.choice(COMPARISONS)
    if b.chance(0.3):
        s = float(b.choice([0.0, 0.5, -1.0, 1.0]))
        return away(b.vals[x], s) and b.push("compare", [x], {"name": name, "s": s})
    y = b.operand(b.broadcastable(tuple(b.vals[x].shape)))
    if b.chance(0.2):
        y = x  # exact ties: equal in both libraries
    return away(b.vals[x] - b.vals[y]) and b.push("compare", [x, y], {"name": name, "s": None})


LOGICAL = ("logical_and", "logical_or", "logical_xor")


@op(
    "logical",
    (
        lambda a, p: getattr(a[0], p["name"])(*a[1:]),
        lambda a, p: getattr(FL, p["name"])(*a),
    ),
    lambda a, p: getattr(torch, p["name"])(*a),
    weight=0.4,
)
def _logical(b: Builder) -> bool:
    x = first(b)
    name = b.choice((*LOGICAL, "logical_not"))
    args = [x]
    if name != "logical_not":
        args.append(b.operand(b.broadcastable(tuple(b.vals[x].shape))))
    return all(away(b.vals[i]) for i in args) and b.push("logical", args, {"name": name})


VALUE_TESTS = ("isnan", "isinf", "isfinite", "isposinf", "isneginf")


@op(
    "value_test",
    (lambda a, p: getattr(a[0], p["name"])(), lambda a, p: getattr(FL, p["name"])(a[0])),
    lambda a, p: getattr(torch, p["name"])(a[0]),
    weight=0.2,
)
def _value_test(b: Builder) -> bool:
    return b.push("value_test", [first(b)], {"name": b.choice(VALUE_TESTS)})


# ----- boolean reductions and positions ---------------------------------------------------------
def _torch_reduce(name: str, x: torch.Tensor, p: dict[str, Any]) -> Any:
    return getattr(torch, name)(x, dim=p["axis"], keepdim=p["keepdims"])


@op(
    "all_any",
    (
        lambda a, p: getattr(a[0], p["name"])(p["axis"], p["keepdims"]),
        lambda a, p: getattr(FL, p["name"])(a[0], dim=p["axis"], keepdim=p["keepdims"]),
        lambda a, p: getattr(a[0], p["name"])(axis=p["axis"], keepdims=p["keepdims"]),
    ),
    lambda a, p: _torch_reduce(p["name"], a[0], p),
    weight=0.4,
)
def _all_any(b: Builder) -> bool:
    x = first(b)
    params = {
        "name": b.choice(("all", "any")),
        "axis": draw_axis(b, b.vals[x].ndim),
        "keepdims": b.chance(0.4),
    }
    return away(b.vals[x]) and b.push("all_any", [x], params)


@op(
    "count_nonzero",
    (
        lambda a, p: a[0].count_nonzero(p["axis"]),
        lambda a, p: FL.count_nonzero(a[0], dim=p["axis"]),
    ),
    lambda a, p: torch.count_nonzero(a[0], p["axis"]),
    weight=0.3,
)
def _count_nonzero(b: Builder) -> bool:
    x = first(b)
    axis = draw_axis(b, b.vals[x].ndim)
    return away(b.vals[x]) and b.push("count_nonzero", [x], {"axis": axis})


@op(
    "nonzero",
    (
        lambda a, p: a[0].nonzero(as_tuple=p["as_tuple"]),
        lambda a, p: FL.nonzero(a[0], as_tuple=p["as_tuple"]),
        lambda a, p: a[0].argwhere() if not p["as_tuple"] else a[0].nonzero(as_tuple=True),
    ),
    lambda a, p: torch.nonzero(a[0], as_tuple=p["as_tuple"]),
    weight=0.3,
)
def _nonzero(b: Builder) -> bool:
    x = first(b)
    return away(b.vals[x]) and b.push("nonzero", [x], {"as_tuple": b.chance(0.4)})


# ----- differentiable ---------------------------------------------------------------------------
@op(
    "where_method",
    (
        lambda a, p: a[0].where(p["cond"], _other(a, p)),
        lambda a, p: a[0].where(a[0] > p["c"], _other(a, p)),
    ),
    lambda a, p: a[0].where(a[0] > p["c"] if p["style"] == 1 else tidx(p["cond"]), _other(a, p)),
)
def _where_method(b: Builder) -> bool:
    x = first(b)
    shape = tuple(b.vals[x].shape)
    cond = b.rng.random(b.broadcastable(shape)) < 0.5
    c = float(b.rng.uniform(-1, 1))
    if not away(b.vals[x], c):
        return False
    if b.chance(0.3):
        params = {"cond": cond, "c": c, "s": float(b.choice([0.0, -2.5, 1.0]))}
        return b.push("where_method", [x], params)
    y = b.operand(b.broadcastable(shape))
    return b.push("where_method", [x, y], {"cond": cond, "c": c, "s": None})


@op(
    "clamp_bound",
    (
        lambda a, p: getattr(a[0], p["name"])(_other(a, p)),
        lambda a, p: getattr(FL, p["name"])(a[0], _other(a, p)),
    ),
    lambda a, p: getattr(torch, p["name"])(a[0], _other(a, p)),
)
def _clamp_bound(b: Builder) -> bool:
    x = first(b)
    name = b.choice(("clamp_min", "clamp_max"))
    if b.chance(0.5):
        s = float(b.rng.uniform(-1.5, 1.5))
        return away(b.vals[x], s) and b.push("clamp_bound", [x], {"name": name, "s": s})
    m = b.operand(b.broadcastable(tuple(b.vals[x].shape)))
    if not away(b.vals[x] - b.vals[m]):
        return False
    return b.push("clamp_bound", [x, m], {"name": name, "s": None})


def _clamp_in_place(x: Any, p: dict[str, Any]) -> Any:
    y = x * 1.0  # a non-leaf copy: a leaf that requires grad cannot change in place
    if p["name"] in ("clamp_", "clip_"):
        getattr(y, p["name"])(p["lo"], p["hi"])
    else:
        getattr(y, p["name"])(p["lo"] if p["name"] == "clamp_min_" else p["hi"])
    return y


@op(
    "clamp_in_place",
    (lambda a, p: _clamp_in_place(a[0], p),),
    lambda a, p: _clamp_in_place(a[0], p),
    weight=0.5,
)
def _clamp_in_place_op(b: Builder) -> bool:
    x = first(b)
    lo, hi = sorted(float(v) for v in b.rng.uniform(-1.5, 1.5, 2))
    params = {"name": b.choice(("clamp_", "clip_", "clamp_min_", "clamp_max_")), "lo": lo}
    params["hi"] = hi
    if not (away(b.vals[x], lo) and away(b.vals[x], hi)):
        return False
    return b.push("clamp_in_place", [x], params)


@op(
    "nan_to_num",
    (
        lambda a, p: a[0].nan_to_num(p["nan"], posinf=p["posinf"]),
        lambda a, p: FL.nan_to_num(a[0], nan=p["nan"], posinf=p["posinf"]),
    ),
    lambda a, p: torch.nan_to_num(a[0], p["nan"], posinf=p["posinf"]),
    weight=0.3,
)
def _nan_to_num(b: Builder) -> bool:
    # the drawn values are finite (programs keep every value finite): the identity's path
    params = {"nan": float(b.choice([0.0, 1.0])), "posinf": b.choice([None, 5.0])}
    return b.push("nan_to_num", [first(b)], params)


@op(
    "masked_select",
    (
        lambda a, p: a[0].masked_select(p["mask"]),
        lambda a, p: FL.masked_select(a[0], p["mask"]),
    ),
    lambda a, p: torch.masked_select(a[0], tidx(p["mask"])),
)
def _masked_select(b: Builder) -> bool:
    x = first(b)
    shape = tuple(b.vals[x].shape)
    # the mask may also widen x (a size-1 axis of x, or more leading axes)
    mask_shape = b.broadcastable(shape) if b.chance(0.7) else (2, *shape)
    mask = np.asarray(b.rng.random(mask_shape) < 0.6)
    return b.push("masked_select", [x], {"mask": mask})


__all__ = ["COMPARISONS", "LOGICAL", "VALUE_TESTS"]
