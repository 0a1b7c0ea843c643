"""scikit-learn's update rules as nabla optimizers, step for step against scikit-learn's own."""

from __future__ import annotations

import doctest
import importlib
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.neural_network import _stochastic_optimizers as sk

from nabla.sklearn import AdamOptimizer, SGDOptimizer


def _run(
    ours: object,
    theirs: object,
    params: list[SimpleNamespace],
    rng: np.random.Generator,
    lr_changes: dict[int, float],
) -> None:
    mirror = [p.data.copy() for p in params]
    for step in range(12):
        grads = [rng.normal(size=p.data.shape) for p in params]
        if step in lr_changes:  # the estimator changes the rate between epochs
            ours.param_groups[0]["lr"] = lr_changes[step]  # type: ignore[attr-defined]
            theirs.learning_rate = lr_changes[step]  # type: ignore[attr-defined]
        for p, g in zip(params, grads):
            p.grad = g
        ours.step()  # type: ignore[attr-defined]
        theirs.update_params(mirror, grads)  # type: ignore[attr-defined]
        for p, m in zip(params, mirror):
            np.testing.assert_array_equal(p.data, m)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_is_sklearns(rng: np.random.Generator, momentum: float, nesterov: bool) -> None:
    params = [SimpleNamespace(data=rng.normal(size=s), grad=None) for s in ((3, 4), (4,))]
    ours = SGDOptimizer(params, lr=0.1, momentum=momentum, nesterov=nesterov)
    theirs = sk.SGDOptimizer([p.data.copy() for p in params], 0.1, "adaptive", momentum, nesterov)
    _run(ours, theirs, params, rng, lr_changes={4: 0.02, 8: 0.004})


def test_adam_is_sklearns(rng: np.random.Generator) -> None:
    params = [SimpleNamespace(data=rng.normal(size=s), grad=None) for s in ((5, 2), (2,))]
    ours = AdamOptimizer(params, lr=0.01, betas=(0.8, 0.99), eps=1e-7)
    theirs = sk.AdamOptimizer([p.data.copy() for p in params], 0.01, 0.8, 0.99, 1e-7)
    _run(ours, theirs, params, rng, lr_changes={})


@pytest.mark.parametrize("name", ["_optim", "_mlp", "_linear"])
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(f"nabla.sklearn.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
