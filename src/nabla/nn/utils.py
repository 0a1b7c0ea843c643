"""Gradient clipping: rescale or clamp the gradients of parameters in place before a step."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.autograd.hooks import note_unreplayable
from nabla.errors import NablaError

__all__ = ["NonFiniteNormError", "clip_grad_norm_", "clip_grad_value_"]


class NonFiniteNormError(NablaError, RuntimeError):
    """The total gradient norm is NaN or infinite, so clipping by it is meaningless."""


def clip_grad_norm_(
    parameters: Iterable[Any] | Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients in place so that their joint norm is at most ``max_norm``.

    The norm is taken over every gradient together, as if they were concatenated into one
    vector. When it exceeds ``max_norm``, each gradient is multiplied by
    ``max_norm / (total_norm + 1e-6)``, as in ``torch.nn.utils.clip_grad_norm_``.

    Parameters
    ----------
    parameters : parameter or iterable of parameters
        Objects with a ``grad`` ndarray (or None, skipped).
    max_norm : float
        Largest allowed norm.
    norm_type : float, default 2.0
        Order ``p`` of the norm, ``p > 0``; ``math.inf`` for the largest absolute value.
    error_if_nonfinite : bool, default False
        Raise instead of scaling when the total norm is NaN or infinite.

    Returns
    -------
    float
        The total norm of the gradients before clipping.

    Raises
    ------
    NonFiniteNormError
        If ``error_if_nonfinite`` and the total norm is NaN or infinite.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.zeros(2), grad=np.array([3.0, 4.0]))
    >>> clip_grad_norm_([w], max_norm=1.0)
    5.0
    >>> np.round(w.grad, 6)
    array([0.6, 0.8])
    """
    note_unreplayable("nn.utils.clip_grad_norm_ changes gradients outside recorded ops")
    grads = _gradients(parameters)
    p = float(norm_type)
    if not p > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type!r}")
    total_norm = _total_norm(grads, p)
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise NonFiniteNormError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"{total_norm}, so they cannot be clipped; pass error_if_nonfinite=False to scale "
            "them by it anyway"
        )
    clip_coef = max_norm / (total_norm + 1e-6)
    if clip_coef < 1.0 or math.isnan(clip_coef):  # a factor of 1 would change nothing
        for grad in grads:
            grad *= clip_coef
    return total_norm


def clip_grad_value_(parameters: Iterable[Any] | Any, clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place.

    Parameters
    ----------
    parameters : parameter or iterable of parameters
        Objects with a ``grad`` ndarray (or None, skipped).
    clip_value : float
        Largest allowed absolute value.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.zeros(3), grad=np.array([-5.0, 0.5, 2.0]))
    >>> clip_grad_value_([w], clip_value=1.0)
    >>> w.grad
    array([-1. ,  0.5,  1. ])
    """
    note_unreplayable("nn.utils.clip_grad_value_ changes gradients outside recorded ops")
    limit = float(clip_value)
    for grad in _gradients(parameters):
        np.clip(grad, -limit, limit, out=grad)


def _gradients(parameters: Iterable[Any] | Any) -> list[Array]:
    if hasattr(parameters, "grad"):
        parameters = [parameters]
    return [param.grad for param in parameters if param.grad is not None]


def _total_norm(grads: list[Array], p: float) -> float:
    """The ``p``-norm of all gradients joined into one vector (per-array norms, then combined)."""
    if not grads:
        return 0.0
    if p == math.inf:
        largest = [float(np.max(np.abs(g))) for g in grads if g.size]
        return math.nan if any(map(math.isnan, largest)) else max(largest, default=0.0)
    if p == 2.0:
        # dot of the flattened array: one BLAS call, no |g|² temporary
        return math.sqrt(math.fsum(float(np.dot(g.ravel(), g.ravel())) for g in grads))
    if p == 1.0:
        return math.fsum(float(np.abs(g).sum()) for g in grads)
    total: float = math.fsum(float((np.abs(g) ** p).sum()) for g in grads) ** (1.0 / p)
    return total
