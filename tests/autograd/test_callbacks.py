"""queue_callback: a callback queued during backward runs once, after every .grad of the pass
is final, in queue order; dropped when the pass fails; refused outside a pass; per thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import nabla as nb
from nabla.autograd import queue_callback
from nabla.errors import GraphError


def test_runs_once_after_all_gradients_are_accumulated() -> None:
    w = nb.tensor([1.0, 2.0], requires_grad=True)
    v = nb.tensor([3.0], requires_grad=True)
    seen: list[tuple[str, np.ndarray | None, np.ndarray | None]] = []

    def hook(g: nb.Tensor) -> None:
        # at hook time w's .grad is not yet set; the callback must see both final gradients
        queue_callback(lambda: seen.append(("end", np.array(w.grad), np.array(v.grad))))

    w.register_hook(hook)
    v.register_hook(hook)
    ((w * w).sum() * v.sum()).backward()
    assert len(seen) == 2  # one per queue_callback call, both after the pass
    for _, gw, gv in seen:
        np.testing.assert_array_equal(gw, [6.0, 12.0])  # 2 w v
        np.testing.assert_array_equal(gv, [5.0])  # Σ w²


def test_order_and_callbacks_queued_by_callbacks() -> None:
    x = nb.tensor(2.0, requires_grad=True)
    order: list[str] = []

    def first() -> None:
        order.append("first")
        queue_callback(lambda: order.append("queued by first"))

    def hook(g: nb.Tensor) -> None:
        queue_callback(first)
        queue_callback(lambda: order.append("second"))

    x.register_hook(hook)
    (x * 3).backward()
    assert order == ["first", "second", "queued by first"]
    order.clear()
    (x * 3).backward()  # a new pass queues anew; nothing left over from the last one
    assert order == ["first", "second", "queued by first"]


def test_refused_outside_backward_and_dropped_when_the_pass_fails() -> None:
    with pytest.raises(GraphError, match="no backward pass is running"):
        queue_callback(lambda: None)
    with pytest.raises(TypeError, match="must be callable"):
        queue_callback(3)  # type: ignore[arg-type]
    x = nb.tensor(1.0, requires_grad=True)
    ran: list[int] = []

    def hook(g: nb.Tensor) -> None:
        queue_callback(lambda: ran.append(1))
        raise ValueError("hook failed")

    x.register_hook(hook)
    with pytest.raises(ValueError, match="hook failed"):
        (x * 2).backward()
    assert ran == []
    with pytest.raises(GraphError):  # the failed pass left no queue open
        queue_callback(lambda: None)


def test_nb_grad_runs_callbacks_too() -> None:
    x = nb.tensor(1.5, requires_grad=True)
    ran: list[int] = []
    x.register_hook(lambda g: queue_callback(lambda: ran.append(1)))
    (gx,) = nb.grad(x * x, x)
    assert ran == [1] and float(gx.data) == 3.0


def test_each_thread_has_its_own_queue() -> None:
    barrier = threading.Barrier(2)
    results: dict[int, list[int]] = {0: [], 1: []}

    def work(k: int) -> None:
        x = nb.tensor(float(k), requires_grad=True)

        def hook(g: nb.Tensor) -> None:
            queue_callback(lambda: results[k].append(k))
            barrier.wait(10)  # both passes are open at once

        x.register_hook(hook)
        (x * 2).backward()

    threads = [threading.Thread(target=work, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {0: [0], 1: [1]}
