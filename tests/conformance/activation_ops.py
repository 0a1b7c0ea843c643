"""The op table: the activations and distances of nn.functional added for issue 16, against PyTorch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as TF

import nabla as nb
import nabla.nn.functional as F

from .optable import first, op
from .programs import Builder, away


def _strictly_away(*points: float) -> Callable[[torch.Tensor], bool]:
    """Further than the margin from every kink (at a kink the subgradient is a convention)."""
    return lambda v: all(away(v, p) and bool((v != p).all()) for p in points)


def _pointwise(
    name: str, nabla: Callable[[Any], Any], module: Callable[[], Any], torch_fn: Callable[[Any], Any],
    kinks: tuple[float, ...] = (), low: float = -4.0, high: float = 4.0,
) -> None:  # fmt: skip
    domain = _strictly_away(*kinks)

    @op(name, (lambda a, p: nabla(a[0]), lambda a, p: module()(a[0])), lambda a, p: torch_fn(a[0]))
    def propose(b: Builder) -> bool:
        x = first(b, domain, low=low, high=high)
        return domain(b.vals[x]) and b.push(name, [x], {})


_pointwise("logsigmoid", F.logsigmoid, nb.nn.LogSigmoid, TF.logsigmoid, low=-8.0, high=8.0)
_pointwise("relu6", F.relu6, nb.nn.ReLU6, TF.relu6, (0.0, 6.0), -2.0, 8.0)
_pointwise("selu", F.selu, nb.nn.SELU, TF.selu, (0.0,))
_pointwise("celu", lambda x: F.celu(x, 0.5), lambda: nb.nn.CELU(0.5),
           lambda x: TF.celu(x, 0.5), (0.0,))  # fmt: skip
_pointwise("hardswish", F.hardswish, nb.nn.Hardswish, TF.hardswish, (-3.0, 3.0), -5.0, 5.0)


def _torch_hardsigmoid(x: torch.Tensor) -> torch.Tensor:
    """PyTorch's hardsigmoid as hardtanh (its own hardsigmoid has no second derivative; the
    tests in tests/nn check it against this nabla function at first order)."""
    return TF.hardtanh(x + 3.0, 0.0, 6.0) / 6.0


_pointwise(
    "hardsigmoid", F.hardsigmoid, nb.nn.Hardsigmoid, _torch_hardsigmoid, (-3.0, 3.0), -5.0, 5.0
)
_pointwise("softsign", F.softsign, nb.nn.Softsign, TF.softsign, (0.0,))
_pointwise("tanhshrink", F.tanhshrink, nb.nn.Tanhshrink, TF.tanhshrink)
_pointwise("threshold", lambda x: F.threshold(x, 0.5, -1.0), lambda: nb.nn.Threshold(0.5, -1.0),
           lambda x: TF.threshold(x, 0.5, -1.0), (0.5,))  # fmt: skip


def _has_dim(v: torch.Tensor) -> bool:
    return v.ndim >= 1


@op(
    "glu",
    (lambda a, p: F.glu(a[0], p["dim"]), lambda a, p: nb.nn.GLU(p["dim"])(a[0])),
    lambda a, p: TF.glu(a[0], p["dim"]),
)
def _glu(b: Builder) -> bool:
    x = first(b, _has_dim)
    v = b.vals[x]
    if v.ndim == 0:
        return False
    dim = int(b.rng.integers(-v.ndim, v.ndim))
    return v.shape[dim] % 2 == 0 and b.push("glu", [x], {"dim": dim})


@op(
    "softmin",
    (lambda a, p: F.softmin(a[0], p["dim"]), lambda a, p: nb.nn.Softmin(p["dim"])(a[0])),
    lambda a, p: TF.softmin(a[0], p["dim"]),
)
def _softmin(b: Builder) -> bool:
    x = first(b)
    ndim = max(b.vals[x].ndim, 1)
    return b.push("softmin", [x], {"dim": int(b.rng.integers(-ndim, ndim))})


@op("prelu", (lambda a, p: F.prelu(a[0], a[1]),), lambda a, p: TF.prelu(a[0], a[1]))
def _prelu(b: Builder) -> bool:
    x = first(b, _strictly_away(0.0))
    v = b.vals[x]
    if not _strictly_away(0.0)(v):
        return False
    channels = int(v.shape[1]) if v.ndim >= 2 else 1
    w = b.operand((int(b.choice([1, channels])),))
    return b.push("prelu", [x, w], {})


def _norm_far(v: torch.Tensor, dim: int) -> bool:
    """Every vector along ``dim`` has a 2-norm away from 0 (no clamp to eps)."""
    return v.numel() == 0 or bool((torch.linalg.vector_norm(v, 2, dim) > 0.3).all())


@op(
    "normalize",
    (lambda a, p: F.normalize(a[0], p["p"], p["dim"]),),
    lambda a, p: TF.normalize(a[0], p["p"], p["dim"]),
)
def _normalize(b: Builder) -> bool:
    x = first(b, _has_dim, low=0.3)
    v = b.vals[x]
    if v.ndim == 0:
        return False
    dim = int(b.rng.integers(-v.ndim, v.ndim))
    p = b.choice([2.0, 1.0, 3.0])
    if not _norm_far(v, dim) or (p == 1.0 and not _strictly_away(0.0)(v)):
        return False
    return b.push("normalize", [x], {"p": p, "dim": dim})


@op(
    "cosine_similarity",
    (
        lambda a, p: F.cosine_similarity(a[0], a[1], p["dim"]),
        lambda a, p: nb.nn.CosineSimilarity(p["dim"])(a[0], a[1]),
    ),
    lambda a, p: TF.cosine_similarity(a[0], a[1], p["dim"]),
)
def _cosine_similarity(b: Builder) -> bool:
    x = first(b, _has_dim, low=0.3)
    v = b.vals[x]
    if v.ndim == 0:
        return False
    dim = int(b.rng.integers(-v.ndim, v.ndim))
    y = b.operand(tuple(v.shape), lambda u: _norm_far(u, dim), 0.3, 2.0)
    if not (_norm_far(v, dim) and _norm_far(b.vals[y], dim)):
        return False
    return b.push("cosine_similarity", [x, y], {"dim": dim})


@op(
    "pairwise_distance",
    (
        lambda a, p: F.pairwise_distance(a[0], a[1], p["p"], keepdim=p["keepdim"]),
        lambda a, p: nb.nn.PairwiseDistance(p["p"], keepdim=p["keepdim"])(a[0], a[1]),
    ),
    lambda a, p: TF.pairwise_distance(a[0], a[1], p["p"], keepdim=p["keepdim"]),
)
def _pairwise_distance(b: Builder) -> bool:
    x = first(b, _has_dim)
    v = b.vals[x]
    if v.ndim == 0:
        return False
    y = b.operand(tuple(v.shape))
    diff = v - b.vals[y] + 1e-6
    p = b.choice([2.0, 1.0, 3.0])
    if not (_norm_far(diff, -1) and _strictly_away(0.0)(diff)):
        return False
    return b.push("pairwise_distance", [x, y], {"p": p, "keepdim": b.chance(0.5)})


@op(
    "pad",
    (lambda a, p: F.pad(a[0], p["widths"], p["mode"], p["value"]),),
    lambda a, p: TF.pad(a[0], p["widths"], p["mode"], p["value"]),
)
def _pad(b: Builder) -> bool:
    mode = b.choice(["constant", "reflect", "replicate", "circular"])
    x = first(b, lambda v: v.ndim >= 2 and v.numel() > 0)
    v = b.vals[x]
    if v.ndim < 2 or v.numel() == 0:
        return False
    n = 1 if v.ndim == 2 or b.chance(0.5) else 2
    if mode != "constant" and v.ndim not in (n + 1, n + 2):
        return False
    widths: list[int] = []
    for i in range(n):
        size = int(v.shape[-1 - i])
        top = size - 1 if mode == "reflect" else size
        widths += [int(b.rng.integers(0, min(top, 3) + 1)) for _ in range(2)]
    value = float(b.choice([0.0, 1.5])) if mode == "constant" else None
    return b.push("pad", [x], {"widths": tuple(widths), "mode": mode, "value": value})
