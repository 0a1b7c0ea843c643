"""``nb.explain`` in the learner's names: forward lines, g's origin, gradients that add up, and
the values of g and of each step's gradients, checked against ``nb.grad`` and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
from nabla.errors import GraphError
from nabla.viz.explain import Explanation, Step, Term
from nabla.viz.formula import mathtext as to_mathtext


def _step(e: Explanation, op: str) -> Step:
    (found,) = [s for s in e.steps if s.op == op]
    return found


def _terms_to(e: Explanation, name: str) -> list[Term]:
    return [t for s in e.steps for t in s.terms if t.name == name]


def test_forward_lines_use_the_users_names() -> None:
    a = nb.tensor([1.0, 2.0], requires_grad=True, name="a")
    b = nb.tensor([3.0, 4.0], requires_grad=True, name="b")
    e = a * b
    z = e + b
    h = nb.tanh(z)
    loss = h.sum()
    ex = nb.explain(loss, show=False, names={e: "e", z: "z", h: "h", loss: "L"})
    assert [s.forward for s in ex.steps] == [
        "L = Σ_axes h",
        "h = tanh(z)",
        "z = e + b",
        "e = a ⊙ b",
    ]
    assert [s.output_name for s in ex.steps] == ["L", "h", "z", "e"]
    tanh = _step(ex, "tanh")
    assert [t.named_rule for t in tanh.terms] == ["∇z = g ⊙ (1 − h²)"]
    assert [t.named_rule for t in _step(ex, "mul").terms] == ["∇a = g ⊙ b", "∇b = g ⊙ a"]
    text = str(ex)
    assert "h = tanh(z)" in text
    assert "∇z = g ⊙ (1 − h²)" in text
    assert "[∇x = g ⊙ (1 − h²)]" in text  # the op's own letters beside


def test_unnamed_tensors_get_short_names_in_creation_order() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    c = nb.tensor([5.0, 6.0])
    loss = (nb.exp(x) * c).sum()
    ex = nb.explain(loss, show=False)
    # ops t1 (exp), t2 (mul), t3 (sum); the parameter p1, the constant c1
    assert [s.forward for s in ex.steps] == ["t3 = Σ_axes t2", "t2 = t1 ⊙ c1", "t1 = exp(p1)"]


def test_module_paths_name_the_parameters() -> None:
    nb.manual_seed(0)
    model = nb.nn.Sequential(nb.nn.Linear(3, 2), nb.nn.Tanh())
    x = nb.tensor([[1.0, 2.0, 3.0]], name="x")
    ex = nb.explain(model(x).sum(), show=False)
    linear = _step(ex, "linear")
    assert linear.forward == f"{linear.output_name} = x 0.weightᵀ + 0.bias"
    assert [t.named_rule for t in linear.terms] == ["∇0.weight = Gᵀ x", "∇0.bias = 1ᵀ G"]
    assert [t.target for t in linear.terms] == ["0.weight", "0.bias"]


def test_names_mapping_overrides_module_paths() -> None:
    nb.manual_seed(0)
    model = nb.nn.Linear(3, 2)
    x = nb.tensor([[1.0, 2.0, 3.0]], name="x")
    ex = nb.explain(model(x).sum(), show=False, names={model.weight: "W1", model.bias: "b1"})
    assert _step(ex, "linear").forward.endswith("= x W1ᵀ + b1")


def test_reused_tensor_shows_the_sum_of_its_gradients() -> None:
    a = nb.tensor([1.0, -2.0, 0.5], requires_grad=True, name="a", dtype=np.float64)
    loss = (a * a + a).sum()
    ex = nb.explain(loss, show=False, values=True)
    (expected,) = nb.grad(loss, [a], retain_graph=True)
    terms = _terms_to(ex, "a")
    mul, add = _step(ex, "mul"), _step(ex, "add")
    # a * a sends two gradients (one per operand), a + … one: three contributions that add up
    assert len(terms) == 3
    assert sorted(terms[0].received) == sorted([mul.index, mul.index, add.index])
    assert [t.order for t in terms] == [1, 2, 3]
    np.testing.assert_allclose(sum(t.value for t in terms), expected.data, atol=1e-12)
    np.testing.assert_allclose(sum(t.value for t in terms), 2 * a.data + 1, atol=1e-12)
    text = str(ex)
    assert "∇a += " in text
    total = " + ".join(f"step {i}" for i in terms[0].received)
    assert f"(3 of 3: ∇a = {total})" in text


def test_diamond_names_gs_origin_and_adds_both_branches() -> None:
    x = nb.tensor([0.3, -0.7], requires_grad=True, name="x", dtype=np.float64)
    u = nb.tanh(x)
    v = nb.exp(x)
    w = u * v
    loss = w.sum()
    ex = nb.explain(loss, show=False, values=True, names={u: "u", v: "v", w: "w"})
    mul, tanh, exp = _step(ex, "mul"), _step(ex, "tanh"), _step(ex, "exp")
    assert (tanh.g_from, exp.g_from) == ((mul.index,), (mul.index,))
    assert mul.g_from == (_step(ex, "sum").index,)
    assert f"g = ∇u from step {mul.index} (mul)" in str(ex)
    gu, gv, gx = nb.grad(loss, [u, v, x], retain_graph=True)
    np.testing.assert_allclose(tanh.g_value, gu.data, atol=1e-12)
    np.testing.assert_allclose(exp.g_value, gv.data, atol=1e-12)
    terms = _terms_to(ex, "x")
    assert sorted(terms[0].received) == sorted([tanh.index, exp.index])
    np.testing.assert_allclose(sum(t.value for t in terms), gx.data, atol=1e-12)
    # closed form: d/dx tanh(x) eˣ = (1 − tanh²x) eˣ + tanh(x) eˣ
    t, ex_ = np.tanh(x.data), np.exp(x.data)
    np.testing.assert_allclose(gx.data, (1 - t**2) * ex_ + t * ex_, atol=1e-12)


def test_a_tensor_used_by_two_ops_gets_g_from_both() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True, name="x", dtype=np.float64)
    h = nb.tanh(x)
    loss = (h * 2.0).sum() + (h * h).sum()
    ex = nb.explain(loss, show=False, values=True, names={h: "h"})
    tanh = _step(ex, "tanh")
    senders = {t_.index for t_ in ex.steps if any(term.name == "h" for term in t_.terms)}
    assert set(tanh.g_from) == senders and len(senders) == 2
    (gh,) = nb.grad(loss, [h], retain_graph=True)
    np.testing.assert_allclose(tanh.g_value, gh.data, atol=1e-12)
    np.testing.assert_allclose(gh.data, 2 + 2 * np.tanh(x.data), atol=1e-12)


def test_logistic_regression_shows_dv_equals_y_minus_d() -> None:
    # notes 002: v = X w + b, y = σ(v), L = −Σ d log y + (1 − d) log(1 − y): ∇v = y − d
    rng = np.random.default_rng(0)
    X = nb.tensor(rng.standard_normal((4, 3)), name="X")
    w = nb.tensor(rng.standard_normal((3, 1)), requires_grad=True, name="w")
    b = nb.tensor(np.zeros((1,)), requires_grad=True, name="b")
    d = nb.tensor(np.array([[1.0], [0.0], [1.0], [0.0]]), name="d")
    v = X @ w + b
    y = nb.sigmoid(v)
    loss = -(d * nb.log(y) + (1.0 - d) * nb.log(1.0 - y)).sum()
    ex = nb.explain(loss, show=False, values=True, names={v: "v", y: "y"})
    sigmoid = _step(ex, "sigmoid")
    assert sigmoid.forward == "y = 1 / (1 + exp(−v))"
    (dv,) = sigmoid.terms
    assert dv.name == "v"
    expected = 1 / (1 + np.exp(-(X.data @ w.data + b.data))) - d.data  # y − d
    np.testing.assert_allclose(dv.value, expected, atol=1e-12)
    assert dv.value.size <= 6  # printed in full
    row = next(line for line in str(ex).splitlines() if "∇v = " in line)
    for number in np.round(expected.ravel(), 4):
        assert f"{number:.4f}".rstrip("0").rstrip(".") in row, (number, row)


def test_large_arrays_print_as_shape_norm_and_mean() -> None:
    x = nb.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True, name="x")
    ex = nb.explain((x * x).sum(), show=False, values=True)
    (term, *_) = _terms_to(ex, "x")
    g = x.data  # one of the two operands' gradients: g ⊙ x with g = 1
    np.testing.assert_allclose(term.value, g)
    norm, mean = np.linalg.norm(g), g.mean()
    assert f"(3×4) ‖·‖={norm:.4g} mean={mean:.4g}" in str(ex)


def test_values_need_the_live_graph() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True, name="x")
    loss = (x * x).sum()
    loss.backward()
    nb.explain(loss, show=False)  # names and rules still work after backward
    with pytest.raises(GraphError, match="explain: values=True needs"):
        nb.explain(loss, show=False, values=True)


def test_column_layout_names_are_not_swapped() -> None:
    # notes 003/004 write layers as w @ x + b (x a column): ∇w = G xᵀ goes to w.grad
    rng = np.random.default_rng(1)
    w = nb.tensor(rng.standard_normal((2, 3)), requires_grad=True, name="w")
    x = nb.tensor(rng.standard_normal((3, 1)), requires_grad=True, name="x")
    b = nb.tensor(rng.standard_normal((2, 1)), requires_grad=True, name="b")
    z = w @ x + b
    loss = nb.tanh(z).sum()
    ex = nb.explain(loss, show=False, values=True, names={z: "z"})
    matmul = _step(ex, "matmul")
    assert matmul.forward == f"{matmul.output_name} = w x"
    by_name = {t.name: t for t in matmul.terms}
    assert by_name["w"].named_rule == "∇w = G xᵀ"
    assert by_name["x"].named_rule == "∇x = wᵀ G"
    assert by_name["w"].grad_shape == w.shape
    gw, gx, gz = nb.grad(loss, [w, x, z], retain_graph=True)
    np.testing.assert_allclose(gz.data @ x.data.T, gw.data, atol=1e-12)  # G xᵀ
    np.testing.assert_allclose(w.data.T @ gz.data, gx.data, atol=1e-12)  # wᵀ G
    np.testing.assert_allclose(by_name["w"].value, gw.data, atol=1e-12)
    np.testing.assert_allclose(by_name["x"].value, gx.data, atol=1e-12)


def test_markdown_shows_forward_and_origin() -> None:
    a = nb.tensor([1.0, 2.0], requires_grad=True, name="a")
    loss = (a * a).sum()
    md = nb.explain(loss, fmt="latex", show=False).to_markdown()
    assert "`t1 = a ⊙ a`" in md
    assert "g = ∇t1 from step 1 (sum)" in md
    assert r"$\nabla_{a} \mathrel{+}= g \odot a$" in md


def test_named_latex_renders() -> None:
    mathtext = pytest.importorskip("matplotlib.mathtext")
    parser = mathtext.MathTextParser("path")
    nb.manual_seed(0)
    model = nb.nn.Sequential(nb.nn.Linear(3, 2), nb.nn.Tanh())
    x = nb.tensor(np.ones((4, 3)), name="x")
    W1 = nb.tensor(np.ones(2), requires_grad=True, name="W1")
    out = model(x)
    loss = nb.nn.functional.cross_entropy(out * W1, np.array([0, 1, 0, 1]))
    ex = nb.explain(loss, show=False)
    named = [t.named_latex for s in ex.steps for t in s.terms]
    assert r"\nabla_{\mathrm{0.weight}} = G^\top x" in named
    assert any(n.startswith(r"\nabla_{W_{1}} =") for n in named)
    for latex in named:
        parser.parse(f"${to_mathtext(latex)}$")  # raises ValueError on what it cannot render


def test_names_after_backward_and_bad_keys() -> None:
    a = nb.tensor([1.0, 2.0], requires_grad=True, name="a")
    h = nb.tanh(a)
    loss = h.sum()
    loss.backward()  # h's op is freed; the mapping still finds it
    ex = nb.explain(loss, show=False, names={h: "h"})
    assert _step(ex, "tanh").forward == "h = tanh(a)"
    with pytest.raises(TypeError, match="explain: names maps tensors to names; got a str key"):
        nb.explain(loss, show=False, names={"h": "h"})


def test_forward_lines_of_calls_without_every_operand() -> None:
    a = nb.tensor(np.ones((2, 3)), requires_grad=True, name="a")
    b = nb.tensor(np.ones((2, 3)), requires_grad=True, name="b")
    w = nb.tensor(np.ones((4, 3)), requires_grad=True, name="w")
    cond = nb.tensor(np.array([[True, False, True]] * 2), name="m")

    def forward(out: nb.Tensor) -> str:
        return nb.explain(out.sum(), show=False).steps[1].forward

    # a linear without bias has no "+ b" (here b is another tensor's name)
    assert forward(nb.nn.functional.linear(a, w)) == "t1 = a wᵀ"
    assert forward(nb.where(cond, a, b)) == "t1 = m ? a : b"
    assert forward(a**3) == "t1 = a ** 3"
    assert forward(nb.concatenate([a, b], axis=0)) == "t1 = concatenate(a, b)"
