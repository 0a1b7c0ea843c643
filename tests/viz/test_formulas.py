"""Every printed rule is right for the exact call: evaluated on the call's arrays, it gives the
gradient that ``backward`` computed (reduction, axes, weights, ties, broadcasting, batched and
1-D matrix products, permutations)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
import nabla.ops
from nabla.autograd.function import Function
from nabla.autograd.graph import inputs_of
from nabla.viz.explain import Term, rule_of
from nabla.viz.formula import mathtext as to_mathtext
from nabla.viz.rules import call_rule


@dataclass(frozen=True)
class Call:
    name: str
    fn: Callable[..., nb.Tensor]
    inputs: Callable[[np.random.Generator], list[Any]]  # arrays; float ones need a gradient
    text: tuple[str, ...] = ()  # what the printed rules must say (one of the terms)
    absent: tuple[str, ...] = ()  # and must not say


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


def _run(
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
    explanation = None if explain_after else nb.explain(out, show=False)
    out.backward(nb.tensor(upstream))
    if explanation is None:
        explanation = nb.explain(out, show=False)
    return list(explanation.steps[0].terms), env, tensors


@pytest.mark.parametrize("explain_after", [False, True], ids=["before", "after-backward"])
@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name)
def test_printed_rule_evaluates_to_the_computed_gradient(
    call: Call, explain_after: bool, rng: np.random.Generator
) -> None:
    terms, env, tensors = _run(call, rng, explain_after)
    assert terms, call.name
    needs = [k for k, t in enumerate(tensors) if t.requires_grad]
    assert [t.input_index for t in terms] == needs
    for term in terms:
        assert term.expr is not None
        assert term.rule == f"∇{term.symbol} = {term.expr.text}"
        grad = tensors[term.input_index].grad
        assert grad is not None
        if call.name == "nll-weighted" and explain_after:  # backward freed the rows' weights
            with pytest.raises(ValueError, match="explain before"):
                term.expr.value(env)
            continue
        value = np.broadcast_to(term.expr.value(env), grad.shape)
        np.testing.assert_allclose(value, grad.data, rtol=1e-10, atol=1e-12, err_msg=term.rule)
    printed = " | ".join(f"{t.rule} {t.note}" for t in terms)
    for text in call.text:
        assert text in printed, (call.name, printed)
    for text in call.absent:
        assert text not in printed, (call.name, printed)


def test_loss_reduction_decides_the_division_by_n(rng: np.random.Generator) -> None:
    x = nb.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = np.array([0, 2, 1, 1])
    for reduction, has_n in (("mean", True), ("sum", False), ("none", False)):
        (step, *_) = nb.explain(F.cross_entropy(x, y, reduction=reduction), show=False).steps
        assert ("/ N" in step.terms[0].rule) is has_n, reduction
        assert ("/ N" in step.terms[0].latex) is has_n, reduction


def test_a_wrong_rule_fails_the_check(rng: np.random.Generator) -> None:
    """The check can fail: the docstring-only rule of a broadcast add (∇y = g) is not the
    gradient, and neither is the old /N of a summed loss."""
    x, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    g = rng.standard_normal((4, 3))
    bt = nb.tensor(b, requires_grad=True)
    (nb.tensor(x) + bt).backward(nb.tensor(g))
    assert bt.grad is not None
    assert g.shape != bt.grad.shape  # ∇y = g has the wrong shape
    np.testing.assert_allclose(np.ones(4) @ g, bt.grad.data)  # 1ᵀ G


# KaTeX commands the rules may use (all in KaTeX's supported list); anything else fails
KATEX = {
    "nabla", "odot", "otimes", "top", "sum", "frac", "tfrac", "mathbf", "operatorname", "text",
    "textstyle", "hat", "bar", "log", "exp", "max", "sigma", "epsilon", "le", "mathrel", "big",
    "times", "mathrm", "sqrt",
}  # fmt: skip


def _all_latex() -> list[str]:
    """Every LaTeX rule nabla prints: each op class's, and each call's in CALLS."""
    found = [t for cls in _op_classes() for t in rule_of(cls).latex]
    rng = np.random.default_rng(0)
    for call in CALLS:
        terms, _, _ = _run(call, rng, explain_after=False)
        found += [t.latex for t in terms] + [t.shapes_latex for t in terms]
    return found


def _op_classes() -> list[type]:
    found = set()
    for info in pkgutil.iter_modules(nabla.ops.__path__):
        module = importlib.import_module(f"nabla.ops.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Function) and obj is not Function and obj.__name__[0] != "_":
                found.add(obj)
    return sorted(found, key=lambda c: c.__name__)


def test_latex_uses_only_katex_commands_and_balanced_braces() -> None:
    for latex in _all_latex():
        commands = set(re.findall(r"\\([A-Za-z]+)", latex))
        assert commands <= KATEX, (latex, commands - KATEX)
        depth = 0
        for ch in re.sub(r"\\[{}]", "", latex):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, latex
        assert depth == 0, latex


def test_mathtext_form_renders_in_matplotlib() -> None:
    mathtext = pytest.importorskip("matplotlib.mathtext")
    parser = mathtext.MathTextParser("path")
    for latex in _all_latex():
        parser.parse(f"${to_mathtext(latex)}$")  # raises ValueError on what it cannot render


def test_terms_carry_the_mathtext_form() -> None:
    x = nb.tensor(np.ones((2, 3)), requires_grad=True)
    (step,) = [s for s in nb.explain(x.permute(1, 0).sum(), show=False).steps if s.op == "sum"]
    assert step.terms[0].mathtext == r"\nabla_x = \mathrm{broadcast}(g)"
    assert to_mathtext(r"\text{at the targets}") == r"\mathrm{at\ the\ targets}"


@pytest.mark.parametrize("cls", _op_classes(), ids=lambda c: c.__name__)
def test_text_and_latex_name_the_same_gradients(cls: type) -> None:
    rule = rule_of(cls)
    subscripts = [re.match(r"\\nabla_\{?([A-Za-z]+(?:_i)?)\}?", t) for t in rule.latex]
    names = [m.group(1).replace("_i", "ᵢ") if m else "" for m in subscripts]
    assert names == list(rule.symbols[: len(names)]), cls
