"""The printed rules' LaTeX renders (KaTeX's commands only; matplotlib's mathtext after
:func:`nabla.viz.formula.mathtext`), and the check that ties rules to gradients can fail: it
rejects the rules nabla printed before they were written per call."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.viz import formula as f
from nabla.viz.explain import rule_of
from nabla.viz.formula import Expr
from nabla.viz.formula import mathtext as to_mathtext

from .formula_cases import CALLS, op_classes, run_call


def _agrees(expr: Expr, env: dict[str, Any], grad: Any, rtol: float = 1e-10) -> bool:
    value = np.asarray(expr.value(env))
    if value.shape != grad.shape:
        return False
    return bool(np.allclose(value, grad, rtol=rtol, atol=rtol * 1e-2))


def _old_rules() -> list[tuple[str, Expr, int]]:
    """The rules nabla printed before they were written per call (issue 14): each is wrong."""
    g = f.sym("g")
    over_n = f.div(f.had(f.sub(f.sym("Ŷ"), f.sym("Y1")), g), f.const("N", "N", 5.0))
    tie_zero = f.had(g, f.ind("[x > y]", "[x > y]", lambda env: env["x"] > env["y"]))
    return [
        ("add-bias", g, 1),  # ∇y = g for a broadcast bias
        ("cross-entropy-sum", over_n, 0),  # / N with reduction="sum"
        ("permute", f.tr(g), 0),  # gᵀ for permute(2, 0, 1)
        ("maximum-ties", tie_zero, 0),  # 0 at ties
        ("matmul-batch-w", f.mat(f.tr(f.sym("X")), f.sym("G")), 1),  # no Σ over the batch
    ]


@pytest.mark.parametrize(("name", "wrong", "k"), _old_rules(), ids=[r[0] for r in _old_rules()])
def test_the_check_rejects_the_old_wrong_rules(
    name: str, wrong: Expr, k: int, rng: np.random.Generator
) -> None:
    (call,) = [c for c in CALLS if c.name == name]
    terms, env, tensors = run_call(call, rng, explain_after=False)
    if name == "cross-entropy-sum":
        x = env["X"]
        env["Ŷ"] = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
        env["Y1"] = np.eye(3)[env["Y"]]
    grad = tensors[k].grad
    assert grad is not None
    (term,) = [t for t in terms if t.input_index == k]
    assert term.expr is not None
    assert _agrees(term.expr, env, grad.data)  # the rule printed now
    assert not _agrees(wrong, env, grad.data)  # the rule printed before


# KaTeX commands the rules may use (all in KaTeX's supported list); anything else fails
KATEX = {
    "nabla", "odot", "otimes", "top", "sum", "frac", "tfrac", "mathbf", "operatorname", "text",
    "textstyle", "hat", "bar", "log", "exp", "max", "sigma", "epsilon", "le", "mathrel", "big",
    "times", "mathrm", "sqrt", "nu",
}  # fmt: skip


def _all_latex() -> list[str]:
    """Every LaTeX rule nabla prints: each op class's, and each call's in CALLS."""
    found = [t for cls in op_classes() for t in rule_of(cls).latex]
    rng = np.random.default_rng(0)
    for call in CALLS:
        terms, _, _ = run_call(call, rng, explain_after=False)
        found += [t.latex for t in terms] + [t.shapes_latex for t in terms]
    return found


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


@pytest.mark.parametrize("cls", op_classes(), ids=lambda c: c.__name__)
def test_text_and_latex_name_the_same_gradients(cls: type) -> None:
    rule = rule_of(cls)
    subscripts = [re.match(r"\\nabla_\{?([A-Za-z]+(?:_i)?)\}?", t) for t in rule.latex]
    names = [m.group(1).replace("_i", "ᵢ") if m else "" for m in subscripts]
    assert names == list(rule.symbols[: len(names)]), cls


def _katex() -> tuple[str, Path]:
    """node and the KaTeX package (``npm install --no-save katex`` in the repository, as
    .ci/run does), or skip: nothing is downloaded while testing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    root = Path(__file__).resolve().parents[2]
    katex = root / "node_modules" / "katex"
    if not (katex / "package.json").exists():
        pytest.skip("KaTeX is not installed (npm install --no-save katex)")
    return node, katex


def _markdown_math(text: str) -> list[str]:
    return re.findall(r"\$([^$]+)\$", text)


def test_every_printed_latex_renders_in_katex() -> None:
    """Every LaTeX string nabla prints — the rules of every op and call, and the Markdown
    tables of explain in the tensors' own names — renders in KaTeX with throwOnError."""
    node, katex = _katex()
    strings = _all_latex()
    a = nb.tensor(np.array([0.5, -1.0]), requires_grad=True, name="a")
    w1 = nb.tensor(np.ones((3, 2)), requires_grad=True, name="W1")
    net = nb.nn.MLP([2, 3, 2])
    for loss in ((a * a + a).sum(), (nb.tanh(w1 @ a) * 2.0).sum(), net.loss(net(a[None]), [1])):
        strings += _markdown_math(nb.explain(loss, show=False).to_markdown())
    script = (
        f"const katex = require({json.dumps(str(katex))});"
        "const items = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const bad = [];"
        "for (const s of items) { try { katex.renderToString(s, {throwOnError: true}); }"
        " catch (e) { bad.push([s, String(e.message)]); } }"
        "process.stdout.write(JSON.stringify(bad));"
    )
    done = subprocess.run(
        [node, "-e", script],
        input=json.dumps(sorted(set(strings))),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == []
    assert len(set(strings)) > 50  # the strings were found
