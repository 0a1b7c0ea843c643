"""LambdaLR, MultiplicativeLR, MultiStepLR, LinearLR, OneCycleLR, SequentialLR and CyclicLR
against PyTorch's schedulers on a PyTorch optimizer with the same settings: the learning rate
and momentum of every group at every step (rtol 1e-12), also when resumed from a state dict
half-way."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

import nabla.optim as nopt
from nabla.optim import lr_scheduler as nsched

torch = pytest.importorskip("torch")
tsched = torch.optim.lr_scheduler

LRS = (0.1, 0.03)
Factory = Callable[[ModuleType, Any], Any]


def nabla_optimizer(kind: str) -> Any:
    groups = [
        {"params": [SimpleNamespace(data=np.zeros(2), grad=np.ones(2))], "lr": lr} for lr in LRS
    ]
    if kind == "sgd":
        return nopt.SGD(groups, lr=LRS[0], momentum=0.9)
    return nopt.Adam(groups, lr=LRS[0]) if kind == "adam" else nopt.AdamW(groups, lr=LRS[0])


def torch_optimizer(kind: str) -> Any:
    groups = []
    for lr in LRS:
        p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        p.grad = torch.ones(2, dtype=torch.float64)
        groups.append({"params": [p], "lr": lr})
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=LRS[0], momentum=0.9)
    return torch.optim.Adam(groups, lr=LRS[0]) if kind == "adam" else torch.optim.AdamW(groups)


def momenta(opt: Any) -> list[float]:
    return [
        float(g["betas"][0]) if "betas" in g else float(g.get("momentum", 0.0))
        for g in opt.param_groups
    ]


def record(opt: Any, scheduler: Any, steps: int) -> np.ndarray:
    """Rows of (lrs..., momenta...) before each step; optimizer step, then scheduler step."""
    rows = []
    for _ in range(steps):
        lrs = [float(g["lr"]) for g in opt.param_groups]
        assert [float(v) for v in scheduler.get_last_lr()] == lrs
        rows.append(lrs + momenta(opt))
        opt.step()
        scheduler.step()
    return np.array(rows)


def _lambda(epoch: int) -> float:
    return 0.97**epoch + 0.01 * (epoch % 3)


class Warmup:
    """A callable object: its attributes are a LambdaLR's state (PyTorch saves its __dict__)."""

    def __init__(self, length: int) -> None:
        self.length = length

    def __call__(self, epoch: int) -> float:
        return min(1.0, (epoch + 1) / self.length)


CASES: dict[str, tuple[str, int, Factory]] = {
    "lambda": ("sgd", 30, lambda m, o: m.LambdaLR(o, _lambda)),
    "lambda-per-group": ("adam", 30, lambda m, o: m.LambdaLR(o, [_lambda, Warmup(7)])),
    "multiplicative": ("sgd", 30, lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9 + e / 1000)),
    "multistep": ("sgd", 30, lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 12], gamma=0.5)),
    "linear": (
        "sgd",
        20,
        lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8),
    ),
    "linear-default": ("adam", 12, lambda m, o: m.LinearLR(o)),
    "onecycle-sgd": ("sgd", 60, lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.1], total_steps=60)),
    "onecycle-adam-linear": (
        "adam",
        48,
        lambda m, o: m.OneCycleLR(
            o, max_lr=0.2, epochs=4, steps_per_epoch=12, anneal_strategy="linear", pct_start=0.25
        ),
    ),
    "onecycle-three-phase": (
        "adamw",
        50,
        lambda m, o: m.OneCycleLR(
            o,
            max_lr=0.3,
            total_steps=50,
            three_phase=True,
            base_momentum=[0.8, 0.7],
            max_momentum=0.9,
            div_factor=10.0,
            final_div_factor=100.0,
        ),
    ),
    "onecycle-no-momentum": (
        "sgd",
        20,
        lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=20, cycle_momentum=False),
    ),
    "sequential": (
        "sgd",
        30,
        lambda m, o: m.SequentialLR(
            o,
            [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9)],
            milestones=[5],
        ),
    ),
    "sequential-three": (
        "adam",
        40,
        lambda m, o: m.SequentialLR(
            o,
            [
                m.StepLR(o, step_size=3, gamma=0.5),
                m.CosineAnnealingLR(o, T_max=8, eta_min=0.001),
                m.MultiStepLR(o, milestones=[2, 5], gamma=0.3),
            ],
            milestones=[7, 20],
        ),
    ),
    "cyclic-triangular": (
        "sgd",
        50,
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.05], step_size_up=6),
    ),
    "cyclic-triangular2": (
        "adam",
        60,
        lambda m, o: m.CyclicLR(
            o, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=7, mode="triangular2"
        ),
    ),
    "cyclic-exp-range": (
        "sgd",
        60,
        lambda m, o: m.CyclicLR(
            o, base_lr=[0.01, 0.02], max_lr=0.2, step_size_up=5, mode="exp_range", gamma=0.97
        ),
    ),
    "cyclic-scale-fn": (
        "sgd",
        40,
        lambda m, o: m.CyclicLR(
            o,
            base_lr=0.001,
            max_lr=0.01,
            step_size_up=3,
            scale_fn=lambda x: 1 / (1 + x),
            scale_mode="iterations",
            base_momentum=0.5,
            max_momentum=0.95,
        ),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_sequence_matches_pytorch(name: str) -> None:
    kind, steps, factory = CASES[name]
    n_opt, t_opt = nabla_optimizer(kind), torch_optimizer(kind)
    got = record(n_opt, factory(nsched, n_opt), steps)
    want = record(t_opt, factory(tsched, t_opt), steps)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert len(np.unique(got[:, 0])) > 2  # the schedule moves


def _resume(name: str) -> tuple[np.ndarray, np.ndarray]:
    kind, steps, factory = CASES[name]
    t_opt = torch_optimizer(kind)
    want = record(t_opt, factory(tsched, t_opt), steps)
    n_opt = nabla_optimizer(kind)
    scheduler = factory(nsched, n_opt)
    half = steps // 2
    first = record(n_opt, scheduler, half)
    opt_state, sched_state = pickle.loads(
        pickle.dumps((n_opt.state_dict(), scheduler.state_dict()))
    )
    n_opt2 = nabla_optimizer(kind)
    scheduler2 = factory(nsched, n_opt2)
    n_opt2.load_state_dict(opt_state)
    scheduler2.load_state_dict(sched_state)
    second = record(n_opt2, scheduler2, steps - half)
    return np.concatenate([first, second]), want


@pytest.mark.parametrize("name", list(CASES))
def test_resume_continues_the_pytorch_sequence(name: str) -> None:
    got, want = _resume(name)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_resume_comparison_can_fail() -> None:
    got, want = _resume("multistep")
    got[-1, 0] *= 1 + 1e-9
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_lambda_state_dict_keeps_objects_not_functions() -> None:
    warmup = Warmup(7)
    opt = nabla_optimizer("sgd")
    scheduler = nsched.LambdaLR(opt, [_lambda, warmup])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [None, {"length": 7}]
    t_opt = torch_optimizer("sgd")
    t_state = tsched.LambdaLR(t_opt, [_lambda, Warmup(7)]).state_dict()
    assert t_state["lr_lambdas"] == state["lr_lambdas"]
    other = Warmup(3)
    fresh = nsched.LambdaLR(nabla_optimizer("sgd"), [_lambda, other])
    fresh.load_state_dict(state)
    assert other.length == 7 and fresh.lr_lambdas[0] is _lambda


def test_chained_schedulers_match_pytorch() -> None:
    def build(m: ModuleType, o: Any) -> list[Any]:
        return [m.MultiStepLR(o, milestones=[4, 9], gamma=0.5), m.ExponentialLR(o, gamma=0.95)]

    rows = []
    for opt, mod in ((nabla_optimizer("sgd"), nsched), (torch_optimizer("sgd"), tsched)):
        schedulers, out = build(mod, opt), []
        for _ in range(15):
            out.append([float(g["lr"]) for g in opt.param_groups])
            opt.step()
            for s in schedulers:
                s.step()
        rows.append(out)
    np.testing.assert_allclose(rows[0], rows[1], rtol=1e-12, atol=0)


def test_onecycle_refuses_to_step_past_total_steps() -> None:
    opt = nabla_optimizer("sgd")
    scheduler = nsched.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="total_steps is 3"):
        scheduler.step()


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda o: nsched.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps"),
        (lambda o: nsched.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError, "total_steps"),
        (lambda o: nsched.OneCycleLR(o, 0.1, 10, pct_start=1), ValueError, "pct_start"),
        (lambda o: nsched.OneCycleLR(o, 0.1, 10, anneal_strategy="x"), ValueError, "anneal"),
        (lambda o: nsched.OneCycleLR(o, [0.1], 10), ValueError, "max_lr"),
        (lambda o: nsched.CyclicLR(o, 0.1, 0.2, mode="square"), ValueError, "mode"),
        (lambda o: nsched.LinearLR(o, start_factor=0), ValueError, "start_factor"),
        (lambda o: nsched.LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
        (lambda o: nsched.LambdaLR(o, [_lambda]), ValueError, "lr_lambdas"),
        (lambda o: nsched.MultiplicativeLR(o, 0.9), TypeError, "function"),
        (lambda o: nsched.SequentialLR(o, [], []), ValueError, "at least one"),
        (
            lambda o: nsched.SequentialLR(o, [nsched.StepLR(o, 2), nsched.StepLR(o, 3)], []),
            ValueError,
            "milestone",
        ),
        (
            lambda o: nsched.SequentialLR(o, [nsched.ReduceLROnPlateau(o)], []),
            ValueError,
            "ReduceLROnPlateau",
        ),
        (lambda o: nsched.OneCycleLR(object(), 0.1, 10), TypeError, "Optimizer"),
    ],
)
def test_bad_arguments(build: Callable[[Any], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        build(nabla_optimizer("sgd"))


def test_cycle_momentum_needs_momentum() -> None:
    opt = nopt.Adagrad([SimpleNamespace(data=np.zeros(1), grad=None)], lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        nsched.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    nsched.OneCycleLR(opt, max_lr=0.1, total_steps=10, cycle_momentum=False)
    assert math.isclose(opt.param_groups[0]["lr"], 0.1 / 25)


def test_exported_from_nabla_optim() -> None:
    for name in (
        "LambdaLR",
        "MultiplicativeLR",
        "MultiStepLR",
        "LinearLR",
        "OneCycleLR",
        "SequentialLR",
        "CyclicLR",
    ):
        assert getattr(nopt, name) is getattr(nsched, name)
