"""The op table: the numeric extras of the tensor surface (issue 16), against PyTorch: einsum,
tensordot, kron, addcmul, addcdiv, mv, nansum, nanmean, logcumsumexp, var_mean, std_mean, cdist,
dist, unflatten, index_add, index_copy and index_fill (registered into ``optable.OPS``).

Contractions are drawn over axes of length ≥ 2 (see LENGTH-ONE in algebra_ops: a length-1
contraction is nabla's plain product, which keeps the sign of −0 where PyTorch's sum does not).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import nabla.functional_numeric as fn

from .optable import first, op, tidx
from .programs import Builder, away
from .reduce_ops import _any_axis


def _len(b: Builder) -> int:
    return int(b.rng.integers(2, 4))


EQUATIONS = {
    "ij,jk->ik": lambda n: [(n[0], n[1]), (n[1], n[2])],
    "bij,bjk->bik": lambda n: [(n[0], n[1], n[2]), (n[0], n[2], n[1])],
    "i,j->ij": lambda n: [(n[0],), (n[1],)],
    "ij->ji": lambda n: [(n[0], n[1])],
    "...j,jk->...k": lambda n: [(n[0], n[1], n[2]), (n[2], n[0])],
    "ij,ij->i": lambda n: [(n[0], n[1]), (n[0], n[1])],
    "ijk,jl->lk": lambda n: [(n[0], n[1], n[2]), (n[1], n[0])],
}


@op(
    "einsum",
    (
        lambda a, p: fn.einsum(p["equation"], *a),
        lambda a, p: fn.einsum(p["equation"], list(a)),
    ),
    lambda a, p: torch.einsum(p["equation"], *a),
)
def _einsum(b: Builder) -> bool:
    equation = b.choice(list(EQUATIONS))
    shapes = EQUATIONS[equation]([_len(b), _len(b), _len(b)])
    return b.push("einsum", [b.operand(s) for s in shapes], {"equation": equation})


@op(
    "tensordot",
    (lambda a, p: fn.tensordot(a[0], a[1], p["dims"]),),
    lambda a, p: torch.tensordot(a[0], a[1], p["dims"]),
)
def _tensordot(b: Builder) -> bool:
    n, m, k = _len(b), _len(b), _len(b)
    if b.chance(0.5):
        return b.push("tensordot", [b.operand((n, m)), b.operand((m, k))], {"dims": 1})
    x, y = b.operand((n, m, k)), b.operand((k, int(b.rng.integers(1, 3)), n))
    return b.push("tensordot", [x, y], {"dims": ([2, 0], [0, 2])})


@op(
    "kron",
    (lambda a, p: fn.kron(a[0], a[1]), lambda a, p: a[0].kron(a[1])),
    lambda a, p: torch.kron(a[0], a[1]),
)
def _kron(b: Builder) -> bool:
    return b.push("kron", [b.operand(b.shape(2)), b.operand(b.shape(2))], {})


@op(
    "addcmul",
    (
        lambda a, p: fn.addcmul(a[0], a[1], a[2], value=p["value"]),
        lambda a, p: a[0].addcmul(a[1], a[2], value=p["value"]),
    ),
    lambda a, p: torch.addcmul(a[0], a[1], a[2], value=p["value"]),
)
def _addcmul(b: Builder) -> bool:
    x = first(b)
    shape = tuple(b.vals[x].shape)
    y, z = b.operand(b.broadcastable(shape)), b.operand(b.broadcastable(shape))
    return b.push("addcmul", [x, y, z], {"value": b.choice([1, 0.5, -2])})


@op(
    "addcdiv",
    (
        lambda a, p: fn.addcdiv(a[0], a[1], a[2], value=p["value"]),
        lambda a, p: a[0].addcdiv(a[1], a[2], value=p["value"]),
    ),
    lambda a, p: torch.addcdiv(a[0], a[1], a[2], value=p["value"]),
)
def _addcdiv(b: Builder) -> bool:
    x = first(b)
    shape = tuple(b.vals[x].shape)
    y = b.operand(b.broadcastable(shape))
    z = b.operand(b.broadcastable(shape), lambda v: away(v, 0.0, 0.3), low=0.5, high=2.0)
    if not away(b.vals[z], 0.0, 0.3):
        return False
    return b.push("addcdiv", [x, y, z], {"value": b.choice([1, 0.5, -2])})


@op("mv", (lambda a, p: fn.mv(a[0], a[1]), lambda a, p: a[0].mv(a[1])), lambda a, p: torch.mv(*a))
def _mv(b: Builder) -> bool:
    n, m = _len(b), _len(b)
    return b.push("mv", [b.operand((n, m)), b.operand((m,))], {})


def _reduce(name: str) -> None:
    @op(
        name,
        (
            lambda a, p: getattr(fn, name)(a[0], p["dim"], keepdim=p["keepdim"]),
            lambda a, p: getattr(a[0], name)(dim=p["dim"], keepdim=p["keepdim"]),
        ),
        lambda a, p: getattr(torch, name)(a[0], p["dim"], keepdim=p["keepdim"]),
    )
    def _propose(b: Builder) -> bool:
        x = first(b)
        ndim = b.vals[x].ndim
        dim = b.choice([None, _any_axis(b, ndim)]) if ndim else None
        return b.push(name, [x], {"dim": dim, "keepdim": b.chance(0.5)})


_reduce("nansum")
_reduce("nanmean")


@op(
    "logcumsumexp",
    (lambda a, p: fn.logcumsumexp(a[0], p["dim"]), lambda a, p: a[0].logcumsumexp(p["dim"])),
    lambda a, p: torch.logcumsumexp(a[0], p["dim"]),
)
def _logcumsumexp(b: Builder) -> bool:
    # PyTorch's second derivative of logcumsumexp is wrong where an entry is exactly 0
    # (x = [0, -2], loss = y·y: its hvp 0.34 against 0.94 by central differences and nabla)
    x = first(b, lambda v: bool((v != 0).all()))
    if not (b.vals[x] != 0).all():
        return False
    return b.push("logcumsumexp", [x], {"dim": _any_axis(b, b.vals[x].ndim)})


def _spread_mean(name: str) -> None:
    @op(
        name,
        (
            lambda a, p: getattr(fn, name)(a[0], p["dim"], correction=p["correction"]),
            lambda a, p: getattr(a[0], name)(p["dim"], correction=p["correction"]),
        ),
        lambda a, p: getattr(torch, name)(a[0], p["dim"], correction=p["correction"]),
    )
    def _propose(b: Builder) -> bool:
        x = first(b, lambda v: v.ndim >= 1 and v.numel() >= 3)
        v = b.vals[x]
        if v.ndim == 0 or v.numel() < 3:
            return False
        dim = _any_axis(b, v.ndim)
        if v.shape[dim] < 3 or (name == "std_mean" and not away(v.std(dim), 0.0, 0.1)):
            return False
        return b.push(name, [x], {"dim": dim, "correction": b.choice([0, 1])})


_spread_mean("var_mean")
_spread_mean("std_mean")


def _apart(diff: torch.Tensor) -> bool:
    """No difference near 0 (where |·| and the p-norm have their kinks)."""
    return away(diff, 0.0, 0.1)


@op(
    "cdist",
    (lambda a, p: fn.cdist(a[0], a[1], p["p"]),),
    # torch.cdist has no second derivative ('_cdist_backward'); its definition has one (the unit
    # tests compare nabla's cdist with torch.cdist itself to first order)
    lambda a, p: torch.linalg.vector_norm(a[0].unsqueeze(-2) - a[1].unsqueeze(-3), p["p"], dim=-1),
)
def _cdist(b: Builder) -> bool:
    m = _len(b)
    x, y = b.operand((_len(b), m)), b.operand((_len(b), m))
    p = float(b.choice([1.0, 2.0, 3.0]))
    if not _apart(b.vals[x].unsqueeze(-2) - b.vals[y].unsqueeze(-3)):
        return False
    return b.push("cdist", [x, y], {"p": p})


@op(
    "dist",
    (lambda a, p: fn.dist(a[0], a[1], p["p"]),),
    lambda a, p: torch.dist(a[0], a[1], p["p"]),
)
def _dist(b: Builder) -> bool:
    x = first(b)
    y = b.operand(b.broadcastable(tuple(b.vals[x].shape)))
    p = float(b.choice([1.0, 2.0, 3.0]))
    if not _apart(b.vals[x] - b.vals[y]):
        return False
    return b.push("dist", [x, y], {"p": p})


@op(
    "unflatten",
    (lambda a, p: fn.unflatten(a[0], p["dim"], p["sizes"]),),
    lambda a, p: torch.unflatten(a[0], p["dim"], p["sizes"]),
)
def _unflatten(b: Builder) -> bool:
    x = b.operand((_len(b), 4))
    return b.push("unflatten", [x], {"dim": 1, "sizes": b.choice([(2, 2), (-1, 2), (4, 1)])})


def _index_op(name: str) -> None:
    def _nabla(a: list[Any], p: dict[str, Any]) -> Any:
        extra = a[1:] if name != "index_fill" else [p["value"]]
        return getattr(fn, name)(a[0], p["dim"], p["index"], *extra)

    def _torch(a: list[Any], p: dict[str, Any]) -> Any:
        extra = a[1:] if name != "index_fill" else [p["value"]]
        return getattr(torch, name)(a[0], p["dim"], tidx(p["index"]), *extra)

    @op(name, (_nabla,), _torch)
    def _propose(b: Builder) -> bool:
        x = first(b, lambda v: v.ndim >= 1 and v.numel() > 0)
        v = b.vals[x]
        if v.ndim == 0 or v.numel() == 0:
            return False
        dim = _any_axis(b, v.ndim)
        n = v.shape[dim]
        k = int(b.rng.integers(1, n + 1))
        repeats = name == "index_add"  # index_copy with repeats is left unspecified by PyTorch
        index = b.rng.integers(0, n, k) if repeats else b.rng.permutation(n)[:k]
        params = {"dim": dim, "index": np.asarray(index, dtype=np.int64), "value": -0.5}
        if name == "index_fill":
            return b.push(name, [x], params)
        shape = list(v.shape)
        shape[dim] = k
        return b.push(name, [x, b.operand(tuple(shape))], params)


_index_op("index_add")
_index_op("index_copy")
_index_op("index_fill")
