"""SGD.replay_step (what nb.compile replays for plain SGD): the group laid out in one buffer,
bitwise the per-parameter update, and a refusal whenever the plain update does not apply."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nabla.optim import SGD

from .quadratic import Param

_SHAPES = [(4, 3), (4,), (2, 4), (2,)]


def _params(rng: np.random.Generator, dtype: Any = np.float32) -> list[Param]:
    return [Param(rng.standard_normal(s).astype(dtype)) for s in _SHAPES]


def _set_grads(params: list[Param], rng: np.random.Generator) -> None:
    for p in params:
        p.grad = rng.standard_normal(p.data.shape).astype(p.data.dtype)


def test_replay_step_equals_step_bitwise(rng: np.random.Generator) -> None:
    laid_out, plain = _params(rng), _params(np.random.default_rng(20261122))
    for a, b in zip(laid_out, plain):
        b.data = a.data.copy()
    fast_opt, opt = SGD(laid_out, lr=0.1), SGD(plain, lr=0.1)
    step = fast_opt.replay_step()
    assert step is not None
    base = laid_out[0].data.base
    assert base is not None and all(p.data.base is base for p in laid_out)  # one buffer
    for a, b in zip(laid_out, plain):
        np.testing.assert_array_equal(a.data, b.data)  # the same values, laid out
    for i in range(5):
        grads_rng = np.random.default_rng(i)
        _set_grads(laid_out, grads_rng)
        for a, b in zip(laid_out, plain):
            b.grad = a.grad.copy()
        fast_opt.param_groups[0]["lr"] = opt.param_groups[0]["lr"] = 0.1 / (i + 1)  # a schedule
        assert step() is True
        opt.step()
        for a, b in zip(laid_out, plain):
            np.testing.assert_array_equal(a.data, b.data)
            assert a.data.dtype == np.float32
    assert fast_opt.replay_step() is step  # laid out once


@pytest.mark.parametrize(
    "change",
    ["momentum", "weight_decay", "maximize", "missing grad", "rebound data", "new group"],
)
def test_replay_step_refuses_what_it_does_not_cover(change: str, rng) -> None:  # type: ignore[no-untyped-def]
    params = _params(rng)
    opt = SGD(params, lr=0.1)
    step = opt.replay_step()
    assert step is not None
    _set_grads(params, rng)
    before = [p.data.copy() for p in params]
    group = opt.param_groups[0]
    if change in ("momentum", "weight_decay"):
        group[change] = 0.5
    elif change == "maximize":
        group["maximize"] = True
    elif change == "missing grad":
        params[1].grad = None
    elif change == "rebound data":
        params[2].data = params[2].data.copy()
    else:
        opt.add_param_group({"params": [Param(np.ones(3, np.float32))]})
    assert step() is False
    for p, b in zip(params, before):  # nothing was updated: the caller runs step()
        np.testing.assert_array_equal(p.data, b)


def test_replay_step_declines_mixed_dtypes_and_large_parameters(rng) -> None:  # type: ignore[no-untyped-def]
    mixed = [Param(np.ones(3, np.float32)), Param(np.ones(3, np.float64))]
    assert SGD(mixed, lr=0.1).replay_step() is None
    large = [Param(np.ones((256, 784), np.float32)), Param(np.ones(256, np.float32))]
    assert SGD(large, lr=0.1).replay_step() is None
    assert all(p.data.base is None for p in mixed + large)  # left as they were
