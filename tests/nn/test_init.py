"""Initialisers: empirical bounds and standard deviations on large tensors against the formulas.

Formulas (Glorot & Bengio 2010, He et al. 2015, as PyTorch documents them):
xavier_uniform U(±gain·√(6/(fan_in+fan_out))), xavier_normal σ = gain·√(2/(fan_in+fan_out)),
kaiming_uniform U(±gain·√(3/fan)), kaiming_normal σ = gain/√fan, gain(leaky_relu, a) = √(2/(1+a²)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.nn import Linear, Parameter, init

FAN_OUT, FAN_IN = 500, 400


def big(shape: tuple[int, ...] = (FAN_OUT, FAN_IN)) -> Parameter:
    return Parameter(np.zeros(shape, dtype=np.float64))


def check_uniform(w: np.ndarray, bound: float) -> None:
    assert np.all(np.abs(w) <= bound)
    assert np.abs(w).max() > 0.99 * bound  # 200,000 draws reach the edge of the interval
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound / math.sqrt(3)
    assert abs(w.mean()) < 0.01 * bound


def check_normal(w: np.ndarray, std: float) -> None:
    assert abs(w.std() - std) < 0.05 * std
    assert abs(w.mean()) < 0.05 * std
    assert np.abs(w).max() > 3 * std  # a normal, not a uniform, of that std


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_uniform(gain: float) -> None:
    w = init.xavier_uniform_(big(), gain=gain).data
    check_uniform(w, gain * math.sqrt(6 / (FAN_IN + FAN_OUT)))


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_normal(gain: float) -> None:
    w = init.xavier_normal_(big(), gain=gain).data
    check_normal(w, gain * math.sqrt(2 / (FAN_IN + FAN_OUT)))


@pytest.mark.parametrize(
    ("kwargs", "gain", "fan"),
    [
        ({}, math.sqrt(2), FAN_IN),  # default: leaky_relu with a = 0, i.e. ReLU's √2
        ({"nonlinearity": "relu"}, math.sqrt(2), FAN_IN),
        ({"a": 0.2}, math.sqrt(2 / 1.04), FAN_IN),
        ({"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2), FAN_OUT),
        ({"nonlinearity": "linear"}, 1.0, FAN_IN),
    ],
)
def test_kaiming_uniform_and_normal(kwargs: dict[str, Any], gain: float, fan: int) -> None:
    check_uniform(init.kaiming_uniform_(big(), **kwargs).data, gain * math.sqrt(3 / fan))
    check_normal(init.kaiming_normal_(big(), **kwargs).data, gain / math.sqrt(fan))


def test_fans_count_the_receptive_field() -> None:
    assert init.fans(big((6, 4))) == (4, 6)
    assert init.fans(big((6, 4, 3, 3))) == (4 * 9, 6 * 9)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(big((5,)))


def test_kaiming_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_normal_(big((3, 3)), mode="fan_avg")


@pytest.mark.parametrize(
    ("name", "param", "expected"),
    [
        ("linear", None, 1.0),
        ("identity", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0.3, math.sqrt(2 / (1 + 0.3**2))),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain(name: str, param: float | None, expected: float) -> None:
    assert init.calculate_gain(name, param) == pytest.approx(expected, rel=1e-15)


def test_calculate_gain_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="swish"):
        init.calculate_gain("swish")


INITIALISERS: list[Callable[[Parameter], Any]] = [
    init.xavier_uniform_,
    init.xavier_normal_,
    init.kaiming_uniform_,
    init.kaiming_normal_,
    lambda t: init.uniform_(t, -1, 1),
    lambda t: init.normal_(t, 0, 1),
]


@pytest.mark.parametrize("initialise", INITIALISERS)
def test_manual_seed_reproduces_the_draw(initialise: Callable[[Parameter], Any]) -> None:
    nb.manual_seed(123)
    first = initialise(big((20, 30))).data.copy()
    second = initialise(big((20, 30))).data.copy()
    nb.manual_seed(123)
    np.testing.assert_array_equal(initialise(big((20, 30))).data, first)
    assert not np.array_equal(first, second)


def test_an_explicit_generator_overrides_the_global_one() -> None:
    a = init.normal_(big((4, 4)), generator=np.random.default_rng(5)).data
    b = init.normal_(big((4, 4)), generator=np.random.default_rng(5)).data
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.random.default_rng(5).normal(0, 1, (4, 4)))


def test_seeded_linear_layers_are_identical() -> None:
    nb.manual_seed(9)
    a = Linear(10, 5)
    nb.manual_seed(9)
    b = Linear(10, 5)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_constant_fillers_keep_dtype() -> None:
    p = Parameter(np.empty((2, 3), dtype=np.float32))
    np.testing.assert_array_equal(init.ones_(p).data, 1.0)
    np.testing.assert_array_equal(init.zeros_(p).data, 0.0)
    np.testing.assert_array_equal(init.constant_(p, 2.5).data, 2.5)
    assert init.uniform_(p).dtype == np.float32


@pytest.mark.parametrize(
    ("scheme", "bound"),
    [
        ("xavier_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
        ("glorot_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
        ("kaiming_uniform", math.sqrt(2) * math.sqrt(3 / FAN_IN)),  # ReLU gain
        ("he_uniform", math.sqrt(2) * math.sqrt(3 / FAN_IN)),
    ],
)
def test_linear_init_schemes_zero_the_bias(scheme: str, bound: float) -> None:
    layer = Linear(FAN_IN, FAN_OUT, init=scheme, dtype=np.float64)
    check_uniform(layer.weight.data, bound)
    np.testing.assert_array_equal(layer.bias.data, 0.0)


@pytest.mark.parametrize(
    ("scheme", "std"),
    [
        ("xavier_normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
        ("kaiming_normal", math.sqrt(2 / FAN_IN)),
    ],
)
def test_linear_normal_init_schemes(scheme: str, std: float) -> None:
    layer = Linear(FAN_IN, FAN_OUT, init=scheme, dtype=np.float64)
    check_normal(layer.weight.data, std)
