"""Ctrl-C that keeps the work: SIGINT during training asks the loop to stop after its step.

While :meth:`InterruptFlag.catching` is active (the Trainer wraps ``fit`` in it), SIGINT only
sets a flag. The loop checks it after every optimizer step, writes a checkpoint and raises
:class:`TrainingInterrupted`. Further presses meanwhile set the same flag again, so they can
neither cut a step in half nor corrupt the checkpoint being written (which is also atomic).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from nabla.errors import NablaError

__all__ = ["InterruptFlag", "TrainingInterrupted", "deferred_interrupts"]


class TrainingInterrupted(NablaError):
    """Training stopped on request (Ctrl-C), after finishing an optimizer step.

    Attributes
    ----------
    epoch : int
        Epochs completed before the interrupt.
    step : int
        Optimizer steps done in the epoch in progress (epoch ``epoch + 1``); 0 when the
        interrupt came between epochs.
    global_step : int
        Optimizer steps done in the whole run.
    checkpoint_path : Path or None
        The checkpoint written at the interrupt (None when the trainer has no checkpoint
        path); resuming from it ends bitwise equal to an uninterrupted run.
    """

    def __init__(
        self, epoch: int, step: int, global_step: int, checkpoint_path: Path | None
    ) -> None:
        self.epoch, self.step, self.global_step = epoch, step, global_step
        self.checkpoint_path = checkpoint_path
        where = f"after step {step} of epoch {epoch + 1}" if step else f"after epoch {epoch}"
        saved = f"checkpoint: {checkpoint_path}" if checkpoint_path else "no checkpoint path"
        super().__init__(f"training interrupted {where} (step {global_step}); {saved}")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable with its attributes
        return (type(self), (self.epoch, self.step, self.global_step, self.checkpoint_path))


class InterruptFlag:
    """A stop request: set by SIGINT while :meth:`catching`, or by :meth:`request` directly.

    Attributes
    ----------
    requested : bool
        Whether a stop was requested since the last :meth:`clear`.
    presses : int
        How many requests arrived (Ctrl-C pressed twice counts two).
    """

    def __init__(self) -> None:
        self.requested = False
        self.presses = 0

    def request(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Ask the loop to stop after its current step (the SIGINT handler; callable directly)."""
        self.requested = True
        self.presses += 1

    def clear(self) -> None:
        self.requested, self.presses = False, 0

    @contextmanager
    def catching(self) -> Iterator[InterruptFlag]:
        """Route SIGINT to :meth:`request` inside the block, then restore the previous handler.

        Signal handlers can only be set in the main thread: elsewhere (and where SIGINT is
        ignored, e.g. a background job) nothing is installed and only :meth:`request` sets
        the flag.
        """
        previous = _install(self.request)
        try:
            yield self
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)


@contextmanager
def deferred_interrupts() -> Iterator[InterruptFlag]:
    """Hold off Ctrl-C while the block runs (writing result files, say).

    A press inside the block is only counted (``flag.presses``); the caller decides what to do
    after the block, which restores the previous handler. Does nothing outside the main thread.
    """
    flag = InterruptFlag()
    with flag.catching():
        yield flag


def _install(handler: Any) -> Any:
    """Install ``handler`` for SIGINT; return the previous one, or None when not installed."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN or previous is None:  # ignored, or set outside Python
        return None
    signal.signal(signal.SIGINT, handler)
    return previous
