"""Learning-rate schedules against their closed forms, and ReduceLROnPlateau's bookkeeping."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from nabla.optim import (
    SGD,
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    OptimizerError,
    ReduceLROnPlateau,
    StepLR,
    lr_scheduler,
)

BASE_LRS = (0.1, 0.03)


class Param:
    """Stand-in for a nabla Parameter: the two attributes an optimizer uses."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.grad: np.ndarray | None = None


def make_optimizer(lrs: tuple[float, ...] = BASE_LRS) -> SGD:
    """SGD with one parameter group per learning rate."""
    return SGD([{"params": [Param(np.zeros(2))], "lr": lr} for lr in lrs], lr=lrs[0])


def schedule(scheduler: LRScheduler, epochs: int) -> np.ndarray:
    """Learning rates of every group at epochs 0 .. epochs-1 (rows), stepping after each."""
    rows = []
    for _ in range(epochs):
        lrs = scheduler.get_last_lr()
        assert lrs == [group["lr"] for group in scheduler.optimizer.param_groups]
        rows.append(lrs)
        scheduler.step()
    return np.array(rows)


def test_module_exports_schedulers() -> None:
    assert lr_scheduler.StepLR is StepLR
    assert issubclass(ReduceLROnPlateau, LRScheduler)


def test_step_lr_closed_form() -> None:
    scheduler = StepLR(make_optimizer(), step_size=4, gamma=0.5)
    epochs = np.arange(30)[:, None]
    expected = np.array(BASE_LRS) * 0.5 ** (epochs // 4)
    np.testing.assert_allclose(schedule(scheduler, 30), expected, rtol=1e-12)


def test_exponential_lr_closed_form() -> None:
    scheduler = ExponentialLR(make_optimizer(), gamma=0.9)
    epochs = np.arange(40)[:, None]
    expected = np.array(BASE_LRS) * 0.9**epochs
    np.testing.assert_allclose(schedule(scheduler, 40), expected, rtol=1e-12)


@pytest.mark.parametrize(("t_max", "eta_min"), [(10, 0.0), (7, 0.001), (1, 0.01)])
def test_cosine_annealing_closed_form(t_max: int, eta_min: float) -> None:
    scheduler = CosineAnnealingLR(make_optimizer(), T_max=t_max, eta_min=eta_min)
    epochs = np.arange(3 * t_max + 1)[:, None]  # past T_max the cosine comes back up
    base = np.array(BASE_LRS)
    expected = eta_min + (base - eta_min) * (1 + np.cos(np.pi * epochs / t_max)) / 2
    actual = schedule(scheduler, len(epochs))
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(actual[t_max], [eta_min, eta_min], atol=1e-15)


def test_closed_form_comparison_can_fail() -> None:
    scheduler = CosineAnnealingLR(make_optimizer(), T_max=10)
    epochs = np.arange(11)[:, None]
    wrong = np.array(BASE_LRS) * (1 + np.cos(np.pi * epochs / 11)) / 2  # off-by-one period
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(schedule(scheduler, 11), wrong, rtol=1e-12, atol=1e-15)


def test_construction_performs_the_initial_step() -> None:
    optimizer = make_optimizer()
    scheduler = ExponentialLR(optimizer, gamma=0.5)
    assert scheduler.last_epoch == 0
    assert scheduler.base_lrs == list(BASE_LRS)
    assert [group["initial_lr"] for group in optimizer.param_groups] == list(BASE_LRS)
    assert scheduler.get_last_lr() == list(BASE_LRS)
    scheduler.step()
    assert scheduler.last_epoch == 1
    assert scheduler.get_last_lr() == [0.05, 0.015]


def test_get_last_lr_returns_a_copy() -> None:
    scheduler = StepLR(make_optimizer(), step_size=1)
    scheduler.get_last_lr().append(1.0)
    assert len(scheduler.get_last_lr()) == 2


def test_chained_schedulers_multiply() -> None:
    optimizer = make_optimizer()
    exponential = ExponentialLR(optimizer, gamma=0.9)
    step = StepLR(optimizer, step_size=3, gamma=0.5)
    for epoch in range(12):
        expected = [lr * 0.9**epoch * 0.5 ** (epoch // 3) for lr in BASE_LRS]
        np.testing.assert_allclose(step.get_last_lr(), expected, rtol=1e-12)
        exponential.step()
        step.step()


def test_resume_with_last_epoch_needs_initial_lr() -> None:
    with pytest.raises(OptimizerError, match=r"param_groups\[0\] has no 'initial_lr'"):
        StepLR(make_optimizer(), step_size=2, last_epoch=3)


def test_resume_with_last_epoch_continues_the_schedule() -> None:
    uninterrupted = schedule(StepLR(make_optimizer(), step_size=3, gamma=0.5), 12)
    optimizer = make_optimizer()
    for group, row_lr, base in zip(optimizer.param_groups, uninterrupted[4], BASE_LRS):
        group["lr"], group["initial_lr"] = row_lr, base  # as restored from a checkpoint
    resumed = StepLR(optimizer, step_size=3, gamma=0.5, last_epoch=4)
    assert resumed.last_epoch == 5
    np.testing.assert_allclose(schedule(resumed, 7), uninterrupted[5:], rtol=1e-12)


@pytest.mark.parametrize(
    "make_scheduler",
    [
        lambda opt: StepLR(opt, step_size=3, gamma=0.5),
        lambda opt: ExponentialLR(opt, gamma=0.8),
        lambda opt: CosineAnnealingLR(opt, T_max=6, eta_min=0.001),
    ],
    ids=["step", "exponential", "cosine"],
)
def test_scheduler_state_dict_round_trip(make_scheduler: Any) -> None:
    uninterrupted = schedule(make_scheduler(make_optimizer()), 15)

    optimizer = make_optimizer()
    scheduler = make_scheduler(optimizer)
    schedule(scheduler, 7)
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    assert "optimizer" not in saved_scheduler

    optimizer = make_optimizer()
    scheduler = make_scheduler(optimizer)  # before loading the optimizer: it resets the lr
    optimizer.load_state_dict(saved_optimizer)
    scheduler.load_state_dict(saved_scheduler)
    assert scheduler.last_epoch == 7
    np.testing.assert_array_equal(schedule(scheduler, 8), uninterrupted[7:])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"step_size": 0}, "step_size must be an integer >= 1"),
        ({"step_size": 2.5}, "step_size must be an integer >= 1"),
    ],
)
def test_step_lr_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(OptimizerError, match=message):
        StepLR(make_optimizer(), **kwargs)


def test_cosine_validation_and_type_check() -> None:
    with pytest.raises(OptimizerError, match="T_max must be an integer >= 1"):
        CosineAnnealingLR(make_optimizer(), T_max=0)
    with pytest.raises(TypeError, match="expected an Optimizer"):
        ExponentialLR(object(), gamma=0.5)  # type: ignore[arg-type]


# ----- ReduceLROnPlateau ------------------------------------------------------------------------
def plateau_lrs(metrics: list[float], lr: float = 1.0, **kwargs: Any) -> list[float]:
    """The learning rate after each ReduceLROnPlateau.step(metric)."""
    scheduler = ReduceLROnPlateau(make_optimizer((lr,)), **kwargs)
    lrs = []
    for metric in metrics:
        scheduler.step(metric)
        lrs.append(scheduler.get_last_lr()[0])
    return lrs


def test_plateau_reduces_after_patience_bad_epochs() -> None:
    # epoch 1 sets best=10, epoch 2 best=9, then 9 is no improvement: bad epochs 1, 2, 3;
    # on the third (> patience=2) the lr halves and the count restarts
    lrs = plateau_lrs([10, 9, 9, 9, 9, 9, 9, 9], factor=0.5, patience=2)
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_plateau_cooldown_ignores_bad_epochs() -> None:
    # after the reduction at epoch 5, epoch 6 is in cooldown (not counted): next cut at epoch 9
    lrs = plateau_lrs([10, 9, 9, 9, 9, 9, 9, 9, 9], factor=0.5, patience=2, cooldown=1)
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]


def test_plateau_improvement_resets_the_count() -> None:
    lrs = plateau_lrs([10, 9, 9, 8, 8, 8, 8], patience=2)
    assert lrs == [1.0] * 6 + [pytest.approx(0.1)]


def test_plateau_relative_threshold() -> None:
    # 9.9995 > 10 · (1 - 1e-4) = 9.999: not an improvement under the default threshold
    assert plateau_lrs([10, 9.9995, 9.9995], patience=1)[-1] == pytest.approx(0.1)
    assert plateau_lrs([10, 9.9995, 9.999], patience=1, threshold=0.0)[-1] == 1.0


def test_plateau_max_mode_absolute_threshold() -> None:
    # better means > best + 0.01: 1.005 is not, 1.02 is (new best), 1.025 twice is not
    lrs = plateau_lrs(
        [1.0, 1.005, 1.02, 1.025, 1.025], mode="max", threshold=0.01, threshold_mode="abs",
        patience=1, factor=0.5,
    )  # fmt: skip
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5]


def test_plateau_min_lr_and_eps() -> None:
    lrs = plateau_lrs([1.0] * 5, patience=0, min_lr=0.05)
    assert lrs == [1.0, pytest.approx(0.1), 0.05, 0.05, 0.05]
    # a cut smaller than eps is skipped: 1e-7 → 5e-8 changes the lr by less than 1e-7
    assert plateau_lrs([1.0, 1.0], lr=1e-7, factor=0.5, patience=0, eps=1e-7) == [1e-7, 1e-7]


def test_plateau_min_lr_per_group() -> None:
    scheduler = ReduceLROnPlateau(make_optimizer(), factor=0.1, patience=0, min_lr=[0.05, 0.0])
    for metric in [1.0, 1.0, 1.0]:
        scheduler.step(metric)
    np.testing.assert_allclose(scheduler.get_last_lr(), [0.05, 0.0003], rtol=1e-12)
    with pytest.raises(OptimizerError, match="min_lr has 1 values but the optimizer has 2"):
        ReduceLROnPlateau(make_optimizer(), min_lr=[0.1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factor": 1.0}, r"factor must be in \[0, 1\), got 1\.0"),
        ({"mode": "median"}, "mode must be 'min' or 'max', got 'median'"),
        ({"threshold_mode": "pct"}, "threshold_mode must be 'rel' or 'abs'"),
    ],
)
def test_plateau_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(OptimizerError, match=message):
        ReduceLROnPlateau(make_optimizer(), **kwargs)


def test_plateau_state_dict_round_trip() -> None:
    metrics = [5.0, 4.0, 4.0, 4.0, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]
    uninterrupted = plateau_lrs(metrics, factor=0.5, patience=1, cooldown=1)

    optimizer = make_optimizer((1.0,))
    scheduler = ReduceLROnPlateau(optimizer, factor=0.5, patience=1, cooldown=1)
    for metric in metrics[:4]:
        scheduler.step(metric)
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()

    optimizer = make_optimizer((1.0,))
    scheduler = ReduceLROnPlateau(optimizer)
    optimizer.load_state_dict(saved_optimizer)
    scheduler.load_state_dict(saved_scheduler)
    assert scheduler.patience == 1
    assert scheduler.best == 4.0
    resumed = []
    for metric in metrics[4:]:
        scheduler.step(metric)
        resumed.append(scheduler.get_last_lr()[0])
    assert resumed == uninterrupted[4:]
    assert math.isinf(ReduceLROnPlateau(make_optimizer()).best)
