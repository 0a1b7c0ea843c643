"""Graph drawings: the DOT text names every op and parameter with its shape; dot renders it."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import nabla as nb
from nabla.errors import GraphError
from nabla.viz import GraphvizWarning, draw, repr_svg, to_dot
from nabla.viz import dot as dot_module

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")

NODE = re.compile(r'^\s*(n\d+|more) \[label="((?:[^"\\]|\\.)*)"(.*)\];$', re.MULTILINE)
EDGE = re.compile(r"^\s*(n\d+|more) -> (n\d+)(?: \[label=\"\d+\"\])?;$", re.MULTILINE)
NORM = re.compile(r"‖∇‖=([^,\s]+)")
CLUSTER = re.compile(r'subgraph "cluster_([^"]+)" \{\s*label="([^"]*)"')


def parse(dot: str) -> tuple[dict[str, list[str]], set[tuple[str, str]]]:
    """DOT text → ({node id: label lines}, {(source, target)})."""
    nodes = {m.group(1): m.group(2).split("\\n") for m in NODE.finditer(dot)}
    edges = {(m.group(1), m.group(2)) for m in EDGE.finditer(dot)}
    return nodes, edges


def ops_of(root: nb.Tensor) -> list[object]:
    """Every Function of the graph behind ``root``."""
    seen, stack, ops = set(), [root], []
    while stack:
        t = stack.pop()
        if t._fn is None or id(t) in seen:
            continue
        seen.add(id(t))
        ops.append(t._fn)
        stack.extend(t._fn.inputs)
    return ops


def three_layer_loss(batch: int = 8) -> tuple[nb.nn.MLP, nb.Tensor]:
    model = nb.nn.MLP([6, 5, 4, 3], activation="tanh")
    x = nb.tensor(
        np.random.default_rng(0).standard_normal((batch, 6)).astype(np.float32), name="X"
    )
    return model, model.loss(model(x), np.arange(batch) % 3)


def test_dot_of_a_three_layer_mlp_names_every_parameter_and_op_with_shapes() -> None:
    model, loss = three_layer_loss(batch=8)
    nodes, edges = parse(to_dot(loss))
    by_name: dict[str, list[tuple[str, list[str]]]] = {}
    for node_id, lines in nodes.items():
        by_name.setdefault(lines[0], []).append((node_id, lines))

    # every parameter, by its module path, with its shape and dtype
    for name, p in model.named_parameters():
        ((node_id, lines),) = by_name[name]
        assert lines[1] == "×".join(map(str, p.shape)) + " float32"
    # every op: three fused linear layers, two tanh, the loss
    linear_shapes = sorted(lines[1] for _, lines in by_name["linear"])
    assert linear_shapes == ["8×3 float32", "8×4 float32", "8×5 float32"]
    assert sorted(lines[1] for _, lines in by_name["tanh"]) == ["8×4 float32", "8×5 float32"]
    ((loss_id, loss_lines),) = by_name["cross_entropy"]
    assert loss_lines[1] == "scalar float32"
    assert by_name["X"][0][1][1] == "8×6 float32"
    # edges run forward: each parameter feeds the linear op of its layer, which feeds the next
    linear_of = {lines[1].split()[0]: node_id for node_id, lines in by_name["linear"]}
    for layer, out in (("0", "8×5"), ("2", "8×4"), ("4", "8×3")):
        for kind in ("weight", "bias"):
            ((param_id, _),) = by_name[f"{layer}.{kind}"]
            assert (param_id, linear_of[out]) in edges
    assert (linear_of["8×3"], loss_id) in edges
    assert (by_name["X"][0][0], linear_of["8×5"]) in edges
    assert len(edges) == sum(len(fn.inputs) for fn in ops_of(loss))


def test_clusters_are_labelled_with_module_paths() -> None:
    _, loss = three_layer_loss()
    text = to_dot(loss)
    clusters = dict(CLUSTER.findall(text))
    assert clusters == {
        "0": "0: Linear",
        "1": "1: Tanh",
        "2": "2: Linear",
        "3": "3: Tanh",
        "4": "4: Linear",
    }
    assert "subgraph" not in to_dot(loss, cluster=False)


def test_nested_modules_give_nested_clusters() -> None:
    class Block(nb.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nb.nn.Linear(3, 3)

        def forward(self, x: nb.Tensor) -> nb.Tensor:
            return nb.tanh(self.fc(x))

    class Net(nb.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = Block()
            self.head = nb.nn.Linear(3, 2)

        def forward(self, x: nb.Tensor) -> nb.Tensor:
            return self.head(self.block(x))

    net = Net()
    text = to_dot(net(nb.ones(4, 3)).sum())
    assert re.search(r'cluster_block" \{[^}]*cluster_block\.fc"', text, re.DOTALL)
    nodes, _ = parse(text)
    names = {lines[0] for lines in nodes.values()}
    assert {"block.fc.weight", "block.fc.bias", "head.weight", "head.bias"} <= names


def test_leaf_names_from_tensor_names_and_params_argument() -> None:
    w = nb.tensor([[1.0, 2.0]], requires_grad=True, name="W1")
    v = nb.tensor([[3.0], [4.0]], requires_grad=True)
    loss = (w @ v).sum()
    names = {lines[0] for lines in parse(to_dot(loss))[0].values()}
    assert names == {"sum", "matmul", "W1", "tensor"}
    names = {lines[0] for lines in parse(to_dot(loss, params={"v": v}))[0].values()}
    assert names == {"sum", "matmul", "W1", "v"}


def test_grads_show_gradient_shape_and_norm_without_touching_grad() -> None:
    model, loss = three_layer_loss()
    loss.backward(retain_graph=True)
    expected = {name: float(np.linalg.norm(p.grad)) for name, p in model.named_parameters()}
    stored = {name: p.grad.copy() for name, p in model.named_parameters()}
    nodes, _ = parse(to_dot(loss, grads=True))
    for lines in nodes.values():
        if lines[0] in expected:
            assert lines[-1].startswith("grad ")
            norm = NORM.search(lines[-1]).group(1)
            assert float(norm) == pytest.approx(expected[lines[0]], rel=1e-2)
            assert lines[1].split()[0] == "×".join(
                map(str, dict(model.named_parameters())[lines[0]].shape)
            )
    assert all(np.array_equal(p.grad, stored[n]) for n, p in model.named_parameters())
    root = next(lines for lines in nodes.values() if lines[0] == "cross_entropy")
    assert root[-1] == "grad 1"


def test_max_nodes_collapses_the_rest() -> None:
    _, loss = three_layer_loss()
    nodes, edges = parse(to_dot(loss, max_nodes=4))
    assert len([n for n in nodes if n != "more"]) == 4
    assert re.fullmatch(r"… \d+ more nodes", nodes["more"][0])
    assert any(src == "more" for src, _ in edges)
    with pytest.raises(ValueError, match="max_nodes"):
        to_dot(loss, max_nodes=0)


def test_grads_needs_a_scalar() -> None:
    x = nb.ones(3, requires_grad=True)
    with pytest.raises(GraphError, match="scalar"):
        to_dot(x * 2, grads=True)


@needs_dot
def test_draw_writes_valid_svg_png_and_pdf(tmp_path: Path) -> None:
    _, loss = three_layer_loss()
    svg = draw(loss, tmp_path / "graph.svg", grads=True)
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    texts = "".join(root.itertext())
    assert "0.weight" in texts and "cross_entropy" in texts
    assert draw(loss, tmp_path / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert draw(loss, tmp_path / "graph.pdf").read_bytes()[:5] == b"%PDF-"
    assert draw(loss, tmp_path / "g.out", format="dot").read_text().startswith("digraph")


@needs_dot
def test_repr_svg_for_jupyter() -> None:
    _, loss = three_layer_loss()
    svg = loss._repr_svg_()
    assert svg is not None and "<svg" in svg
    assert nb.ones(2)._repr_svg_() is None  # no graph: notebooks show the text repr


def test_draw_without_graphviz_writes_dot_and_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(text: str, fmt: str = "svg") -> bytes:
        raise dot_module.GraphvizUnavailable(f"dot was not found; {dot_module.INSTALL_HINT}")

    monkeypatch.setattr(dot_module, "render", missing)
    _, loss = three_layer_loss()
    with pytest.warns(GraphvizWarning, match="apt-get install graphviz") as record:
        written = draw(loss, tmp_path / "graph.svg")
    assert written == tmp_path / "graph.dot"
    assert written.read_text().startswith("digraph nabla {")
    assert not (tmp_path / "graph.svg").exists()
    assert "dot -Tsvg" in str(record[0].message)
    assert repr_svg(loss) is None


def test_unknown_format() -> None:
    _, loss = three_layer_loss()
    with pytest.raises(ValueError, match="unknown format"):
        draw(loss, "graph.bmp")
