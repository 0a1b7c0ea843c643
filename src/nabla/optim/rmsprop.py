"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, NamedTuple

import numpy as np

from nabla._typing import Array
from nabla.optim.optimizer import (
    Optimizer,
    ParamsArg,
    check_fraction,
    check_nonnegative,
    effective_gradient,
)


class RMSpropHyperparameters(NamedTuple):
    """A group's RMSprop hyperparameters, read once per step."""

    lr: float
    alpha: float
    eps: float
    weight_decay: float
    momentum: float
    centered: bool
    maximize: bool


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e; centered form of Graves, 2013), as ``torch.optim.RMSprop``.

    With gradient ``g``, parameter ``θ``, square average ``s``, gradient average ``ḡ`` and
    momentum buffer ``b`` (all starting at zero)::

        g ← -g                                    if maximize
        g ← g + weight_decay · θ
        s ← α · s + (1 - α) · g²
        ḡ ← ḡ + (1 - α) · (g - ḡ),  d ← √max(s - ḡ², 0) + eps  if centered
        d ← √s + eps                                          otherwise
        b ← momentum · b + g / d,  θ ← θ - lr · b             if momentum > 0
        θ ← θ - lr · g / d                                    otherwise

    Parameters
    ----------
    params : iterable of parameters, or iterable of dicts
        Parameters to optimize, or parameter groups (see :class:`Optimizer`).
    lr : float, default 1e-2
        Learning rate.
    alpha : float, default 0.99
        Smoothing constant of the averages, in [0, 1].
    eps : float, default 1e-8
        Added to the denominator for numerical stability.
    weight_decay : float, default 0
        L2 penalty, added to the gradient.
    momentum : float, default 0
        Momentum factor; 0 turns momentum off.
    centered : bool, default False
        Normalize by an estimate of the gradient's variance instead of its second moment.
    maximize : bool, default False
        Ascend the objective instead of descending it.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.array([1.0]), grad=np.array([2.0]))
    >>> RMSprop([w], lr=0.01, alpha=0.75).step()  # s = 0.25 · 2² = 1, so θ moves by lr · 2 / 1
    >>> w.data
    array([0.98])
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        check_nonnegative(self, group, "lr", "eps", "momentum", "weight_decay")
        check_fraction(self, "alpha", group["alpha"], include_one=True)

    def _hyperparameters(self, group: dict[str, Any]) -> RMSpropHyperparameters:
        return RMSpropHyperparameters(
            float(group["lr"]),
            float(group["alpha"]),
            float(group["eps"]),
            float(group["weight_decay"]),
            float(group["momentum"]),
            bool(group["centered"]),
            bool(group["maximize"]),
        )

    def _update(
        self,
        data: Any,
        grad: Array,
        state: MutableMapping[str, Any],
        hp: RMSpropHyperparameters,
    ) -> None:
        lr, alpha, eps, weight_decay, momentum, centered, maximize = hp
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(data)
        state["step"] += 1
        g, _ = effective_gradient(data, grad, weight_decay, maximize)

        square_avg = state["square_avg"]
        scratch = np.multiply(g, 1 - alpha, dtype=data.dtype)
        scratch *= g
        square_avg *= alpha
        square_avg += scratch
        if centered:
            grad_avg = _buffer(state, "grad_avg", data)
            np.subtract(g, grad_avg, out=scratch)
            scratch *= 1 - alpha
            grad_avg += scratch
            np.multiply(grad_avg, grad_avg, out=scratch)
            np.subtract(square_avg, scratch, out=scratch)
            # s - ḡ² >= 0 in exact arithmetic; rounding can make it slightly negative when
            # the gradient barely varies, where PyTorch's sqrt gives NaN
            np.maximum(scratch, 0, out=scratch)
            denom = np.sqrt(scratch, out=scratch)
        else:
            denom = np.sqrt(square_avg, out=scratch)
        denom += eps

        update = np.divide(g, denom, out=scratch)
        if momentum > 0:
            buf = _buffer(state, "momentum_buffer", data)
            buf *= momentum
            buf += update
            update = np.multiply(buf, lr, out=scratch)
        else:
            update *= lr
        data -= update


def _buffer(state: MutableMapping[str, Any], key: str, data: Any) -> Any:
    """The zero-initialized buffer ``state[key]``, created on first use."""
    buffer = state.get(key)
    if buffer is None:
        buffer = state[key] = np.zeros_like(data)
    return buffer
