"""Global autograd switches: grad recording (``no_grad``) and anomaly detection.

The state lives in one small object so the hot path (``Function.apply``) reads a single attribute.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class _Mode:
    __slots__ = ("anomaly", "grad_enabled", "scope", "tracer")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False
        #: the modules whose forward is running, outermost first (ops record the innermost
        #: and the outermost, so drawings and ``nb.explain`` can name each op's layer)
        self.scope: list[Any] = []
        #: the nb.compile tracer recording the current call, if any
        self.tracer: Any = None


MODE = _Mode()


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are recorded."""
    return MODE.grad_enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager (and decorator) turning graph recording on or off."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = MODE.grad_enabled
        MODE.grad_enabled = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        MODE.grad_enabled = self.prev


class no_grad(contextlib.ContextDecorator):
    """Build no graph inside the block: results do not require grad.

    Examples
    --------
    >>> import nabla as nb
    >>> w = nb.ones(3, requires_grad=True)
    >>> with nb.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self) -> None:
        self.prev = MODE.grad_enabled
        MODE.grad_enabled = False

    def __exit__(self, *exc: object) -> None:
        MODE.grad_enabled = self.prev


class enable_grad(contextlib.ContextDecorator):
    """Turn graph recording back on inside a ``no_grad`` block."""

    def __enter__(self) -> None:
        self.prev = MODE.grad_enabled
        MODE.grad_enabled = True

    def __exit__(self, *exc: object) -> None:
        MODE.grad_enabled = self.prev


def is_anomaly_enabled() -> bool:
    """Whether ``detect_anomaly`` is active."""
    return MODE.anomaly


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Find the op that first produced NaN or inf, in forward or in backward.

    Inside the block every op remembers the Python line that created it, checks its forward
    output, and the engine checks every gradient it computes. The first non-finite value raises
    :class:`nabla.errors.AnomalyError` naming the op and that line. It slows every op down; use
    it to debug, not to train.
    """
    prev = MODE.anomaly
    MODE.anomaly = True
    try:
        yield
    finally:
        MODE.anomaly = prev
