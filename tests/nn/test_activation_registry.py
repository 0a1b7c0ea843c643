"""The activation registry: one entry makes an activation usable end to end, and every entry's
module, function, gain, ONNX op and predictor source agree with each other and with PyTorch."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.errors import ModelFileError
from nabla.nn import ACTIVATIONS, MLP, Activation, ActivationError, OnnxOp, Sequential
from nabla.nn.module import MODULE_REGISTRY
from nabla.nn.registry import get_activation, register_activation, unregister_activation
from nabla.onnx import export as onnx_export
from nabla.predictor import write_predictor

BUILT_IN = sorted(ACTIVATIONS)
# zero, both signs, and tails where a naive sigmoid overflows
POINTS = np.array([-60.0, -7.5, -1.0, -0.3, -0.0, 0.0, 1e-3, 0.7, 2.0, 9.0, 60.0])


def softsign(x: Any) -> nb.Tensor:
    """x / (1 + |x|), from existing ops: the toy activation of these tests."""
    x = x if isinstance(x, nb.Tensor) else nb.tensor(x)
    return x / (nb.abs(x) + 1.0)


@pytest.fixture
def toy() -> Iterator[Activation]:
    """Register softsign (its module and its entry, nothing else); remove both afterwards."""

    class Softsign(nb.nn.Module):
        """z = x / (1 + |x|)."""

        def forward(self, x: Any) -> nb.Tensor:
            return softsign(x)

        def get_config(self) -> dict[str, Any]:
            return {}

    entry = register_activation(
        Activation(
            name="softsign",
            module=Softsign,
            function=softsign,
            gain=1.0,
            onnx=OnnxOp("Softsign"),
            numpy="return x / (1 + np.abs(x))",
        )
    )
    try:
        yield entry
    finally:
        ACTIVATIONS.pop("softsign", None)
        MODULE_REGISTRY.pop("Softsign", None)


def blobs(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three separable Gaussian blobs in 4 dimensions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    return (centers[y] + rng.normal(0, 0.7, (n, 4))).astype(np.float32), y


def trained_toy_mlp() -> tuple[MLP, np.ndarray, list[float]]:
    X, y = blobs()
    nb.manual_seed(0)
    model = MLP([4, 16, 3], activation="softsign")
    optimizer = nb.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(60):
        loss = model.loss(model(nb.tensor(X)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.data))
    return model.eval(), X, losses


def load_predictor(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"predictor_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----- one entry is enough ----------------------------------------------------------------------
def test_a_registered_toy_trains_in_an_mlp(toy: Activation) -> None:
    model, _, losses = trained_toy_mlp()
    assert [type(m) for m in model][1] is toy.module
    assert losses[-1] < 0.3 * losses[0]


def test_a_registered_toy_saves_and_loads(toy: Activation, tmp_path: Path) -> None:
    model, X, _ = trained_toy_mlp()
    nb.save(model, tmp_path / "toy.safetensors")
    loaded = nb.load(tmp_path / "toy.safetensors").eval()
    assert isinstance(loaded[1], toy.module)
    with nb.no_grad():
        np.testing.assert_array_equal(loaded(nb.tensor(X)).data, model(nb.tensor(X)).data)
    unregister_activation("softsign")  # a file naming an activation nabla no longer knows
    with pytest.raises(ModelFileError, match="unknown activation 'softsign'; known activations"):
        nb.load(tmp_path / "toy.safetensors")


def test_a_registered_toy_exports_to_onnx(toy: Activation, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model, X, _ = trained_toy_mlp()
    proto = onnx_export(model, tmp_path / "toy.onnx", X[:2])
    assert "Softsign" in [node.op_type for node in proto.graph.node]
    session = ort.InferenceSession(str(tmp_path / "toy.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"input": X})
    with nb.no_grad():
        np.testing.assert_allclose(out, model(nb.tensor(X)).data, rtol=0, atol=1e-6)


def test_a_registered_toy_exports_to_the_numpy_predictor(toy: Activation, tmp_path: Path) -> None:
    model, X, _ = trained_toy_mlp()
    write_predictor(model, tmp_path / "toy_predictor.py")
    predictor = load_predictor(tmp_path / "toy_predictor.py")
    np.testing.assert_allclose(predictor.predict_proba(X), model.predict_proba(X), atol=1e-6)
    raw = write_predictor(model, tmp_path / "toy_raw.py", probabilities=False)
    with nb.no_grad():
        logits = model(nb.tensor(X)).data
    np.testing.assert_allclose(load_predictor(raw).forward(X), logits, rtol=0, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer. Maximum iterations")
def test_a_registered_toy_works_in_the_scikit_learn_estimators(toy: Activation) -> None:
    pytest.importorskip("sklearn")
    from nabla.sklearn import MLPClassifier

    X, y = blobs()
    clf = MLPClassifier((16,), "softsign", learning_rate_init=0.05, max_iter=60, random_state=0)
    assert clf.fit(X, y).score(X, y) > 0.9
    assert any(isinstance(m, toy.module) for m in clf.model_)
    with pytest.raises(ValueError, match="has no activation option"):
        MLPClassifier((4,), "softsign", parity=True).fit(X, y)


def test_a_registered_toy_is_a_cli_choice(toy: Activation, tmp_path: Path) -> None:
    from nabla.cli.main import main

    out = tmp_path / "graph.dot"
    assert main(["graph", "--activation", "softsign", "--hidden", "8", "--out", str(out)]) == 0
    assert out.exists()


# ----- every entry agrees with itself and with PyTorch -----------------------------------------
def check_entry(entry: Activation) -> None:
    """Module, function and predictor source give the same values; the gain is nn.init's."""
    params = dict.fromkeys(entry.params, 0.2)
    x = nb.tensor(POINTS)  # float64
    by_module = entry.build(**params)(x).data
    np.testing.assert_array_equal(by_module, entry.function(x, **params).data)
    by_numpy = entry.numpy_function()(POINTS, **params)
    np.testing.assert_allclose(by_numpy, by_module, rtol=1e-14, atol=1e-300)
    assert nb.nn.init.calculate_gain(entry.name) == entry.calculate_gain()
    assert entry.name.isidentifier()


@pytest.mark.parametrize("name", BUILT_IN)
def test_module_function_and_predictor_source_agree(name: str) -> None:
    check_entry(get_activation(name))


def test_the_toy_entry_agrees_with_itself(toy: Activation) -> None:
    check_entry(toy)


@pytest.mark.parametrize("name", BUILT_IN)
def test_entries_agree_with_pytorch(name: str) -> None:
    torch = pytest.importorskip("torch")
    entry = get_activation(name)
    params = dict.fromkeys(entry.params, 0.2)
    torch_module = getattr(torch.nn, entry.module.__name__)(**params)  # PyTorch's class names
    expected = torch_module(torch.from_numpy(POINTS)).numpy()
    np.testing.assert_allclose(
        entry.function(nb.tensor(POINTS), **params).data, expected, rtol=1e-15, atol=1e-300
    )
    np.testing.assert_allclose(entry.numpy_function()(POINTS, **params), expected, rtol=1e-14)
    try:
        torch_gain = torch.nn.init.calculate_gain(name, *params.values())
    except ValueError:  # "identity": PyTorch's name for it is "linear"
        torch_gain = torch.nn.init.calculate_gain("linear")
    assert entry.calculate_gain(*params.values()) == pytest.approx(torch_gain, rel=1e-15)


@pytest.mark.parametrize("name", BUILT_IN)
def test_onnx_lowering_agrees_with_the_function(name: str, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    entry = get_activation(name)
    params = dict.fromkeys(entry.params, 0.2)
    x = POINTS.astype(np.float32).reshape(1, -1)
    onnx_export(Sequential(entry.build(**params)), tmp_path / "a.onnx", x)
    session = ort.InferenceSession(str(tmp_path / "a.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"input": x})
    expected = entry.function(nb.tensor(x), **params).data
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)  # float32 runtimes


@pytest.mark.parametrize("name", BUILT_IN)
def test_scikit_learn_names_mean_scikit_learns_functions(name: str) -> None:
    pytest.importorskip("sklearn")
    from sklearn.neural_network._base import ACTIVATIONS as SKLEARN

    entry = get_activation(name)
    if entry.sklearn_name is None:
        pytest.skip(f"scikit-learn's MLP has no {name}")
    expected = POINTS.copy()
    SKLEARN[entry.sklearn_name](expected)  # its functions work in place (identity: a no-op)
    np.testing.assert_allclose(entry.function(nb.tensor(POINTS)).data, expected, rtol=1e-15)


def test_scikit_learns_names_are_all_registered() -> None:
    pytest.importorskip("sklearn")
    from sklearn.neural_network._base import ACTIVATIONS as SKLEARN

    spelled = {entry.sklearn_name for entry in ACTIVATIONS.values()}
    assert set(SKLEARN) - {"softmax", "exp"} <= spelled  # those two are output layers only


# ----- the table's rules --------------------------------------------------------------------------
def test_duplicates_and_bad_names_are_refused(toy: Activation) -> None:
    with pytest.raises(ActivationError, match=r"'softsign' is already registered \(module"):
        register_activation(toy)
    with pytest.raises(ActivationError, match="must be an identifier, got 'soft sign'"):
        register_activation(Activation("soft sign", toy.module, softsign, 1.0, OnnxOp("X"), ""))
    with pytest.raises(ActivationError, match="'linear' names an exporter step"):
        register_activation(Activation("linear", toy.module, softsign, 1.0, OnnxOp("X"), ""))
    with pytest.raises(ActivationError, match="module must be a Module class"):
        register_activation(Activation("soft", softsign, softsign, 1.0, OnnxOp("X"), ""))  # type: ignore[arg-type]


def test_unknown_names_list_the_known_ones() -> None:
    message = f"unknown activation 'swish'; known activations: {', '.join(BUILT_IN)}"
    with pytest.raises(ActivationError, match=message):
        get_activation("swish")
    with pytest.raises(ValueError, match="MLP: unknown activation 'swish'"):
        MLP([4, 2], activation="swish")


def test_leaky_relu_gain_takes_pytorchs_param() -> None:
    gain = get_activation("leaky_relu").calculate_gain
    assert gain() == math.sqrt(2 / (1 + 0.01**2))
    assert gain(0.3) == math.sqrt(2 / (1 + 0.3**2))
    with pytest.raises(ValueError, match="negative_slope True is not a number"):
        gain(True)  # type: ignore[arg-type]


def test_mlp_auto_init_is_the_entrys_scheme() -> None:
    for name in BUILT_IN:
        assert MLP([3, 4, 2], activation=name).init_scheme == get_activation(name).init
