"""RMSprop and Adagrad against hand-written NumPy transcriptions of PyTorch's algorithms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nabla.optim import Adagrad, OptimizerError, RMSprop

from .quadratic import STEPS, Param, quadratic, run


def rmsprop_reference(
    a: np.ndarray,
    b: np.ndarray,
    x0: np.ndarray,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
    sign: float = 1.0,
) -> np.ndarray:
    """torch.optim.RMSprop's documented algorithm, one formula per line."""
    x, square_avg, grad_avg, buf, trajectory = x0.copy(), 0.0, 0.0, 0.0, []
    for _ in range(STEPS):
        g = sign * (a @ x - b)
        if maximize:
            g = -g
        g = g + weight_decay * x
        square_avg = alpha * square_avg + (1 - alpha) * g**2
        variance = square_avg
        if centered:
            grad_avg = alpha * grad_avg + (1 - alpha) * g
            variance = square_avg - grad_avg**2
        if momentum > 0:
            buf = momentum * buf + g / (np.sqrt(variance) + eps)
            x = x - lr * buf
        else:
            x = x - lr * g / (np.sqrt(variance) + eps)
        trajectory.append(x)
    return np.array(trajectory)


def adagrad_reference(
    a: np.ndarray,
    b: np.ndarray,
    x0: np.ndarray,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
    maximize: bool = False,
    sign: float = 1.0,
) -> np.ndarray:
    """torch.optim.Adagrad's documented algorithm, one formula per line."""
    x, total, trajectory = x0.copy(), initial_accumulator_value, []
    for t in range(1, STEPS + 1):
        g = sign * (a @ x - b)
        if maximize:
            g = -g
        lr_t = lr / (1 + (t - 1) * lr_decay)
        g = g + weight_decay * x
        total = total + g**2
        x = x - lr_t * g / (np.sqrt(total) + eps)
        trajectory.append(x)
    return np.array(trajectory)


RMSPROP_OPTIONS = [
    {"lr": 0.01},
    {"lr": 0.01, "alpha": 0.9, "eps": 1e-3},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.005, "momentum": 0.9},
    {"lr": 0.005, "centered": True},
    {"lr": 0.005, "centered": True, "momentum": 0.8, "weight_decay": 0.05, "alpha": 0.95},
    {"lr": 0.01, "maximize": True, "momentum": 0.5},
]

ADAGRAD_OPTIONS = [
    {"lr": 0.1},
    {"lr": 0.1, "lr_decay": 0.05},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-3},
    {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.02, "initial_accumulator_value": 0.1},
    {"lr": 0.1, "maximize": True},
]


@pytest.mark.parametrize("options", RMSPROP_OPTIONS, ids=str)
def test_rmsprop_matches_reference(options: dict[str, Any]) -> None:
    a, b, x0 = quadratic(0)
    sign = -1.0 if options.get("maximize") else 1.0
    actual = run(lambda params: RMSprop(params, **options), a, b, x0, sign)
    expected = rmsprop_reference(a, b, x0, sign=sign, **options)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("options", ADAGRAD_OPTIONS, ids=str)
def test_adagrad_matches_reference(options: dict[str, Any]) -> None:
    a, b, x0 = quadratic(1)
    sign = -1.0 if options.get("maximize") else 1.0
    actual = run(lambda params: Adagrad(params, **options), a, b, x0, sign)
    expected = adagrad_reference(a, b, x0, sign=sign, **options)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("make_optimizer", "wrong_reference"),
    [
        (lambda ps: RMSprop(ps, lr=0.005, centered=True), rmsprop_reference),
        (lambda ps: Adagrad(ps, lr=0.1, lr_decay=0.05), adagrad_reference),
    ],
    ids=["centered-vs-plain", "lr_decay-vs-none"],
)
def test_reference_comparison_can_fail(make_optimizer: Any, wrong_reference: Any) -> None:
    a, b, x0 = quadratic(2)
    actual = run(make_optimizer, a, b, x0)
    wrong = wrong_reference(a, b, x0, lr=0.005 if wrong_reference is rmsprop_reference else 0.1)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(actual, wrong, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda ps: RMSprop(ps, lr=0.01, momentum=0.9, centered=True, weight_decay=0.1),
        lambda ps: Adagrad(ps, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    ],
    ids=["rmsprop", "adagrad"],
)
def test_float32_stays_float32(make_optimizer: Any) -> None:
    a, b, x0 = quadratic(3)
    param = Param(x0.astype(np.float32))
    data = param.data
    optimizer = make_optimizer([param])
    for _ in range(STEPS):
        param.grad = (a @ param.data - b).astype(np.float32)
        optimizer.step()
    assert param.data is data
    assert param.data.dtype == np.float32
    state = optimizer.state[param]
    assert state["step"] == STEPS
    assert all(v.dtype == np.float32 for k, v in state.items() if k != "step")
    reference = rmsprop_reference if isinstance(optimizer, RMSprop) else adagrad_reference
    options = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
    expected = reference(a, b, x0, **options)[-1]
    np.testing.assert_allclose(param.data, expected, rtol=1e-4, atol=1e-5)


def test_centered_rmsprop_survives_a_constant_gradient() -> None:
    # s - ḡ² = α^t (1 - α^t) g² drops below float32 rounding of s after ~25 steps at α = 0.5;
    # the rounded difference may be negative, and its square root must not be NaN
    param = Param(np.zeros(1000, dtype=np.float32))
    gradient = np.random.default_rng(4).uniform(0.5, 2.0, size=1000).astype(np.float32)
    optimizer = RMSprop([param], lr=1e-3, alpha=0.5, centered=True)
    for _ in range(60):
        param.grad = gradient
        optimizer.step()
    assert np.all(np.isfinite(param.data))


def test_rmsprop_state_keys() -> None:
    param = Param(np.ones(2))
    param.grad = np.ones(2)
    plain, full = RMSprop([param]), RMSprop([Param(np.ones(2))], momentum=0.5, centered=True)
    plain.step()
    assert set(plain.state[param]) == {"step", "square_avg"}
    only = full.param_groups[0]["params"][0]
    only.grad = np.ones(2)
    full.step()
    assert set(full.state[only]) == {"step", "square_avg", "momentum_buffer", "grad_avg"}


def test_adagrad_first_step_has_size_lr() -> None:
    param = Param(np.array([1.0, 1.0, 1.0]))
    param.grad = np.array([3.0, -0.5, 1e-3])
    Adagrad([param], lr=0.5, eps=0.0).step()
    np.testing.assert_allclose(param.data, [0.5, 1.5, 0.5], rtol=1e-15)


@pytest.mark.parametrize(
    ("cls", "options", "message"),
    [
        (RMSprop, {"lr": -0.01}, "RMSprop: lr must be >= 0"),
        (RMSprop, {"alpha": 1.5}, r"RMSprop: alpha must be in \[0, 1\], got 1\.5"),
        (RMSprop, {"eps": -1.0}, "RMSprop: eps must be >= 0"),
        (RMSprop, {"momentum": -0.1}, "RMSprop: momentum must be >= 0"),
        (RMSprop, {"weight_decay": -0.1}, "RMSprop: weight_decay must be >= 0"),
        (Adagrad, {"lr": -0.01}, "Adagrad: lr must be >= 0"),
        (Adagrad, {"lr_decay": -0.1}, "Adagrad: lr_decay must be >= 0"),
        (Adagrad, {"weight_decay": -0.1}, "Adagrad: weight_decay must be >= 0"),
        (Adagrad, {"initial_accumulator_value": -1.0}, "initial_accumulator_value must be >= 0"),
        (Adagrad, {"eps": -1e-10}, "Adagrad: eps must be >= 0"),
    ],
)
def test_invalid_hyperparameters(cls: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptimizerError, match=message):
        cls([Param(np.ones(2))], **options)
