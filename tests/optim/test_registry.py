"""The optimizer registry: one builder from a name, with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from nabla import optim
from nabla.optim import OPTIMIZERS, OptimizerError, build_optimizer

from .quadratic import Param

# the classes the names mean, written out independently of the registry
EXPECTED = {
    "sgd": optim.SGD,
    "adam": optim.Adam,
    "adamw": optim.AdamW,
    "rmsprop": optim.RMSprop,
    "adagrad": optim.Adagrad,
    "adadelta": optim.Adadelta,
}


def _params() -> list[Param]:
    return [Param(np.ones(3)), Param(np.zeros((2, 2)))]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builds_the_named_class_with_its_default_lr(name: str) -> None:
    opt = build_optimizer(name, _params())
    assert type(opt) is EXPECTED[name]
    assert opt.param_groups[0]["lr"] == OPTIMIZERS[name].lr
    assert OPTIMIZERS[name].help


def test_registry_names_exactly_the_expected_optimizers() -> None:
    assert set(OPTIMIZERS) == set(EXPECTED)


def test_lr_and_hyperparameters_are_passed_on() -> None:
    opt = build_optimizer("rmsprop", _params(), lr=0.25, momentum=0.5, centered=True)
    group = opt.param_groups[0]
    assert (group["lr"], group["momentum"], group["centered"]) == (0.25, 0.5, True)


def test_entry_defaults_apply_unless_given() -> None:
    assert build_optimizer("sgd", _params()).param_groups[0]["momentum"] == 0.9
    assert build_optimizer("sgd", _params(), momentum=0.0).param_groups[0]["momentum"] == 0.0
    # None means "not given": the CLI passes unset flags through unchanged
    assert build_optimizer("sgd", _params(), momentum=None).param_groups[0]["momentum"] == 0.9
    assert build_optimizer("adam", _params(), lr=None).param_groups[0]["lr"] == 1e-3


def test_built_optimizer_steps_like_the_class() -> None:
    a, b = _params(), _params()
    for p, q in zip(a, b):
        p.grad = q.grad = np.full_like(p.data, 0.5)
    build_optimizer("adam", a, lr=0.1, weight_decay=0.01).step()
    optim.Adam(b, lr=0.1, weight_decay=0.01).step()
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.data, q.data)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(OptimizerError, match="unknown optimizer 'adamx'") as info:
        build_optimizer("adamx", _params())
    message = str(info.value)
    assert "\n" not in message
    for name in EXPECTED:
        assert name in message


def test_unknown_hyperparameter_is_named() -> None:
    with pytest.raises(OptimizerError, match="optimizer 'adam' takes no 'momentum'") as info:
        build_optimizer("adam", _params(), momentum=0.9)
    assert "betas" in str(info.value)
