"""Optimizer checkpoints: PyTorch's state_dict layout, and resuming reproduces a run bitwise."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from nabla.errors import ShapeError
from nabla.optim import SGD, Adadelta, Adagrad, Adam, AdamW, Optimizer, OptimizerError, RMSprop


class Param:
    """Stand-in for a nabla Parameter: the two attributes an optimizer uses."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.grad: np.ndarray | None = None


def make_params(dtype: Any = np.float64) -> list[Param]:
    rng = np.random.default_rng(0)
    return [Param(rng.normal(size=shape).astype(dtype)) for shape in [(3, 4), (4,), (2,)]]


def set_grads(params: list[Param], step: int) -> None:
    """Gradients of ½‖θ - target‖², with a target that moves with the step and a third
    parameter that only gets a gradient on even steps (so its state lags the others)."""
    for position, param in enumerate(params):
        if position == 2 and step % 2:
            param.grad = None
            continue
        target = np.sin(np.arange(param.data.size) + step).reshape(param.data.shape)
        param.grad = (param.data - target).astype(param.data.dtype)


OPTIMIZERS = {
    "sgd": lambda groups: SGD(groups, lr=0.1),
    "sgd-nesterov": lambda groups: SGD(
        groups, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2
    ),
    "sgd-dampening": lambda groups: SGD(groups, lr=0.1, momentum=0.9, dampening=0.2),
    "adam": lambda groups: Adam(groups, lr=0.05, weight_decay=1e-2),
    "adam-amsgrad": lambda groups: Adam(groups, lr=0.05, amsgrad=True, maximize=True),
    "adamw": lambda groups: AdamW(groups, lr=0.05, amsgrad=True),
    "rmsprop": lambda groups: RMSprop(groups, lr=0.01, momentum=0.9, centered=True),
    "adagrad": lambda groups: Adagrad(groups, lr=0.1, lr_decay=0.01),
    "adadelta": lambda groups: Adadelta(groups, lr=0.5, rho=0.8, maximize=True),
}


def groups_of(params: list[Param]) -> list[dict[str, Any]]:
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.02}]


def run(optimizer: Optimizer, params: list[Param], steps: range) -> None:
    for step in steps:
        set_grads(params, step)
        optimizer.step()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_resume_from_state_dict_is_bitwise_identical(name: str, dtype: Any) -> None:
    make = OPTIMIZERS[name]
    uninterrupted = make_params(dtype)
    optimizer = make(groups_of(uninterrupted))
    run(optimizer, uninterrupted, range(10))

    first_half = make_params(dtype)
    optimizer = make(groups_of(first_half))
    run(optimizer, first_half, range(5))
    saved = optimizer.state_dict()
    saved_data = [param.data.copy() for param in first_half]
    del optimizer, first_half

    resumed = [Param(data) for data in saved_data]
    optimizer = make(groups_of(resumed))
    optimizer.load_state_dict(saved)
    run(optimizer, resumed, range(5, 10))

    for expected, actual in zip(uninterrupted, resumed):
        assert actual.data.dtype == dtype
        np.testing.assert_array_equal(actual.data, expected.data)


def test_resume_comparison_can_fail() -> None:
    # without loading the state, momentum restarts and the runs differ
    uninterrupted = make_params()
    optimizer = OPTIMIZERS["sgd-nesterov"](groups_of(uninterrupted))
    run(optimizer, uninterrupted, range(10))
    restarted = make_params()
    optimizer = OPTIMIZERS["sgd-nesterov"](groups_of(restarted))
    run(optimizer, restarted, range(5))
    optimizer = OPTIMIZERS["sgd-nesterov"](groups_of(restarted))
    run(optimizer, restarted, range(5, 10))
    assert not np.array_equal(restarted[0].data, uninterrupted[0].data)


def test_layout_matches_pytorch() -> None:
    params = make_params()
    optimizer = Adam(groups_of(params), lr=0.05, amsgrad=True)
    params[0].grad = np.ones((3, 4))  # params[1] and params[2] have no gradient: no state
    optimizer.step()
    saved = optimizer.state_dict()
    assert set(saved) == {"state", "param_groups"}
    assert list(saved["state"]) == [0]
    assert set(saved["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert saved["state"][0]["step"] == 1
    first, second = saved["param_groups"]
    assert first["params"] == [0, 1]
    assert second["params"] == [2]
    assert first["lr"] == 0.05
    assert second["lr"] == 0.02
    assert first["betas"] == (0.9, 0.999)
    assert first["amsgrad"] is True


def test_state_dict_is_a_snapshot() -> None:
    params = make_params()
    optimizer = SGD(groups_of(params), lr=0.1, momentum=0.9)
    run(optimizer, params, range(2))
    saved = optimizer.state_dict()
    kept = copy.deepcopy(saved)
    run(optimizer, params, range(2, 4))
    optimizer.param_groups[0]["lr"] = 1.0
    np.testing.assert_array_equal(
        saved["state"][0]["momentum_buffer"], kept["state"][0]["momentum_buffer"]
    )
    assert saved["param_groups"][0]["lr"] == 0.1


def test_loaded_state_does_not_alias_the_state_dict() -> None:
    params = make_params()
    optimizer = SGD(groups_of(params), lr=0.1, momentum=0.9)
    run(optimizer, params, range(2))
    saved = optimizer.state_dict()
    kept = copy.deepcopy(saved)
    other = SGD(groups_of(make_params()), lr=0.1, momentum=0.9)
    other.load_state_dict(saved)
    run(other, other.param_groups[0]["params"] + other.param_groups[1]["params"], range(2, 4))
    np.testing.assert_array_equal(
        saved["state"][1]["momentum_buffer"], kept["state"][1]["momentum_buffer"]
    )


def test_load_restores_hyperparameters_and_fills_missing_ones() -> None:
    params = make_params()
    optimizer = SGD(groups_of(params), lr=0.1)
    saved = optimizer.state_dict()
    saved["param_groups"][0]["lr"] = 0.5
    del saved["param_groups"][1]["nesterov"]  # as from an older version without the option
    optimizer.load_state_dict(saved)
    assert optimizer.param_groups[0]["lr"] == 0.5
    assert optimizer.param_groups[1]["nesterov"] is False
    assert optimizer.param_groups[0]["params"] == params[:2]


def test_load_casts_state_to_parameter_dtype_and_accepts_string_keys() -> None:
    source = make_params(np.float64)
    optimizer = Adam(groups_of(source), lr=0.05)
    run(optimizer, source, range(3))
    saved = optimizer.state_dict()
    saved["state"] = {str(index): state for index, state in saved["state"].items()}  # JSON-like
    params = make_params(np.float32)
    target = Adam(groups_of(params), lr=0.05)
    target.load_state_dict(saved)
    state = target.state[params[0]]
    assert state["step"] == 3
    assert state["exp_avg"].dtype == np.float32
    np.testing.assert_allclose(state["exp_avg"], saved["state"]["0"]["exp_avg"], rtol=1e-6)


def test_load_rejects_mismatched_groups() -> None:
    params = make_params()
    saved = SGD(groups_of(params), lr=0.1).state_dict()
    with pytest.raises(OptimizerError, match="has 2 parameter groups but the optimizer has 1"):
        SGD(params, lr=0.1).load_state_dict(saved)
    with pytest.raises(OptimizerError, match="group 0 has 2 parameters in the state dict but 1"):
        SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1).load_state_dict(saved)


def test_load_rejects_bad_state() -> None:
    params = make_params()
    optimizer = SGD(groups_of(params), lr=0.1, momentum=0.9)
    run(optimizer, params, range(1))
    saved = optimizer.state_dict()
    saved["state"][0]["momentum_buffer"] = np.zeros(5)
    with pytest.raises(ShapeError, match=r"'momentum_buffer' of parameter 0 has shape \(5,\)"):
        optimizer.load_state_dict(saved)
    saved = optimizer.state_dict()
    saved["state"][7] = {"momentum_buffer": np.zeros(2)}
    with pytest.raises(OptimizerError, match="state for parameter 7"):
        optimizer.load_state_dict(saved)
    saved = optimizer.state_dict()
    saved["param_groups"][0]["lr"] = -1.0
    with pytest.raises(OptimizerError, match="lr must be >= 0"):
        optimizer.load_state_dict(saved)
