"""Autograd switches: grad recording (``no_grad``) and anomaly detection, per thread.

The state lives in one object per thread (PyTorch's grad mode is thread-local too): a
``no_grad`` block in one thread never stops recording in another, and every new thread starts
with recording on. ``MODE.state`` is this thread's :class:`State`: reading an attribute of a
``threading.local`` costs ~50 ns, of a plain object ~7 ns, so the hot paths (``Function.apply``,
the backward engine, ``Module.__call__``) read ``MODE.state`` once and then its fields.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class State:
    """One thread's switches."""

    __slots__ = (
        "anomaly",
        "grad_enabled",
        "inference",
        "keep_gradients",
        "profiler",
        "scope",
        "tracer",
    )

    def __init__(self) -> None:
        self.grad_enabled = True
        #: inside ``inference_mode()`` (which also turns grad recording off)
        self.inference = False
        self.anomaly = False
        #: the modules whose forward is running, outermost first (ops record the innermost
        #: and the outermost, so drawings and ``nb.explain`` can name each op's layer)
        self.scope: list[Any] = []
        #: the nb.compile tracer recording the current call, if any
        self.tracer: Any = None
        #: the running ``nb.profile()`` block, if any: compiled steps report their ops to it
        self.profiler: Any = None
        #: backward keeps each op output's gradient on the op (``nb.viz.keep_gradients()``)
        self.keep_gradients = False


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.state = State()


#: ``MODE.state``: the calling thread's :class:`State`
MODE = _PerThread()


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are recorded (in this thread)."""
    return MODE.state.grad_enabled


class _GradMode:
    """A context manager and decorator that sets grad recording to ``self.mode`` inside.

    Re-entrant: each ``with`` keeps the mode it found on a stack of its own, and a decorated
    function enters a fresh instance on every call (recursion, threads).
    """

    mode: bool = True

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(MODE.state.grad_enabled)
        MODE.state.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        MODE.state.grad_enabled = self._prev.pop()

    def _fresh(self) -> _GradMode:
        return type(self)()

    def __call__(self, func: F) -> F:
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _wrap_generator(self, func: F) -> F:
        """A generator runs in the mode each time it resumes, and the caller's mode is back
        whenever it yields (PyTorch's decorators do the same)."""

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            generator = func(*args, **kwargs)
            try:
                with self._fresh():
                    item = next(generator)
                while True:
                    try:
                        sent = yield item
                    except GeneratorExit:
                        generator.close()
                        raise
                    except BaseException as exc:  # noqa: BLE001 - thrown in: pass it on
                        with self._fresh():
                            item = generator.throw(exc)
                    else:
                        with self._fresh():
                            item = generator.send(sent)
            except StopIteration as stop:
                return stop.value

        return wrapper  # type: ignore[return-value]


class _NoArgumentMode(_GradMode):
    """A mode that also decorates without parentheses: ``@nb.no_grad`` as ``@nb.no_grad()``."""

    def __new__(cls, func: Any = None) -> Any:
        self = super().__new__(cls)
        if func is None:
            return self  # Python runs __init__ next
        if not callable(func):
            raise TypeError(f"{cls.__name__}() takes no arguments, got {func!r}")
        _GradMode.__init__(self)  # not returned as an instance: Python runs no __init__
        return self(func)

    def __init__(self, func: Any = None) -> None:
        super().__init__()


class no_grad(_NoArgumentMode):
    """Build no graph inside the block (or the decorated function): results do not require
    grad.

    Examples
    --------
    >>> import nabla as nb
    >>> w = nb.ones(3, requires_grad=True)
    >>> with nb.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_NoArgumentMode):
    """Turn graph recording back on inside a ``no_grad`` block (or decorated function)."""

    mode = True


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off: at once when called as a function (PyTorch's
    ``torch.set_grad_enabled(False)``), inside the block as a context manager, and only
    inside calls as a decorator (applying the decorator leaves the mode as it was)."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.mode = bool(mode)
        self._before = MODE.state.grad_enabled
        MODE.state.grad_enabled = self.mode

    def __enter__(self) -> None:
        self._prev.append(self._before if not self._prev else MODE.state.grad_enabled)
        MODE.state.grad_enabled = self.mode

    def _fresh(self) -> _GradMode:
        return set_grad_enabled(self.mode)

    def __call__(self, func: F) -> F:
        MODE.state.grad_enabled = self._before  # decorating is not a call: restore the mode
        return super().__call__(func)


class inference_mode(_GradMode):
    """PyTorch's ``torch.inference_mode(mode=True)``: a context manager and decorator (with or
    without parentheses) that builds no graph inside, as :class:`no_grad`; results do not
    require grad. ``inference_mode(False)`` turns recording on inside, as PyTorch's does.

    PyTorch also marks the tensors made inside as "inference tensors" that later autograd
    refuses; nabla's are plain tensors (as if made under ``no_grad``).

    Examples
    --------
    >>> import nabla as nb
    >>> w = nb.ones(3, requires_grad=True)
    >>> with nb.inference_mode():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __new__(cls, mode: Any = True) -> Any:
        self = super().__new__(cls)
        if mode is None or isinstance(mode, bool):
            return self  # Python runs __init__ next
        if not callable(mode):
            raise TypeError(f"inference_mode(): mode must be a bool, got {mode!r}")
        _GradMode.__init__(self)  # @nb.inference_mode without parentheses
        self.mode = True
        return self(mode)

    def __init__(self, mode: Any = True) -> None:
        super().__init__()
        self.mode = bool(mode)
        self._prev_inference: list[bool] = []

    def __enter__(self) -> None:
        state = MODE.state
        self._prev.append(state.grad_enabled)
        self._prev_inference.append(state.inference)
        state.inference = self.mode
        state.grad_enabled = not self.mode

    def __exit__(self, *exc: object) -> None:
        state = MODE.state
        state.grad_enabled = self._prev.pop()
        state.inference = self._prev_inference.pop()

    def _fresh(self) -> _GradMode:
        return inference_mode(self.mode)


def is_inference_mode_enabled() -> bool:
    """Whether this thread runs inside ``inference_mode()``."""
    return MODE.state.inference


def is_anomaly_enabled() -> bool:
    """Whether ``detect_anomaly`` is active."""
    return MODE.state.anomaly


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Find the op that first produced NaN or inf, in forward or in backward.

    Inside the block every op remembers the Python line that created it, checks its forward
    output, and the engine checks every gradient it computes. The first non-finite value raises
    :class:`nabla.errors.AnomalyError` naming the op and that line. It slows every op down; use
    it to debug, not to train.
    """
    prev = MODE.state.anomaly
    MODE.state.anomaly = True
    try:
        yield
    finally:
        MODE.state.anomaly = prev
