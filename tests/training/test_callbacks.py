"""Trainer callbacks: hook order, LayerMonitor's statistics, and vanishing gradients seen."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.data import DataLoader, TensorDataset
from nabla.optim import SGD
from nabla.training import Callback, EpochMetrics, LayerMonitor, Trainer


def make_trainer(
    sizes: list[int], activation: str = "tanh", callbacks: Any = (), n: int = 48, seed: int = 0
) -> Trainer:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    nb.manual_seed(seed)
    model = nb.nn.MLP(sizes, activation=activation, dtype=np.float64)
    loader = DataLoader(TensorDataset(X, y), batch_size=12, shuffle=True, seed=seed)
    return Trainer(
        model, SGD(model.parameters(), lr=0.1), loader, progress=False, callbacks=callbacks
    )


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_fit_begin(self, trainer: Trainer) -> None:
        self.events.append(("begin", trainer.epoch))

    def on_after_backward(self, trainer: Trainer) -> None:
        grads = [p.grad for p in trainer.model.parameters()]
        self.events.append(("backward", all(g is not None for g in grads)))

    def on_epoch_end(self, trainer: Trainer, metrics: EpochMetrics) -> None:
        assert trainer.history[-1] is metrics
        self.events.append(("epoch", metrics.epoch))

    def on_fit_end(self, trainer: Trainer) -> None:
        self.events.append(("end", trainer.epoch))


def test_hooks_run_in_order() -> None:
    recorder = Recorder()
    make_trainer([3, 4, 3], callbacks=[recorder]).fit(2)
    per_epoch = [("backward", True)] * 4
    assert recorder.events == [
        ("begin", 0),
        *per_epoch,
        ("epoch", 1),
        *per_epoch,
        ("epoch", 2),
        ("end", 2),
    ]


def test_gradients_seen_before_the_optimizer_step() -> None:
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    class Snapshot(Callback):
        def on_after_backward(self, trainer: Trainer) -> None:
            w = trainer.model[0].weight
            seen.append((w.data.copy(), w.grad.copy()))

    trainer = make_trainer([3, 4, 3], callbacks=[Snapshot()])
    trainer.fit(1)
    # plain SGD: each step moves the weights by −lr · (the gradient the hook saw)
    for (w0, g0), (w1, _) in itertools.pairwise(seen):
        np.testing.assert_allclose(w1, w0 - 0.1 * g0, atol=1e-12)


def test_monitor_changes_nothing_and_records_every_step() -> None:
    plain = make_trainer([3, 5, 4, 3])
    plain.fit(3)
    monitor = LayerMonitor(max_samples=10)
    watched = make_trainer([3, 5, 4, 3], callbacks=[monitor])
    watched.fit(3)
    for p, q in zip(plain.model.parameters(), watched.model.parameters()):
        assert np.array_equal(p.data, q.data)  # same arithmetic, same random numbers
    assert monitor.names == ["0.weight", "2.weight", "4.weight"]
    assert monitor.epochs == [1, 2, 3]
    for name in monitor.names:
        assert [len(n) for n in monitor.grad_norms[name]] == [4, 4, 4]
        assert all(np.all(n > 0) for n in monitor.grad_norms[name])
    assert monitor.weights["0.weight"][0].shape == (10,)  # 15 values, a fixed subset of 10
    assert monitor.weights["4.weight"][-1].shape == (10,)
    assert np.isin(monitor.weights["2.weight"][-1], watched.model[2].weight.data).all()


def test_monitor_norms_are_the_gradient_norms() -> None:
    norms: list[float] = []

    class Norm(Callback):
        def on_after_backward(self, trainer: Trainer) -> None:
            norms.append(float(np.linalg.norm(trainer.model[0].weight.grad)))

    monitor = LayerMonitor()
    make_trainer([3, 4, 3], callbacks=[monitor, Norm()]).fit(2)
    recorded = np.concatenate(monitor.grad_norms["0.weight"])
    np.testing.assert_allclose(recorded, norms, rtol=1e-12)
    medians = monitor.median_grad_norms()["0.weight"]
    assert medians.shape == (2,)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_monitor_shows_vanishing_gradients_with_sigmoid(activation: str) -> None:
    monitor = LayerMonitor()
    make_trainer([8, 32, 32, 32, 32, 3], activation, [monitor], n=96).fit(2)
    medians = monitor.median_grad_norms()
    ratio = float(medians["0.weight"][-1] / medians["8.weight"][-1])  # first / last layer
    if activation == "sigmoid":
        assert ratio < 0.05  # σ′ ≤ ¼ per layer: four sigmoid layers shrink it ≥ 4⁴-fold-ish
    else:
        assert ratio > 0.1
