"""SGD against a hand-written NumPy transcription of PyTorch's published update rule.

Also covers the behaviour every optimizer inherits from ``Optimizer`` (groups, validation,
zero_grad, closures), exercised through SGD, the simplest concrete optimizer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nabla.errors import DTypeError, NablaError, ShapeError
from nabla.optim import SGD, OptimizerError

from .quadratic import STEPS, Param, quadratic, run


def sgd_reference(
    a: np.ndarray,
    b: np.ndarray,
    x0: np.ndarray,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
    sign: float = 1.0,
) -> np.ndarray:
    """torch.optim.SGD's documented algorithm, one formula per line, no in-place tricks."""
    x, buf, trajectory = x0.copy(), None, []
    for t in range(1, STEPS + 1):
        g = sign * (a @ x - b)
        if maximize:
            g = -g
        g = g + weight_decay * x
        if momentum != 0:
            buf = g if t == 1 else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        x = x - lr * g
        trajectory.append(x)
    return np.array(trajectory)


SGD_OPTIONS = [
    {"lr": 0.1},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.5},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05},
    {"lr": 0.05, "momentum": 0.7, "dampening": 0.3, "weight_decay": 0.02},
    {"lr": 0.05, "momentum": 0.9, "maximize": True},
    {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
]


@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_matches_reference(options: dict[str, Any]) -> None:
    a, b, x0 = quadratic(0)
    sign = -1.0 if options.get("maximize") else 1.0  # maximizing -f converges like minimizing f
    actual = run(lambda params: SGD(params, **options), a, b, x0, sign)
    expected = sgd_reference(a, b, x0, sign=sign, **options)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-14)


def test_reference_comparison_can_fail() -> None:
    a, b, x0 = quadratic(0)
    actual = run(lambda params: SGD(params, lr=0.05, momentum=0.9, nesterov=True), a, b, x0)
    wrong = sgd_reference(a, b, x0, lr=0.05, momentum=0.9)  # classical momentum instead
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(actual, wrong, rtol=1e-12, atol=1e-14)


def test_sgd_converges_to_minimizer() -> None:
    a, b, x0 = quadratic(1)
    param = Param(x0.copy())
    optimizer = SGD([param], lr=0.1, momentum=0.9)
    for _ in range(500):
        param.grad = a @ param.data - b
        optimizer.step()
    np.testing.assert_allclose(param.data, np.linalg.solve(a, b), rtol=1e-8)


@pytest.mark.parametrize(
    "options", [{}, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}], ids=str
)
def test_float32_stays_float32_and_updates_in_place(options: dict[str, Any]) -> None:
    a, b, x0 = quadratic(2)
    param = Param(x0.astype(np.float32))
    data = param.data
    optimizer = SGD([param], lr=0.05, **options)
    for _ in range(STEPS):
        param.grad = (a @ param.data - b).astype(np.float32)
        optimizer.step()
    assert param.data is data
    assert param.data.dtype == np.float32
    for state in optimizer.state.values():
        assert all(v.dtype == np.float32 for v in state.values())
    expected = sgd_reference(a, b, x0, lr=0.05, **options)[-1]
    np.testing.assert_allclose(param.data, expected, rtol=1e-4, atol=1e-5)


def test_grad_is_not_modified() -> None:
    param = Param(np.array([1.0, 2.0]))
    param.grad = np.array([0.5, -0.5])
    optimizer = SGD([param], lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)
    optimizer.step()
    optimizer.step()
    np.testing.assert_array_equal(param.grad, [0.5, -0.5])


def test_momentum_buffer_starts_as_copy_of_grad() -> None:
    param = Param(np.zeros(3))
    param.grad = np.array([1.0, 2.0, 3.0])
    optimizer = SGD([param], lr=0.1, momentum=0.9, dampening=0.5)
    optimizer.step()
    buffer = optimizer.state[param]["momentum_buffer"]
    np.testing.assert_array_equal(buffer, [1.0, 2.0, 3.0])  # undamped on the first step
    assert buffer is not param.grad


def test_params_without_grad_are_skipped() -> None:
    moving, frozen = Param(np.ones(2)), Param(np.ones(2))
    moving.grad = np.ones(2)
    optimizer = SGD([moving, frozen], lr=0.5, momentum=0.9)
    optimizer.step()
    np.testing.assert_array_equal(frozen.data, [1.0, 1.0])
    np.testing.assert_array_equal(moving.data, [0.5, 0.5])
    assert frozen not in optimizer.state
    assert moving in optimizer.state


def test_param_groups_use_their_own_hyperparameters() -> None:
    a, b, x0 = quadratic(3)
    first, second = Param(x0.copy()), Param(x0.copy())
    optimizer = SGD(
        [{"params": [first]}, {"params": [second], "lr": 0.02, "momentum": 0.5}], lr=0.1
    )
    assert optimizer.param_groups[1]["dampening"] == 0.0  # filled from the defaults
    for _ in range(STEPS):
        first.grad = a @ first.data - b
        second.grad = a @ second.data - b
        optimizer.step()
    np.testing.assert_allclose(first.data, sgd_reference(a, b, x0, lr=0.1)[-1], rtol=1e-12)
    expected = sgd_reference(a, b, x0, lr=0.02, momentum=0.5)[-1]
    np.testing.assert_allclose(second.data, expected, rtol=1e-12)


def test_add_param_group() -> None:
    first, second = Param(np.ones(2)), Param(np.ones(3))
    optimizer = SGD([first], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": second, "lr": 0.01})
    assert [len(group["params"]) for group in optimizer.param_groups] == [1, 1]
    assert optimizer.param_groups[1]["momentum"] == 0.9
    with pytest.raises(OptimizerError, match="more than one group"):
        optimizer.add_param_group({"params": [first]})


def test_zero_grad() -> None:
    param = Param(np.ones(2))
    optimizer = SGD([param], lr=0.1)
    param.grad = grad = np.ones(2)
    optimizer.zero_grad(set_to_none=False)
    assert param.grad is grad
    np.testing.assert_array_equal(grad, [0.0, 0.0])
    optimizer.zero_grad()
    assert param.grad is None
    optimizer.zero_grad()  # no gradient: nothing to do


def test_step_returns_closure_value() -> None:
    param = Param(np.ones(2))
    optimizer = SGD([param], lr=0.1)

    def closure() -> float:
        param.grad = 2 * param.data
        return float(param.data @ param.data)

    assert optimizer.step(closure) == 2.0
    np.testing.assert_allclose(param.data, [0.8, 0.8])
    assert optimizer.step() is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lr": -0.1}, r"SGD: lr must be >= 0, got -0\.1"),
        ({"lr": float("nan")}, "lr must be >= 0"),
        ({"momentum": -0.5}, "momentum must be >= 0"),
        ({"weight_decay": -1e-4}, "weight_decay must be >= 0"),
        ({"nesterov": True}, "nesterov=True needs momentum > 0"),
        ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "dampening == 0"),
    ],
)
def test_invalid_hyperparameters(options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptimizerError, match=message) as info:
        SGD([Param(np.ones(2))], **options)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, NablaError)


def test_invalid_group_hyperparameter() -> None:
    with pytest.raises(OptimizerError, match="lr must be >= 0"):
        SGD([{"params": [Param(np.ones(2))], "lr": -1.0}])


def test_non_numeric_hyperparameter() -> None:
    with pytest.raises(TypeError, match="lr must be a real number"):
        SGD([Param(np.ones(2))], lr="0.1")  # type: ignore[arg-type]


def test_invalid_params() -> None:
    param = Param(np.ones(2))
    with pytest.raises(OptimizerError, match="empty parameter list"):
        SGD([])
    with pytest.raises(TypeError, match="wrap it in a list"):
        SGD(param)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a set"):
        SGD({param})  # type: ignore[arg-type]
    with pytest.raises(OptimizerError, match="same parameter twice"):
        SGD([param, param])
    with pytest.raises(DTypeError, match="int64"):
        SGD([Param(np.arange(3))])
    with pytest.raises(TypeError, match=r"needs objects with \.data and \.grad"):
        SGD([np.ones(2)])


def test_gradient_shape_mismatch() -> None:
    param = Param(np.ones(3))
    param.grad = np.ones(2)
    with pytest.raises(ShapeError, match=r"shape \(3,\) has a gradient of shape \(2,\)"):
        SGD([param], lr=0.1).step()


def test_generator_of_params_and_repr() -> None:
    params = [Param(np.ones(2)), Param(np.ones(1))]
    optimizer = SGD((p for p in params), lr=0.1)
    assert len(optimizer.param_groups[0]["params"]) == 2
    text = repr(optimizer)
    assert text.startswith("SGD (")
    assert "Parameter Group 0" in text
    assert "lr: 0.1" in text
