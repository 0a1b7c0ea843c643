"""The hook interface through which a step recorder (``nb.compile``'s tracer) sees the core.

The core never imports the compiler. While a recorder is installed in ``MODE.state.tracer`` (one per
thread, None otherwise), the core reports to it through the methods of :class:`StepRecorder`
and nothing else:

* ``Function.apply`` calls ``on_apply`` for every op it runs;
* the backward engine calls ``before_backward`` as a pass starts and ``on_backward`` with the
  tensors in the order it visited them when it ends;
* ``Module.__call__`` calls ``on_module_call`` (a replay depends on train()/eval());
* methods decorated with :func:`replayable` (optimizer and scheduler steps, ``zero_grad``,
  ``train``/``eval``) are bracketed by ``enter_call``/``exit_call``: the recorder replays the
  call itself, not the ops inside it;
* whatever a replay could not reproduce (random tensors drawn outside an op, values read as
  Python numbers, gradients set by hand) calls :func:`note_unreplayable`, which marks the
  recording unsafe: the compiled function then stays eager.

With no recorder installed every hook is one attribute test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from nabla.autograd.mode import MODE

F = TypeVar("F", bound=Callable[..., Any])


class StepRecorder(Protocol):
    """What the core calls on ``MODE.state.tracer`` (see the module docstring)."""

    #: how many :func:`replayable` calls are running (their inner ops are not recorded)
    in_call: int

    def on_apply(
        self, cls: type, inputs: tuple[Any, ...], params: dict[str, Any], out: Any
    ) -> None:
        """An op ran: ``cls`` on ``inputs`` with keyword ``params`` made the tensor ``out``."""

    def before_backward(self) -> None:
        """A backward pass is about to change gradients (what was changed by hand before it
        must be noticed now)."""

    def on_backward(self, roots: Any, order: list[Any], retain_graph: bool, targets: Any) -> None:
        """A backward pass visited ``order`` (tensors, in the engine's order) from ``roots``."""

    def on_module_call(self, module: Any) -> None:
        """A module's forward is about to run."""

    def enter_call(
        self, obj: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """A :func:`replayable` method starts."""

    def exit_call(self) -> None:
        """The :func:`replayable` method last entered has returned (or raised)."""

    def mark_unsafe(self, reason: str) -> None:
        """The recording cannot be replayed faithfully, for ``reason``."""


def note_unreplayable(reason: str, *, inside_calls: bool = False) -> None:
    """Tell a running recorder that what just happened cannot be replayed (``reason`` is shown
    in ``CompiledFunction.eager_reasons``). Inside a :func:`replayable` call it is ignored
    unless ``inside_calls``: the call as a whole is replayed."""
    recorder = MODE.state.tracer
    if recorder is not None and (inside_calls or not recorder.in_call):
        recorder.mark_unsafe(reason)


def replayable(method: F) -> F:
    """Mark a method whose call a compiled step replays as a whole (optimizer and scheduler
    steps, ``zero_grad``). Its arguments are recorded as they were, so they must be constants.
    The undecorated method is ``wrapper.__wrapped__``."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        recorder = MODE.state.tracer
        if recorder is None:
            return method(self, *args, **kwargs)
        recorder.enter_call(self, method.__name__, args, kwargs)
        try:
            return method(self, *args, **kwargs)
        finally:
            recorder.exit_call()

    wrapper.__replayable__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


__all__ = ["StepRecorder", "note_unreplayable", "replayable"]
