"""Training steps free their graphs: memory stays flat over 1,000 steps."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np

import nabla as nb
import nabla.nn.functional as F


def test_memory_flat_over_1000_training_steps(rng: np.random.Generator) -> None:
    X = rng.standard_normal((32, 8)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    W1 = nb.tensor(rng.standard_normal((16, 8)).astype(np.float32) * 0.3, requires_grad=True)
    b1 = nb.zeros(16, requires_grad=True)
    W2 = nb.tensor(rng.standard_normal((3, 16)).astype(np.float32) * 0.3, requires_grad=True)
    b2 = nb.zeros(3, requires_grad=True)
    params = [W1, b1, W2, b2]

    def step() -> float:
        h = nb.tanh(X @ W1.T + b1)
        loss = F.cross_entropy(nb.linear(h, W2, b2), y) + 1e-3 * (W1 * W1).sum()
        loss.backward()
        for p in params:
            p.data -= 0.05 * p.grad
            p.grad = None
        return loss.item()

    def live_tensors() -> int:
        # type(), not isinstance(): isinstance reads __class__, which some modules' lazy
        # objects turn into a deprecation warning (torch.distributed, once torch is imported)
        return sum(issubclass(type(o), nb.Tensor) for o in gc.get_objects())

    gc.collect()
    gc.disable()  # graphs must be freed by reference counting alone
    tracemalloc.start()
    try:
        first = step()
        for _ in range(499):  # warm-up: CPython's free lists of small tuples fill up here
            step()
        tensors_500 = live_tensors()
        after_500 = tracemalloc.get_traced_memory()[0]
        for _ in range(500):
            last = step()
        after_1000 = tracemalloc.get_traced_memory()[0]
        tensors_1000 = live_tensors()
        uncollected = gc.collect()
    finally:
        tracemalloc.stop()
        gc.enable()
    assert last < first  # it trained
    assert tensors_1000 == tensors_500  # no tensor outlives its step
    # one leaked graph per step would cost ≥ 500 × 3 KiB of saved activations
    assert after_1000 - after_500 < 64 * 1024, (after_500, after_1000)
    assert uncollected == 0  # no reference cycles were left for the collector
