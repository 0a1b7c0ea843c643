"""Shared by the optimizer tests: a parameter stand-in and a quadratic to descend."""

from __future__ import annotations

from typing import Any

import numpy as np

STEPS = 25


class Param:
    """Stand-in for a nabla Parameter: the two attributes an optimizer uses."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.grad: np.ndarray | None = None


def quadratic(seed: int, n: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A, b, x0 of f(x) = ½ xᵀAx - bᵀx with A symmetric positive definite (∇f = Ax - b)."""
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    return m @ m.T / n + np.eye(n), rng.normal(size=n), rng.normal(size=n)


def run(
    make_optimizer: Any, a: np.ndarray, b: np.ndarray, x0: np.ndarray, sign: float = 1.0
) -> np.ndarray:
    """The optimizer's iterates over STEPS steps on the quadratic, gradient sign·(Ax - b)."""
    param = Param(x0.copy())
    optimizer = make_optimizer([param])
    trajectory = []
    for _ in range(STEPS):
        param.grad = sign * (a @ param.data - b)
        optimizer.step()
        trajectory.append(param.data.copy())
    return np.array(trajectory)
