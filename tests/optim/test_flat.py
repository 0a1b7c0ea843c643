"""Group-wise updates on flat buffers equal the per-parameter loop bitwise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nabla.optim import SGD, Adagrad, Adam, AdamW, RMSprop
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
