"""Conv nets in the generated NumPy-only predictor, run in a Python with NumPy alone.

The predictor computes convolution, max/average/adaptive pooling with nabla's own NumPy code
(copied as source), so its outputs equal nabla's eval-mode outputs; BatchNorm2d uses the running
statistics, Dropout1d/2d vanish. ``nabla export`` of a CNN trained by ``nabla train --model cnn``
gives a predictor and an ONNX file that agree with ``nabla predict``.
"""

from __future__ import annotations

import csv
import inspect
import io
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla import nn
from nabla.deploy import class_probabilities
from nabla.predictor import write_predictor

TOL = 1e-5  # float32; the predictor runs the same NumPy code, so it is exact in practice

# load the predictor from its path and write forward(X) (or predict_proba) to out.npy
DRIVER = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("predictor", sys.argv[1])
predictor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(predictor)
X = np.load("X.npy")
out = predictor.predict_proba(X) if predictor.PROBABILITIES else predictor.forward(X)
np.save("out.npy", out)
"""


def _warmed(model: nn.Module, shape: tuple[int, ...], rng: np.random.Generator) -> nn.Module:
    """``model`` after a few training batches (BatchNorm gets running statistics), in eval mode."""
    model.train()
    with nb.no_grad():
        for _ in range(3):
            model(nb.tensor(rng.normal(1.0, 2.0, size=(8, *shape)).astype(model.dtype)))
    return model.eval()


def _mixed() -> nn.Module:
    """BatchNorm2d, "same" padding with an even kernel, stride, dilation, groups, ceil mode."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 4, padding="same"),
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
    # what ONNX refuses, the predictor computes: divisor_override, unequal adaptive bins
    pools = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.AvgPool2d((2, 1), divisor_override=3),
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.AdaptiveAvgPool2d((2, 3)),
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
        nn.AdaptiveAvgPool1d(2),
        nn.Flatten(),
        nn.Linear(12, 2),
    )
    cases = {
        "lenet": (lenet, (1, 28, 28)),
        "mixed": (_mixed(), (3, 13, 11)),
        "mixed-float64": (_mixed().double(), (3, 13, 11)),
        "pools": (pools, (2, 9, 12)),
        "conv1d": (conv1d, (3, 30)),
    }
    return {name: (_warmed(m, shape, rng), shape) for name, (m, shape) in cases.items()}


def _eval(model: nn.Module, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    with nb.no_grad():
        return np.asarray(model(nb.tensor(x)).data)


@pytest.mark.parametrize("name", ["lenet", "mixed", "mixed-float64", "pools", "conv1d"])
def test_predictor_matches_nabla_with_only_numpy(
    tmp_path: Path,
    rng: np.random.Generator,
    numpy_only_python: Callable[..., Any],
    name: str,
) -> None:
    model, shape = nets(rng)[name]
    x = rng.normal(size=(6, *shape)).astype(model.dtype)
    path = write_predictor(model, tmp_path / "p.py", probabilities=False, example_input=x[:1])
    np.save(tmp_path / "X.npy", x)
    numpy_only_python("-c", DRIVER, str(path))
    got, expected = np.load(tmp_path / "out.npy"), _eval(model, x)
    assert got.dtype == model.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_class_probabilities_and_the_command_on_pixel_columns(
    tmp_path: Path, rng: np.random.Generator, numpy_only_python: Callable[..., Any]
) -> None:
    """As a classifier: predict_proba of images, and the command reading a CSV of pixels."""
    model, shape = nets(rng)["lenet"]
    x = rng.uniform(0, 1, size=(5, *shape)).astype(np.float32)
    classes = [f"digit{i}" for i in range(10)]
    path = write_predictor(model, tmp_path / "p.py", class_names=classes, example_input=x[:1])
    np.save(tmp_path / "X.npy", x)
    numpy_only_python("-c", DRIVER, str(path))
    expected = class_probabilities(model, x)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=0, atol=TOL)
    # one image per row, its pixels flattened (unnamed columns col0, col1...)
    rows = "\n".join(",".join(repr(float(v)) for v in row) for row in x.reshape(len(x), -1))
    (tmp_path / "rows.csv").write_text(rows + "\n")
    out = numpy_only_python(str(path), "rows.csv").stdout.splitlines()
    assert out[0].startswith("row,predicted,p_digit0")
    printed = np.array([[float(v) for v in line.split(",")[2:]] for line in out[1:]])
    np.testing.assert_allclose(printed, expected, atol=1e-7)
    assert [line.split(",")[1] for line in out[1:]] == [classes[i] for i in expected.argmax(1)]


def test_the_image_code_is_nablas_own(tmp_path: Path, rng: np.random.Generator) -> None:
    """One implementation: the patches, Conv.forward's product and the pooling windows are
    nabla's code verbatim; a model of table rows gets none of it."""
    from nabla.nn import functional_pool
    from nabla.ops import conv, pooling

    model, shape = nets(rng)["mixed"]
    text = write_predictor(
        model, tmp_path / "p.py", example_input=np.zeros((1, *shape))
    ).read_text()
    for function in (
        conv.patches_view,
        conv.geometry,
        pooling.max_positions,
        functional_pool._average_matrix,
        functional_pool._adaptive_matrix,
    ):
        assert inspect.getsource(function) in text, function.__name__
    method = textwrap.dedent(inspect.getsource(conv.Conv.forward))
    assert method.replace("def forward(", "def _conv_forward(") in text
    plain = write_predictor(nn.MLP([3, 2]), tmp_path / "q.py").read_text()
    assert "def patches_view(" not in plain and "_IMAGE_STEPS = {}" in plain


@pytest.mark.slow
def test_nabla_export_of_a_trained_cnn_agrees_with_nabla_predict(
    tmp_path: Path, numpy_only_python: Callable[..., Any]
) -> None:
    """``nabla train --model cnn`` on digits, ``nabla export``, then the predictor (on the
    images and on a CSV of their pixel columns) and the ONNX file against ``nabla predict``."""
    pytest.importorskip("sklearn")
    pytest.importorskip("safetensors")
    from nabla.cli import main
    from nabla.data import load_data

    run = tmp_path / "run"
    train = ["train", "--data", "digits", "--model", "cnn", "--epochs", "1", "--out", str(run)]
    assert main([*train, "--no-progress", "--no-plots"]) == 0
    model_file = str(run / "model.safetensors")
    args = ["export", model_file, "--python", str(tmp_path / "p.py")]
    onnx_installed = _installed("onnx") and _installed("onnxruntime")
    if onnx_installed:
        args += ["--onnx", str(tmp_path / "m.onnx")]
    assert main(args) == 0
    assert main(["predict", model_file, "digits", "-o", str(tmp_path / "pred.csv")]) == 0
    rows = list(csv.reader(io.StringIO((tmp_path / "pred.csv").read_text())))
    expected = np.array([[float(v) for v in row[2:]] for row in rows[1:]])
    images = load_data("digits", images=True).X
    assert images.shape == (len(expected), 1, 8, 8)
    np.save(tmp_path / "X.npy", images)
    numpy_only_python("-c", DRIVER, str(tmp_path / "p.py"))
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=0, atol=TOL)
    # the command reads the model's pixel columns (px_0_0, ...) by name
    names = [f"px_{i}_{j}" for i in range(8) for j in range(8)]
    lines = [",".join(names)] + [",".join(map(repr, r.tolist())) for r in images.reshape(-1, 64)]
    (tmp_path / "pixels.csv").write_text("\n".join(lines) + "\n")
    out = numpy_only_python(str(tmp_path / "p.py"), "pixels.csv").stdout.splitlines()
    assert out[0] == ",".join(rows[0])
    assert [line.split(",")[1] for line in out[1:]] == [row[1] for row in rows[1:]]
    printed = np.array([[float(v) for v in line.split(",")[2:]] for line in out[1:]])
    np.testing.assert_allclose(printed, expected, rtol=0, atol=TOL)
    if onnx_installed:
        import onnxruntime as ort

        session = ort.InferenceSession(
            str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]
        )
        (graph_input,) = session.get_inputs()
        assert graph_input.shape == ["batch", 1, 8, 8]  # the images themselves
        got = session.run(None, {graph_input.name: images.astype(np.float32)})[0]
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def _installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_a_model_loaded_by_nb_load_exports_the_same_predictor(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """nb.save/nb.load keep every setting the predictor reads (padding "same", groups,
    dilation, ceil mode, BatchNorm2d's running statistics)."""
    pytest.importorskip("safetensors")
    model, shape = nets(rng)["mixed"]
    nb.save(model, tmp_path / "m.safetensors")
    loaded = nb.load(tmp_path / "m.safetensors")
    x = rng.normal(size=(3, *shape)).astype(np.float32)
    text = write_predictor(model, tmp_path / "a.py", example_input=x).read_text()
    again = write_predictor(loaded, tmp_path / "b.py", example_input=x).read_text()
    assert again == text
