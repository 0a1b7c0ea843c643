"""Linear, Identity, Flatten, the activation modules and Dropout against NumPy formulas."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import nabla as nb
from nabla.errors import ShapeError
from nabla.nn import (
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)


def leaf(a: np.ndarray) -> nb.Tensor:
    return nb.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


# ----- Linear ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)], ids=["2d", "1d", "3d"])
def test_linear_forward_is_x_wT_plus_b(shape: tuple[int, ...], rng: np.random.Generator) -> None:
    layer = Linear(4, 3, dtype=np.float64)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    x = rng.normal(size=shape)
    out = layer(nb.tensor(x))
    w, b = layer.weight.data, layer.bias.data
    expected = np.einsum("...i,oi->...o", x, w) + b
    assert out.shape == shape[:-1] + (3,)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


def test_linear_without_bias(rng: np.random.Generator) -> None:
    layer = Linear(4, 2, bias=False, dtype=np.float64)
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert list(layer.state_dict()) == ["weight"]
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(layer(nb.tensor(x)).data, x @ layer.weight.data.T, rtol=1e-12)
    assert "bias=False" in repr(layer)


@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)], ids=["2d", "1d", "3d"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients(shape: tuple[int, ...], bias: bool, rng: np.random.Generator) -> None:
    layer = Linear(4, 3, bias=bias, dtype=np.float64)
    x = leaf(rng.normal(size=shape))
    params = [layer.weight] + ([layer.bias] if bias else [])
    assert nb.gradcheck(lambda x, *_: layer(x), x, *params)


def test_linear_gradients_equal_the_dense_layer_formulas(rng: np.random.Generator) -> None:
    layer = Linear(4, 3, dtype=np.float64)
    x = leaf(rng.normal(size=(6, 4)))
    g = rng.normal(size=(6, 3))
    layer(x).backward(g)
    np.testing.assert_allclose(x.grad, g @ layer.weight.data, rtol=1e-12)  # ∇X = G W
    np.testing.assert_allclose(layer.weight.grad, g.T @ x.data, rtol=1e-12)  # ∇W = Gᵀ X
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0), rtol=1e-12)  # ∇b = 1ᵀ G


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in() -> None:
    n_in = 100
    layer = Linear(n_in, 300)
    bound = 1 / math.sqrt(n_in)
    for p in (layer.weight.data, layer.bias.data):
        assert np.all(np.abs(p) <= bound)
    w = layer.weight.data
    assert np.abs(w).max() > 0.95 * bound  # it fills the interval, not a narrower one
    assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound  # U(−a, a) has std a/√3
    assert layer.weight.dtype == np.float32


def test_linear_shape_error_names_both_shapes() -> None:
    layer = Linear(4, 2)
    with pytest.raises(ShapeError, match=r"\(5, 3\).*\(2, 4\)"):
        layer(nb.ones(5, 3))


def test_linear_rejects_bad_sizes_and_init_names() -> None:
    with pytest.raises(ValueError, match="positive"):
        Linear(0, 3)
    with pytest.raises(ValueError, match="unknown init 'bogus'"):
        Linear(2, 3, init="bogus")


# ----- Identity and Flatten -----------------------------------------------------------------------
def test_identity_and_flatten(rng: np.random.Generator) -> None:
    x = nb.tensor(rng.normal(size=(2, 3, 4)))
    assert Identity()(x) is x
    np.testing.assert_array_equal(Flatten()(x).data, x.data.reshape(2, 12))
    np.testing.assert_array_equal(Flatten(0, 1)(x).data, x.data.reshape(6, 4))


# ----- activations ------------------------------------------------------------------------------
def np_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ACTIVATION_CASES: list[tuple[str, Callable[[], nb.nn.Module], Callable[..., np.ndarray]]] = [
    ("tanh", Tanh, np.tanh),
    ("sigmoid", Sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    ("relu", ReLU, lambda x: np.where(x > 0, x, 0.0)),
    ("leaky_relu", LeakyReLU, lambda x: np.where(x > 0, x, 0.01 * x)),
    ("leaky_relu_0.2", lambda: LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    ("softmax", Softmax, lambda x: np_softmax(x, -1)),
    ("softmax_dim0", lambda: Softmax(dim=0), lambda x: np_softmax(x, 0)),
    ("log_softmax", LogSoftmax, lambda x: np.log(np_softmax(x, -1))),
    ("log_softmax_dim0", lambda: LogSoftmax(dim=0), lambda x: np.log(np_softmax(x, 0))),
]


@pytest.mark.parametrize(
    ("name", "make", "formula"), ACTIVATION_CASES, ids=[c[0] for c in ACTIVATION_CASES]
)
def test_activation_matches_numpy(
    name: str, make: Callable[[], nb.nn.Module], formula: Callable[..., np.ndarray]
) -> None:
    rng = np.random.default_rng(len(name))
    x = rng.normal(scale=2.0, size=(4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink of relu for the numerical gradient
    module = make()
    np.testing.assert_allclose(module(nb.tensor(x)).data, formula(x), rtol=1e-12, atol=1e-12)
    assert nb.gradcheck(module, leaf(x))


def test_softmax_dims_normalise_the_chosen_axis(rng: np.random.Generator) -> None:
    x = nb.tensor(rng.normal(size=(3, 4, 5)))
    for dim in (0, 1, 2, -1):
        p = Softmax(dim=dim)(x).data
        np.testing.assert_allclose(p.sum(axis=dim), 1.0, rtol=1e-12)
        np.testing.assert_allclose(np.exp(LogSoftmax(dim=dim)(x).data), p, rtol=1e-12)
    assert LogSoftmax(dim=1).spec() == {"type": "LogSoftmax", "config": {"dim": 1}}


def test_activation_table_names_the_modules() -> None:
    table = {name: entry.module for name, entry in nb.nn.ACTIVATIONS.items()}
    expected = {"tanh": Tanh, "sigmoid": Sigmoid, "relu": ReLU, "leaky_relu": LeakyReLU}
    new = {"gelu": nb.nn.GELU, "silu": nb.nn.SiLU, "elu": nb.nn.ELU, "softplus": nb.nn.Softplus}
    new |= {"mish": nb.nn.Mish, "hardtanh": nb.nn.Hardtanh}
    assert table == {**expected, "identity": Identity, **new}


# ----- Dropout ----------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_zeroes_about_p_and_scales_survivors(p: float) -> None:
    x = np.random.default_rng(1).uniform(1.0, 2.0, size=(200, 100)).astype(np.float32)
    out = Dropout(p)(nb.tensor(x)).data
    dropped = out == 0
    n = x.size
    # the dropped count is Binomial(n, p): allow 5 standard deviations
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    scale = np.float32(1 / (1 - p))
    np.testing.assert_allclose(out[~dropped], x[~dropped] * scale, rtol=1e-6, atol=0)


def test_dropout_is_the_identity_in_eval_mode_and_for_p_zero(rng: np.random.Generator) -> None:
    x = nb.tensor(rng.normal(size=(4, 5)).astype(np.float32))
    layer = Dropout(0.5).eval()
    np.testing.assert_array_equal(layer(x).data, x.data)
    np.testing.assert_array_equal(Dropout(0.0)(x).data, x.data)


def test_dropout_p_one_zeroes_everything_and_its_gradient(rng: np.random.Generator) -> None:
    x = leaf(rng.normal(size=(4, 5)))
    out = Dropout(1.0)(x)
    np.testing.assert_array_equal(out.data, 0.0)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, 0.0)


def test_dropout_rejects_probabilities_outside_0_1() -> None:
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="probability"):
            Dropout(p)


def test_dropout_gradient_uses_the_forward_mask(rng: np.random.Generator) -> None:
    p = 0.4
    x = leaf(rng.uniform(1.0, 2.0, size=(30, 20)))
    out = Dropout(p)(x)
    g = rng.normal(size=x.shape)
    out.backward(g)
    kept = out.data != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(x.grad, np.where(kept, g / (1 - p), 0.0), rtol=1e-12)
    np.testing.assert_allclose(out.data, np.where(kept, x.data / (1 - p), 0.0), rtol=1e-12)


def test_dropout_masks_follow_the_seed() -> None:
    x = nb.ones(50, 50)
    nb.manual_seed(7)
    first = Dropout(0.5)(x).data
    second = Dropout(0.5)(x).data
    nb.manual_seed(7)
    np.testing.assert_array_equal(Dropout(0.5)(x).data, first)
    assert not np.array_equal(first, second)
