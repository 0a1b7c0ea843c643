"""Adagrad: per-coordinate learning rates from the sum of squared past gradients."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, NamedTuple

import numpy as np

from nabla._typing import Array
from nabla.optim.optimizer import Optimizer, ParamsArg, check_nonnegative, effective_gradient


class AdagradHyperparameters(NamedTuple):
    """A group's Adagrad hyperparameters, read once per step."""

    lr: float
    lr_decay: float
    weight_decay: float
    initial_value: float
    eps: float
    maximize: bool


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011), the update rule of ``torch.optim.Adagrad``.

    At step ``t``, with gradient ``g``, parameter ``θ`` and accumulator ``S`` (starting at
    ``initial_accumulator_value``)::

        g ← -g                                  if maximize
        g ← g + weight_decay · θ
        lr_t ← lr / (1 + (t - 1) · lr_decay)
        S ← S + g²
        θ ← θ - lr_t · g / (√S + eps)

    Parameters
    ----------
    params : iterable of parameters, or iterable of dicts
        Parameters to optimize, or parameter groups (see :class:`Optimizer`).
    lr : float, default 1e-2
        Learning rate.
    lr_decay : float, default 0
        Learning-rate decay per step.
    weight_decay : float, default 0
        L2 penalty, added to the gradient.
    initial_accumulator_value : float, default 0
        Starting value of the sum of squared gradients.
    eps : float, default 1e-10
        Added to the denominator for numerical stability.
    maximize : bool, default False
        Ascend the objective instead of descending it.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.array([1.0, 1.0]), grad=np.array([3.0, -0.5]))
    >>> Adagrad([w], lr=0.5).step()  # the first step has size lr in every coordinate
    >>> w.data
    array([0.5, 1.5])
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        check_nonnegative(
            self, group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"
        )

    def _hyperparameters(self, group: dict[str, Any]) -> AdagradHyperparameters:
        return AdagradHyperparameters(
            float(group["lr"]),
            float(group["lr_decay"]),
            float(group["weight_decay"]),
            float(group["initial_accumulator_value"]),
            float(group["eps"]),
            bool(group["maximize"]),
        )

    def _update(
        self,
        data: Any,
        grad: Array,
        state: MutableMapping[str, Any],
        hp: AdagradHyperparameters,
    ) -> None:
        lr, lr_decay, weight_decay, initial_value, eps, maximize = hp
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(data, initial_value)
        step = state["step"] = state["step"] + 1
        g, _ = effective_gradient(data, grad, weight_decay, maximize)
        clr = lr / (1 + (step - 1) * lr_decay)

        accumulator = state["sum"]
        scratch = np.multiply(g, g, dtype=data.dtype)
        accumulator += scratch
        denom = np.sqrt(accumulator, out=scratch)
        denom += eps
        update = np.divide(g, denom, out=scratch)
        update *= clr
        data -= update
