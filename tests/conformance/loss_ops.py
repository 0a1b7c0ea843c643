"""The op table, part 4: the losses of ``nabla.nn.functional`` and integer operands
(registered into ``optable.OPS``).

Targets, class weights and integer operands are constants in the node's parameters; a
probability target of ``cross_entropy`` and the target of ``mse_loss``/``l1_loss`` may also be
values of the program (PyTorch differentiates them too).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF

import nabla as nb
import nabla.nn.functional as F

from .optable import Fn, first, nconst, tconst, tidx
from .optable import op as register
from .programs import Builder, away, inside

REDUCTIONS = ("mean", "sum", "none")


def _in_input_dtype(fn: Fn) -> Fn:
    """Float constants (targets, weights) in the dtype of the op's first input, as a user
    passes them (a float32 constant of a float64 program would otherwise promote)."""

    def run(a: list[Any], p: dict[str, Any]) -> Any:
        if not a:
            return fn(a, p)
        dtype = a[0].dtype
        return fn(a, {**p, "dtype": _np_dtype(dtype)})

    return run


def _np_dtype(dtype: Any) -> Any:
    if isinstance(dtype, torch.dtype):
        return np.dtype(str(dtype).removeprefix("torch."))
    return dtype


def op(name: str, nabla: tuple[Fn, ...], torch_fn: Fn, weight: float = 1.0) -> Any:
    """``optable.op`` with constants in the first input's dtype."""
    return register(
        name, tuple(_in_input_dtype(f) for f in nabla), _in_input_dtype(torch_fn), weight
    )


def _opt(p: dict[str, Any], key: str, conv: Any) -> Any:
    return None if p.get(key) is None else conv(p[key], p)


def _ce_nabla(a: list[Any], p: dict[str, Any]) -> Any:
    target = a[1] if len(a) > 1 else p["target"]
    if len(a) == 1 and p["style"] == 1:
        target = nb.Tensor(p["target"]) if target.dtype.kind in "iu" else target
    if len(a) == 1 and target.dtype.kind == "f":
        target = nconst(target, p)
    kwargs: dict[str, Any] = {"reduction": p["reduction"]}
    if p.get("weight") is not None:
        kwargs["weight"] = nconst(p["weight"], p)
    if p.get("ignore_index") is not None:
        kwargs["ignore_index"] = p["ignore_index"]
    if p["smoothing"]:
        kwargs["label_smoothing"] = p["smoothing"]
    return F.cross_entropy(a[0], target, **kwargs)


def _ce_torch(a: list[Any], p: dict[str, Any]) -> Any:
    if len(a) > 1:
        target = a[1]
    elif p["target"].dtype.kind in "iu":
        target = tidx(p["target"])
    else:
        target = tconst(p["target"], p)
    ignore = -100 if p.get("ignore_index") is None else p["ignore_index"]
    return TF.cross_entropy(
        a[0],
        target,
        weight=_opt(p, "weight", tconst),
        ignore_index=ignore,
        reduction=p["reduction"],
        label_smoothing=p["smoothing"],
    )


@op("cross_entropy", (_ce_nabla, _ce_nabla), _ce_torch, weight=1.5)
def _cross_entropy(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim in (1, 2) and v.shape[-1] > 0, shape=(4, 3))
    shape = tuple(b.vals[x].shape)
    if len(shape) not in (1, 2) or shape[-1] == 0:
        return False
    n, c = (shape[0] if len(shape) == 2 else None), shape[-1]
    params: dict[str, Any] = {
        "reduction": b.choice(REDUCTIONS),
        "smoothing": b.choice([0.0, 0.0, 0.1, 0.3]),
        "weight": b.rng.uniform(0.2, 2.0, c) if b.chance(0.4) else None,
    }
    args = [x]
    if b.chance(0.6):  # class indices, some of them ignored
        target = b.rng.integers(0, c, () if n is None else (n,))
        if b.chance(0.4):
            params["ignore_index"] = b.choice([-100, -1, 0, c - 1])
            dropped = b.rng.random(target.shape) < 0.3
            target = np.where(dropped, params["ignore_index"], target)
            if (target == params["ignore_index"]).all():
                return False  # every row ignored: 0/0 in both libraries
        params["target"] = target
    elif b.chance(0.5):  # probabilities, constant
        params["target"] = b.rng.dirichlet(np.ones(c), n if n is not None else None)
    else:  # a differentiable target: any value of the logits' shape
        args.append(b.operand(shape, low=0.0, high=1.0))
    return b.push("cross_entropy", args, params)


@op(
    "nll_loss",
    (
        lambda a, p: F.nll_loss(
            a[0],
            p["target"],
            weight=_opt(p, "weight", nconst),
            ignore_index=p["ignore_index"],
            reduction=p["reduction"],
        ),
    ),
    lambda a, p: TF.nll_loss(
        a[0],
        tidx(p["target"]),
        weight=_opt(p, "weight", tconst),
        ignore_index=p["ignore_index"],
        reduction=p["reduction"],
    ),
)
def _nll_loss(b: Builder) -> bool:
    x = first(b, lambda v: v.ndim == 2 and v.shape[0] > 0 and v.shape[1] > 0, shape=(3, 4))
    shape = tuple(b.vals[x].shape)
    if len(shape) != 2 or 0 in shape:
        return False
    n, c = shape
    target = b.rng.integers(0, c, n)
    ignore = b.choice([-100, 0, c - 1])
    if b.chance(0.3):
        target = np.where(b.rng.random(n) < 0.3, ignore, target)
    if (target == ignore).all():
        return False
    params = {
        "target": target,
        "ignore_index": ignore,
        "reduction": b.choice(REDUCTIONS),
        "weight": b.rng.uniform(0.2, 2.0, c) if b.chance(0.4) else None,
    }
    return b.push("nll_loss", [x], params)


def _pairwise(name: str) -> None:
    nfn, tfn = getattr(F, name), getattr(TF, name)

    def target(a: list[Any], p: dict[str, Any], conv: Any) -> Any:
        return a[1] if len(a) > 1 else conv(p["target"], p)

    def propose(b: Builder) -> bool:
        x = first(b)
        shape = tuple(b.vals[x].shape)
        if b.chance(0.5):
            y = b.operand(shape)
            ok = name != "l1_loss" or away(b.vals[x] - b.vals[y])
            return ok and b.push(name, [x, y], {"reduction": b.choice(REDUCTIONS)})
        t = b.rng.uniform(-2, 2, shape)
        if name == "l1_loss" and not away(b.vals[x] - torch.from_numpy(t)):
            return False
        return b.push(name, [x], {"reduction": b.choice(REDUCTIONS), "target": t})

    op(
        name,
        (lambda a, p: nfn(a[0], target(a, p, nconst), reduction=p["reduction"]),),
        lambda a, p: tfn(a[0], target(a, p, tconst), reduction=p["reduction"]),
    )(propose)


_pairwise("mse_loss")
_pairwise("l1_loss")


@op(
    "smooth_l1_loss",
    (
        lambda a, p: F.smooth_l1_loss(
            a[0], _target(a, p, nconst), reduction=p["reduction"], beta=p["beta"]
        ),
    ),
    lambda a, p: TF.smooth_l1_loss(
        a[0], _target(a, p, tconst), reduction=p["reduction"], beta=p["beta"]
    ),
)
def _smooth_l1(b: Builder) -> bool:
    """Residuals away from the kinks at ±beta (and from 0 when beta = 0, the L1 loss)."""
    x = first(b)
    shape = tuple(b.vals[x].shape)
    beta = b.choice([0.0, 0.5, 1.0, 2.0])
    params: dict[str, Any] = {"reduction": b.choice(REDUCTIONS), "beta": beta}
    args = [x]
    if b.chance(0.5):
        args.append(b.operand(shape))
        diff = b.vals[x] - b.vals[args[1]]
    else:
        params["target"] = b.rng.uniform(-2, 2, shape)
        diff = b.vals[x] - torch.from_numpy(params["target"])
    kinks = [0.0] if beta == 0 else [beta, -beta]
    if not all(away(diff, k) for k in kinks):
        return False
    return b.push("smooth_l1_loss", args, params)


@op(
    "kl_div",
    (
        lambda a, p: F.kl_div(
            a[0], _target(a, p, nconst), reduction=p["reduction"], log_target=p["log_target"]
        ),
    ),
    lambda a, p: TF.kl_div(
        a[0], _target(a, p, tconst), reduction=p["reduction"], log_target=p["log_target"]
    ),
)
def _kl_div(b: Builder) -> bool:
    """Any log-probabilities; probability targets in [0, 1] (a constant may hold exact zeros,
    a differentiable one stays away from 0, where PyTorch's gradient of t log t is NaN), or any
    log-targets. ``"mean"`` is left out: PyTorch warns on it (checked in tests/nn)."""
    x = first(b)
    shape = tuple(b.vals[x].shape)
    log_target = b.chance(0.4)
    params: dict[str, Any] = {
        "reduction": b.choice(["batchmean", "sum", "none"]),
        "log_target": log_target,
    }
    if b.chance(0.4):
        low = -2.0 if log_target else 0.05
        y = b.operand(shape, None, low, 1.0)
        if not log_target and not inside(b.vals[y], 0.02, 2.0):
            return False
        return b.push("kl_div", [x, y], params)
    target = b.rng.uniform(-2, 1, shape) if log_target else b.rng.uniform(0, 1, shape)
    if not log_target:
        target = np.where(b.rng.random(shape) < 0.2, 0.0, target)
    params["target"] = target
    return b.push("kl_div", [x], params)


def _target(a: list[Any], p: dict[str, Any], conv: Any) -> Any:
    """The target: the op's second input (differentiable) or the constant in ``p``."""
    return a[1] if len(a) > 1 else conv(p["target"], p)


def _bce_params(b: Builder, shape: tuple[int, ...], logits: bool) -> dict[str, Any]:
    soft = b.chance(0.5)
    target = b.rng.uniform(0, 1, shape) if soft else (b.rng.random(shape) < 0.5).astype(float)
    params: dict[str, Any] = {"target": target, "reduction": b.choice(REDUCTIONS)}
    params["weight"] = b.rng.uniform(0.2, 2, b.broadcastable(shape)) if b.chance(0.3) else None
    if logits and shape and b.chance(0.3):
        params["pos_weight"] = b.rng.uniform(0.2, 3, shape[-1:])
    return params


@op(
    "binary_cross_entropy",
    (
        lambda a, p: F.binary_cross_entropy(
            a[0], _target(a, p, nconst), _opt(p, "weight", nconst), p["reduction"]
        ),
    ),
    lambda a, p: TF.binary_cross_entropy(
        a[0], _target(a, p, tconst), _opt(p, "weight", tconst), reduction=p["reduction"]
    ),
)
def _bce(b: Builder) -> bool:
    """Probabilities inside (0.02, 0.98), or exactly 0 or 1 from a clamp (PyTorch clamps the
    logs at −100 and divides the gradient by max(p(1 − p), 1e-12): both stay finite)."""

    def ok(v: torch.Tensor) -> bool:
        return bool(((v == 0) | (v == 1) | ((v > 0.02) & (v < 0.98))).all())

    # exact 0 and 1 only from a clamp, whose mask zeroes what flows back through them (PyTorch's
    # second derivative of BCE at 0 and 1 is not the derivative of its clamped first one)
    x = first(b, lambda v: inside(v, 0.02, 0.98), low=0.05, high=0.95)
    if not inside(b.vals[x], 0.02, 0.98):
        y = first(b, lambda v: away(v, 0.0) and away(v, 1.0))
        if not (away(b.vals[y], 0.0) and away(b.vals[y], 1.0)):
            return False
        if not b.push("clip", [y], {"lo": 0.0, "hi": 1.0}):
            return False
        x = len(b.vals) - 1
        if not ok(b.vals[x]):
            return False
    shape = tuple(b.vals[x].shape)
    params = _bce_params(b, shape, False)
    if b.chance(0.3):  # a differentiable target in [0, 1]
        del params["target"]
        return b.push("binary_cross_entropy", [x, b.operand(shape, None, 0.0, 1.0)], params)
    return b.push("binary_cross_entropy", [x], params)


@op(
    "bce_with_logits",
    (
        lambda a, p: F.binary_cross_entropy_with_logits(
            a[0],
            nconst(p["target"], p),
            weight=_opt(p, "weight", nconst),
            reduction=p["reduction"],
            pos_weight=_opt(p, "pos_weight", nconst),
        ),
    ),
    lambda a, p: TF.binary_cross_entropy_with_logits(
        a[0],
        tconst(p["target"], p),
        weight=_opt(p, "weight", tconst),
        reduction=p["reduction"],
        pos_weight=_opt(p, "pos_weight", tconst),
    ),
)
def _bce_logits(b: Builder) -> bool:
    x = first(b)
    shape = tuple(b.vals[x].shape)
    return b.push("bce_with_logits", [x], _bce_params(b, shape, True))


# ----- integer operands: PyTorch's promotion (int with float stays float, of the float's
# dtype; int with a Python float or int / int gives the default float32) -------------------
_INT_MIX = {
    "+": lambda x, k: x + k,
    "*": lambda x, k: x * k,
    "r-": lambda x, k: k - x,
}


@op(
    "int_mix",
    (
        lambda a, p: _INT_MIX[p["op"]](a[0], nb.Tensor(p["ints"])),
        lambda a, p: _INT_MIX[p["op"]](a[0], nb.tensor(p["ints"])),
    ),
    lambda a, p: _INT_MIX[p["op"]](a[0], tidx(p["ints"])),
    weight=0.5,
)
def _int_mix(b: Builder) -> bool:
    x = first(b)
    ints = b.rng.integers(-3, 4, b.broadcastable(tuple(b.vals[x].shape)))
    return b.push("int_mix", [x], {"ints": ints, "op": b.choice(list(_INT_MIX))})


@op(
    "int_to_float",
    (
        lambda a, p: nb.Tensor(p["ints"]) * p["s"] if p["s"] else nb.Tensor(p["ints"]) / 2,
        lambda a, p: nb.tensor(p["ints"]) * p["s"] if p["s"] else nb.tensor(p["ints"]) / 2,
    ),
    lambda a, p: tidx(p["ints"]) * p["s"] if p["s"] else tidx(p["ints"]) / 2,
    weight=0.3,
)
def _int_to_float(b: Builder) -> bool:
    ints = b.rng.integers(-3, 4, b.shape(2, zero=0.0))
    return b.push("int_to_float", [], {"ints": ints, "s": b.choice([1.5, -0.5, 0])})


_OTHER = {np.dtype(np.float64): np.float32, np.dtype(np.float32): np.float64}


@op(
    "float_mix",
    (
        lambda a, p: a[0] + nb.Tensor(p["c"].astype(_OTHER[a[0].dtype])),
        lambda a, p: a[0] * nb.Tensor(p["c"].astype(_OTHER[a[0].dtype])),
    ),
    lambda a, p: (
        a[0] + torch.from_numpy(p["c"].astype(_OTHER[np.dtype(p["dtype"])]))
        if p["style"] == 0
        else a[0] * torch.from_numpy(p["c"].astype(_OTHER[np.dtype(p["dtype"])]))
    ),
    weight=0.5,
)
def _float_mix(b: Builder) -> bool:
    """A constant of the other float dtype: PyTorch's promotion (a 0-d operand gives way to one
    with dimensions of the same category; otherwise the wider dtype wins)."""
    x = first(b)
    shape = () if b.chance(0.5) else b.broadcastable(tuple(b.vals[x].shape))
    return b.push("float_mix", [x], {"c": np.asarray(b.rng.uniform(-2, 2, shape))})
