"""Callbacks that run once when the backward pass now running finishes.

``queue_callback(fn)``, called during a backward pass (from a tensor hook, typically), makes
``fn()`` run once when that pass has finished: after every gradient of the pass has been
accumulated into the leaves' ``.grad``, before ``backward()`` returns. This is PyTorch's
``Variable._execution_engine.queue_callback``; data-parallel training uses it to allreduce all
gradients at once after a backward pass (:mod:`nabla.distributed.ddp`).

Each thread has its own stack of passes (a backward run inside a callback, or in another
thread, has its own queue). Callbacks run in the order they were queued, including those a
callback queues itself; when the pass raises, its queued callbacks are dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from nabla.errors import GraphError

Callback = Callable[[], object]


class _Passes(threading.local):
    def __init__(self) -> None:
        #: one list of queued callbacks per backward pass running in this thread, innermost last
        self.queues: list[list[Callback]] = []


_PASSES = _Passes()


def queue_callback(fn: Callback) -> None:
    """Run ``fn()`` once when the backward pass running in this thread finishes.

    Raises
    ------
    GraphError
        When no backward pass is running in this thread.
    """
    if not callable(fn):
        raise TypeError(f"queue_callback: fn must be callable, got {type(fn).__name__}")
    queues = _PASSES.queues
    if not queues:
        raise GraphError(
            "queue_callback: no backward pass is running in this thread (call it from a "
            "tensor hook during backward)"
        )
    queues[-1].append(fn)


def begin_pass() -> list[Callback]:
    """Open the queue of a backward pass (the engine calls it before propagating)."""
    queue: list[Callback] = []
    _PASSES.queues.append(queue)
    return queue


def end_pass(queue: list[Callback], finished: bool) -> None:
    """Close the pass's queue: run its callbacks in order when it ``finished``, else drop them."""
    try:
        i = 0
        while finished and i < len(queue):
            queue[i]()
            i += 1
    finally:
        _PASSES.queues.pop()


__all__ = ["begin_pass", "end_pass", "queue_callback"]
