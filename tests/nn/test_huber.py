"""Huber loss against PyTorch 2.x (values and gradients) and central differences in float64.

PyTorch's definition: ℓ = ½ e² where |e| < delta, else delta·(|e| − ½ delta), e = x − y.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.nn import HuberLoss
from nabla.nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]


def leaf(a: Any) -> nb.Tensor:
    return nb.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def np_huber(e: np.ndarray, delta: float) -> np.ndarray:
    """The definition, element by element in plain Python."""
    flat = [0.5 * v * v if abs(v) < delta else delta * (abs(v) - 0.5 * delta) for v in e.ravel()]
    return np.array(flat, dtype=np.float64).reshape(e.shape)


def torch_huber(x: np.ndarray, y: np.ndarray, reduction: str, delta: float) -> tuple[Any, Any]:
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.huber_loss(tx, torch.tensor(y), reduction=reduction, delta=delta)
    loss.backward(torch.ones_like(loss))
    return loss.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_values_and_gradients_match_pytorch(reduction: str, delta: float) -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(scale=2.0, size=(7, 3)), rng.normal(size=(7, 3))
    # residuals exactly at ±delta and 0: PyTorch takes the linear branch at |e| = delta
    x[0, :3] = y[0, :3] + np.array([delta, -delta, 0.0])
    expected, expected_grad = torch_huber(x, y, reduction, delta)
    xt = leaf(x)
    loss = F.huber_loss(xt, y, reduction=reduction, delta=delta)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12, atol=1e-15)
    loss.backward(np.ones_like(loss.data))
    np.testing.assert_allclose(xt.grad, expected_grad, rtol=1e-12, atol=1e-15)
    module = HuberLoss(reduction=reduction, delta=delta)
    np.testing.assert_allclose(module(nb.tensor(x), y).data, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_values_match_the_definition(reduction: str) -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(scale=3.0, size=(5, 4)), rng.normal(size=(5, 4))
    losses = np_huber(x - y, 1.5)
    expected = {"none": losses, "sum": losses.sum(), "mean": losses.mean()}[reduction]
    got = F.huber_loss(nb.tensor(x), y, reduction=reduction, delta=1.5).data
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradients_against_central_differences(reduction: str) -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(scale=2.0, size=(6, 2)), rng.normal(size=(6, 2))
    # keep residuals away from the kink at ±delta, where differences straddle two branches
    e = x - y
    x = np.where(np.abs(np.abs(e) - 0.8) < 1e-3, x + 0.01, x)
    assert nb.gradcheck(
        lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=0.8), leaf(x), leaf(y)
    )


def test_target_gets_the_opposite_gradient() -> None:
    x, y = leaf([0.2, -3.0, 1.7]), leaf([0.0, 0.0, 0.0])
    F.huber_loss(x, y, reduction="sum").backward()
    np.testing.assert_array_equal(y.grad, -x.grad)
    np.testing.assert_array_equal(x.grad, [0.2, -1.0, 1.0])


def test_a_huge_residual_has_a_finite_loss_and_gradient() -> None:
    # the quadratic branch is not taken: it must neither overflow nor poison the gradient
    x = leaf([1e200, -1e200, 0.5])
    loss = F.huber_loss(x, np.zeros(3), reduction="sum")
    loss.backward()
    assert np.isfinite(loss.data)
    np.testing.assert_array_equal(x.grad, [1.0, -1.0, 0.5])


def test_zero_dimensional_inputs() -> None:
    x = leaf(2.0)
    loss = F.huber_loss(x, np.float64(0.5))
    assert loss.shape == ()
    loss.backward()
    expected, expected_grad = torch_huber(np.array(2.0), np.array(0.5), "mean", 1.0)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)
    np.testing.assert_allclose(x.grad, expected_grad, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_inputs_as_pytorch(reduction: str) -> None:
    x, y = np.zeros((0, 3)), np.zeros((0, 3))
    got = F.huber_loss(leaf(x), y, reduction=reduction).data
    expected, _ = torch_huber(x, y, reduction, 1.0)
    assert got.shape == np.shape(expected)
    np.testing.assert_array_equal(got, expected)  # mean of nothing is NaN in both


def test_broadcast_target_warns_and_matches_pytorch() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(4, 1)), rng.normal(size=(3,))
    with pytest.warns(UserWarning, match=r"target size \(3,\) .* input size \(4, 1\)"):
        loss = F.huber_loss(leaf(x), y, reduction="none")
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning, match="target size"):
        expected = torch.nn.functional.huber_loss(
            torch.tensor(x), torch.tensor(y), reduction="none"
        ).numpy()
    assert loss.shape == (4, 3)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)


def test_float32_stays_float32() -> None:
    x = nb.tensor(np.array([0.5, -4.0], dtype=np.float32), requires_grad=True)
    loss = F.huber_loss(x, np.zeros(2, dtype=np.float32))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad is not None and x.grad.dtype == np.float32


@pytest.mark.parametrize("delta", [0.0, -1.0, float("nan")])
def test_delta_must_be_positive(delta: float) -> None:
    with pytest.raises(ValueError, match="delta must be positive"):
        F.huber_loss(nb.zeros(2), np.zeros(2), delta=delta)


def test_unknown_reduction() -> None:
    with pytest.raises(ValueError, match="reduction must be one of"):
        HuberLoss(reduction="avg")(nb.zeros(2), np.zeros(2))
