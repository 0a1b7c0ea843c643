"""``nb.explain``: every backward step of the notes' MLP, with shapes checked against the arrays."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest

import nabla as nb
import nabla.ops
from nabla.autograd.function import Function
from nabla.viz.explain import Term, rule_of


def notes_mlp(batch: int = 16) -> tuple[nb.nn.MLP, nb.Tensor, dict[str, nb.Tensor]]:
    """The notes' network MLP([64, 128, 10]) on a batch; returns its loss and intermediates."""
    model = nb.nn.MLP([64, 128, 10], activation="tanh", dtype=np.float64)
    X = nb.tensor(np.random.default_rng(0).standard_normal((batch, 64)), name="X")
    loss = model.loss(model(X), np.arange(batch) % 10)
    logits = loss._fn.inputs[0]  # Ỹ
    H = logits._fn.inputs[0]  # H = tanh(H̃)
    H_tilde = H._fn.inputs[0]  # H̃
    return model, loss, {"X": X, "H_tilde": H_tilde, "H": H, "logits": logits}


def product_shape(expression: str) -> tuple[int, ...]:
    """Evaluate a shape product such as '(16×10)ᵀ·(16×128)' or '1ᵀ·(16×10)' with arrays."""
    operands = expression.split("·")
    arrays = []
    for k, text in enumerate(operands):
        if text == "1ᵀ":
            rows = re.match(r"\((\d+)", operands[k + 1]).group(1)
            arrays.append(np.ones((1, int(rows))))
            continue
        dims = tuple(int(n) for n in re.fullmatch(r"\(([\d×]+)\)ᵀ?", text).group(1).split("×"))
        arrays.append(np.zeros(dims).T if text.endswith("ᵀ") else np.zeros(dims))
    result = arrays[0]
    for a in arrays[1:]:
        result = result @ a
    return result.shape[1:] if operands[0] == "1ᵀ" else result.shape


def test_explain_lists_every_step_of_the_notes_mlp_with_the_arrays_shapes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    batch = 16
    model, loss, t = notes_mlp(batch)
    explanation = nb.explain(loss)
    printed = capsys.readouterr().out
    assert printed.strip() == str(explanation).strip()

    steps = explanation.steps
    assert [(s.op, s.layer) for s in steps] == [
        ("cross_entropy", ""),
        ("linear", "2"),
        ("tanh", "1"),
        ("linear", "0"),
    ]
    params = dict(model.named_parameters())
    # the real gradients, for every intermediate and parameter
    wrt = [t["logits"], t["H"], t["H_tilde"], *params.values()]
    grads = dict(zip(["logits", "H", "H_tilde", *params], nb.grad(loss, wrt, retain_graph=True)))
    G = {k: v.data for k, v in grads.items()}

    def term(step: int, symbol: str) -> Term:
        (found,) = [x for x in steps[step].terms if x.symbol == symbol]
        return found

    # 1. softmax + cross-entropy: ∇Ỹ = (Ŷ − Y)/N, the shape of the logits
    assert term(0, "X").grad_shape == G["logits"].shape == (batch, 10)
    # 2. the output layer: ∇H = G W, ∇W = Gᵀ H, ∇b = 1ᵀ G
    W2, b2 = params["2.weight"].data, params["2.bias"].data
    assert term(1, "X").operands == {
        "g": (batch, 10),
        "G": (batch, 10),
        "Z": (batch, 10),
        "X": (batch, 128),
        "W": (10, 128),
        "b": (10,),
    }
    np.testing.assert_allclose(G["logits"] @ W2, G["H"], atol=1e-12)
    np.testing.assert_allclose(G["logits"].T @ t["H"].data, G["2.weight"], atol=1e-12)
    np.testing.assert_allclose(np.ones(batch) @ G["logits"], G["2.bias"], atol=1e-12)
    assert term(1, "X").grad_shape == G["H"].shape
    assert term(1, "W").grad_shape == G["2.weight"].shape == W2.shape
    assert term(1, "b").grad_shape == G["2.bias"].shape == b2.shape
    assert (term(1, "W").target, term(1, "b").target, term(1, "X").target) == (
        "2.weight",
        "2.bias",
        None,
    )
    # 3. tanh: ∇H̃ = ∇H ⊙ (1 − H²)
    H = t["H"].data
    np.testing.assert_allclose(G["H"] * (1 - H**2), G["H_tilde"], atol=1e-12)
    assert term(2, "x").grad_shape == G["H_tilde"].shape == (batch, 128)
    assert term(2, "x").shapes == f"({batch}×128)"
    # 4. the hidden layer: only W and b (the data X needs no gradient)
    assert [x.symbol for x in steps[3].terms] == ["W", "b"]
    np.testing.assert_allclose(G["H_tilde"].T @ t["X"].data, G["0.weight"], atol=1e-12)
    assert term(3, "W").grad_shape == G["0.weight"].shape == (128, 64)

    # every printed shape equation multiplies out to the gradient's shape
    for step in steps:
        for x in step.terms:
            result, _, rhs = x.shapes.partition(" = ")
            if step.op == "linear":
                assert product_shape(rhs) == x.grad_shape, x.shapes
            assert result.split(",")[0] == "(" + "×".join(map(str, x.grad_shape)) + ")"
    text = str(explanation)
    assert "∇W = Gᵀ X" in text
    assert f"(10×128) = ({batch}×10)ᵀ·({batch}×128)" in text
    assert "→ 2.weight.grad" in text


def test_rules_come_from_the_op_classes() -> None:
    _, loss, _ = notes_mlp()
    explanation = nb.explain(loss, show=False)
    classes = {}
    fn_stack = [loss]
    while fn_stack:
        x = fn_stack.pop()
        if x._fn is not None:
            classes[x._fn.name] = type(x._fn)
            fn_stack.extend(x._fn.inputs)
    for step in explanation.steps:
        cls = classes[step.op]
        for x in step.terms:
            if x.expr is not None:  # written for the call: tests/viz/test_formulas.py checks it
                assert x.rule == f"∇{x.symbol} = {x.expr.text}"
                continue
            assert x.rule in inspect.getdoc(cls)
            assert x.latex in cls.latex


def test_explain_leaves_the_graph_for_backward() -> None:
    model, loss, _ = notes_mlp()
    nb.explain(loss, show=False)
    nb.explain(loss, fmt="latex", show=False)
    loss.backward()  # the graph is intact and nothing was accumulated
    assert all(p.grad is not None for p in model.parameters())


def test_latex_format(capsys: pytest.CaptureFixture[str]) -> None:
    _, loss, _ = notes_mlp(batch=8)
    md = nb.explain(loss, fmt="latex")
    printed = capsys.readouterr().out
    assert "| step | layer | op | rule | shapes | gradient of |" in printed
    assert r"$\nabla_W = G^\top X$" in printed
    assert r"$\nabla_X = (\hat Y - Y) \odot g / N$ (Ŷ = softmax(X))" in printed
    assert "(N = 8)" in printed
    assert r"$(10\times 128) = (8\times 10)^\top (8\times 128)$" in printed
    assert md._repr_markdown_() == md.to_markdown()
    with pytest.raises(ValueError, match="fmt"):
        nb.explain(loss, fmt="html")


def test_broadcast_and_variadic_ops() -> None:
    x = nb.tensor(np.ones((4, 3)), requires_grad=True)
    b = nb.tensor(np.ones(3), requires_grad=True, name="b")
    parts = nb.concatenate([x + b, x * 2], axis=0)
    steps = nb.explain(parts.sum(), show=False).steps
    assert [s.op for s in steps[:2]] == ["sum", "concatenate"]
    assert sorted(s.op for s in steps[2:]) == ["add", "mul"]
    (add,) = [s for s in steps if s.op == "add"]
    assert add.terms[1].shapes == "(3) = Σ over broadcast axes of (4×3)"
    assert add.terms[1].target == "b"
    assert [x.rule for x in steps[1].terms] == ["∇x₁ = g[0:4]", "∇x₂ = g[4:8]"]
    assert [x.latex for x in steps[1].terms] == [
        r"\nabla_{x_{1}} = g[0:4]",
        r"\nabla_{x_{2}} = g[4:8]",
    ]


def _op_classes() -> list[type[Function]]:
    found = set()
    for info in pkgutil.iter_modules(nabla.ops.__path__):
        module = importlib.import_module(f"nabla.ops.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Function) and obj is not Function and obj.__name__[0] != "_":
                found.add(obj)
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _op_classes(), ids=lambda c: c.__name__)
def test_every_rule_parses(cls: type[Function]) -> None:
    rule = rule_of(cls)
    backward = (inspect.getdoc(cls) or "").split("Backward:")[1].strip()
    if backward.startswith("none"):  # e.g. running statistics: buffers, not differentiable
        assert rule.terms == ()
        return
    assert rule.terms, cls
    assert all(term.startswith("∇") and "=" in term for term in rule.terms)
    assert all(rule.symbols)
    assert len(rule.latex) == len(rule.terms) or cls.__name__ in {"GetItem"}
