"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

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


class AdadeltaHyperparameters(NamedTuple):
    """A group's Adadelta hyperparameters, read once per step."""

    lr: float
    rho: float
    eps: float
    weight_decay: float
    maximize: bool


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), the update rule of ``torch.optim.Adadelta``.

    With gradient ``g``, parameter ``θ``, square average ``v`` and accumulated update ``u``
    (both starting at zero)::

        g ← -g                                    if maximize
        g ← g + weight_decay · θ
        v ← ρ · v + (1 - ρ) · g²
        Δ ← √(u + eps) / √(v + eps) · g
        u ← ρ · u + (1 - ρ) · Δ²
        θ ← θ - lr · Δ

    Parameters
    ----------
    params : iterable of parameters, or iterable of dicts
        Parameters to optimize, or parameter groups (see :class:`Optimizer`).
    lr : float, default 1.0
        Scales the update Δ (Adadelta needs none; PyTorch's examples use 1.0).
    rho : float, default 0.9
        Smoothing constant of both averages, in [0, 1].
    eps : float, default 1e-6
        Added inside both square roots for numerical stability.
    weight_decay : float, default 0
        L2 penalty, added to the gradient.
    maximize : bool, default False
        Ascend the objective instead of descending it.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.array([1.0]), grad=np.array([2.0]))
    >>> Adadelta([w], eps=1e-6).step()  # first step: √eps / √(0.1·g² + eps) · g
    >>> bool(np.isclose(w.data[0], 1.0 - np.sqrt(1e-6) / np.sqrt(0.4 + 1e-6) * 2.0))
    True
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        check_nonnegative(self, group, "lr", "eps", "weight_decay")
        check_fraction(self, "rho", group["rho"], include_one=True)

    def _hyperparameters(self, group: dict[str, Any]) -> AdadeltaHyperparameters:
        return AdadeltaHyperparameters(
            float(group["lr"]),
            float(group["rho"]),
            float(group["eps"]),
            float(group["weight_decay"]),
            bool(group["maximize"]),
        )

    def _update(
        self,
        data: Any,
        grad: Array,
        state: MutableMapping[str, Any],
        hp: AdadeltaHyperparameters,
    ) -> None:
        lr, rho, eps, weight_decay, maximize = hp
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(data)
            state["acc_delta"] = np.zeros_like(data)
        state["step"] += 1
        g, _ = effective_gradient(data, grad, weight_decay, maximize)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]

        scratch = np.multiply(g, 1 - rho, dtype=data.dtype)  # (1 - ρ) · g · g, torch's addcmul
        scratch *= g
        square_avg *= rho
        square_avg += scratch
        std = np.add(square_avg, eps, out=scratch)
        np.sqrt(std, out=std)
        delta = np.add(acc_delta, eps, dtype=data.dtype)
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        scratch = np.multiply(delta, 1 - rho, out=scratch)
        scratch *= delta
        acc_delta *= rho
        acc_delta += scratch
        delta *= lr
        data -= delta
