"""Shared fixtures: a seeded generator and a guard against leaked global modes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import nabla as nb
from nabla.autograd.mode import MODE


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(autouse=True)
def _no_leaked_modes() -> Iterator[None]:
    nb.manual_seed(0)
    yield
    leaked = (MODE.grad_enabled, MODE.anomaly)
    MODE.grad_enabled, MODE.anomaly = True, False
    assert leaked == (True, False), "a test leaked no_grad or detect_anomaly"
