"""Gradient clipping (rescale or clamp the gradients of parameters in place before a step) and
the flat view of parameters (``parameters_to_vector``/``vector_to_parameters``), as
``torch.nn.utils``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from nabla import functional as fn
from nabla._typing import Array
from nabla.autograd.hooks import note_unreplayable
from nabla.errors import NablaError, ShapeError
from nabla.tensor import Tensor

__all__ = [
    "NonFiniteNormError",
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
]


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


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Flatten the parameters and join them into one vector, in order (differentiable).

    Parameters
    ----------
    parameters : iterable of Tensor
        Usually ``model.parameters()``.

    Returns
    -------
    Tensor
        One 1-D tensor of all their elements; gradients flow back to the parameters.

    Examples
    --------
    >>> import nabla as nb
    >>> parameters_to_vector([nb.tensor([[1.0, 2.0]]), nb.tensor([3.0])]).data
    array([1., 2., 3.], dtype=float32)
    """
    parts = [fn.reshape(_tensor("parameters_to_vector", p), (-1,)) for p in parameters]
    if not parts:
        raise ValueError("parameters_to_vector: expected at least one parameter, got none")
    return fn.concatenate(parts)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Any]) -> None:
    """Set the parameters' values from slices of ``vec``, in order (PyTorch's
    ``vector_to_parameters``: each ``param.data`` becomes a view of ``vec``'s data, reshaped).

    Parameters
    ----------
    vec : Tensor
        A 1-D tensor with at least as many elements as the parameters together.
    parameters : iterable of Tensor

    Raises
    ------
    TypeError
        If ``vec`` is not a Tensor.
    ShapeError
        If ``vec`` is not 1-D or too short.

    Examples
    --------
    >>> import nabla as nb
    >>> w, b = nb.zeros(2, 2), nb.zeros(1)
    >>> vector_to_parameters(nb.arange(5.0), [w, b])
    >>> w.data, b.data
    (array([[0., 1.],
           [2., 3.]], dtype=float32), array([4.], dtype=float32))
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ShapeError(f"vector_to_parameters: vec must be 1-D, got shape {vec.shape}")
    note_unreplayable("nn.utils.vector_to_parameters sets parameters outside recorded ops")
    flat, pointer = vec.data, 0
    for param in parameters:
        size = int(np.prod(param.shape))
        if pointer + size > flat.shape[0]:
            raise ShapeError(
                f"vector_to_parameters: vec has {flat.shape[0]} elements, too few for the "
                f"parameters (at least {pointer + size} needed)"
            )
        param.data = flat[pointer : pointer + size].reshape(param.shape)
        pointer += size


def _tensor(op: str, value: Any) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: expected Tensors, got {type(value).__name__}")
    return value


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
