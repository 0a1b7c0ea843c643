"""Group-wise updates on flat buffers equal the per-parameter loop bitwise."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from nabla.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop
from nabla.optim import flat as flat_module

from .quadratic import Param

CONFIGS = [
    (SGD, {"lr": 0.1, "momentum": 0.9}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (SGD, {"lr": 0.1, "momentum": 0.5, "dampening": 0.3, "maximize": True}),
    (Adam, {"lr": 0.01}),
    (Adam, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    (Adam, {"lr": 0.01, "maximize": True}),
    (AdamW, {"lr": 0.01, "weight_decay": 0.05}),
    (RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    (Adagrad, {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    (Adadelta, {"lr": 1.0, "rho": 0.8, "weight_decay": 0.1}),
]


def _trajectory(
    cls: Any, kwargs: dict[str, Any], flat: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[np.ndarray], Any]:
    monkeypatch.setattr(flat_module, "FLAT_MEAN_SIZE", 1 << 16 if flat else 0)
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (3,), (2, 4), (5,)]
    params = [Param(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    opt = cls(params, **kwargs)
    for step in range(12):
        for i, p in enumerate(params):
            # step 5: one parameter has no gradient, so that step runs per parameter
            p.grad = None if (step == 5 and i == 1) else (p.data * 0.3 + 0.1 * (i + 1)).copy()
        opt.step()
        if step == 7:  # a snapshot restored mid-run keeps the trajectory
            snapshot = opt.state_dict()
            opt = cls(params, **kwargs)
            opt.load_state_dict(snapshot)
    return [p.data.copy() for p in params], opt


@pytest.mark.parametrize(("cls", "kwargs"), CONFIGS, ids=lambda c: str(c))
def test_flat_equals_per_parameter(
    cls: Any, kwargs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    flat, flat_opt = _trajectory(cls, kwargs, True, monkeypatch)
    loop, loop_opt = _trajectory(cls, kwargs, False, monkeypatch)
    for a, b in zip(flat, loop):
        np.testing.assert_array_equal(a, b)
    for (_, sa), (_, sb) in zip(
        sorted(flat_opt.state_dict()["state"].items()),
        sorted(loop_opt.state_dict()["state"].items()),
    ):
        for key in sa:
            np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)


def test_flat_path_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = flat_module.FlatGroup.gradient

    def spy(self: Any) -> np.ndarray:
        gradient = original(self)
        calls.append(gradient.size)
        return gradient

    monkeypatch.setattr(flat_module.FlatGroup, "gradient", spy)
    params = [Param(np.ones((3, 2), np.float32)), Param(np.ones(2, np.float32))]
    opt = Adam(params, lr=0.1)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    assert calls == [8]  # one update for the whole group
    state = opt.state[params[0]]["exp_avg"]
    assert state.base is opt.state[params[1]]["exp_avg"].base  # views of one buffer


def _grads(params: list[Param], step: int) -> None:
    for i, p in enumerate(params):
        p.grad = np.sin(np.arange(p.data.size, dtype=p.data.dtype) + step + i).reshape(
            p.data.shape
        )


def _sgd_run(
    monkeypatch: pytest.MonkeyPatch, flat: bool, change: Any
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Five SGD-momentum steps, with ``change(params, opt)`` applied after the second (it may
    return a replacement (params, opt) pair)."""
    monkeypatch.setattr(flat_module, "FLAT_MEAN_SIZE", 1 << 16 if flat else 0)
    rng = np.random.default_rng(1)
    params = [Param(rng.standard_normal(s)) for s in [(3, 2), (4,), (2, 2)]]
    opt = SGD(params, lr=0.1, momentum=0.9)
    for step in range(5):
        _grads(opt.param_groups[0]["params"], step)
        opt.step()
        if step == 1:
            params, opt = change(params, opt) or (params, opt)
    return [p.data.copy() for p in params], opt.state_dict()["state"]


def _reverse(params: list[Param], opt: Any) -> None:
    opt.param_groups[0]["params"].reverse()


def _deepcopy(params: list[Param], opt: Any) -> tuple[list[Param], Any]:
    return copy.deepcopy((params, opt))


@pytest.mark.parametrize("change", [_reverse, _deepcopy])
def test_flat_buffers_follow_the_parameters(change: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # a group listed in another order, or a deep copy whose state arrays are no longer views
    # of its flat buffer, must re-gather the buffers, never reuse them misaligned or stale
    flat_data, flat_state = _sgd_run(monkeypatch, True, change)
    loop_data, loop_state = _sgd_run(monkeypatch, False, change)
    for a, b in zip(flat_data, loop_data):
        np.testing.assert_array_equal(a, b)
    for index, state in loop_state.items():
        np.testing.assert_array_equal(
            flat_state[index]["momentum_buffer"], state["momentum_buffer"]
        )


def test_a_parameter_has_state_only_once_its_rule_stores_some(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(flat_module, "FLAT_MEAN_SIZE", 1 << 16)
    params = [Param(np.ones(3)), Param(np.ones(2))]
    _grads(params, 0)
    sgd = SGD(params, lr=0.1, weight_decay=0.1)  # flat, and no momentum buffer to keep
    sgd.step()
    assert len(sgd.state) == 0  # as torch.optim.SGD
    adam = Adam(params, lr=0.1)
    adam.step()
    assert [adam.state[p]["step"] for p in params] == [1, 1]


def test_flat_params_read_as_a_gathered_copy() -> None:
    params = [Param(np.arange(6.0).reshape(2, 3)), Param(np.array([7.0, 8.0]))]
    for p in params:
        p.grad = np.zeros_like(p.data)
    group = flat_module.FlatGroup(params)
    np.testing.assert_array_equal(np.asarray(group.data), [0, 1, 2, 3, 4, 5, 7, 8])
    with pytest.raises(ValueError, match="gathers them into a copy"):
        np.asarray(group.data, copy=False)
    group.data -= np.arange(8.0)
    group.data *= 2.0
    np.testing.assert_array_equal(params[0].data, np.zeros((2, 3)))
    np.testing.assert_array_equal(params[1].data, [2 * (7.0 - 6), 2 * (8.0 - 7)])
