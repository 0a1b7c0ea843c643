"""Conv nets exported to ONNX and run by onnxruntime agree with nabla's eval-mode outputs.

Conv (padding "same" with an even kernel, stride, dilation, groups), MaxPool and AveragePool in
ceil mode (the overhang, with and without count_include_pad), GlobalAveragePool and divisible
adaptive pooling, BatchNorm2d with running statistics, Dropout2d, Flatten, Conv1d; the batch
axis is dynamic. What ONNX cannot express is refused in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla import nn
from nabla.data.columns import Preprocessing
from nabla.deploy import ExportError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = 1e-5  # float32


def _warmed(model: nn.Module, shape: tuple[int, ...], rng: np.random.Generator) -> nn.Module:
    """``model`` after a few training batches (BatchNorm gets running statistics), in eval mode."""
    model.train()
    with nb.no_grad():
        for _ in range(3):
            model(nb.tensor(rng.normal(1.0, 2.0, size=(8, *shape)).astype(model.dtype)))
    return model.eval()


def nets(rng: np.random.Generator) -> dict[str, tuple[nn.Module, tuple[int, ...]]]:
    """name -> (network in eval mode, input shape without the batch axis)."""
    nb.manual_seed(0)
    lenet = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )
    mixed = nn.Sequential(
        nn.Conv2d(3, 8, 4, padding="same"),  # even kernel: 1 pixel before, 2 after
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, dilation=2, groups=4),
        nn.BatchNorm2d(8, affine=False),
        nn.Tanh(),
        nn.Dropout2d(0.3),
        nn.Conv2d(8, 6, (2, 3), padding="same", dilation=(2, 1)),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        nn.MaxPool2d(2, stride=1, padding=1, dilation=2, ceil_mode=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 4),
    )
    pools = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),  # count_include_pad, overhang
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.AdaptiveAvgPool2d((3, None)),
        nn.Flatten(),
    )
    conv1d = nn.Sequential(
        nn.Conv1d(3, 6, 4, padding="same"),
        nn.BatchNorm1d(6),
        nn.ReLU(),
        nn.MaxPool1d(3, stride=2, ceil_mode=True),
        nn.Conv1d(6, 6, 3, stride=2, dilation=2, groups=3),
        nn.Dropout1d(0.5),
        nn.AvgPool1d(2, ceil_mode=True, count_include_pad=False),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(6, 2),
    )
    cases = {
        "lenet": (lenet, (1, 28, 28)),
        "mixed": (mixed, (3, 13, 11)),
        "pools": (pools, (2, 9, 12)),
        "conv1d": (conv1d, (3, 30)),
    }
    return {name: (_warmed(m, shape, rng), shape) for name, (m, shape) in cases.items()}


def _run(path: Path, x: np.ndarray[Any, Any], name: str = "input") -> Any:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: x})[0]


def _eval(model: nn.Module, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    with nb.no_grad():
        return np.asarray(model(nb.tensor(x)).data)


@pytest.mark.parametrize("name", ["lenet", "mixed", "pools", "conv1d"])
def test_onnxruntime_matches_nabla(tmp_path: Path, rng: np.random.Generator, name: str) -> None:
    model, shape = nets(rng)[name]
    x = rng.normal(size=(5, *shape)).astype(np.float32)
    nb.onnx.export(model, tmp_path / "m.onnx", x[:1])
    for batch in (x, x[:1]):  # the batch axis is dynamic
        got, expected = _run(tmp_path / "m.onnx", batch), _eval(model, batch)
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
    assert model.training is False


def _nodes(proto: Any, op: str) -> list[dict[str, Any]]:
    helper = onnx.helper
    return [
        {a.name: helper.get_attribute_value(a) for a in node.attribute}
        for node in proto.graph.node
        if node.op_type == op
    ]


def test_the_graph_holds_the_layers_settings(tmp_path: Path, rng: np.random.Generator) -> None:
    model, shape = nets(rng)["mixed"]
    proto = nb.onnx.export(model, tmp_path / "m.onnx", np.zeros((1, *shape), np.float32))
    inputs = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in inputs] == ["batch", *shape]
    convs = _nodes(proto, "Conv")
    assert convs[0]["pads"] == [1, 1, 2, 2] and convs[0]["kernel_shape"] == [4, 4]
    assert convs[1]["strides"] == [2, 2] and convs[1]["dilations"] == [2, 2]
    assert convs[1]["group"] == 4 and convs[1]["pads"] == [1, 1, 1, 1]
    assert convs[2]["pads"] == [1, 1, 1, 1] and convs[2]["dilations"] == [2, 1]  # (2·1, 1·2)
    assert len(_nodes(proto, "BatchNormalization")) == 2
    (average,) = _nodes(proto, "AveragePool")
    assert average["count_include_pad"] == 0 and average["ceil_mode"] == 0
    assert average["pads"][:2] == [1, 1]  # the declared padding before
    ops = [node.op_type for node in proto.graph.node]
    assert "GlobalAveragePool" in ops and "Flatten" in ops and "Dropout" not in ops


def test_count_include_pad_with_a_ceil_overhang_pads_first(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """PyTorch counts the declared padding but not the ceil-mode overhang: zeros are padded
    in, then only what is there is counted."""
    model, shape = nets(rng)["pools"]
    proto = nb.onnx.export(model, tmp_path / "m.onnx", np.zeros((1, *shape), np.float32))
    ops = [node.op_type for node in proto.graph.node]
    assert ops.index("Pad") < ops.index("AveragePool")
    averages = _nodes(proto, "AveragePool")
    assert averages[0]["count_include_pad"] == 0 and averages[0]["pads"][:2] == [0, 0]
    # the adaptive (3, None) pooling of its 3 x 4 input averages windows of one pixel
    x = rng.normal(size=(3, *shape)).astype(np.float32)
    np.testing.assert_allclose(_run(tmp_path / "m.onnx", x), _eval(model, x), atol=TOL)


def test_adaptive_pooling_with_unequal_bins_is_refused(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d((2, 3)))
    with pytest.raises(ExportError, match=r"layer '1' \(AdaptiveAvgPool2d\).*not a multiple"):
        nb.onnx.export(model, tmp_path / "m.onnx", np.zeros((1, 1, 7, 8), np.float32))
    assert not (tmp_path / "m.onnx").exists()
    divisible = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d((5, 3)))
    x = np.random.default_rng(1).normal(size=(2, 1, 12, 8)).astype(np.float32)
    nb.onnx.export(divisible, tmp_path / "d.onnx", x)
    np.testing.assert_allclose(_run(tmp_path / "d.onnx", x), _eval(divisible, x), atol=TOL)


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (nn.AvgPool2d(2, divisor_override=3), r"\(AvgPool2d\) to ONNX: divisor_override"),
        (nn.MaxPool2d(2, return_indices=True), r"\(MaxPool2d\): return_indices=True"),
    ],
    ids=["divisor_override", "return_indices"],
)
def test_what_onnx_cannot_express_is_refused_in_one_line(
    tmp_path: Path, layer: nn.Module, message: str
) -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), layer)
    with pytest.raises(ExportError, match=message) as caught:
        nb.onnx.export(model, tmp_path / "m.onnx", np.zeros((1, 1, 6, 6), np.float32))
    assert "\n" not in str(caught.value)


def test_the_input_shape_comes_from_the_example_or_the_model(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten())
    with pytest.raises(ExportError, match=r"pass example_input.*\(n, C, H, W\).*Conv2d\(3"):
        nb.onnx.export(model, tmp_path / "m.onnx")
    with pytest.raises(ExportError, match=r"expected a 4-D input \(N, C, H, W\), got a 3-D"):
        nb.onnx.export(model, tmp_path / "m.onnx", np.zeros((3, 5, 5), np.float32))
    model.input_shape = (3, 5, 6)  # a model that records its input shape
    proto = nb.onnx.export(model, tmp_path / "m.onnx")
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 3, 5, 6]


def test_probabilities_and_preprocessed_pixel_columns(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """With a preprocessing document the graph reads rows of pixel columns, standardises them
    and reshapes them into images; the head gives class probabilities."""
    model, shape = nets(rng)["lenet"]
    names = [f"px{i}" for i in range(28 * 28)]
    raw = rng.normal(3.0, 2.0, size=(4, 28 * 28))
    stats = {"mean": raw.mean(0).tolist(), "scale": (raw.std(0) + 0.5).tolist()}
    spec = Preprocessing.from_legacy(names, stats, n_features=len(names))
    example = np.zeros((1, *shape))
    nb.onnx.export(model, tmp_path / "m.onnx", example, preprocessing=spec, probabilities=True)
    got = _run(tmp_path / "m.onnx", raw.astype(np.float32))
    images = ((raw - stats["mean"]) / np.asarray(stats["scale"])).astype(np.float32)
    logits = _eval(model, images.reshape(-1, *shape))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(got, e / e.sum(axis=1, keepdims=True), atol=TOL)


def test_small_cnn_records_its_image_shape(tmp_path: Path, rng: np.random.Generator) -> None:
    """The default CNN of ``nabla train --model cnn`` exports without an example input."""
    model = _warmed(nn.SmallCNN(1, 10, 8), (1, 8, 8), rng)
    proto = nb.onnx.export(model, tmp_path / "m.onnx", probabilities=True)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 1, 8, 8]
    x = rng.uniform(0, 1, size=(4, 1, 8, 8)).astype(np.float32)
    got = _run(tmp_path / "m.onnx", x)
    np.testing.assert_allclose(got, model.predict_proba(x), rtol=0, atol=TOL)
