"""The op table, part 1: arithmetic, elementwise, linear algebra, reductions, softmax.

Each :class:`Op` names the nabla spellings of one op (functions, methods, operators, PyTorch's
``dim``/``keepdim`` aliases; a node's ``style`` picks one), its PyTorch equivalent, and how to
draw it: ``propose(builder)`` chooses operands and parameters inside the op's domain and pushes
a node, or returns False. Constants travel in the node's parameters as float64 or integer arrays;
``p["dtype"]`` is the program's float dtype at run time.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import nabla as nb
import nabla.nn.functional as F

from .programs import Builder, away, inside

Fn = Callable[[list[Any], dict[str, Any]], Any]


@dataclass(frozen=True)
class Op:
    """One op: its nabla spellings, its PyTorch twin, how to draw it, and a drawing weight."""

    name: str
    nabla: tuple[Fn, ...]
    torch: Fn
    propose: Callable[[Builder], bool]
    weight: float = 1.0


OPS: dict[str, Op] = {}


def op(name: str, nabla: tuple[Fn, ...], torch_fn: Fn, weight: float = 1.0) -> Callable[..., Any]:
    """Register the decorated proposal as ``name`` with its two implementations."""

    def register(propose: Callable[[Builder], bool]) -> Callable[[Builder], bool]:
        OPS[name] = Op(name, nabla, torch_fn, propose, weight)
        return propose

    return register


def nconst(a: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """A float constant in the program's dtype, for nabla."""
    return np.asarray(a, dtype=p["dtype"])


def tconst(a: np.ndarray, p: dict[str, Any]) -> torch.Tensor:
    """A float constant in the program's dtype, for PyTorch."""
    return torch.from_numpy(np.array(a, dtype=p["dtype"], order="C"))


def tidx(a: Any) -> Any:
    """An integer or boolean index array for PyTorch (other index items pass through)."""
    if isinstance(a, (np.ndarray, np.generic)):
        return torch.from_numpy(np.array(a, order="C"))
    return a


def first(b: Builder, pred: Callable[[torch.Tensor], bool] | None = None, **leaf: Any) -> int:
    """An earlier value satisfying ``pred`` or, sometimes or when there is none, a new leaf
    (``leaf`` holds the new leaf's shape, low and high)."""
    x = None if b.chance(0.1) else b.pick(pred)
    if x is None:
        shape = leaf.pop("shape", None)
        x = b.leaf(b.shape() if shape is None else shape, **leaf)
    return x


def _positive(v: torch.Tensor) -> bool:
    return inside(v, 0.1, 1e4)


def _positive_or_zero(v: torch.Tensor) -> bool:
    """Positive, or exactly 0 (sqrt'(0) = inf, which a mask after it must select away)."""
    return bool(((v == 0) | ((v > 0.1) & (v < 1e4))).all())


def _nonzero(v: torch.Tensor) -> bool:
    return bool((v.abs() > 0.2).all())


# ----- arithmetic ------------------------------------------------------------------------
BINARY = {
    "add": ((lambda a, p: a[0] + a[1], lambda a, p: nb.add(*a)), lambda a, p: a[0] + a[1]),
    "sub": ((lambda a, p: a[0] - a[1], lambda a, p: nb.sub(*a)), lambda a, p: a[0] - a[1]),
    "mul": ((lambda a, p: a[0] * a[1], lambda a, p: nb.mul(*a)), lambda a, p: a[0] * a[1]),
    "div": ((lambda a, p: a[0] / a[1], lambda a, p: nb.div(*a)), lambda a, p: a[0] / a[1]),
    "maximum": ((lambda a, p: nb.maximum(*a), lambda a, p: a[0].maximum(a[1])), lambda a, p: torch.maximum(*a)),  # fmt: skip
    "minimum": ((lambda a, p: nb.minimum(*a), lambda a, p: a[0].minimum(a[1])), lambda a, p: torch.minimum(*a)),  # fmt: skip
    "pow_tensor": ((lambda a, p: a[0] ** a[1], lambda a, p: nb.pow(*a)), lambda a, p: a[0] ** a[1]),
}


def _binary(name: str) -> Callable[[Builder], bool]:
    def propose(b: Builder) -> bool:
        base = None if name != "pow_tensor" else (lambda v: inside(v, 0.2, 3.0))
        x = first(b, base, low=0.3) if base else first(b)
        shape = b.broadcastable(tuple(b.vals[x].shape))
        if name == "div":
            y = b.operand(shape, _nonzero, 0.3, 2.0)
        elif name == "pow_tensor":
            y = b.operand(shape, lambda v: inside(v, -2.5, 2.5))
        else:
            y = b.operand(shape)
            if b.chance(0.5):
                x, y = y, x
        if name in ("maximum", "minimum") and not away(b.vals[x] - b.vals[y]):
            return False
        return b.push(name, [x, y], {})

    return propose


for _name, (_nabla, _torch) in BINARY.items():
    op(_name, _nabla, _torch)(_binary(_name))

_SCALAR_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda x, s: x + s,
    "-": lambda x, s: x - s,
    "*": lambda x, s: x * s,
    "/": lambda x, s: x / s,
    "r+": lambda x, s: s + x,
    "r-": lambda x, s: s - x,
    "r*": lambda x, s: s * x,
    "r/": lambda x, s: s / x,
    "rpow": lambda x, s: s**x,
}


@op(
    "scalar",
    (lambda a, p: _SCALAR_OPS[p["op"]](a[0], p["s"]),),
    lambda a, p: _SCALAR_OPS[p["op"]](a[0], p["s"]),
)
def _scalar(b: Builder) -> bool:
    kind = b.choice(list(_SCALAR_OPS))
    s = b.choice([2.5, -1.5, 0.5, 3, -2, 1, 0.0]) if kind != "rpow" else b.choice([2.0, 0.5, 3])
    if kind == "/" and s == 0:
        s = 4
    x = first(b, (_nonzero) if kind == "r/" else None, low=0.3)
    if kind == "r/" and not bool((b.vals[x].abs() > 0.2).all()):
        return False
    return b.push("scalar", [x], {"op": kind, "s": s})


@op(
    "pow",
    (
        lambda a, p: a[0] ** p["p"],
        lambda a, p: nb.pow(a[0], p["p"]),
        lambda a, p: a[0].pow(p["p"]) if p["p"] != 2 else nb.square(a[0]),
    ),
    lambda a, p: a[0] ** p["p"],
)
def _pow(b: Builder) -> bool:
    p = b.choice([2, 3, 0.5, -1, 1.5, 0, 1, -2, 2.0, 0.0])
    domain = None
    if p != int(p):
        domain = _positive_or_zero
    elif p < 0:
        domain = _nonzero
    x = first(b, domain, low=0.3)
    return (domain is None or domain(b.vals[x])) and b.push("pow", [x], {"p": p})


def _unary(
    name: str,
    nabla: tuple[Fn, ...],
    torch_fn: Fn,
    domain: Callable[[torch.Tensor], bool] | None = None,
    low: float = -2.0,
    high: float = 2.0,
    params: Callable[[Builder], dict[str, Any]] | None = None,
) -> None:
    def propose(b: Builder) -> bool:
        x = first(b, domain, low=low, high=high)
        if domain is not None and not domain(b.vals[x]):
            return False
        return b.push(name, [x], params(b) if params else {})

    op(name, nabla, torch_fn)(propose)




_unary("neg", (lambda a, p: -a[0], lambda a, p: nb.neg(a[0])), lambda a, p: -a[0])
_unary(
    "reciprocal",
    (lambda a, p: nb.reciprocal(a[0]), lambda a, p: a[0].reciprocal()),
    lambda a, p: torch.reciprocal(a[0]),
    _nonzero,
    low=0.3,
)
_unary(
    "exp",
    (lambda a, p: nb.exp(a[0]), lambda a, p: a[0].exp()),
    lambda a, p: torch.exp(a[0]),
    lambda v: bool((v < 4).all()),
)
_unary("log", (lambda a, p: nb.log(a[0]), lambda a, p: a[0].log()), lambda a, p: torch.log(a[0]),
       _positive, 0.2, 3.0)  # fmt: skip
_unary(
    "sqrt",
    (lambda a, p: nb.sqrt(a[0]), lambda a, p: a[0].sqrt()),
    lambda a, p: torch.sqrt(a[0]),
    _positive_or_zero,
    0.2,
    3.0,
)
_unary(
    "abs",
    (lambda a, p: nb.abs(a[0]), lambda a, p: abs(a[0]), lambda a, p: a[0].abs()),
    lambda a, p: torch.abs(a[0]),
    away,
)
_unary(
    "tanh",
    (lambda a, p: nb.tanh(a[0]), lambda a, p: a[0].tanh(), lambda a, p: F.tanh(a[0])),
    lambda a, p: torch.tanh(a[0]),
)
_unary(
    "sigmoid",
    (lambda a, p: nb.sigmoid(a[0]), lambda a, p: a[0].sigmoid(), lambda a, p: F.sigmoid(a[0])),
    lambda a, p: torch.sigmoid(a[0]),
)
_unary(
    "relu",
    (lambda a, p: nb.relu(a[0]), lambda a, p: a[0].relu(), lambda a, p: F.relu(a[0])),
    lambda a, p: torch.relu(a[0]),
    away,
)
_unary(
    "leaky_relu",
    (
        lambda a, p: nb.leaky_relu(a[0], p["slope"]),
        lambda a, p: F.leaky_relu(a[0], negative_slope=p["slope"]),
    ),
    lambda a, p: torch.nn.functional.leaky_relu(a[0], p["slope"]),
    away,
    params=lambda b: {"slope": b.choice([0.01, 0.2, 1.5])},
)
_unary(
    "clone",
    (lambda a, p: nb.clone(a[0]), lambda a, p: a[0].clone()),
    lambda a, p: a[0].clone(),
)
_OTHER = {np.float64: np.float32, np.float32: np.float64}
_unary(
    "cast_roundtrip",
    (
        lambda a, p: nb.cast(nb.cast(a[0], _OTHER[p["dtype"]]), p["dtype"]),
        lambda a, p: a[0].astype(_OTHER[p["dtype"]]).to(p["dtype"]),
    ),
    lambda a, p: a[0].to(torch.float32).to(torch.float64)
    if p["dtype"] == np.float64
    else a[0].to(torch.float64).to(torch.float32),
)


@op(
    "clip",
    (
        lambda a, p: nb.clip(a[0], p["lo"], p["hi"]),
        lambda a, p: nb.clamp(a[0], min=p["lo"], max=p["hi"]),
        lambda a, p: a[0].clamp(p["lo"], p["hi"]),
    ),
    lambda a, p: torch.clamp(a[0], min=p["lo"], max=p["hi"]),
)
def _clip(b: Builder) -> bool:
    x = first(b)
    lo, hi = sorted(float(v) for v in b.rng.uniform(-1.5, 1.5, 2))
    bounds = b.choice([(lo, hi), (lo, None), (None, hi), (0.0, None)])
    if not all(v is None or away(b.vals[x], v) for v in bounds):
        return False
    return b.push("clip", [x], {"lo": bounds[0], "hi": bounds[1]})


@op(
    "where",
    (
        lambda a, p: nb.where(p["cond"], a[0], a[1]),
        lambda a, p: nb.where(nb.Tensor(p["cond"]), a[0], a[1]),
        lambda a, p: nb.where(a[0] > p["c"], a[0], a[1]),
    ),
    lambda a, p: torch.where(a[0] > p["c"] if p["style"] == 2 else tidx(p["cond"]), a[0], a[1]),
)
def _where(b: Builder) -> bool:
    x = first(b)
    shape = tuple(b.vals[x].shape)
    y = b.operand(b.broadcastable(shape))
    cond = b.rng.random(b.broadcastable(shape)) < 0.5
    c = float(b.rng.uniform(-1, 1))
    return away(b.vals[x], c) and b.push("where", [x, y], {"cond": cond, "c": c})


# ----- linear algebra ------------------------------------------------------------------------
@op(
    "matmul",
    (lambda a, p: a[0] @ a[1], lambda a, p: nb.matmul(*a), lambda a, p: a[0].matmul(a[1])),
    lambda a, p: torch.matmul(*a),
)
def _matmul(b: Builder) -> bool:
    x = first(b, lambda v: 1 <= v.ndim <= 3)
    xs = tuple(b.vals[x].shape)
    if not 1 <= len(xs) <= 3:
        return False
    k, m = xs[-1], int(b.rng.integers(1, 4))
    if b.chance(0.3) and len(xs) >= 2:  # x on the right: (m, n) @ x
        return b.push("matmul", [b.operand((m, xs[-2])), x], {})
    options = [(k,), (k, m), (2, k, m)] if len(xs) < 3 else [(k,), (k, m), (xs[0], k, m), (1, k, m)]
    return b.push("matmul", [x, b.operand(b.choice(options))], {})


@op("linear", (lambda a, p: nb.linear(*a), lambda a, p: F.linear(*a)), lambda a, p: torch.nn.functional.linear(*a))  # fmt: skip
def _linear(b: Builder) -> bool:
    x = first(b, lambda v: 1 <= v.ndim <= 3)
    xs = tuple(b.vals[x].shape)
    if not 1 <= len(xs) <= 3:
        return False
    m = int(b.rng.integers(1, 4))
    args = [x, b.operand((m, xs[-1]))]
    if b.chance(0.6):
        args.append(b.operand((m,)))
    return b.push("linear", args, {})


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


_reduction("sum", lambda a, p: torch.sum(a[0], dim=tdim(p["axis"], a[0].ndim), keepdim=p["keepdims"]))  # fmt: skip
_reduction("mean", lambda a, p: torch.mean(a[0], dim=tdim(p["axis"], a[0].ndim), keepdim=p["keepdims"]))  # fmt: skip
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
_reduction("logsumexp", lambda a, p: torch.logsumexp(a[0], dim=tdim(p["axis"], a[0].ndim), keepdim=p["keepdims"]))  # fmt: skip
_reduction("amax", lambda a, p: torch.amax(a[0], dim=tdim(p["axis"], a[0].ndim), keepdim=p["keepdims"]))  # fmt: skip
_reduction("amin", lambda a, p: torch.amin(a[0], dim=tdim(p["axis"], a[0].ndim), keepdim=p["keepdims"]))  # fmt: skip


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
