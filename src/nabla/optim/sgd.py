"""Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, NamedTuple

from nabla._typing import Array
from nabla.optim.optimizer import (
    Optimizer,
    OptimizerError,
    ParamsArg,
    as_real,
    check_nonnegative,
    effective_gradient,
)


def _accumulate_momentum(buf: Any, g: Any, momentum: float, dampening: float) -> None:
    """b ← momentum · b + (1 − dampening) · g, in place."""
    buf *= momentum
    if dampening != 0:
        buf += (1 - dampening) * g
    else:
        buf += g


class SGDHyperparameters(NamedTuple):
    """A group's SGD hyperparameters, read once per step."""

    lr: float
    momentum: float
    dampening: float
    weight_decay: float
    nesterov: bool
    maximize: bool


class SGD(Optimizer):
    r"""Stochastic gradient descent, the update rule of ``torch.optim.SGD``.

    With gradient ``g``, parameter ``θ`` and momentum buffer ``b``::

        g ← -g                                           if maximize
        g ← g + weight_decay · θ
        b ← g  (first step)  or  momentum · b + (1 - dampening) · g      if momentum ≠ 0
        g ← g + momentum · b  if nesterov,  else  g ← b                  if momentum ≠ 0
        θ ← θ - lr · g

    Parameters
    ----------
    params : iterable of parameters, or iterable of dicts
        Parameters to optimize, or parameter groups (see :class:`Optimizer`).
    lr : float, default 1e-3
        Learning rate.
    momentum : float, default 0
        Momentum factor; 0 turns momentum off.
    dampening : float, default 0
        Dampening of the gradient's contribution to the momentum buffer.
    weight_decay : float, default 0
        L2 penalty, added to the gradient.
    nesterov : bool, default False
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
    maximize : bool, default False
        Ascend the objective instead of descending it.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.array([1.0, -2.0]), grad=None)
    >>> opt = SGD([w], lr=0.1)
    >>> w.grad = np.array([0.5, 0.5])
    >>> opt.step()
    >>> w.data
    array([ 0.95, -2.05])
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        check_nonnegative(self, group, "lr", "momentum", "weight_decay")
        dampening = as_real(self, "dampening", group["dampening"])
        if group["nesterov"] and (group["momentum"] <= 0 or dampening != 0):
            raise OptimizerError(
                f"SGD: nesterov=True needs momentum > 0 and dampening == 0, got "
                f"momentum={group['momentum']!r} and dampening={group['dampening']!r}"
            )

    def _hyperparameters(self, group: dict[str, Any]) -> SGDHyperparameters:
        return SGDHyperparameters(
            float(group["lr"]),
            float(group["momentum"]),
            float(group["dampening"]),
            float(group["weight_decay"]),
            bool(group["nesterov"]),
            bool(group["maximize"]),
        )

    def _update_group(self, group: dict[str, Any]) -> None:
        if not (group["momentum"] or group["weight_decay"] or group["maximize"]):
            # plain SGD, the benchmarked hot path: _update reduces to θ ← θ − lr·g and keeps no
            # state, so loop here without a call and a state lookup per parameter, nor a gather
            # into flat buffers (two NumPy calls per parameter would not pay for it);
            # tests/optim/test_layouts.py ties this loop bitwise to _update on both layouts
            lr = float(group["lr"])
            for _, data, grad in self._params_with_grad(group):
                data -= lr * grad
            return
        super()._update_group(group)

    def _update(
        self, data: Any, grad: Array, state: MutableMapping[str, Any], hp: SGDHyperparameters
    ) -> None:
        lr, momentum, dampening, weight_decay, nesterov, maximize = hp
        # `owned`: g is a scratch array of ours that may be overwritten
        g, owned = effective_gradient(data, grad, weight_decay, maximize)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:  # PyTorch: the first buffer is the gradient itself, undamped
                buf = state["momentum_buffer"] = g.astype(data.dtype, copy=not owned)
            else:
                _accumulate_momentum(buf, g, momentum, dampening)
            if nesterov:
                update = buf * momentum
                update += g
                g, owned = update, True
            else:
                g, owned = buf, False  # the buffer itself must not be scaled
        if owned:
            g *= lr
            data -= g
        else:
            data -= lr * g
