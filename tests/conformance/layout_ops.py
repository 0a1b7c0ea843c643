"""The op table: the layout ops of the tensor surface (issue 16), against PyTorch.

flip, roll, unbind, narrow, movedim, swapdims, tile, tril/triu, diag, diagonal, trace,
sum_to_size, the ``*_as`` methods and the ``new_*`` constructors (multiplied into x, so the
program's dtype flows through them), each with its method and namespace spellings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import nabla as nb
from nabla import functional_layout as L

from .optable import first, op
from .programs import Builder


def _dims(b: Builder, ndim: int, k: int) -> list[int]:
    """``k`` distinct dims of an ``ndim``-D tensor, some of them negative."""
    picked = b.rng.choice(max(ndim, 1), min(k, max(ndim, 1)), replace=False)
    return [int(d) - (max(ndim, 1) if b.chance(0.3) else 0) for d in picked]


@op(
    "flip",
    (
        lambda a, p: a[0].flip(*p["dims"]),
        lambda a, p: L.flip(a[0], p["dims"]),
        lambda a, p: a[0].flip(p["dims"]),
    ),
    lambda a, p: torch.flip(a[0], p["dims"]),
)
def _flip(b: Builder) -> bool:
    x = first(b)
    ndim = b.vals[x].ndim
    dims = _dims(b, ndim, int(b.rng.integers(0, ndim + 1))) if ndim else []
    return b.push("flip", [x], {"dims": tuple(dims)})


@op(
    "flip_lr_ud",
    (lambda a, p: a[0].fliplr() if p["lr"] else L.flipud(a[0]),),
    lambda a, p: torch.fliplr(a[0]) if p["lr"] else torch.flipud(a[0]),
)
def _flip_lr_ud(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1, shape=(2, 3))
    return b.push("flip_lr_ud", [x], {"lr": b.vals[x].ndim >= 2 and b.chance(0.5)})


@op(
    "roll",
    (
        lambda a, p: a[0].roll(p["shifts"], p["dims"]),
        lambda a, p: L.roll(a[0], p["shifts"], p["dims"]),
    ),
    lambda a, p: torch.roll(a[0], p["shifts"], p["dims"]),
)
def _roll(b: Builder) -> bool:
    x = first(b)
    ndim = b.vals[x].ndim
    if ndim == 0 or b.chance(0.3):
        return b.push("roll", [x], {"shifts": int(b.rng.integers(-7, 8)), "dims": None})
    dims = [int(d) for d in b.rng.integers(-ndim, ndim, int(b.rng.integers(1, 3)))]
    shifts = [int(s) for s in b.rng.integers(-5, 6, len(dims))]
    return b.push("roll", [x], {"shifts": tuple(shifts), "dims": tuple(dims)})


@op(
    "unbind",
    (lambda a, p: a[0].unbind(p["dim"]), lambda a, p: L.unbind(a[0], p["dim"])),
    lambda a, p: torch.unbind(a[0], p["dim"]),
)
def _unbind(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1 and 0 < max(v.shape) <= 4)
    ndim = b.vals[x].ndim
    return ndim >= 1 and b.push("unbind", [x], {"dim": int(b.rng.integers(-ndim, ndim))})


@op(
    "narrow",
    (
        lambda a, p: a[0].narrow(p["dim"], p["start"], p["length"]),
        lambda a, p: L.narrow(a[0], p["dim"], p["start"], p["length"]),
    ),
    lambda a, p: torch.narrow(a[0], p["dim"], p["start"], p["length"]),
)
def _narrow(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1)
    shape = tuple(b.vals[x].shape)
    if not shape:
        return False
    dim = int(b.rng.integers(-len(shape), len(shape)))
    n = shape[dim]
    start = int(b.rng.integers(-n, n + 1))
    length = int(b.rng.integers(0, n - start % (n or 1) + 1)) if start < n else 0
    return b.push("narrow", [x], {"dim": dim, "start": start, "length": length})


@op(
    "movedim",
    (
        lambda a, p: a[0].movedim(p["src"], p["dst"]),
        lambda a, p: L.moveaxis(a[0], p["src"], p["dst"]),
        lambda a, p: L.movedim(a[0], p["src"][0] if len(p["src"]) == 1 else p["src"], p["dst"]),
    ),
    lambda a, p: torch.movedim(a[0], p["src"], p["dst"]),
)
def _movedim(b: Builder) -> bool:
    x = first(b)
    ndim = b.vals[x].ndim
    k = int(b.rng.integers(1, ndim + 1)) if ndim else 1
    src, dst = _dims(b, ndim, k), _dims(b, ndim, k)
    return b.push("movedim", [x], {"src": tuple(src), "dst": tuple(dst)})


@op(
    "swapdims",
    (
        lambda a, p: a[0].swapdims(p["d0"], p["d1"]),
        lambda a, p: L.swapdims(a[0], p["d0"], p["d1"]),
        lambda a, p: L.swapaxes(a[0], p["d0"], p["d1"]),
    ),
    lambda a, p: torch.swapdims(a[0], p["d0"], p["d1"]),
)
def _swapdims(b: Builder) -> bool:
    x = first(b)
    ndim = max(b.vals[x].ndim, 1)
    d0, d1 = (int(d) for d in b.rng.integers(-ndim, ndim, 2))
    return b.push("swapdims", [x], {"d0": d0, "d1": d1})


@op(
    "tile",
    (lambda a, p: a[0].tile(*p["reps"]), lambda a, p: L.tile(a[0], p["reps"])),
    lambda a, p: torch.tile(a[0], p["reps"]),
)
def _tile(b: Builder) -> bool:
    x = first(b, lambda v: v.numel() <= 24)
    reps = tuple(int(r) for r in b.rng.integers(0, 3, int(b.rng.integers(0, 4))))
    return b.push("tile", [x], {"reps": reps})


@op(
    "triangle",
    (
        lambda a, p: getattr(a[0], p["kind"])(p["k"]),
        lambda a, p: getattr(L, p["kind"])(a[0], diagonal=p["k"]),
    ),
    lambda a, p: getattr(torch, p["kind"])(a[0], p["k"]),
)
def _triangle(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 2, shape=(3, 4))
    if b.vals[x].ndim < 2:
        return False
    kind = b.choice(["tril", "triu"])
    return b.push("triangle", [x], {"kind": kind, "k": int(b.rng.integers(-3, 4))})


@op(
    "diag",
    (lambda a, p: a[0].diag(p["k"]), lambda a, p: L.diag(a[0], p["k"])),
    lambda a, p: torch.diag(a[0], p["k"]),
)
def _diag(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim in (1, 2), shape=(3,))
    if b.vals[x].ndim not in (1, 2):
        return False
    return b.push("diag", [x], {"k": int(b.rng.integers(-3, 4))})


@op(
    "diagonal",
    (
        lambda a, p: a[0].diagonal(p["k"], p["d1"], p["d2"]),
        lambda a, p: L.diagonal(a[0], offset=p["k"], dim1=p["d1"], dim2=p["d2"]),
    ),
    lambda a, p: torch.diagonal(a[0], p["k"], p["d1"], p["d2"]),
)
def _diagonal(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 2, shape=(3, 3))
    ndim = b.vals[x].ndim
    if ndim < 2:
        return False
    d1, d2 = _dims(b, ndim, 2)
    return b.push("diagonal", [x], {"k": int(b.rng.integers(-3, 4)), "d1": d1, "d2": d2})


@op(
    "trace",
    (lambda a, p: a[0].trace(), lambda a, p: L.trace(a[0])),
    lambda a, p: torch.trace(a[0]),
)
def _trace(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim == 2, shape=(3, 2))
    return b.vals[x].ndim == 2 and b.push("trace", [x], {})


@op(
    "sum_to_size",
    (lambda a, p: a[0].sum_to_size(*p["size"]), lambda a, p: a[0].sum_to_size(p["size"])),
    lambda a, p: a[0].sum_to_size(p["size"]),
)
def _sum_to_size(b: Builder) -> bool:
    x = first(b)
    shape = tuple(b.vals[x].shape)
    lead = int(b.rng.integers(0, len(shape) + 1))
    size = tuple(1 if b.chance(0.5) else n for n in shape[lead:])
    return b.push("sum_to_size", [x], {"size": size})


def _like(module: Any, shape: tuple[int, ...], p: dict[str, Any]) -> Any:
    return module.zeros(shape, dtype=p["dtype"] if module is nb else _torch_dtype(p["dtype"]))


def _torch_dtype(dtype: Any) -> Any:
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


@op(
    "as_other",
    (
        lambda a, p: getattr(a[0], p["kind"])(_like(nb, p["shape"], p)),
        lambda a, p: getattr(a[0], p["kind"])(a[0].new_zeros(p["shape"])),
    ),
    lambda a, p: getattr(a[0], p["kind"])(a[0].new_zeros(p["shape"])),
)
def _as_other(b: Builder) -> bool:
    x = first(b)
    shape = tuple(b.vals[x].shape)
    kind = b.choice(["view_as", "reshape_as", "expand_as", "type_as"])
    if kind == "expand_as":
        lead = [int(b.rng.integers(1, 3)) for _ in range(int(b.rng.integers(0, 2)))]
        target = tuple(lead + [int(b.rng.integers(1, 3)) if n == 1 else n for n in shape])
    elif kind == "type_as":
        target = (1,)
    else:
        target = tuple(reversed(shape)) if b.chance(0.5) else (int(np.prod(shape, dtype=int)),)
    return b.push("as_other", [x], {"kind": kind, "shape": target})


@op(
    "new_like",
    (
        lambda a, p: a[0] * a[0].new_full(p["shape"], p["value"]),
        lambda a, p: a[0] * a[0].new_ones(*p["shape"]) * p["value"],
        lambda a, p: a[0] * a[0].new_tensor(np.full(p["shape"], p["value"])) + a[0].new_zeros(p["shape"]),
    ),
    lambda a, p: a[0] * a[0].new_full(p["shape"], p["value"]),
)  # fmt: skip
def _new_like(b: Builder) -> bool:
    x = first(b)
    shape = tuple(b.vals[x].shape)
    target = tuple(n if b.chance(0.7) else 1 for n in shape[int(b.rng.integers(0, 2)) :])
    return b.push("new_like", [x], {"shape": target, "value": b.choice([0.5, -2.0, 3.0])})
