"""Drawings a teacher puts on a slide: every node shows its value and its signed gradient
(micrograd's view), a tensor used twice draws two arrows, one box per module, PNG at slide
resolution.

The truth for values is the tensors' own data and NumPy's statistics of it; for gradients,
PyTorch's ``torch.autograd.grad`` on the same expression (and ``nb.grad``); for the PNG, the
pixel size in its IHDR header read with the standard library.
"""

from __future__ import annotations

import itertools
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

import nabla as nb
from nabla.viz import draw, to_dot
from nabla.viz.dot import FREED_GRAD, FREED_VALUE, SLIDE_DPI
from nabla.viz.graph import SMALL, format_value

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")

NODE = re.compile(r'^\s*([nm]\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$', re.MULTILINE)
EDGE = re.compile(r'^\s*([nm]\d+) -> ([nm]\d+)(?: \[label="(\d+)"\])?;$', re.MULTILINE)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?")


def parse(dot: str) -> tuple[dict[str, list[str]], list[tuple[str, str, str | None]], dict]:
    """DOT → ({node: label lines}, [(source, target, edge label)], {node: other attributes})."""
    nodes = {m.group(1): m.group(2).split("\\n") for m in NODE.finditer(dot)}
    attrs = {m.group(1): m.group(3) for m in NODE.finditer(dot)}
    edges = [(m.group(1), m.group(2), m.group(3)) for m in EDGE.finditer(dot)]
    return nodes, edges, attrs


def line(lines: list[str], prefix: str) -> str | None:
    """The text after ``prefix`` ('data ', 'grad ') on a node's label, None if absent."""
    found = [text[len(prefix) :] for text in lines if text.startswith(prefix)]
    assert len(found) <= 1, lines
    return found[0] if found else None


def numbers(text: str) -> np.ndarray:
    """Every number a label shows ('[[1, -2.5], [3, 4]]' → [1, -2.5, 3, 4])."""
    return np.array([float(x) for x in NUMBER.findall(text)])


def micrograd_expression(
    values: tuple[float, float, float] = (2.0, -3.0, 10.0),
) -> tuple[dict[str, nb.Tensor], nb.Tensor]:
    """Karpathy's example: e = a*b, d = e + c, o = tanh(d * 0.1), in float64."""
    a, b, c = (
        nb.tensor(v, dtype=np.float64, requires_grad=True, name=n) for v, n in zip(values, "abc")
    )
    e = a * b
    d = e + c
    o = nb.tanh(d * 0.1)
    return {"a": a, "b": b, "c": c, "e": e, "d": d, "o": o}, o


def torch_micrograd(values: tuple[float, float, float] = (2.0, -3.0, 10.0)) -> dict:
    """(data, grad) of every node of the same expression, from PyTorch."""
    torch = pytest.importorskip("torch")
    a, b, c = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values)
    e = a * b
    d = e + c
    s = d * 0.1
    o = torch.tanh(s)
    named = {"a": a, "b": b, "c": c, "mul·e": e, "add": d, "mul·s": s, "tanh": o}
    grads = torch.autograd.grad(o, list(named.values()))
    return {k: (float(t.detach()), float(g)) for (k, t), g in zip(named.items(), grads)}


def by_label(nodes: dict[str, list[str]]) -> dict[str, list[str]]:
    """Name the micrograd nodes as torch_micrograd does (two muls: by their value's sign)."""
    out = {}
    for lines in nodes.values():
        name = lines[0]
        if name == "mul":
            name = "mul·e" if float(line(lines, "data ") or 0) < 0 else "mul·s"
        out[name] = lines
    return out


def assert_shows(lines: list[str], data: float | None, grad: float | None) -> None:
    if data is not None:
        assert float(line(lines, "data ")) == pytest.approx(data, rel=5e-4, abs=1e-12), lines
    if grad is not None:
        assert float(line(lines, "grad ")) == pytest.approx(grad, rel=5e-4, abs=1e-12), lines


def test_micrograd_example_every_node_shows_data_and_signed_grad() -> None:
    truth = torch_micrograd()
    _, o = micrograd_expression()
    nodes = by_label(parse(to_dot(o, grads=True))[0])
    assert set(truth) <= set(nodes)
    for name, (data, grad) in truth.items():
        assert_shows(nodes[name], data, grad)
    assert float(line(nodes["a"], "grad ")) < 0  # the sign survives: d o / d a = b · … < 0


def test_a_scalar_gradient_of_minus_one_and_a_half_shows_signed() -> None:
    x = nb.tensor(1.5, requires_grad=True, name="x")
    loss = x * -1.5
    nodes = {lines[0]: lines for lines in parse(to_dot(loss, grads=True))[0].values()}
    assert "grad -1.5" in nodes["x"]
    assert "data 1.5" in nodes["x"]
    assert "data -2.25" in nodes["mul"]


def test_after_a_freeing_backward_leaves_keep_data_and_grads() -> None:
    truth = torch_micrograd()
    _, o = micrograd_expression()
    o.backward()
    nodes, _, attrs = parse(to_dot(o, grads=True))
    named = by_label(nodes)
    for name in "abc":
        assert_shows(named[name], *truth[name])
    assert_shows(named["tanh"], truth["tanh"][0], None)  # the root's own data stays
    for node_id, lines in nodes.items():
        if lines[0] in ("mul", "add"):
            assert line(lines, "data ") is None and line(lines, "grad ") is None
            assert FREED_VALUE in attrs[node_id] and FREED_GRAD in attrs[node_id]


def test_after_backward_under_keep_gradients_every_op_shows_its_grad() -> None:
    truth = torch_micrograd()
    _, o = micrograd_expression()
    with nb.viz.keep_gradients():
        o.backward()
    nodes = parse(to_dot(o, grads=True))[0]
    grads = {
        lines[0]: float(line(lines, "grad ")) for lines in nodes.values() if lines[0] != "0.1"
    }
    for name in ("a", "b", "c", "add", "tanh"):
        assert grads[name] == pytest.approx(truth[name][1], rel=5e-4)
    muls = sorted(float(line(lines, "grad ")) for lines in nodes.values() if lines[0] == "mul")
    assert muls == pytest.approx(sorted([truth["mul·e"][1], truth["mul·s"][1]]), rel=5e-4)


def test_after_backward_with_retain_graph_ops_keep_their_values() -> None:
    truth = torch_micrograd()
    _, o = micrograd_expression()
    o.backward(retain_graph=True)
    nodes = by_label(parse(to_dot(o, grads=True))[0])
    for name, (data, grad) in truth.items():
        assert_shows(nodes[name], data, grad)


def test_small_tensors_in_full_large_ones_as_summary() -> None:
    rng = np.random.default_rng(4)
    w = nb.tensor(rng.standard_normal((2, 3)), requires_grad=True, name="W")
    x = nb.tensor(rng.standard_normal((3, 5)), name="X")
    h = nb.tanh(w @ x)  # 2×5: more than SMALL elements
    loss = (h * h).sum()
    g_w, g_h = nb.grad(loss, [w, h], retain_graph=True)
    nodes = {lines[0]: lines for lines in parse(to_dot(loss, grads=True))[0].values()}
    assert w.size <= SMALL < h.size
    np.testing.assert_allclose(numbers(line(nodes["W"], "data ")), w.data.ravel(), rtol=5e-4)
    shown = numbers(line(nodes["W"], "grad "))
    np.testing.assert_allclose(shown[:-1], g_w.data.ravel(), rtol=5e-4)  # then its norm
    assert shown[-1] == pytest.approx(np.linalg.norm(g_w.data), rel=5e-3)
    data = line(nodes["tanh"], "data ")
    mean, lo, hi = numbers(data)
    assert data.startswith("mean ")
    assert (mean, lo, hi) == pytest.approx(
        (h.data.mean(), h.data.min(), h.data.max()), rel=5e-4, abs=1e-12
    )
    norm, g_mean, g_lo, g_hi = numbers(line(nodes["tanh"], "grad "))
    expected = (np.linalg.norm(g_h.data), g_h.data.mean(), g_h.data.min(), g_h.data.max())
    assert (norm, g_mean, g_lo, g_hi) == pytest.approx(expected, rel=5e-3, abs=1e-12)


def test_gradients_agree_with_torch_on_tensors() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    w0, b0 = rng.standard_normal((2, 2)), rng.standard_normal(2)
    w = nb.tensor(w0, requires_grad=True, name="W")
    b = nb.tensor(b0, requires_grad=True, name="b")
    loss = nb.sigmoid(w @ b - b).sum()
    nodes = {lines[0]: lines for lines in parse(to_dot(loss, grads=True))[0].values()}
    wt = torch.tensor(w0, requires_grad=True)
    bt = torch.tensor(b0, requires_grad=True)
    gw, gb = torch.autograd.grad(torch.sigmoid(wt @ bt - bt).sum(), [wt, bt])
    np.testing.assert_allclose(numbers(line(nodes["W"], "grad "))[:-1], gw.ravel(), rtol=5e-4)
    np.testing.assert_allclose(numbers(line(nodes["b"], "grad "))[:-1], gb.ravel(), rtol=5e-4)


def test_values_false_shows_no_data() -> None:
    _, o = micrograd_expression()
    nodes = parse(to_dot(o, grads=True, values=False))[0]
    assert all(line(lines, "data ") is None for lines in nodes.values())
    assert all(line(lines, "grad ") is not None for lines in nodes.values() if lines[0] != "0.1")


@pytest.mark.parametrize("value", [0.0, -1.5, 1 / 3, 12345.678, -2e-7, 7.0])
def test_numbers_keep_four_significant_digits(value: float) -> None:
    text = format_value(np.array(value))
    assert float(text) == pytest.approx(value, rel=5e-4)
    assert len(text.lstrip("-").replace(".", "").split("e")[0].lstrip("0")) <= 4


def test_a_tensor_used_twice_draws_two_labelled_arrows() -> None:
    w = nb.tensor([1.0, -2.0], requires_grad=True, name="W")
    loss = (w * w).sum()
    nodes, edges, _ = parse(to_dot(loss, grads=True))
    ids = {lines[0]: k for k, lines in nodes.items()}
    into_mul = [(src, label) for src, dst, label in edges if dst == ids["mul"]]
    assert into_mul == [(ids["W"], "0"), (ids["W"], "1")]
    assert numbers(line(nodes[ids["W"]], "grad "))[:2] == pytest.approx([2.0, -4.0])  # 2w
    loss.backward()
    assert parse(to_dot(loss))[1] == edges  # the same two arrows after backward
    # inputs that differ keep unlabelled arrows
    v = nb.tensor([3.0, 4.0], requires_grad=True, name="v")
    _, edges, _ = parse(to_dot((w * v).sum()))
    assert all(label is None for _, _, label in edges)


def five_layer_mlp() -> tuple[nb.nn.MLP, nb.Tensor]:
    model = nb.nn.MLP([6, 8, 8, 8, 8, 3], activation="tanh")
    x = nb.tensor(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32), name="X")
    return model, model.loss(model(x), np.arange(4) % 3)


def test_collapse_draws_one_box_per_module() -> None:
    model, loss = five_layer_mlp()
    full = parse(to_dot(loss))[0]
    loss.backward(retain_graph=True)
    nodes, edges, _ = parse(to_dot(loss, grads=True, collapse=True))
    layers = [(path, m) for path, m in model.named_modules() if path]
    outside = {"cross_entropy", "X", "tensor"}  # the loss, the data, the targets
    assert len(nodes) == len(layers) + len(outside) < len(full)
    boxes = {lines[0]: k for k, lines in nodes.items()}
    assert {f"{path}: {type(m).__name__}" for path, m in layers} | outside == set(boxes)
    # edges link the boxes in the forward order: X → 0 → 1 → … → 8 → loss
    chain = ["X", *(f"{path}: {type(m).__name__}" for path, m in layers), "cross_entropy"]
    links = {(src, dst) for src, dst, _ in edges}
    assert {(boxes[a], boxes[b]) for a, b in itertools.pairwise(chain)} <= links
    assert len(links) == len(edges) == len(chain)  # plus targets → loss, no duplicates
    # each Linear box lists its parameters with their stored gradients' norms
    for path, module in layers:
        box = nodes[boxes[f"{path}: {type(module).__name__}"]]
        for name, p in module.named_parameters():
            (text,) = [t for t in box if t.startswith(f"{name} ")]
            norm = float(re.search(r"‖∇‖=([^,\s]+)", text).group(1))
            assert norm == pytest.approx(float(np.linalg.norm(p.grad)), rel=1e-2)


def test_collapse_depth_merges_nested_modules() -> None:
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

    loss = Net()(nb.ones(4, 3)).sum()
    names = {lines[0] for lines in parse(to_dot(loss, collapse=True))[0].values()}
    assert {"block: Block", "block.fc: Linear", "head: Linear"} <= names
    names = {lines[0] for lines in parse(to_dot(loss, collapse=1))[0].values()}
    assert {"block: Block", "head: Linear"} <= names and "block.fc: Linear" not in names
    with pytest.raises(ValueError, match="collapse"):
        to_dot(loss, collapse=True, max_nodes=3)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (bytes 16-24)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@needs_dot
def test_png_pixel_size_scales_with_dpi(tmp_path: Path) -> None:
    _, o = micrograd_expression()
    low = png_size(draw(o, tmp_path / "low.png", grads=True, dpi=72))
    high = png_size(draw(o, tmp_path / "high.png", grads=True, dpi=144))
    default = png_size(draw(o, tmp_path / "default.png", grads=True))
    for lo, hi, df in zip(low, high, default):
        assert hi == pytest.approx(2 * lo, abs=4)
        assert df == pytest.approx(lo * SLIDE_DPI / 72, abs=4)
    assert 150 <= SLIDE_DPI <= 200
    with pytest.raises(ValueError, match="dpi"):
        draw(o, tmp_path / "bad.png", dpi=0)


@needs_dot
def test_collapsed_png_of_a_five_layer_net_fits_a_slide(tmp_path: Path) -> None:
    _, loss = five_layer_mlp()
    loss.backward()
    width, height = png_size(draw(loss, tmp_path / "net.png", grads=True, collapse=True))
    full = png_size(draw(loss, tmp_path / "full.png", grads=True))
    assert height < full[1]
    assert max(width, height) < 6600
