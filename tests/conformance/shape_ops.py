"""The op table, part 3: shape ops and indexing (registered into ``optable.OPS``).

PyTorch has no negative-step slices, so a basic NumPy index is translated for it axis by axis:
an int selects, a slice becomes ``index_select`` with the positions NumPy's slice picks, None
inserts an axis. Integer arrays, masks and pairs of arrays mean the same in both libraries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import nabla as nb

from .optable import first, op, tidx
from .programs import Builder


def _factor_shape(b: Builder, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Another shape with the same number of elements (size-1 axes inserted, one -1 maybe)."""
    n = int(np.prod(shape, dtype=np.int64))
    if n == 0:
        sizes = [0] + [int(b.rng.integers(1, 4)) for _ in range(int(b.rng.integers(0, 3)))]
        b.rng.shuffle(sizes)
        return tuple(sizes)
    factors = [f for f in range(2, n + 1) for _ in range(_multiplicity(n, f))]
    b.rng.shuffle(factors)
    dims: list[int] = []
    for f in factors:
        if dims and b.chance(0.5):
            dims[-1] *= f
        else:
            dims.append(f)
    while len(dims) < 4 and b.chance(0.3):
        dims.insert(int(b.rng.integers(len(dims) + 1)), 1)
    if dims and b.chance(0.3):
        dims[int(b.rng.integers(len(dims)))] = -1
    return tuple(dims)


def _multiplicity(n: int, f: int) -> int:
    if any(f % d == 0 for d in range(2, f)):
        return 0
    k = 0
    while n % f == 0:
        n //= f
        k += 1
    return k


@op(
    "reshape",
    (
        lambda a, p: nb.reshape(a[0], p["shape"]),
        lambda a, p: a[0].reshape(*p["shape"]),
        lambda a, p: a[0].view(p["shape"]),
    ),
    lambda a, p: a[0].reshape(p["shape"]),
)
def _reshape(b: Builder) -> bool:
    x = first(b)
    return b.push("reshape", [x], {"shape": _factor_shape(b, tuple(b.vals[x].shape))})


@op(
    "flatten",
    (
        lambda a, p: nb.flatten(a[0], p["start"], p["end"]),
        lambda a, p: a[0].flatten(p["start"], p["end"]),
    ),
    lambda a, p: torch.flatten(a[0], p["start"], p["end"]),
)
def _flatten(b: Builder) -> bool:
    x = first(b)
    ndim = b.vals[x].ndim
    if ndim == 0:
        return b.push("flatten", [x], {"start": 0, "end": -1})
    start, end = sorted(int(v) for v in b.rng.integers(0, ndim, 2))
    return b.push(
        "flatten",
        [x],
        {"start": start - ndim * b.chance(0.3), "end": end - ndim * b.chance(0.5)},
    )


@op(
    "permute",
    (
        lambda a, p: nb.permute(a[0], p["axes"]),
        lambda a, p: a[0].permute(*p["axes"]),
        lambda a, p: nb.permute(a[0], dims=p["axes"]),
    ),
    lambda a, p: a[0].permute(p["axes"]),
)
def _permute(b: Builder) -> bool:
    x = first(b)
    ndim = b.vals[x].ndim
    axes = tuple(int(i) - (ndim if b.chance(0.3) else 0) for i in b.rng.permutation(ndim))
    return b.push("permute", [x], {"axes": axes})


@op(
    "transpose",
    (
        lambda a, p: nb.transpose(a[0], p["d0"], p["d1"]),
        lambda a, p: a[0].transpose(p["d0"], p["d1"]),
        lambda a, p: a[0].swapaxes(p["d0"], p["d1"]),
    ),
    lambda a, p: torch.transpose(a[0], p["d0"], p["d1"]),
)
def _transpose(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1)
    ndim = b.vals[x].ndim
    if ndim == 0:
        return False
    d0, d1 = (int(v) for v in b.rng.integers(-ndim, ndim, 2))
    return b.push("transpose", [x], {"d0": d0, "d1": d1})


@op("T", (lambda a, p: a[0].T,), lambda a, p: a[0].permute(tuple(reversed(range(a[0].ndim)))))
def _t(b: Builder) -> bool:
    return b.push("T", [first(b)], {})


@op("mT", (lambda a, p: a[0].mT,), lambda a, p: a[0].mT)
def _mt(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 2, shape=(2, 3))
    return b.vals[x].ndim >= 2 and b.push("mT", [x], {})


@op(
    "squeeze",
    (
        lambda a, p: nb.squeeze(a[0], p["axis"]),
        lambda a, p: a[0].squeeze(p["axis"]),
        lambda a, p: a[0].squeeze(dim=p["axis"]),
    ),
    lambda a, p: torch.squeeze(a[0]) if p["axis"] is None else torch.squeeze(a[0], p["axis"]),
)
def _squeeze(b: Builder) -> bool:
    x = first(b, lambda v: 1 in v.shape, shape=(2, 1, 3))
    shape = tuple(b.vals[x].shape)
    ndim = len(shape)
    ones = [i for i, n in enumerate(shape) if n == 1]
    if b.chance(0.3) or ndim == 0:
        axis: Any = None if ndim else b.choice([None, 0, -1])
    elif b.chance(0.5) and ones:
        axis = b.choice(ones) - (ndim if b.chance(0.4) else 0)
    else:
        picked = b.rng.choice(ndim, int(b.rng.integers(1, ndim + 1)), replace=False)
        axis = tuple(int(i) for i in picked)
    return b.push("squeeze", [x], {"axis": axis})


@op(
    "unsqueeze",
    (
        lambda a, p: nb.unsqueeze(a[0], p["axis"]),
        lambda a, p: a[0].unsqueeze(p["axis"]),
        lambda a, p: nb.expand_dims(a[0], p["axis"]),
    ),
    lambda a, p: torch.unsqueeze(a[0], p["axis"]),
)
def _unsqueeze(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim <= 3)
    ndim = b.vals[x].ndim
    return b.push("unsqueeze", [x], {"axis": int(b.rng.integers(-ndim - 1, ndim + 1))})


@op(
    "broadcast_to",
    (
        lambda a, p: nb.broadcast_to(a[0], p["shape"]),
        lambda a, p: a[0].expand(*p["shape"]),
        lambda a, p: a[0].broadcast_to(p["shape"]),
    ),
    lambda a, p: torch.broadcast_to(a[0], p["shape"]),
)
def _broadcast_to(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim <= 3)
    shape = [n if n != 1 or b.chance(0.3) else int(b.rng.integers(0, 4)) for n in b.vals[x].shape]
    lead = [int(b.rng.integers(1, 4)) for _ in range(int(b.rng.integers(0, 3)))]
    return b.push("broadcast_to", [x], {"shape": tuple(lead + shape)})


def _parts(b: Builder, x: int, axis: int | None) -> list[int]:
    """2–3 operands shaped like x (x itself among them, reused), free along ``axis``."""
    shape = tuple(b.vals[x].shape)
    parts = [x]
    for _ in range(int(b.rng.integers(1, 3))):
        if b.chance(0.4):
            parts.append(x)
            continue
        s = list(shape)
        if axis is not None:
            s[axis] = int(b.rng.integers(0, 4))
        parts.append(b.operand(tuple(s)))
    order = b.rng.permutation(len(parts))
    return [parts[i] for i in order]


@op(
    "concatenate",
    (
        lambda a, p: nb.concatenate(a, axis=p["axis"]),
        lambda a, p: nb.cat(a, dim=p["axis"]),
        lambda a, p: nb.concatenate(a, p["axis"]),
    ),
    lambda a, p: torch.cat(a, dim=p["axis"]),
)
def _concatenate(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1)
    ndim = b.vals[x].ndim
    if ndim == 0:
        return False
    axis = int(b.rng.integers(-ndim, ndim))
    return b.push("concatenate", _parts(b, x, axis % ndim), {"axis": axis})


@op(
    "stack",
    (lambda a, p: nb.stack(a, axis=p["axis"]), lambda a, p: nb.stack(a, dim=p["axis"])),
    lambda a, p: torch.stack(a, dim=p["axis"]),
)
def _stack(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim <= 3)
    ndim = b.vals[x].ndim
    return b.push("stack", _parts(b, x, None), {"axis": int(b.rng.integers(-ndim - 1, ndim + 1))})


@op(
    "split",
    (
        lambda a, p: nb.split(a[0], p["sizes"], p["axis"]),
        lambda a, p: a[0].split(p["sizes"], dim=p["axis"]),
        lambda a, p: nb.split(a[0], p["sizes"], dim=p["axis"]),
    ),
    lambda a, p: list(torch.split(a[0], p["sizes"], dim=p["axis"])),
)
def _split(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1)
    shape = tuple(b.vals[x].shape)
    if not shape:
        return False
    axis = int(b.rng.integers(-len(shape), len(shape)))
    n = shape[axis]
    if b.chance(0.5) and n:
        sizes: Any = int(b.rng.integers(1, n + 1))
    else:
        cuts = sorted(int(c) for c in b.rng.integers(0, n + 1, int(b.rng.integers(0, 3))))
        sizes = [e - s for s, e in zip([0, *cuts], [*cuts, n])]
    return b.push("split", [x], {"sizes": sizes, "axis": axis})


# ----- indexing --------------------------------------------------------------------------------
def torch_basic_index(t: torch.Tensor, index: tuple[Any, ...]) -> torch.Tensor:
    """``t[index]`` for ints, slices (any step), None and Ellipsis, one axis at a time."""
    n_axes = sum(1 for i in index if i is not None and i is not Ellipsis)
    items: list[Any] = []
    for i in index:
        items.extend([slice(None)] * (t.ndim - n_axes) if i is Ellipsis else [i])
    d = 0
    for item in items:
        if item is None:
            t = t.unsqueeze(d)
            d += 1
        elif isinstance(item, int):
            t = t.select(d, item)
        else:
            positions = np.ascontiguousarray(np.arange(t.shape[d])[item])  # (a copy: step < 0)
            t = t.index_select(d, torch.from_numpy(positions))
            d += 1
    return t


def _basic_index(b: Builder, shape: tuple[int, ...]) -> tuple[Any, ...]:
    items: list[Any] = []
    for n in shape[: int(b.rng.integers(0, len(shape) + 1))]:
        if b.chance(0.15):
            items.append(None)
        if n and b.chance(0.3):
            items.append(int(b.rng.integers(-n, n)))
            continue
        bound = [None, *range(-n - 1, n + 2)]
        step = b.choice([None, 1, 2, -1, -2, 3, -3])
        items.append(slice(b.choice(bound), b.choice(bound), step))
    if b.chance(0.2):
        items.insert(0 if b.chance(0.5) else len(items), Ellipsis)
    return tuple(items)


def _nabla_index(a: list[Any], p: dict[str, Any]) -> Any:
    index = p["index"]
    if p["style"] == 1:
        return nb.getitem(a[0], index)
    if p["style"] == 2 and p["kind"] in ("int", "pairs"):  # index arrays given as lists
        index = tuple(i.tolist() if isinstance(i, np.ndarray) else i for i in index)
    return a[0][index]


def _torch_index(a: list[Any], p: dict[str, Any]) -> Any:
    if p["kind"] == "basic":
        return torch_basic_index(a[0], p["index"])
    return a[0][tuple(tidx(i) for i in p["index"])]


@op("getitem", (_nabla_index, _nabla_index, _nabla_index), _torch_index, weight=2.0)
def _getitem(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim >= 1)
    shape = tuple(b.vals[x].shape)
    kind = b.choice(["basic", "basic", "int", "mask", "pairs"]) if shape else "basic"
    if kind == "basic":
        index: tuple[Any, ...] = _basic_index(b, shape)
    elif kind == "int" and shape[0]:  # repeated and negative indices, maybe none
        axis = 0 if len(shape) < 2 or b.chance(0.6) or not shape[1] else 1
        idx = b.rng.integers(-shape[axis], shape[axis], b.choice([(0,), (3,), (5,), (2, 3)]))
        index = (idx,) if axis == 0 else (slice(None), idx)
    elif kind == "mask":
        index = (b.rng.random(shape[: int(b.rng.integers(1, len(shape) + 1))]) < 0.5,)
    elif kind == "pairs" and len(shape) >= 2 and shape[0] and shape[1]:
        k = int(b.rng.integers(1, 5))
        index = (b.rng.integers(0, shape[0], k), b.rng.integers(0, shape[1], b.choice([k, 1])))
    else:
        return False
    return b.push("getitem", [x], {"kind": kind, "index": index})
