"""l2_penalty and l1_penalty: weights only (ndim ≥ 2), values and gradients against NumPy.

Ω₂ = ½ Σ_W ‖W‖² (gradient of λΩ₂: λW), Ω₁ = Σ_W Σ|W| (gradient λ·sign(W)); biases and
BatchNorm's γ, β are not penalised.
"""

from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
from nabla.nn import MLP, Linear, Parameter, Sequential, l1_penalty, l2_penalty

LAM = 0.3


def model() -> MLP:
    nb.manual_seed(3)
    net = MLP([4, 6, 3], batch_norm=True, dtype=np.float64)
    for p in net.parameters():  # non-zero biases and BatchNorm parameters, to see them excluded
        p.data += 0.5
    return net


def weights(net: MLP) -> list[np.ndarray]:
    return [m.weight.data for m in net if isinstance(m, Linear)]


def test_l2_penalty_value_counts_weights_only() -> None:
    net = model()
    expected = 0.5 * sum(float((w**2).sum()) for w in weights(net))
    all_params = 0.5 * sum(float((p.data**2).sum()) for p in net.parameters())
    assert expected != pytest.approx(all_params)
    np.testing.assert_allclose(l2_penalty(net).data, expected, rtol=1e-12)


def test_l1_penalty_value_counts_weights_only() -> None:
    net = model()
    expected = sum(float(np.abs(w).sum()) for w in weights(net))
    np.testing.assert_allclose(l1_penalty(net).data, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("penalty", "derivative"), [(l2_penalty, lambda w: w), (l1_penalty, np.sign)], ids=["l2", "l1"]
)
def test_penalty_gradients(penalty: object, derivative: object) -> None:
    net = model()
    (LAM * penalty(net)).backward()  # type: ignore[operator]
    for name, p in net.named_parameters():
        if p.ndim >= 2:
            np.testing.assert_allclose(p.grad, LAM * derivative(p.data), rtol=1e-12)  # type: ignore[operator]
        else:
            assert p.grad is None or not np.any(p.grad), name


@pytest.mark.parametrize("penalty", [l2_penalty, l1_penalty], ids=["l2", "l1"])
def test_penalty_gradcheck(penalty: object) -> None:
    net = model()
    params = list(net.parameters())
    assert nb.gradcheck(lambda *_: penalty(net), *params)  # type: ignore[operator]


def test_penalty_adds_to_a_loss(rng: np.random.Generator) -> None:
    net = model()
    x, y = nb.tensor(rng.normal(size=(5, 4))), np.array([0, 1, 2, 1, 0])
    net.loss(net(x), y).backward()
    data_grads = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    (net.loss(net(x), y) + LAM * l2_penalty(net)).backward()
    for p, g in zip(net.parameters(), data_grads):
        extra = LAM * p.data if p.ndim >= 2 else 0.0
        np.testing.assert_allclose(p.grad, g + extra, rtol=1e-10, atol=1e-14)


def test_penalties_accept_an_iterable_of_parameters() -> None:
    w = Parameter(np.array([[1.0, -2.0], [3.0, 0.5]]))
    b = Parameter(np.array([10.0, 10.0]))
    np.testing.assert_allclose(l2_penalty([w, b]).data, 0.5 * (1 + 4 + 9 + 0.25))
    np.testing.assert_allclose(l1_penalty([w, b]).data, 1 + 2 + 3 + 0.5)


def test_a_model_without_weights_is_an_error() -> None:
    for penalty in (l2_penalty, l1_penalty):
        with pytest.raises(ValueError, match="no weight matrices"):
            penalty(Sequential(nb.nn.Tanh()))
