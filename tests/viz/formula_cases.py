"""The table of calls whose printed rules tests/viz/test_formulas*.py evaluate: every op with a
call rule, under every option (reduction, weights, ties, broadcasting, batch, 1-D operands)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import nabla as nb
import nabla.nn.functional as F
import nabla.ops
from nabla.autograd.function import Function
from nabla.autograd.graph import inputs_of
from nabla.viz.explain import Term
from nabla.viz.rules import call_rule


@dataclass(frozen=True)
class Call:
    name: str
    fn: Callable[..., nb.Tensor]
    inputs: Callable[[np.random.Generator], list[Any]]  # arrays; float ones need a gradient
    text: tuple[str, ...] = ()  # what the printed rules must say (one of the terms)
    absent: tuple[str, ...] = ()  # and must not say
    rtol: float = 1e-10
    freed: bool = False  # backward frees what the rule's value needs: explain before it


def _normal(*shape: int) -> Callable[[np.random.Generator], Any]:
    return lambda rng: rng.standard_normal(shape)


def _arrays(*makers: Callable[[np.random.Generator], Any]) -> Callable[..., list[Any]]:
    return lambda rng: [m(rng) for m in makers]


def _ties(rng: np.random.Generator) -> list[Any]:
    x = rng.standard_normal((3, 4))
    y = x.copy()
    y[0] += 1.0
    y[1] -= 1.0  # row 2 ties
    return [x, y]


def _labels(n: int, c: int) -> Callable[[np.random.Generator], Any]:
    return lambda rng: rng.integers(0, c, n)


def _probs(rng: np.random.Generator) -> Any:
    p = rng.random((5, 3)) + 0.1
    return p / p.sum(axis=1, keepdims=True)


def _unit(*shape: int) -> Callable[[np.random.Generator], Any]:
    return lambda rng: rng.uniform(0.05, 0.95, shape)


WEIGHTS = np.array([0.5, 2.0, 1.5])
N6 = _normal(5, 3)
CALLS = [
    Call(
        "conv2d",
        lambda x, w, b: F.conv2d(x, w, b, padding=1),
        _arrays(_normal(2, 3, 5, 4), _normal(4, 3, 3, 3), _normal(4)),
        ("col2im(G W)", "Gᵀ P", "1ᵀ G"),
    ),
    Call(
        "conv2d-grouped-strided",
        lambda x, w: F.conv2d(x, w, stride=2, dilation=(1, 2), groups=2),
        _arrays(_normal(2, 4, 7, 8), _normal(6, 2, 2, 3)),
        ("Gᵀ P", "2 groups"),
    ),
    Call(
        "conv1d-same",
        lambda x, w, b: F.conv1d(x, w, b, padding="same"),
        _arrays(_normal(3, 2, 6), _normal(5, 2, 4), _normal(5)),
        ("col2im(G W)",),
    ),
    Call("add", lambda x, y: x + y, _arrays(_normal(4, 3), _normal(4, 3)), ("∇y = g",)),
    Call("add-bias", lambda x, b: x + b, _arrays(_normal(4, 3), _normal(3)), ("∇y = 1ᵀ G",)),
    Call("add-row", lambda x, b: x + b, _arrays(_normal(4, 3), _normal(1, 3)), ("∇y = 1ᵀ G",)),
    Call("add-col", lambda x, b: x + b, _arrays(_normal(4, 3), _normal(4, 1)), ("∇y = G 1",)),
    Call(
        "add-3d",
        lambda x, b: x + b,
        _arrays(_normal(2, 4, 3), _normal(4, 1)),
        ("∇y = Σ_axes(0,2) G",),
    ),
    Call("add-x-bcast", lambda x, y: x + y, _arrays(_normal(3), _normal(2, 3)), ("∇x = 1ᵀ G",)),
    Call("sub-bcast", lambda x, y: x - y, _arrays(_normal(4, 3), _normal(3)), ("∇y = 1ᵀ (−G)",)),
    Call(
        "mul-bcast",
        lambda x, y: x * y,
        _arrays(_normal(4, 3), _normal(3)),
        ("∇y = 1ᵀ (G ⊙ x)", "∇x = G ⊙ y"),
    ),
    Call("div", lambda x, y: x / y, _arrays(_normal(4, 3), _unit(4, 3)), ("∇x = g / y",)),
    Call(
        "div-bcast",
        lambda x, y: x / y,
        _arrays(_normal(4, 3), _unit(4, 1)),
        ("∇y = (−G ⊙ (x / y) / y) 1",),
    ),
    Call("maximum-ties", nb.maximum, _ties, ("½ g ⊙ [x = y]", "[x > y]")),
    Call("minimum-ties", nb.minimum, _ties, ("½ g ⊙ [x = y]", "[x < y]")),
    Call("matmul", nb.matmul, _arrays(_normal(3, 4), _normal(4, 5)), ("∇X = G Wᵀ",), ("Σ",)),
    Call("matmul-batch-w", nb.matmul, _arrays(_normal(2, 3, 4), _normal(4, 5)), ("Σ_batch",)),
    Call("matmul-batch-x", nb.matmul, _arrays(_normal(3, 4), _normal(2, 4, 5)), ("Σ_batch",)),
    Call("matmul-batch-both", nb.matmul, _arrays(_normal(2, 3, 4), _normal(2, 4, 5)), (), ("Σ",)),
    Call("matmul-bcast-batch", nb.matmul, _arrays(_normal(2, 1, 3, 4), _normal(5, 4, 2))),
    Call("matmul-vec-mat", nb.matmul, _arrays(_normal(4), _normal(4, 5)), ("∇W = X ⊗ g",)),
    Call("matmul-mat-vec", nb.matmul, _arrays(_normal(3, 4), _normal(4)), ("∇X = g ⊗ W",)),
    Call("matmul-vec-vec", nb.matmul, _arrays(_normal(4), _normal(4)), ("∇X = g W",)),
    Call(
        "matmul-vec-batch",
        nb.matmul,
        _arrays(_normal(4), _normal(2, 4, 5)),
        ("∇X = Σ_batch (W g)",),
    ),
    Call(
        "matmul-batch-vec",
        nb.matmul,
        _arrays(_normal(2, 3, 4), _normal(4)),
        ("∇W = Σ_batch (Xᵀ g)",),
    ),
    Call("linear", nb.linear, _arrays(_normal(6, 4), _normal(3, 4), _normal(3)), ("∇b = 1ᵀ G",)),
    Call("linear-nobias", nb.linear, _arrays(_normal(6, 4), _normal(3, 4)), ("∇W = Gᵀ X",)),
    Call("linear-1d", nb.linear, _arrays(_normal(4), _normal(3, 4), _normal(3)), ("g ⊗ X",)),
    Call("linear-3d", nb.linear, _arrays(_normal(2, 6, 4), _normal(3, 4), _normal(3)), ("Σ",)),
    Call("transpose", lambda x: x.T, _arrays(_normal(3, 4)), ("∇x = gᵀ",)),
    Call("permute", lambda x: x.permute(2, 0, 1), _arrays(_normal(2, 3, 4)), ("(1, 2, 0)",)),
    Call("mT", lambda x: x.mT, _arrays(_normal(2, 3, 4)), ("∇x = gᵀ",)),
    Call("sum-all", lambda x: x.sum(), _arrays(_normal(3, 4)), ("broadcast(g)",)),
    Call("sum-axis", lambda x: x.sum(axis=1), _arrays(_normal(3, 4)), ("axis 1",)),
    Call("sum-keep", lambda x: x.sum(axis=(0, 2), keepdims=True), _arrays(_normal(2, 3, 4))),
    Call("mean-all", lambda x: x.mean(), _arrays(_normal(3, 4)), ("/ n", "n = 12")),
    Call("mean-axis", lambda x: x.mean(axis=0), _arrays(_normal(3, 4)), ("n = 3",)),
    Call(
        "concatenate",
        lambda x, y: nb.concatenate([x, y], axis=1),
        _arrays(_normal(3, 2), _normal(3, 4)),
        ("∇x₂ = g[:, 2:6]",),
    ),
    Call(
        "stack",
        lambda x, y: nb.stack([x, y], axis=0),
        _arrays(_normal(3), _normal(3)),
        ("∇x₂ = g[1]",),
    ),
    Call("neg", lambda x: -x, _arrays(_normal(3, 4)), ("∇x = −g",)),
    Call("reciprocal", lambda x: x.reciprocal(), _arrays(_unit(3, 4)), ("−g ⊙ z²",)),
    Call("exp", nb.exp, _arrays(_normal(3, 4)), ("∇x = g ⊙ z",)),
    Call("log", nb.log, _arrays(_unit(3, 4)), ("∇x = g / x",)),
    Call("sqrt", nb.sqrt, _arrays(_unit(3, 4)), ("∇x = g / (2 z)",)),
    Call("abs", nb.abs, _arrays(_normal(3, 4)), ("sign(x)",)),
    Call("tanh", nb.tanh, _arrays(_normal(3, 4)), ("∇x = g ⊙ (1 − h²)",)),
    Call("sigmoid", nb.sigmoid, _arrays(_normal(3, 4)), ("∇x = g ⊙ z ⊙ (1 − z)",)),
    Call("relu", nb.relu, _arrays(_normal(3, 4)), ("[x > 0]",)),
    Call("leaky-relu", lambda x: F.leaky_relu(x, 0.1), _arrays(_normal(3, 4)), ("0.1 [x ≤ 0]",)),
    Call("clip", lambda x: nb.clip(x, -0.5, 0.5), _arrays(_normal(3, 4)), ("[-0.5 ≤ x ≤ 0.5]",)),
    Call("clip-lo", lambda x: nb.clip(x, 0.0, None), _arrays(_normal(3, 4)), ("[0 ≤ x]",)),
    Call("pow-3", lambda x: x**3, _arrays(_normal(3, 4)), ("3 x^(2)",)),
    Call("pow-half", lambda x: x**0.5, _arrays(_unit(3, 4)), ("0.5 x^(-0.5)",)),
    Call("pow-0", lambda x: x**0, _arrays(_normal(3, 4)), ("∇x = 0",)),
    Call("pow-tensor", lambda x, y: x**y, _arrays(_unit(3, 4), _unit(4)), ("1ᵀ (G ⊙ z log x)",)),
    Call(
        "pow-tensor-zeros",
        lambda x, y: x**y,
        lambda rng: [
            np.array([[0.0, 0.0, 2.0], [1.5, 0.5, 0.0]]),
            np.array([[0.0, 2.0, 0.0], [1.0, 3.0, 1.5]]),
        ],
        ("(0 where y = 0",),
    ),
    Call(
        "where",
        lambda c, x, y: nb.where(c, x, y),
        lambda rng: [
            rng.random((3, 4)) > 0.5,
            rng.standard_normal((3, 4)),
            rng.standard_normal(4),
        ],
        ("∇x = G ⊙ c", "∇y = 1ᵀ (G ⊙ ¬c)"),
    ),
    Call("reshape", lambda x: x.reshape(4, 3), _arrays(_normal(2, 6)), ("reshape(g, (2, 6))",)),
    Call(
        "broadcast-to",
        lambda x: nb.broadcast_to(x, (2, 3, 4)),
        _arrays(_normal(3, 1)),
        ("Σ_axes(0,2) g",),
    ),
    Call(
        "cast",
        lambda x: x.astype(np.float32),
        _arrays(_normal(3, 4)),
        ("(as float64)",),
        rtol=1e-6,
    ),
    Call("softmax", lambda x: nb.softmax(x, axis=0), _arrays(_normal(3, 4)), ("Σ_axis0",)),
    Call(
        "log-softmax",
        lambda x: nb.log_softmax(x, axis=1),
        _arrays(_normal(3, 4)),
        ("∇x = g − exp(z) ⊙ Σ_axis1 g",),
    ),
    Call("logsumexp", lambda x: nb.logsumexp(x, axis=1), _arrays(_normal(3, 4)), ("exp(x −",)),
    Call(
        "amax-ties",
        lambda x: nb.amax(x, axis=1),
        lambda rng: [np.array([[1.0, 3, 3], [2, 0, 1]])],
        ("#ties",),
    ),
    Call("amin-all", nb.amin, lambda rng: [np.array([[1.0, 0, 3], [0, 5, 1]])], ("[x = z]",)),
    Call("var", lambda x: x.var(axis=1), _arrays(_normal(3, 4)), ("ν = n − c = 3",)),
    Call("var-biased", lambda x: x.var(correction=0), _arrays(_normal(3, 4)), ("ν = n − c = 12",)),
    Call("std", lambda x: x.std(axis=0), _arrays(_normal(3, 4)), ("/ (2 broadcast(z, axis 0))",)),
    *[
        Call(
            f"cross-entropy-{r}",
            lambda x, y, r=r: F.cross_entropy(x, y, reduction=r),
            _arrays(N6, _labels(5, 3)),
            ("(Ŷ − Y) ⊙ g",),
            () if r == "mean" else ("/ N",),
        )
        for r in ("mean", "sum", "none")
    ],
    *[
        Call(
            f"cross-entropy-weighted-{r}",
            lambda x, y, r=r: F.cross_entropy(x, y, weight=WEIGHTS, reduction=r),
            _arrays(N6, _labels(5, 3)),
            ("w_y ⊙ (Ŷ − Y)",),
        )
        for r in ("mean", "sum", "none")
    ],
    *[
        Call(
            f"cross-entropy-ignore-{r}",
            lambda x, y, r=r, w=w: F.cross_entropy(x, y, weight=w, reduction=r),
            _arrays(N6, lambda rng: np.array([0, -100, 2, 1, -100])),
            ("m ⊙",),
        )
        for r, w in (("mean", None), ("sum", None), ("mean", WEIGHTS))
    ],
    Call(
        "cross-entropy-ignore-smoothing",
        lambda x, y: F.cross_entropy(x, y, ignore_index=1, label_smoothing=0.1),
        _arrays(N6, lambda rng: np.array([0, 1, 2, 1, 0])),
        ("m ⊙",),
        freed=True,
    ),
    Call(
        "nll-ignore",
        lambda x, y: F.nll_loss(x, y, ignore_index=2),
        _arrays(N6, lambda rng: np.array([0, 2, 2, 1, 0])),
        ("−w_y ⊙ Y",),
        freed=True,
    ),
    Call(
        "cross-entropy-smoothing",
        lambda x, y: F.cross_entropy(x, y, label_smoothing=0.2),
        _arrays(N6, _labels(5, 3)),
        ("ε = 0.2",),
    ),
    Call(
        "cross-entropy-weighted-smoothing",
        lambda x, y: F.cross_entropy(x, y, weight=WEIGHTS, label_smoothing=0.1),
        _arrays(N6, _labels(5, 3)),
        ("w ⊙ Y",),
    ),
    *[
        Call(
            f"cross-entropy-probs-{r}",
            lambda x, y, r=r: F.cross_entropy(x, y, reduction=r),
            _arrays(N6, _probs),
            ("∇Y = −log Ŷ",),
        )
        for r in ("mean", "sum", "none")
    ],
    Call(
        "cross-entropy-probs-weighted",
        lambda x, y: F.cross_entropy(x, y, weight=WEIGHTS, label_smoothing=0.1),
        _arrays(N6, _probs),
        ("−log Ŷ ⊙ w",),
    ),
    *[
        Call(
            f"nll-{r}",
            lambda x, y, r=r: F.nll_loss(x, y, reduction=r),
            _arrays(N6, _labels(5, 3)),
            ("∇X = −Y ⊙ g",),
        )
        for r in ("mean", "sum", "none")
    ],
    Call(
        "nll-weighted",
        lambda x, y: F.nll_loss(x, y, weight=WEIGHTS),
        _arrays(N6, _labels(5, 3)),
        ("∇X = −w_y ⊙ Y ⊙ g / N",),
    ),
    *[
        Call(
            f"bce-logits-{r}",
            lambda v, d, r=r: F.binary_cross_entropy_with_logits(v, d, reduction=r),
            _arrays(_normal(4, 3), _unit(4, 3)),
            ("∇v = (σ(v) − d) ⊙ g",),
        )
        for r in ("mean", "sum", "none")
    ],
    Call(
        "bce-logits-weights",
        lambda v, d: F.binary_cross_entropy_with_logits(
            v, d, weight=np.array([1.0, 2.0, 0.5]), pos_weight=np.array([3.0, 1.0, 0.5])
        ),
        _arrays(_normal(4, 3), _unit(4, 3)),
        ("w ⊙", "p − 1"),
    ),
    *[
        Call(
            f"bce-{r}",
            lambda p, d, r=r: F.binary_cross_entropy(p, d, reduction=r),
            _arrays(_unit(4, 3), _unit(4, 3)),
            ("max(p (1 − p), ε)",),
        )
        for r in ("mean", "sum", "none")
    ],
    Call(
        "bce-weighted",
        lambda p, d: F.binary_cross_entropy(p, d, weight=np.array([2.0, 0.5, 1])),
        _arrays(_unit(4, 3), _unit(4, 3)),
        ("w ⊙",),
    ),
]


def run_call(
    call: Call, rng: np.random.Generator, explain_after: bool
) -> tuple[list[Term], dict[str, Any], list[nb.Tensor]]:
    arrays = call.inputs(rng)
    tensors = [nb.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = call.fn(*tensors)
    assert out._fn is not None
    rule = call_rule(out._fn, inputs_of(out._fn), out.shape)
    assert rule is not None, f"{call.name}: the op has no call rule"
    env: dict[str, Any] = dict(zip(rule.symbols, arrays))
    upstream = rng.standard_normal(out.shape)
    env["g"] = env["G"] = upstream
    if rule.output:
        env[rule.output] = out.data
    explanation = None if explain_after else nb.explain(out, show=False)
    out.backward(nb.tensor(upstream))
    if explanation is None:
        explanation = nb.explain(out, show=False)
    return list(explanation.steps[0].terms), env, tensors


def op_classes() -> list[type]:
    found = set()
    for info in pkgutil.iter_modules(nabla.ops.__path__):
        module = importlib.import_module(f"nabla.ops.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Function) and obj is not Function and obj.__name__[0] != "_":
                found.add(obj)
    return sorted(found, key=lambda c: c.__name__)
