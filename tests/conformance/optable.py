"""The op table, part 1: arithmetic, elementwise and linear algebra.

Each :class:`Op` names the nabla spellings of one op (functions, methods, operators, PyTorch's
``dim``/``keepdim`` aliases; a node's ``style`` picks one), its PyTorch equivalent, and how to
draw it: ``propose(builder)`` chooses operands and parameters inside the op's domain and pushes
a node, or returns False. Constants travel in the node's parameters as float64 or integer arrays;
``p["dtype"]`` is the program's float dtype at run time.
"""

from __future__ import annotations

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
    "maximum": (
        (lambda a, p: nb.maximum(*a), lambda a, p: a[0].maximum(a[1])),
        lambda a, p: torch.maximum(*a),
    ),
    "minimum": (
        (lambda a, p: nb.minimum(*a), lambda a, p: a[0].minimum(a[1])),
        lambda a, p: torch.minimum(*a),
    ),
    "pow_tensor": (
        (lambda a, p: a[0] ** a[1], lambda a, p: nb.pow(*a)),
        lambda a, p: a[0] ** a[1],
    ),
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
    x = first(b, _nonzero if kind == "r/" else None, low=0.3)
    if kind == "r/" and not _nonzero(b.vals[x]):
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
_unary(
    "log",
    (lambda a, p: nb.log(a[0]), lambda a, p: a[0].log()),
    lambda a, p: torch.log(a[0]),
    _positive,
    0.2,
    3.0,
)
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


# ----- the activations of nn.functional (issue 16) ---------------------------------------------
def _no_zero(v: torch.Tensor) -> bool:
    """Away from 0 and never exactly 0 (at 0 PyTorch's second derivative of elu takes the
    right-hand limit, a convention; the first derivatives agree there)."""
    return away(v) and bool((v != 0).all())


_unary(
    "gelu",
    (
        lambda a, p: F.gelu(a[0], approximate=p["approximate"]),
        lambda a, p: nb.nn.GELU(p["approximate"])(a[0]),
    ),
    lambda a, p: torch.nn.functional.gelu(a[0], approximate=p["approximate"]),
    low=-4.0,
    high=4.0,
    params=lambda b: {"approximate": b.choice(["none", "tanh"])},
)
_unary(
    "silu",
    (lambda a, p: F.silu(a[0]), lambda a, p: nb.nn.SiLU()(a[0])),
    lambda a, p: torch.nn.functional.silu(a[0]),
    low=-6.0,
    high=6.0,
)
_unary(
    "mish",
    (lambda a, p: F.mish(a[0]), lambda a, p: nb.nn.Mish()(a[0])),
    lambda a, p: torch.nn.functional.mish(a[0]),
    low=-6.0,
    high=6.0,
)
_unary(
    "elu",
    (lambda a, p: F.elu(a[0], p["alpha"]), lambda a, p: nb.nn.ELU(p["alpha"])(a[0])),
    lambda a, p: torch.nn.functional.elu(a[0], p["alpha"]),
    _no_zero,
    params=lambda b: {"alpha": b.choice([1.0, 0.3, 2.5])},
)


@op(
    "softplus",
    (
        lambda a, p: F.softplus(a[0], p["beta"], p["threshold"]),
        lambda a, p: nb.nn.Softplus(p["beta"], p["threshold"])(a[0]),
    ),
    lambda a, p: torch.nn.functional.softplus(a[0], p["beta"], p["threshold"]),
)
def _softplus(b: Builder) -> bool:
    """Both sides of the threshold, away from it (where β x = threshold the function kinks)."""
    x = first(b, low=-5.0, high=5.0)
    beta, threshold = b.choice([1.0, 0.5, 2.0]), b.choice([20.0, 1.0, 3.0])
    if not away(b.vals[x] * beta, threshold) or bool((b.vals[x] * beta == threshold).any()):
        return False
    return b.push("softplus", [x], {"beta": beta, "threshold": threshold})


@op(
    "hardtanh",
    (
        lambda a, p: F.hardtanh(a[0], p["lo"], p["hi"]),
        lambda a, p: nb.nn.Hardtanh(p["lo"], p["hi"])(a[0]),
    ),
    lambda a, p: torch.nn.functional.hardtanh(a[0], p["lo"], p["hi"]),
)
def _hardtanh(b: Builder) -> bool:
    x = first(b)
    lo, hi = b.choice([(-1.0, 1.0), (-0.5, 1.5), (0.0, 0.25)])
    if not (away(b.vals[x], lo) and away(b.vals[x], hi)):
        return False
    return b.push("hardtanh", [x], {"lo": lo, "hi": hi})


@op(
    "layer_norm",
    (
        lambda a, p: F.layer_norm(a[0], p["n"], *a[1:], eps=p["eps"]),
        lambda a, p: nb.nn.functional.layer_norm(a[0], [p["n"]], *a[1:], eps=p["eps"]),
    ),
    lambda a, p: torch.nn.functional.layer_norm(a[0], [p["n"]], *a[1:], eps=p["eps"]),
)
def _layer_norm(b: Builder) -> bool:
    """Over the last dimension (of at least 2 entries, spread apart), with optional weight and
    bias operands."""
    x = first(b, lambda v: v.ndim >= 1 and v.shape[-1] >= 2 and v.numel() > 0)
    v = b.vals[x]
    if v.ndim == 0 or v.shape[-1] < 2 or v.numel() == 0 or bool((v.std(-1) < 0.2).any()):
        return False
    n = int(v.shape[-1])
    args = [x]
    if b.chance(0.6):
        args.append(b.operand((n,)))
        if b.chance(0.5):
            args.append(b.operand((n,)))
    return b.push("layer_norm", args, {"n": n, "eps": b.choice([1e-5, 1e-2])})


@op(
    "embedding",
    (
        lambda a, p: F.embedding(p["idx"], a[0], padding_idx=p["pad"]),
        lambda a, p: F.embedding(nb.tensor(p["idx"]), a[0], p["pad"]),
    ),
    lambda a, p: torch.nn.functional.embedding(tidx(p["idx"]), a[0], padding_idx=p["pad"]),
)
def _embedding(b: Builder) -> bool:
    """Rows of a 2-d table picked by integer indices (repeats included), some at padding_idx."""
    x = first(b, lambda v: v.ndim == 2 and v.shape[0] >= 1)
    v = b.vals[x]
    if v.ndim != 2 or v.shape[0] < 1:
        return False
    n = int(v.shape[0])
    # no empty index: PyTorch's embedding backward cannot reshape it (a PyTorch error)
    idx = b.rng.integers(0, n, b.choice([(), (3,), (2, 3)]))
    pad = b.choice([None, 0, n - 1, -1])
    return b.push("embedding", [x], {"idx": np.asarray(idx, dtype=np.int64), "pad": pad})


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
    lambda a, p: (
        a[0].to(torch.float32).to(torch.float64)
        if p["dtype"] == np.float64
        else a[0].to(torch.float64).to(torch.float32)
    ),
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
    options = (
        [(k,), (k, m), (2, k, m)] if len(xs) < 3 else [(k,), (k, m), (xs[0], k, m), (1, k, m)]
    )
    return b.push("matmul", [x, b.operand(b.choice(options))], {})


@op(
    "linear",
    (lambda a, p: nb.linear(*a), lambda a, p: F.linear(*a)),
    lambda a, p: torch.nn.functional.linear(*a),
)
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
