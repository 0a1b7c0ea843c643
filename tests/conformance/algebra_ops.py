"""The op table: the algebra ops of the tensor surface (nabla.tensor_algebra), against PyTorch:
add/sub with alpha, mm, bmm, dot, outer, addmm, prod, cumprod, diff, median, kthvalue, mode,
aminmax, cummax, cummin, scatter and scatter_add (registered into ``optable.OPS``).

The orderings draw values apart along their axis (one order in float32 and float64, and no tie
whose index PyTorch leaves to its selection algorithm); scatter writes each position once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import nabla as nb
import nabla.functional_algebra as fa

from .optable import first, op
from .programs import Builder
from .reduce_ops import _any_axis, _apart_along, _no_near_ties


# ----- arithmetic methods ---------------------------------------------------------------------
def _alpha_op(name: str) -> None:
    @op(
        f"{name}_alpha",
        (
            lambda a, p: getattr(a[0], name)(a[1], alpha=p["alpha"]),
            lambda a, p: getattr(nb, name)(a[0], a[1], alpha=p["alpha"]),
            lambda a, p: (
                fa.subtract(a[0], a[1], alpha=p["alpha"])
                if name == "sub"
                else a[0].add(a[1], alpha=p["alpha"])
            ),
        ),
        lambda a, p: getattr(torch, name)(a[0], a[1], alpha=p["alpha"]),
    )
    def _propose(b: Builder) -> bool:
        x = first(b)
        y = b.operand(b.broadcastable(tuple(b.vals[x].shape)))
        return b.push(f"{name}_alpha", [x, y], {"alpha": b.choice([2, -0.5, 1.5, 1])})


_alpha_op("add")
_alpha_op("sub")


# ----- products -------------------------------------------------------------------------------
# LENGTH-ONE: a contraction over a length-1 axis is nabla's product x·w (matmul_array's fast
# path), which keeps the sign of 0 · (−w) = −0 where PyTorch's sum gives +0; after sqrt the
# derivative is −inf against +inf. A MatMul defect (reported); mm, bmm, addmm contract over ≥ 2


@op(
    "mm",
    (lambda a, p: a[0].mm(a[1]), lambda a, p: fa.mm(a[0], a[1])),
    lambda a, p: torch.mm(a[0], a[1]),
)
def _mm(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim == 2)
    if b.vals[x].ndim != 2 or b.vals[x].shape[1] == 1:  # see LENGTH-ONE
        return False
    return b.push("mm", [x, b.operand((b.vals[x].shape[1], int(b.rng.integers(1, 4))))], {})


@op(
    "bmm",
    (lambda a, p: a[0].bmm(a[1]), lambda a, p: fa.bmm(a[0], a[1])),
    lambda a, p: torch.bmm(a[0], a[1]),
)
def _bmm(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim == 3)
    shape = tuple(b.vals[x].shape)
    if len(shape) != 3 or shape[2] == 1:  # see LENGTH-ONE
        return False
    return b.push("bmm", [x, b.operand((shape[0], shape[2], int(b.rng.integers(1, 4))))], {})


@op(
    "dot",
    (lambda a, p: a[0].dot(a[1]), lambda a, p: fa.dot(a[0], a[1])),
    lambda a, p: torch.dot(a[0], a[1]),
)
def _dot(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim == 1)
    if b.vals[x].ndim != 1:
        return False
    return b.push("dot", [x, b.operand(tuple(b.vals[x].shape))], {})


@op(
    "outer",
    (lambda a, p: a[0].outer(a[1]), lambda a, p: fa.ger(a[0], a[1])),
    lambda a, p: torch.outer(a[0], a[1]),
)
def _outer(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim == 1)
    if b.vals[x].ndim != 1:
        return False
    return b.push("outer", [x, b.operand((int(b.rng.integers(1, 4)),))], {})


@op(
    "addmm",
    (
        lambda a, p: a[0].addmm(a[1], a[2], beta=p["beta"], alpha=p["alpha"]),
        lambda a, p: fa.addmm(a[0], a[1], a[2], beta=p["beta"], alpha=p["alpha"]),
    ),
    lambda a, p: torch.addmm(a[0], a[1], a[2], beta=p["beta"], alpha=p["alpha"]),
)
def _addmm(b: Builder) -> bool:
    m1 = first(b, lambda v: v.ndim == 2)
    if b.vals[m1].ndim != 2:
        return False
    n, k = b.vals[m1].shape
    if k == 1:  # see LENGTH-ONE
        return False
    m = int(b.rng.integers(1, 4))
    bias = b.operand(b.choice([(m,), (n, m), (1, m), (n, 1)]))
    params = {"beta": b.choice([1, 0.5, -2.0]), "alpha": b.choice([1, 2.0, -0.5])}
    return b.push("addmm", [bias, m1, b.operand((k, m))], params)


@op(
    "prod",
    (
        lambda a, p: a[0].prod(p["axis"], p["keepdims"]),
        lambda a, p: fa.prod(a[0], p["axis"], keepdim=p["keepdims"]),
        lambda a, p: a[0].prod(dim=p["axis"], keepdim=p["keepdims"]),
    ),
    lambda a, p: (
        torch.prod(a[0]) if p["axis"] is None else torch.prod(a[0], p["axis"], p["keepdims"])
    ),
)
def _prod(b: Builder) -> bool:
    x = first(b, lambda v: v.numel() <= 12)
    v = b.vals[x]
    if v.numel() > 12:  # a product of many factors leaves the range both libraries agree on
        return False
    axis = None if b.chance(0.3) else _any_axis(b, v.ndim)
    return b.push("prod", [x], {"axis": axis, "keepdims": axis is not None and b.chance(0.4)})


@op(
    "cumprod",
    (
        lambda a, p: a[0].cumprod(p["axis"]),
        lambda a, p: fa.cumprod(a[0], p["axis"]),
        lambda a, p: a[0].cumprod(dim=p["axis"]),
    ),
    lambda a, p: torch.cumprod(a[0], p["axis"]),
)
def _cumprod(b: Builder) -> bool:
    x = first(b)
    v = b.vals[x]
    axis = _any_axis(b, v.ndim)
    if v.ndim and v.shape[axis] > 6:
        return False
    return b.push("cumprod", [x], {"axis": axis})


@op(
    "diff",
    (
        lambda a, p: a[0].diff(p["n"], p["axis"], *a[1:]),
        lambda a, p: fa.diff(a[0], p["n"], p["axis"], *a[1:]),
    ),
    lambda a, p: torch.diff(a[0], p["n"], p["axis"], *a[1:]),
)
def _diff(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1)
    shape = tuple(b.vals[x].shape)
    if not shape:
        return False
    axis = _any_axis(b, len(shape))
    args = [x]
    for _ in range(int(b.rng.integers(0, 3))):  # prepend, then append
        side = list(shape)
        side[axis] = int(b.rng.integers(1, 3))
        args.append(b.operand(tuple(side)))
    return b.push("diff", args, {"n": int(b.rng.integers(1, 3)), "axis": axis})


# ----- order statistics -----------------------------------------------------------------------
def _dim_pick(name: str, **extra: Any) -> None:
    k = extra.get("k")

    def ours(method: bool) -> Any:
        def call(a: list[Any], p: dict[str, Any]) -> Any:
            args = (p["k"],) if k else ()
            f = (
                getattr(a[0], name)
                if method
                else (lambda *r, **kw: getattr(fa, name)(a[0], *r, **kw))
            )
            return tuple(f(*args, p["axis"], p["keepdims"]))

        return call

    def theirs(a: list[Any], p: dict[str, Any]) -> Any:
        args = (p["k"],) if k else ()
        return tuple(getattr(torch, name)(a[0], *args, p["axis"], p["keepdims"]))

    def propose(b: Builder) -> bool:
        x = first(b)
        v = b.vals[x]
        axis = _any_axis(b, v.ndim)
        if not _apart_along(v, axis):
            return False
        n = v.shape[axis] if v.ndim else 1
        params = {"axis": axis, "keepdims": b.chance(0.4)}
        if k:
            params["k"] = int(b.rng.integers(1, n + 1)) if n else 1
        return b.push(name, [x], params)

    op(name, (ours(True), ours(False)), theirs)(propose)


_dim_pick("median")
_dim_pick("kthvalue", k=True)
_dim_pick("mode")


@op(
    "median_all",
    (lambda a, p: a[0].median(), lambda a, p: fa.median(a[0])),
    lambda a, p: torch.median(a[0]),
)
def _median_all(b: Builder) -> bool:
    x = first(b, lambda v: v.numel() > 0)
    v = b.vals[x]
    return v.numel() > 0 and _apart_along(v.reshape(-1), 0) and b.push("median_all", [x], {})


@op(
    "aminmax",
    (
        lambda a, p: tuple(a[0].aminmax(dim=p["axis"], keepdim=p["keepdims"])),
        lambda a, p: tuple(fa.aminmax(a[0], dim=p["axis"], keepdim=p["keepdims"])),
    ),
    lambda a, p: tuple(torch.aminmax(a[0], dim=p["axis"], keepdim=p["keepdims"])),
)
def _aminmax(b: Builder) -> bool:
    x = first(b, lambda v: v.numel() > 0)
    v = b.vals[x]
    axis = None if b.chance(0.4) else _any_axis(b, v.ndim)
    if not (_no_near_ties(v, axis, 1.0) and _no_near_ties(v, axis, -1.0)):
        return False
    return b.push("aminmax", [x], {"axis": axis, "keepdims": b.chance(0.4)})


def _cumulative(name: str) -> None:
    op(
        name,
        (
            lambda a, p: tuple(getattr(a[0], name)(p["axis"])),
            lambda a, p: tuple(getattr(fa, name)(a[0], p["axis"])),
        ),
        lambda a, p: tuple(getattr(torch, name)(a[0], p["axis"])),
    )(
        lambda b: (
            (x := first(b)) is not None
            and _apart_along(b.vals[x], axis := _any_axis(b, b.vals[x].ndim))
            and b.push(name, [x], {"axis": axis})
        )
    )


_cumulative("cummax")
_cumulative("cummin")


# ----- scatter --------------------------------------------------------------------------------
def _scatter(name: str) -> None:
    method = name

    @op(
        name,
        (
            lambda a, p: getattr(a[0], method)(p["axis"], nb.tensor(p["index"]), a[1]),
            lambda a, p: getattr(fa, method)(a[0], p["axis"], p["index"], a[1]),
            # in place on a non-leaf copy (a leaf that requires grad cannot change in place)
            lambda a, p: getattr(a[0] * 1, method + "_")(p["axis"], nb.tensor(p["index"]), a[1]),
        ),
        lambda a, p: getattr(torch, method)(a[0], p["axis"], torch.from_numpy(p["index"]), a[1]),
    )
    def _propose(b: Builder) -> bool:
        x = first(b, lambda v: v.ndim >= 1 and v.numel() > 0)
        shape = tuple(b.vals[x].shape)
        if not shape or 0 in shape:
            return False
        axis = _any_axis(b, len(shape))
        n = shape[axis]
        sizes = [int(b.rng.integers(1, m + 1)) for m in shape]
        sizes[axis] = int(b.rng.integers(1, n + 1))
        if name == "scatter":  # each position written once: PyTorch leaves repeats unspecified
            keys = b.rng.random((*sizes[:axis], n, *sizes[axis + 1 :]))
            index = np.argsort(keys, axis=axis).take(range(sizes[axis]), axis=axis)
        else:
            index = b.rng.integers(0, n, tuple(sizes))
        return b.push(name, [x, b.operand(tuple(sizes))], {"axis": axis, "index": index})


_scatter("scatter")
_scatter("scatter_add")
