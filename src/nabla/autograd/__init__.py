"""Reverse-mode automatic differentiation: the Function base, the engine and grad modes."""

from nabla.autograd.engine import backward, grad, queue_callback, unbroadcast
from nabla.autograd.function import Function
from nabla.autograd.mode import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "Function",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "queue_callback",
    "set_grad_enabled",
    "unbroadcast",
]
