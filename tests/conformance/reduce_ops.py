"""The op table, part 2: reductions and softmax, and cumsum, norm, sort, topk, gather,
index_select, masked_fill, repeat, t and chunk (registered into ``optable.OPS``).

Reductions take None, an int (maybe negative) or a tuple of axes, with or without keepdims,
spelled the NumPy way (``axis``/``keepdims``) and PyTorch's (``dim``/``keepdim``). ``max``/``min``
without an axis and ``amax``/``amin`` share the gradient among ties; ``max``/``min`` along one
dim return (values, indices) as PyTorch, the gradient going to the returned index.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch

import nabla as nb
import nabla.nn.functional as F

from .optable import Fn, first, op
from .programs import Builder, away


# ----- reductions ----------------------------------------------------------------------------
def draw_axis(b: Builder, ndim: int, tuples: bool = True) -> Any:
    """None, an int (maybe negative) or a tuple of distinct axes in random order."""
    r = b.rng.random()
    if ndim == 0:
        return b.choice([None, 0, -1, (0,)])
    if r < 0.25:
        return None
    if tuples and r < 0.5:
        axes = b.rng.choice(ndim, int(b.rng.integers(1, ndim + 1)), replace=False)
        return tuple(int(a) - (ndim if b.chance(0.3) else 0) for a in axes)
    return int(b.rng.integers(-ndim, ndim))


def axes_of(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % max(ndim, 1) for a in ((axis,) if isinstance(axis, int) else axis))


def tdim(axis: Any, ndim: int) -> Any:
    """PyTorch's dim for a NumPy axis (None: every axis)."""
    return tuple(range(ndim)) if axis is None else axis


def _reduction_styles(name: str, **extra: str) -> tuple[Fn, ...]:
    fn = getattr(nb, name)

    def more(p: dict[str, Any]) -> dict[str, Any]:
        return {k: p[v] for k, v in extra.items()}

    return (
        lambda a, p: fn(a[0], axis=p["axis"], keepdims=p["keepdims"], **more(p)),
        lambda a, p: getattr(a[0], name)(dim=p["axis"], keepdim=p["keepdims"], **more(p)),
        lambda a, p: fn(a[0], p["axis"], p["keepdims"], **more(p)),
    )


def _count(v: torch.Tensor, axis: Any) -> int:
    if v.ndim == 0:
        return 1
    return int(np.prod([v.shape[a] for a in axes_of(axis, v.ndim)], dtype=np.int64))


def _no_near_ties(v: torch.Tensor, axis: Any, sign: float) -> bool:
    """Within every reduced group, each element equals the extreme or is clearly below it."""
    if v.numel() == 0:
        return True
    d = sign * v
    top = torch.amax(d, dim=tdim(axis, v.ndim), keepdim=True) if v.ndim else d
    return away(top - d)


def _spread(v: torch.Tensor, axis: Any, correction: int) -> bool:
    """The variance is clearly positive in every group (std's derivative is finite)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            var = torch.var(v, dim=tdim(axis, v.ndim), correction=correction)
        except (RuntimeError, Warning):
            return False
    return bool((var > 1e-4).all())


def _reduction(name: str, torch_fn: Fn, **extra: str) -> None:
    """A reduction over None, an int or a tuple of axes, with or without keepdims."""

    def propose(b: Builder) -> bool:
        x = first(b)
        v = b.vals[x]
        axis = draw_axis(b, v.ndim)
        params: dict[str, Any] = {"axis": axis, "keepdims": b.chance(0.4)}
        if name in ("var", "std"):
            params["correction"] = b.choice([0, 1])
            n = _count(v, axis)
            if n - params["correction"] <= 0:
                return False
            if name == "std" and n > 1 and not _spread(v, axis, params["correction"]):
                return False
        if name in ("amax", "amin") and not _no_near_ties(v, axis, 1.0 if "max" in name else -1.0):
            return False
        return b.push(name, [x], params)

    op(name, _reduction_styles(name, **extra), torch_fn)(propose)


_reduction(
    "sum", lambda a, p: torch.sum(a[0], dim=tdim(p["axis"], a[0].ndim), keepdim=p["keepdims"])
)
_reduction(
    "mean", lambda a, p: torch.mean(a[0], dim=tdim(p["axis"], a[0].ndim), keepdim=p["keepdims"])
)
_reduction(
    "var",
    lambda a, p: torch.var(a[0], dim=p["axis"], correction=p["correction"], keepdim=p["keepdims"]),
    correction="correction",
)
_reduction(
    "std",
    lambda a, p: torch.std(a[0], dim=p["axis"], correction=p["correction"], keepdim=p["keepdims"]),
    correction="correction",
)
_reduction(
    "logsumexp",
    lambda a, p: torch.logsumexp(a[0], dim=tdim(p["axis"], a[0].ndim), keepdim=p["keepdims"]),
)
_reduction(
    "amax", lambda a, p: torch.amax(a[0], dim=tdim(p["axis"], a[0].ndim), keepdim=p["keepdims"])
)
_reduction(
    "amin", lambda a, p: torch.amin(a[0], dim=tdim(p["axis"], a[0].ndim), keepdim=p["keepdims"])
)


def _full_extreme(name: str) -> None:
    """max/min over every element (PyTorch's ``max()``: ties share the gradient evenly)."""

    def propose(b: Builder) -> bool:
        x = first(b)
        v = b.vals[x]
        return _no_near_ties(v, None, 1.0 if name == "max" else -1.0) and b.push(name, [x], {})

    fn = getattr(nb, name)
    tfn = getattr(torch, name)
    op(name, (lambda a, p: fn(a[0]), lambda a, p: getattr(a[0], name)()), lambda a, p: tfn(a[0]))(
        propose
    )


_full_extreme("max")
_full_extreme("min")


def _dim_reduction(name: str, torch_fn: Fn) -> None:
    def propose(b: Builder) -> bool:
        x = first(b, lambda v: v.ndim >= 1)
        v = b.vals[x]
        if v.ndim == 0:
            return False
        axis = int(b.rng.integers(-v.ndim, v.ndim))
        if not _no_near_ties(v, axis, 1.0 if name == "max_dim" else -1.0):
            return False
        return b.push(name, [x], {"axis": axis, "keepdims": b.chance(0.4)})

    op(name, _reduction_styles(name.removesuffix("_dim")), torch_fn)(propose)


_dim_reduction("max_dim", lambda a, p: tuple(torch.max(a[0], p["axis"], keepdim=p["keepdims"])))
_dim_reduction("min_dim", lambda a, p: tuple(torch.min(a[0], p["axis"], keepdim=p["keepdims"])))


def _softmax(name: str) -> None:
    fn = getattr(nb, name)
    tfn = getattr(torch, name)

    def propose(b: Builder) -> bool:
        x = first(b)
        ndim = b.vals[x].ndim
        axis = int(b.rng.integers(-ndim, ndim)) if ndim else b.choice([0, -1])
        return b.push(name, [x], {"axis": axis})

    op(
        name,
        (
            lambda a, p: fn(a[0], axis=p["axis"]),
            lambda a, p: getattr(a[0], name)(dim=p["axis"]),
            lambda a, p: getattr(F, name)(a[0], p["axis"]),
        ),
        lambda a, p: tfn(a[0], dim=p["axis"]),
    )(propose)


_softmax("softmax")
_softmax("log_softmax")


# ----- scans, norms, orderings, selections (nabla.tensor_select) -----------------------------
def _any_axis(b: Builder, ndim: int) -> int:
    return int(b.rng.integers(-ndim, ndim)) if ndim else b.choice([0, -1])


def _apart_along(v: torch.Tensor, axis: int) -> bool:
    """Along ``axis`` no two values are near each other (one sorted order in both dtypes)."""
    if v.ndim == 0 or v.shape[axis] < 2:
        return True
    s = torch.sort(v, dim=axis).values
    return away(torch.diff(s, dim=axis), 0.0) and bool((torch.diff(s, dim=axis) != 0).all())


@op(
    "cumsum",
    (
        lambda a, p: a[0].cumsum(p["axis"]),
        lambda a, p: nb.cumsum(a[0], p["axis"]),
        lambda a, p: a[0].cumsum(axis=p["axis"]),
    ),
    lambda a, p: torch.cumsum(a[0], p["axis"]),
)
def _cumsum(b: Builder) -> bool:
    x = first(b)
    return b.push("cumsum", [x], {"axis": _any_axis(b, b.vals[x].ndim)})


@op(
    "norm",
    (
        lambda a, p: a[0].norm(p["p"], p["axis"], p["keepdims"]),
        lambda a, p: nb.norm(a[0], p["p"], p["axis"], p["keepdims"]),
        lambda a, p: a[0].norm(p["p"], dim=p["axis"], keepdim=p["keepdims"]),
    ),
    lambda a, p: torch.norm(a[0], p["p"], p["axis"], p["keepdims"]),
)
def _norm(b: Builder) -> bool:
    x = first(b)
    v = b.vals[x]
    axis = draw_axis(b, v.ndim)
    order = b.choice([2, 1, 3, math.inf, "fro"])
    if order == "fro" and isinstance(axis, tuple) and len(axis) > 2:
        return False
    if v.numel() == 0 or not away(v):  # the kinks at 0 of |x| (p = 1, ∞)
        return False
    if order == math.inf and not _no_near_ties(v.abs(), axis, 1.0):
        return False
    n = torch.norm(v, order, tdim(axis, v.ndim) if order != "fro" else axis)
    if not bool((n > 0.1).all()):  # away from the kink of the norm at 0
        return False
    return b.push("norm", [x], {"p": order, "axis": axis, "keepdims": b.chance(0.4)})


@op(
    "sort",
    (
        lambda a, p: tuple(a[0].sort(p["axis"], p["descending"])),
        lambda a, p: tuple(nb.sort(a[0], p["axis"], p["descending"])),
        lambda a, p: (a[0].sort(dim=p["axis"]).values, a[0].argsort(p["axis"])),
    ),
    lambda a, p: tuple(torch.sort(a[0], p["axis"], p["descending"] and p["style"] < 2)),
)
def _sort(b: Builder) -> bool:
    x = first(b)
    v = b.vals[x]
    axis = _any_axis(b, v.ndim)
    if not _apart_along(v, axis):
        return False
    return b.push("sort", [x], {"axis": axis, "descending": b.chance(0.5)})


@op(
    "topk",
    (
        lambda a, p: tuple(a[0].topk(p["k"], p["axis"], p["largest"])),
        lambda a, p: tuple(nb.topk(a[0], p["k"], dim=p["axis"], largest=p["largest"])),
        lambda a, p: tuple(a[0].topk(p["k"], dim=p["axis"], largest=p["largest"])),
    ),
    lambda a, p: tuple(torch.topk(a[0], p["k"], p["axis"], p["largest"])),
)
def _topk(b: Builder) -> bool:
    x = first(b)
    v = b.vals[x]
    axis = _any_axis(b, v.ndim)
    n = v.shape[axis] if v.ndim else 1
    if not _apart_along(v, axis):
        return False
    k = int(b.rng.integers(0, n + 1))
    return b.push("topk", [x], {"k": k, "axis": axis, "largest": b.chance(0.6)})


@op(
    "gather",
    (
        lambda a, p: a[0].gather(p["axis"], p["index"]),
        lambda a, p: nb.gather(a[0], p["axis"], p["index"]),
        lambda a, p: a[0].gather(p["axis"], nb.tensor(p["index"])),
    ),
    lambda a, p: torch.gather(a[0], p["axis"], torch.from_numpy(p["index"])),
)
def _gather(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1 and v.numel() > 0)
    shape = tuple(b.vals[x].shape)
    if not shape or 0 in shape:
        return False
    axis = _any_axis(b, len(shape))
    sizes = [int(b.rng.integers(1, n + 1)) for n in shape]
    sizes[axis] = int(b.rng.integers(0, 5))
    index = b.rng.integers(0, shape[axis], tuple(sizes))  # repeats add up in backward
    return b.push("gather", [x], {"axis": axis, "index": index})


@op(
    "index_select",
    (
        lambda a, p: a[0].index_select(p["axis"], p["index"]),
        lambda a, p: nb.index_select(a[0], p["axis"], p["index"]),
        lambda a, p: a[0].index_select(p["axis"], p["index"].tolist()),
    ),
    lambda a, p: torch.index_select(a[0], p["axis"], torch.from_numpy(p["index"])),
)
def _index_select(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1 and v.numel() > 0)
    shape = tuple(b.vals[x].shape)
    if not shape or 0 in shape:
        return False
    axis = _any_axis(b, len(shape))
    index = b.rng.integers(0, shape[axis], int(b.rng.integers(1, 5)))
    return b.push("index_select", [x], {"axis": axis, "index": index})


def _masked_fill_in_place(a: list[Any], p: dict[str, Any]) -> Any:
    # a non-leaf copy of the result's shape: a leaf that requires grad cannot change in place,
    # and in place the mask may not widen the tensor
    shape = np.broadcast_shapes(a[0].shape, p["mask"].shape)
    y = a[0] + nb.zeros(shape, dtype=a[0].dtype)
    return y.masked_fill_(nb.tensor(p["mask"]), p["value"])


@op(
    "masked_fill",
    (
        lambda a, p: a[0].masked_fill(p["mask"], p["value"]),
        lambda a, p: nb.masked_fill(a[0], nb.tensor(p["mask"]), p["value"]),
        _masked_fill_in_place,
    ),
    lambda a, p: a[0].masked_fill(torch.from_numpy(p["mask"]), p["value"]),
)
def _masked_fill(b: Builder) -> bool:
    x = first(b)
    shape = tuple(b.vals[x].shape)
    mask = b.rng.random(b.broadcastable(shape)) < 0.5
    return b.push("masked_fill", [x], {"mask": mask, "value": float(b.rng.uniform(-2, 2))})


@op(
    "repeat",
    (
        lambda a, p: a[0].repeat(*p["sizes"]),
        lambda a, p: a[0].repeat(p["sizes"]),
        lambda a, p: a[0].repeat(list(p["sizes"])),
    ),
    lambda a, p: a[0].repeat(*p["sizes"]),
)
def _repeat(b: Builder) -> bool:
    x = first(b)
    ndim = b.vals[x].ndim + int(b.rng.integers(0, 2))
    return b.push("repeat", [x], {"sizes": tuple(int(r) for r in b.rng.integers(1, 4, ndim))})


@op(
    "t",
    (lambda a, p: a[0].t(), lambda a, p: nb.t(a[0]), lambda a, p: a[0].t().contiguous()),
    lambda a, p: a[0].t(),
)
def _t_op(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim <= 2)
    return b.vals[x].ndim <= 2 and b.push("t", [x], {})


@op(
    "chunk",
    (
        lambda a, p: list(a[0].chunk(p["chunks"], p["axis"])),
        lambda a, p: list(nb.chunk(a[0], p["chunks"], p["axis"])),
        lambda a, p: list(a[0].chunk(p["chunks"], dim=p["axis"])),
    ),
    lambda a, p: list(torch.chunk(a[0], p["chunks"], p["axis"])),
)
def _chunk(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1)
    ndim = b.vals[x].ndim
    if ndim == 0:
        return False
    return b.push("chunk", [x], {"chunks": int(b.rng.integers(1, 5)), "axis": _any_axis(b, ndim)})
