"""The graph outlives backward: draw, to_dot and explain work after ``loss.backward()``.

Backward frees the values each op saved but keeps the topology, so the drawing and the trace
of a graph are the same before and after it; a second backward still fails. The truth for the
structure is the graph walked through the ops' live inputs before backward; for gradients,
the ``.grad`` arrays the engine stored.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import nabla as nb
from nabla.errors import GraphError
from nabla.viz import draw, repr_svg, to_dot
from nabla.viz.dot import FREED_GRAD, FREED_VALUE

NODE = re.compile(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$', re.MULTILINE)
EDGE = re.compile(r"^\s*(n\d+) -> (n\d+)(?: \[label=\"\d+\"\])?;$", re.MULTILINE)
NORM = re.compile(r"^grad .*‖∇‖=([^,\s]+)")


def grad_norm(line: str) -> float:
    """The norm a non-scalar gradient line shows ('grad ‖∇‖=0.42, mean …')."""
    match = NORM.match(line)
    assert match is not None, line
    return float(match.group(1))


def parse(dot: str) -> tuple[dict[str, list[str]], set[tuple[str, str]], dict[str, str]]:
    """DOT text → ({node: label lines}, {(source, target)}, {node: its other attributes})."""
    nodes = {m.group(1): m.group(2).split("\\n") for m in NODE.finditer(dot)}
    attrs = {m.group(1): m.group(3) for m in NODE.finditer(dot)}
    return nodes, {(m.group(1), m.group(2)) for m in EDGE.finditer(dot)}, attrs


def live_structure(root: nb.Tensor) -> tuple[list[str], int]:
    """Op names (sorted) and the number of distinct (input, op) links, read from the live
    graph before backward."""
    seen: dict[int, nb.Tensor] = {}
    stack = [root]
    ops: list[str] = []
    links: set[tuple[int, int]] = set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen[id(t)] = t
        if t._fn is not None:
            ops.append(t._fn.name)
            links.update((id(inp), id(t)) for inp in t._fn.inputs)
            stack.extend(t._fn.inputs)
    return sorted(ops), len(links)


def mlp_loss(batch: int = 8) -> tuple[nb.nn.MLP, nb.Tensor]:
    model = nb.nn.MLP([6, 5, 4, 3], activation="tanh")
    x = nb.tensor(
        np.random.default_rng(0).standard_normal((batch, 6)).astype(np.float32), name="X"
    )
    return model, model.loss(model(x), np.arange(batch) % 3)


def test_to_dot_after_backward_draws_the_same_nodes_and_edges() -> None:
    _, loss = mlp_loss()
    ops, n_links = live_structure(loss)
    before = to_dot(loss, values=False)  # values: the ops' are freed (test_values.py)
    loss.backward()
    after = to_dot(loss, values=False)
    assert after == before
    nodes, edges, _ = parse(after)
    op_names = sorted(lines[0] for lines in nodes.values() if lines[0] in set(ops))
    assert op_names == ops
    assert len(edges) == n_links


def test_grads_after_backward_show_each_parameters_stored_grad() -> None:
    model, loss = mlp_loss()
    loss.backward()
    params = dict(model.named_parameters())
    nodes, _, attrs = parse(to_dot(loss, grads=True))
    shown = set()
    for node_id, lines in nodes.items():
        name = lines[0]
        if name in params:
            norm = grad_norm(lines[-1])
            assert float(norm) == pytest.approx(float(np.linalg.norm(params[name].grad)), rel=1e-2)
            shown.add(name)
        elif "shape=note" not in attrs[node_id] and name != "cross_entropy":
            assert len(lines) == 2, lines  # an op: no gradient kept, no value kept
            assert FREED_GRAD in attrs[node_id]
            assert FREED_VALUE in attrs[node_id]
    assert shown == set(params)


def test_grads_show_the_sum_of_every_backward_so_far() -> None:
    w = nb.tensor([1.0, -2.0, 3.0], requires_grad=True, name="w")
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    loss.backward()  # w.grad = 2 · 2w
    nodes, _, _ = parse(to_dot(loss, grads=True))
    (w_lines,) = [lines for lines in nodes.values() if lines[0] == "w"]
    assert w_lines[-1] == "grad [4, -8, 12]  ‖∇‖=15"
    assert grad_norm(w_lines[-1]) == pytest.approx(np.linalg.norm([4.0, -8.0, 12.0]), rel=5e-3)


def test_a_parameter_without_grad_after_backward_says_none() -> None:
    w = nb.tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = (w * w).sum()
    loss.backward()
    w.grad = None  # zero_grad(set_to_none=True)
    nodes, _, _ = parse(to_dot(loss, grads=True))
    (w_lines,) = [lines for lines in nodes.values() if lines[0] == "w"]
    assert w_lines[-1] == "grad none"


def test_freed_scalar_intermediates_and_a_tensor_used_twice() -> None:
    w = nb.tensor([0.5, -1.0], requires_grad=True, name="w")
    y = nb.exp(w)
    s = (y * y).sum()  # y feeds mul twice; s is a scalar intermediate
    loss = s * 3.0
    before = to_dot(loss, grads=True)
    loss.backward()
    after = to_dot(loss, grads=True)
    nodes_before, edges_before, _ = parse(before)
    nodes_after, edges_after, _ = parse(after)
    assert edges_after == edges_before
    assert {k: v[:2] for k, v in nodes_after.items()} == {
        k: v[:2] for k, v in nodes_before.items()
    }
    assert ["sum", "scalar float32"] in [v[:2] for v in nodes_after.values()]
    assert ["3", "scalar float32"] in [v[:2] for v in nodes_after.values()]  # a constant's value
    (exp_id,) = [k for k, v in nodes_after.items() if v[0] == "exp"]
    (mul_id,) = [k for k, v in nodes_after.items() if v[0] == "mul" and v[1] == "2 float32"]
    assert (exp_id, mul_id) in edges_after  # one node, linked once although used twice


def test_explain_after_backward_gives_the_same_steps() -> None:
    _, loss = mlp_loss()
    before = nb.explain(loss, show=False)
    loss.backward()
    after = nb.explain(loss, show=False)
    assert after.steps == before.steps
    assert str(after) == str(before)
    assert after.to_markdown() == before.to_markdown()
    ops = ["cross_entropy", "linear", "tanh", "linear", "tanh", "linear"]
    assert [s.op for s in after.steps] == ops


def test_a_second_backward_still_fails_clearly() -> None:
    _, loss = mlp_loss()
    loss.backward()
    to_dot(loss, grads=True)
    nb.explain(loss, show=False)
    with pytest.raises(GraphError, match="backward through the graph a second time"):
        loss.backward()


def test_a_partly_freed_graph_is_drawn_without_raising() -> None:
    w = nb.tensor([0.5, 1.5], requires_grad=True, name="w")
    h = nb.tanh(w)
    h.sum().backward()  # frees tanh
    loss = (h * 2.0).sum()  # a new graph on top of the freed one
    nodes, edges, _ = parse(to_dot(loss, grads=True))
    names = {lines[0] for lines in nodes.values()}
    assert {"sum", "mul", "tanh", "w"} <= names
    ids = {lines[0]: k for k, lines in nodes.items()}
    assert {(ids["w"], ids["tanh"]), (ids["tanh"], ids["mul"])} <= edges
    (w_lines,) = [lines for lines in nodes.values() if lines[0] == "w"]
    expected = np.linalg.norm(1 - np.tanh([0.5, 1.5]) ** 2)  # the stored .grad of h.sum()
    assert grad_norm(w_lines[-1]) == pytest.approx(expected, rel=1e-2)
    assert [s.op for s in nb.explain(loss, show=False).steps] == ["sum", "mul", "tanh"]


def test_draw_after_backward_writes_the_graph(tmp_path: Path) -> None:
    _, loss = mlp_loss()
    loss.backward()
    written = draw(loss, tmp_path / "graph.dot", grads=True)
    text = written.read_text()
    assert text == to_dot(loss, grads=True)
    assert "0.weight" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_svg_after_backward(tmp_path: Path) -> None:
    _, loss = mlp_loss()
    loss.backward()
    svg = draw(loss, tmp_path / "graph.svg", grads=True).read_text()
    assert "<svg" in svg and "cross_entropy" in svg
    assert FREED_GRAD.split(" (")[0] in svg  # the ops' tooltips
    drawn = repr_svg(loss)
    assert drawn is not None and "<svg" in drawn
