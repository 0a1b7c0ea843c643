"""Each update rule is written once and runs on either layout with the same result.

For every optimizer and every combination of its hyperparameters, the same run is made three
ways: as ``step()`` chooses (SGD's plain loop included), forced one parameter at a time, and
forced onto flat buffers. The three must agree bitwise, parameters and saved state alike, and
agree with ``torch.optim`` (the independent truth) to a tight tolerance in float64.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from nabla.optim import SGD, Adadelta, Adagrad, Adam, Optimizer, RMSprop
from nabla.optim import flat as flat_module

from .quadratic import Param

SHAPES = [(4, 3), (3,), (2, 4), (5,)]
STEPS = 9
NO_GRAD_STEP = 3  # parameter 1 has no gradient at this step: that step runs per parameter
RESUME_STEP = 5  # the optimizer is rebuilt from its state_dict after this step


def _grid(**choices: list[Any]) -> Iterator[dict[str, Any]]:
    names = list(choices)
    for values in itertools.product(*(choices[name] for name in names)):
        yield dict(zip(names, values))


def _cases() -> Iterator[tuple[str, type[Optimizer], dict[str, Any]]]:
    for kw in _grid(
        momentum=[0.0, 0.9],
        dampening=[0.0, 0.3],
        weight_decay=[0.0, 0.01],
        nesterov=[False, True],
        maximize=[False, True],
    ):
        if kw["nesterov"] and (kw["momentum"] == 0 or kw["dampening"] != 0):
            continue  # refused by SGD and torch alike
        yield "SGD", SGD, {"lr": 0.1, **kw}
    for kw in _grid(
        lr=[0.01, 0.0],
        weight_decay=[0.0, 0.05],
        amsgrad=[False, True],
        maximize=[False, True],
        decoupled_weight_decay=[False, True],
    ):
        yield "Adam", Adam, {"betas": (0.8, 0.95), **kw}
    for kw in _grid(
        weight_decay=[0.0, 0.1],
        momentum=[0.0, 0.9],
        centered=[False, True],
        maximize=[False, True],
    ):
        yield "RMSprop", RMSprop, {"lr": 0.01, "alpha": 0.9, **kw}
    for kw in _grid(
        lr_decay=[0.0, 0.01],
        weight_decay=[0.0, 0.1],
        initial_accumulator_value=[0.0, 0.1],
        maximize=[False, True],
    ):
        yield "Adagrad", Adagrad, {"lr": 0.1, **kw}
    for kw in _grid(
        lr=[1.0, 0.5],
        rho=[0.9, 1.0],
        weight_decay=[0.0, 0.1],
        maximize=[False, True],
    ):
        yield "Adadelta", Adadelta, {"eps": 1e-4, **kw}


CASES = list(_cases())


def _case_id(case: tuple[str, type[Optimizer], dict[str, Any]]) -> str:
    name, _, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def _initial(dtype: Any) -> tuple[list[np.ndarray], list[list[np.ndarray | None]]]:
    """Starting values and each step's gradients (independent of the values, so a tiny
    difference from torch does not grow)."""
    rng = np.random.default_rng(7)
    start = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    grads: list[list[np.ndarray | None]] = []
    for step in range(STEPS):
        row: list[np.ndarray | None] = [
            rng.standard_normal(shape).astype(dtype) for shape in SHAPES
        ]
        if step == NO_GRAD_STEP:
            row[1] = None
        grads.append(row)
    return start, grads


def _run_nabla(
    cls: type[Optimizer], kwargs: dict[str, Any], dtype: Any
) -> tuple[list[np.ndarray], dict[str, Any]]:
    start, grads = _initial(dtype)
    params = [Param(values.copy()) for values in start]
    make: Callable[..., Optimizer] = cls
    opt = make(params, **kwargs)
    for step, row in enumerate(grads):
        for param, grad in zip(params, row):
            param.grad = None if grad is None else grad.copy()
        opt.step()
        if step == RESUME_STEP:
            snapshot = opt.state_dict()
            opt = make(params, **kwargs)
            opt.load_state_dict(snapshot)
    return [p.data for p in params], opt.state_dict()["state"]


def _run_torch(name: str, kwargs: dict[str, Any]) -> list[np.ndarray]:
    torch = pytest.importorskip("torch")
    start, grads = _initial(np.float64)
    params = [torch.nn.Parameter(torch.from_numpy(values.copy())) for values in start]
    opt = getattr(torch.optim, name)(params, foreach=False, **kwargs)
    for row in grads:
        for param, grad in zip(params, row):
            param.grad = None if grad is None else torch.from_numpy(grad.copy())
        opt.step()
    return [p.detach().numpy() for p in params]


@contextmanager
def forced(layout: str) -> Iterator[None]:
    """Force a layout: SGD's plain loop is bypassed, and the flat threshold is set so that
    every eligible group is flat ("flat") or none is ("per-parameter")."""
    calls: list[int] = []
    original = flat_module.FlatGroup.gradient

    def counting(self: Any) -> np.ndarray:
        calls.append(1)
        return original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SGD, "_update_group", Optimizer._update_group)
        patch.setattr(flat_module, "FLAT_MEAN_SIZE", 1 << 20 if layout == "flat" else 0)
        patch.setattr(flat_module.FlatGroup, "gradient", counting)
        yield
    assert bool(calls) == (layout == "flat"), f"the {layout} layout was not the one taken"


def _assert_same(
    ours: tuple[list[np.ndarray], dict[str, Any]],
    reference: tuple[list[np.ndarray], dict[str, Any]],
) -> None:
    for a, b in zip(ours[0], reference[0]):
        np.testing.assert_array_equal(a, b)
    assert ours[1].keys() == reference[1].keys()
    for index, state in ours[1].items():
        assert state.keys() == reference[1][index].keys()
        for key, value in state.items():
            np.testing.assert_array_equal(value, reference[1][index][key], err_msg=key)


LAYOUTS = ["per-parameter", "flat"]


def _assert_close(ours: list[np.ndarray], theirs: list[np.ndarray]) -> None:
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_layouts_are_bitwise_equal(
    case: tuple[str, type[Optimizer], dict[str, Any]], dtype: Any, layout: str
) -> None:
    _, cls, kwargs = case
    default = _run_nabla(cls, kwargs, dtype)  # as step() chooses
    with forced(layout):
        ours = _run_nabla(cls, kwargs, dtype)
    _assert_same(ours, default)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_each_layout_matches_torch(
    case: tuple[str, type[Optimizer], dict[str, Any]], layout: str
) -> None:
    name, cls, kwargs = case
    with forced(layout):
        ours, _ = _run_nabla(cls, kwargs, np.float64)
    _assert_close(ours, _run_torch(name, kwargs))


def test_the_comparisons_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    # a flat layout that drifts by one rounding step is caught by the bitwise comparison
    default = _run_nabla(Adam, {"lr": 0.01}, np.float32)
    original = flat_module.FlatParams.__isub__

    def off_by_an_ulp(self: Any, step: Any) -> Any:
        return original(self, np.nextafter(step, np.inf, dtype=step.dtype))

    monkeypatch.setattr(flat_module.FlatParams, "__isub__", off_by_an_ulp)
    with forced("flat"):
        drifted = _run_nabla(Adam, {"lr": 0.01}, np.float32)
    with pytest.raises(AssertionError):
        _assert_same(drifted, default)
    # and a rule that differs from torch's (no bias correction of v) by the tolerance
    # and torch's run with a learning rate one part in 10⁸ larger is told apart from ours
    ours, _ = _run_nabla(Adam, {"lr": 0.01}, np.float64)
    theirs = _run_torch("Adam", {"lr": 0.01 * (1 + 1e-8)})
    with pytest.raises(AssertionError):
        _assert_close(ours, theirs)
