"""GELU, SiLU, ELU, Softplus, Mish, Hardtanh, LayerNorm and Embedding against PyTorch 2.13
(values and gradients in float32 and float64) and against central differences (first and
second order, float64)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla.errors import DTypeError, ShapeError
from nabla.nn import ACTIVATIONS, MLP, Sequential
from nabla.nn.activation import ELU, GELU, Hardtanh, Mish, SiLU, Softplus
from nabla.nn.normalization import LayerNorm
from nabla.nn.registry import activation_of, get_activation
from nabla.nn.sparse import Embedding

torch = pytest.importorskip("torch")

TOL = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-13}}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}

# (nabla module, PyTorch module) with non-default settings where the layer has any
ACTIVATION_CASES = [
    (lambda: GELU(), lambda: torch.nn.GELU()),
    (lambda: GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: SiLU(), lambda: torch.nn.SiLU()),
    (lambda: ELU(), lambda: torch.nn.ELU()),
    (lambda: ELU(0.3), lambda: torch.nn.ELU(0.3)),
    (lambda: Softplus(), lambda: torch.nn.Softplus()),
    (lambda: Softplus(2.0, 3.0), lambda: torch.nn.Softplus(2.0, 3.0)),
    (lambda: Mish(), lambda: torch.nn.Mish()),
    (lambda: Hardtanh(), lambda: torch.nn.Hardtanh()),
    (lambda: Hardtanh(-0.5, 2.0), lambda: torch.nn.Hardtanh(-0.5, 2.0)),
]
IDS = ["gelu", "gelu_tanh", "silu", "elu", "elu_0.3", "softplus", "softplus_2_3", "mish",
       "hardtanh", "hardtanh_-0.5_2"]  # fmt: skip


KINKS = [-1.0, -0.5, 0.0, 1.0, 1.5, 2.0]  # elu's 0, hardtanh's bounds, softplus' 3 / β


def points(dtype: Any, kinks: bool = True) -> np.ndarray:
    """Both signs, the kinks (clip bounds, thresholds, 0), large tails, plus random values.

    Without ``kinks`` they are replaced by neighbours: at a kink PyTorch's second derivative
    takes one side or the other (ELU's is 0 at x = 0, the limit from the right)."""
    fixed = [-40.0, -8.0, -2.0, -1e-3, 1e-3, 0.5, 9.0, 25.0, 40.0]
    fixed += KINKS if kinks else [k + 0.01 for k in KINKS]
    rng = np.random.default_rng(0)
    return np.concatenate([fixed, rng.normal(0, 3, 49)]).astype(dtype).reshape(4, 16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("ours", "theirs"), ACTIVATION_CASES, ids=IDS)
def test_activations_match_pytorch(ours: Any, theirs: Any, dtype: Any) -> None:
    x = points(dtype)
    g = np.random.default_rng(1).normal(size=x.shape).astype(dtype)
    xn = nb.tensor(x, requires_grad=True)
    out = ours()(xn)
    out.backward(nb.tensor(g))
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs()(xt)
    expected.backward(torch.tensor(g))
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(xn.grad, xt.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize(("ours", "theirs"), ACTIVATION_CASES, ids=IDS)
def test_activations_second_derivatives_match_pytorch(ours: Any, theirs: Any) -> None:
    x = points(np.float64, kinks=False)
    xn = nb.tensor(x, requires_grad=True)
    (gx,) = nb.grad(ours()(xn).sum(), [xn], create_graph=True)
    (ggx,) = nb.grad((gx * gx + xn * xn).sum(), [xn])  # x²: hardtanh's g is constant
    xt = torch.tensor(x, requires_grad=True)
    (tx,) = torch.autograd.grad(theirs()(xt).sum(), [xt], create_graph=True)
    (ttx,) = torch.autograd.grad((tx * tx + xt * xt).sum(), [xt])
    np.testing.assert_allclose(gx.data, tx.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ggx.data, ttx.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("ours", "theirs"), ACTIVATION_CASES, ids=IDS)
def test_activations_pass_gradcheck_and_gradgradcheck(ours: Any, theirs: Any) -> None:
    # away from the kinks of elu, hardtanh and softplus' threshold, where differences jump
    x = np.array([[-3.1, -0.77, -0.2, 0.13, 0.61, 1.7], [2.9, -1.4, 0.4, -2.2, 1.2, 0.05]])
    module = ours()
    assert nb.gradcheck(module, nb.tensor(x, requires_grad=True))
    assert nb.gradgradcheck(module, nb.tensor(x, requires_grad=True))


@pytest.mark.parametrize(
    ("function", "torch_function", "kwargs"),
    [
        (F.gelu, torch.nn.functional.gelu, {"approximate": "tanh"}),
        (F.silu, torch.nn.functional.silu, {}),
        (F.elu, torch.nn.functional.elu, {"alpha": 0.5}),
        (F.softplus, torch.nn.functional.softplus, {"beta": 0.5, "threshold": 4.0}),
        (F.mish, torch.nn.functional.mish, {}),
        (F.hardtanh, torch.nn.functional.hardtanh, {"min_val": -2.0, "max_val": 0.5}),
    ],
)
def test_functional_forms_on_0d_empty_broadcast_and_strided_inputs(
    function: Any, torch_function: Any, kwargs: dict[str, Any]
) -> None:
    base = np.random.default_rng(2).normal(0, 2, (6, 8))
    for x in (np.array(0.7), np.array(-1.3), np.zeros((0, 3)), base[::2, ::3], base.T):
        out = function(nb.tensor(x), **kwargs)
        expected = torch_function(torch.tensor(np.array(x, order="C")), **kwargs).numpy()
        assert out.shape == expected.shape
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-13)


def test_bad_settings_are_refused_as_pytorch() -> None:
    with pytest.raises(ValueError, match="approximate argument must be either none or tanh"):
        GELU("fast")
    with pytest.raises(ValueError, match="approximate argument must be either none or tanh"):
        F.gelu(nb.zeros(2), approximate="fast")
    with pytest.raises(ValueError, match=r"max_val \(1.0\) must be greater than min_val"):
        Hardtanh(1.0, 1.0)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(nb.zeros(2), 2.0, 1.0)
    with pytest.raises(TypeError, match="argument 'alpha' must be a number"):
        F.elu(nb.zeros(2), alpha="1")


# ----- the registry: MLP(activation=...), save/load, ONNX, NumPy predictor ---------------------
NEW = ["gelu", "silu", "elu", "softplus", "mish", "hardtanh"]


def test_new_activations_are_registered() -> None:
    assert set(NEW) <= set(ACTIVATIONS)
    assert activation_of(GELU()) is get_activation("gelu")
    assert activation_of(GELU("tanh")) is None  # not mistaken for the exact one by exporters
    assert activation_of(Hardtanh(-2.0, 2.0)) is None
    assert activation_of(Softplus(threshold=5.0)) is None
    assert activation_of(Softplus(beta=3.0)) is get_activation("softplus")


@pytest.mark.parametrize("name", NEW)
def test_mlp_with_a_new_activation_trains_saves_and_loads(name: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    nb.manual_seed(0)
    model = MLP([4, 16, 2], activation=name)
    assert isinstance(model[1], get_activation(name).module)
    optimizer = nb.optim.SGD(model.parameters(), lr=0.2)
    first = last = 0.0
    for step in range(40):
        loss = model.loss(model(nb.tensor(X)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first, last = (float(loss.data), last) if step == 0 else (first, float(loss.data))
    assert last < 0.7 * first
    nb.save(model.eval(), tmp_path / "m.safetensors")
    loaded = nb.load(tmp_path / "m.safetensors").eval()
    with nb.no_grad():
        np.testing.assert_array_equal(loaded(nb.tensor(X)).data, model(nb.tensor(X)).data)


def test_layers_with_settings_save_and_load(tmp_path: Path) -> None:
    model = Sequential(
        nb.nn.Linear(3, 4), GELU("tanh"), LayerNorm(4), Softplus(2.0, 5.0), nb.nn.Linear(4, 2)
    )
    model[2].weight.data[...] = np.arange(4)
    nb.save(model, tmp_path / "s.safetensors")
    loaded = nb.load(tmp_path / "s.safetensors")
    assert loaded[1].approximate == "tanh" and loaded[3].threshold == 5.0
    x = nb.tensor(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


def _emit_through_the_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route the new activations through ``OnnxOp.emit`` (what nabla.onnx's generic path does
    once it calls ``emit`` instead of building one node)."""
    import nabla.onnx as exporter

    for name in NEW:
        monkeypatch.setitem(
            exporter._EMITTERS,
            name,
            lambda g, step, x, hint: ACTIVATIONS[step.op].onnx.emit(g, x, hint, step.attrs),
        )


@pytest.mark.parametrize("name", NEW)
def test_onnx_lowering_agrees_with_the_function(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from nabla.onnx import export

    _emit_through_the_entries(monkeypatch)
    entry = get_activation(name)
    x = np.linspace(-30, 30, 121).astype(np.float32).reshape(1, -1)
    module = entry.build(alpha=0.3, beta=0.7)
    export(Sequential(module), tmp_path / "a.onnx", x)
    session = ort.InferenceSession(str(tmp_path / "a.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"input": x})
    np.testing.assert_allclose(out, module(nb.tensor(x)).data, rtol=1e-5, atol=3e-6)


@pytest.mark.parametrize("name", NEW)
def test_numpy_predictor_agrees_with_the_model(name: str, tmp_path: Path) -> None:
    from nabla.predictor import write_predictor

    nb.manual_seed(1)
    model = MLP([3, 8, 3], activation=name).eval()
    X = np.random.default_rng(3).normal(0, 4, (20, 3)).astype(np.float32)
    path = write_predictor(model, tmp_path / f"p_{name}.py", probabilities=False)
    spec = importlib.util.spec_from_file_location(f"p_{name}", path)
    assert spec is not None and spec.loader is not None
    predictor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(predictor)
    with nb.no_grad():
        expected = model(nb.tensor(X)).data
    np.testing.assert_allclose(predictor.forward(X), expected, rtol=1e-5, atol=1e-6)


# ----- LayerNorm --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("shape", "normalized", "kwargs"),
    [
        ((5, 6), 6, {}),
        ((2, 3, 4), (3, 4), {}),
        ((2, 3, 4), [4], {"eps": 1e-3, "bias": False}),
        ((3, 4), 4, {"elementwise_affine": False}),
        ((4,), 4, {}),
    ],
)
def test_layer_norm_matches_pytorch(
    shape: tuple[int, ...], normalized: Any, kwargs: dict[str, Any], dtype: Any
) -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(1.0, 3.0, shape).astype(dtype)
    g = rng.normal(size=shape).astype(dtype)
    ours = LayerNorm(normalized, dtype=dtype, **kwargs)
    theirs = torch.nn.LayerNorm(normalized, dtype=TORCH_DTYPE[dtype], **kwargs)
    if ours.weight is not None:
        w = rng.normal(size=ours.weight.shape).astype(dtype)
        ours.weight.data[...] = w
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(w))
    if ours.bias is not None:
        b = rng.normal(size=ours.bias.shape).astype(dtype)
        ours.bias.data[...] = b
        with torch.no_grad():
            theirs.bias.copy_(torch.tensor(b))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    xn, xt = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xn), theirs(xt)
    out.backward(nb.tensor(g))
    expected.backward(torch.tensor(g))
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-11, "atol": 1e-12}
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tol)
    np.testing.assert_allclose(xn.grad, xt.grad.numpy(), **tol)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(theirs, name).grad.numpy(), **tol)


def test_layer_norm_first_and_second_order_gradcheck() -> None:
    rng = np.random.default_rng(5)
    x = nb.tensor(rng.normal(size=(3, 5)), requires_grad=True)
    w = nb.tensor(rng.normal(size=5), requires_grad=True)
    b = nb.tensor(rng.normal(size=5), requires_grad=True)
    assert nb.gradcheck(lambda x, w, b: F.layer_norm(x, 5, w, b), x, w, b)
    assert nb.gradgradcheck(lambda x, w, b: F.layer_norm(x, 5, w, b), x, w, b)


def test_layer_norm_refuses_a_mismatched_input() -> None:
    with pytest.raises(ShapeError, match=r"normalized_shape=\[4\], expected input with shape"):
        LayerNorm(4)(nb.zeros(2, 3))


# ----- Embedding --------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_pytorch_with_padding(padding_idx: int | None) -> None:
    rng = np.random.default_rng(6)
    ours = Embedding(6, 3, padding_idx=padding_idx, dtype=np.float64)
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
    idx = np.array([[2, 5, 2, 0], [1, 2, 5, 5]])
    g = rng.normal(size=(2, 4, 3))
    out = ours(idx)
    out.backward(nb.tensor(g))
    expected = theirs(torch.tensor(idx))
    expected.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-14)
    assert ours.padding_idx == theirs.padding_idx


def test_embedding_init_is_standard_normal_with_a_zero_padding_row() -> None:
    nb.manual_seed(0)
    e = Embedding(2000, 50, padding_idx=3)
    np.testing.assert_array_equal(e.weight.data[3], 0)
    rest = np.delete(e.weight.data, 3, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01
    assert e.weight.dtype == np.float32


def test_embedding_gradcheck_and_bad_indices() -> None:
    e = Embedding(4, 2, padding_idx=0, dtype=np.float64)
    idx = np.array([0, 3, 3, 1])
    assert nb.gradcheck(lambda w: F.embedding(idx, w, padding_idx=0) ** 2, e.weight)
    empty = e(np.zeros((0, 2), dtype=np.int64))  # PyTorch's backward fails on this one
    assert empty.shape == (0, 2, 2)
    (empty.sum() + e(np.array(3)).sum()).backward()
    np.testing.assert_array_equal(e.weight.grad, [[0, 0], [0, 0], [0, 0], [1, 1]])
    with pytest.raises(IndexError, match="index out of range"):
        e(np.array([4]))
    with pytest.raises(DTypeError, match="indices must be integers"):
        e(np.array([1.0]))
    with pytest.raises(ValueError, match="Padding_idx must be within num_embeddings"):
        Embedding(4, 2, padding_idx=4)


def test_embedding_from_pretrained_and_save_load(tmp_path: Path) -> None:
    table = np.arange(12.0).reshape(4, 3)
    e = Embedding.from_pretrained(table)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(np.array([3, 0])).data, table[[3, 0]])
    model = Sequential(Embedding(5, 3, padding_idx=1), nb.nn.Flatten(), nb.nn.Linear(6, 2))
    nb.save(model, tmp_path / "e.safetensors")
    loaded = nb.load(tmp_path / "e.safetensors")
    idx = np.array([[1, 4], [0, 2]])
    np.testing.assert_array_equal(loaded(idx).data, model(idx).data)
    assert loaded[0].padding_idx == 1
