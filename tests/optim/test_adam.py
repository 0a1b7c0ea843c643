"""Adam and AdamW against hand-written NumPy transcriptions of PyTorch's published algorithm."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nabla.optim import Adam, AdamW, OptimizerError

from .quadratic import STEPS, Param, quadratic, run


def adam_reference(
    a: np.ndarray,
    b: np.ndarray,
    x0: np.ndarray,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
    sign: float = 1.0,
) -> np.ndarray:
    """torch.optim.Adam / AdamW's documented algorithm, one formula per line."""
    beta1, beta2 = betas
    x, m, v, v_max, trajectory = x0.copy(), 0.0, 0.0, 0.0, []
    for t in range(1, STEPS + 1):
        g = sign * (a @ x - b)
        if maximize:
            g = -g
        if decoupled_weight_decay:
            x = x * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * x
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2**t)
        else:
            v_hat = v / (1 - beta2**t)
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append(x)
    return np.array(trajectory)


ADAM_OPTIONS = [
    {"lr": 0.05},
    {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "amsgrad": True},
    {"lr": 0.05, "amsgrad": True, "weight_decay": 0.05, "betas": (0.5, 0.9)},
    {"lr": 0.05, "maximize": True},
    {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True},
    {"lr": 0.05, "eps": 0.5},  # a large eps makes any slip in the bias correction visible
]


@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=str)
def test_adam_matches_reference(options: dict[str, Any]) -> None:
    a, b, x0 = quadratic(0)
    sign = -1.0 if options.get("maximize") else 1.0
    actual = run(lambda params: Adam(params, **options), a, b, x0, sign)
    expected = adam_reference(a, b, x0, sign=sign, **options)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-14)


ADAMW_OPTIONS = [
    {"lr": 0.05},
    {"lr": 0.05, "weight_decay": 0.2},
    {"lr": 0.05, "weight_decay": 0.2, "amsgrad": True, "betas": (0.7, 0.99)},
    {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
]


@pytest.mark.parametrize("options", ADAMW_OPTIONS, ids=str)
def test_adamw_matches_reference(options: dict[str, Any]) -> None:
    a, b, x0 = quadratic(1)
    sign = -1.0 if options.get("maximize") else 1.0
    actual = run(lambda params: AdamW(params, **options), a, b, x0, sign)
    reference_options = {"weight_decay": 1e-2, **options}  # AdamW's default decay is 1e-2
    expected = adam_reference(
        a, b, x0, decoupled_weight_decay=True, sign=sign, **reference_options
    )
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("make_optimizer", "wrong_reference_options"),
    [
        (lambda ps: Adam(ps, lr=0.05, amsgrad=True), {"lr": 0.05}),
        (lambda ps: AdamW(ps, lr=0.05, weight_decay=0.2), {"lr": 0.05, "weight_decay": 0.2}),
    ],
    ids=["amsgrad-vs-plain", "decoupled-vs-coupled"],
)
def test_reference_comparison_can_fail(
    make_optimizer: Any, wrong_reference_options: dict[str, Any]
) -> None:
    a, b, x0 = quadratic(2)
    actual = run(make_optimizer, a, b, x0)
    wrong = adam_reference(a, b, x0, **wrong_reference_options)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(actual, wrong, rtol=1e-12, atol=1e-14)


def test_first_step_moves_each_coordinate_by_lr() -> None:
    # m̂ = g and v̂ = g² on step 1, so the step is lr · sign(g) (up to eps)
    param = Param(np.array([1.0, -2.0, 3.0]))
    param.grad = np.array([1e-3, -50.0, 7.0])
    Adam([param], lr=0.1, eps=0.0).step()
    np.testing.assert_allclose(param.data, [0.9, -1.9, 2.9], rtol=1e-15)


@pytest.mark.parametrize("cls", [Adam, AdamW])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_float32_stays_float32(cls: type[Adam], amsgrad: bool) -> None:
    a, b, x0 = quadratic(3)
    param = Param(x0.astype(np.float32))
    data = param.data
    optimizer = cls([param], lr=0.05, amsgrad=amsgrad, weight_decay=0.1)
    for _ in range(STEPS):
        param.grad = (a @ param.data - b).astype(np.float32)
        optimizer.step()
    assert param.data is data
    assert param.data.dtype == np.float32
    state = optimizer.state[param]
    assert state["step"] == STEPS
    arrays = {key: value for key, value in state.items() if key != "step"}
    assert set(arrays) == {"exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if amsgrad else set())
    assert all(value.dtype == np.float32 for value in arrays.values())
    expected = adam_reference(
        a, b, x0, lr=0.05, amsgrad=amsgrad, weight_decay=0.1, decoupled_weight_decay=cls is AdamW
    )
    np.testing.assert_allclose(param.data, expected[-1], rtol=1e-4, atol=1e-5)


def test_zero_lr_advances_moments_only() -> None:
    param = Param(np.array([1.0, 2.0]))
    param.grad = np.array([0.5, -0.5])
    optimizer = Adam([param], lr=0.0)
    optimizer.step()
    np.testing.assert_array_equal(param.data, [1.0, 2.0])
    np.testing.assert_allclose(optimizer.state[param]["exp_avg"], [0.05, -0.05])


def test_adamw_defaults() -> None:
    optimizer = AdamW([Param(np.ones(2))])
    group = optimizer.param_groups[0]
    assert group["weight_decay"] == 1e-2
    assert group["decoupled_weight_decay"] is True
    assert Adam([Param(np.ones(2))]).param_groups[0]["weight_decay"] == 0.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lr": -1e-3}, "lr must be >= 0"),
        ({"eps": -1e-8}, "eps must be >= 0"),
        ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
        ({"betas": (1.0, 0.999)}, r"betas\[0\] must be in \[0, 1\), got 1\.0"),
        ({"betas": (0.9, -0.1)}, r"betas\[1\] must be in \[0, 1\)"),
        ({"betas": (0.9,)}, "betas must be a pair"),
    ],
)
@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_invalid_hyperparameters(cls: type[Adam], options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptimizerError, match=f"{cls.__name__}: {message}"):
        cls([Param(np.ones(2))], **options)
