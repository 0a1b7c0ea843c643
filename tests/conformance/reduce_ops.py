"""The op table, part 2: reductions and softmax (registered into ``optable.OPS``).

Reductions take None, an int (maybe negative) or a tuple of axes, with or without keepdims,
spelled the NumPy way (``axis``/``keepdims``) and PyTorch's (``dim``/``keepdim``). ``max``/``min``
without an axis and ``amax``/``amin`` share the gradient among ties; ``max``/``min`` along one
dim return (values, indices) as PyTorch, the gradient going to the returned index.
"""

from __future__ import annotations

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
