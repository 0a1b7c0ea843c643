"""Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nabla.optim.optimizer import (
    FlatGroup,
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

    def _update_group(self, group: dict[str, Any]) -> None:
        if not (group["momentum"] or group["weight_decay"] or group["maximize"]):
            # plain SGD, the common case: θ ← θ − lr·g with no per-parameter bookkeeping (two
            # NumPy calls per parameter already: gathering into flat buffers would not pay)
            lr = float(group["lr"])
            for _, data, grad in self._params_with_grad(group):
                data -= lr * grad
            return
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        dampening = float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        nesterov = bool(group["nesterov"])
        maximize = bool(group["maximize"])
        flat = self._flat_group(group)
        if flat is not None and self._update_flat(
            flat, lr, momentum, dampening, weight_decay, nesterov, maximize
        ):
            return
        for param, data, grad in self._params_with_grad(group):
            # `owned`: g is a scratch array of ours that may be overwritten
            g, owned = effective_gradient(data, grad, weight_decay, maximize)
            if momentum != 0:
                state = self.state[param]
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
                    g, owned = buf, False
            if owned:
                g *= lr
                data -= g
            else:
                data -= lr * g

    def _update_flat(
        self,
        flat: FlatGroup,
        lr: float,
        momentum: float,
        dampening: float,
        weight_decay: float,
        nesterov: bool,
        maximize: bool,
    ) -> bool:
        """The per-parameter update below, run once on the group's flat buffers.

        Returns False (nothing done) when the momentum buffers are neither all new nor all
        present, so the per-parameter loop handles that step.
        """
        params = flat.params
        g = flat.gradient(weight_decay, maximize)
        if momentum != 0:
            present = [self.state[p].get("momentum_buffer") is not None for p in params]
            if any(present) and not all(present):
                return False
            if not any(present):  # PyTorch: the first buffer is the gradient itself, undamped
                buf = g.copy()
                for p, view in zip(params, flat.views(buf)):
                    self.state[p]["momentum_buffer"] = view
            else:
                buf = flat.buffer(self.state, "momentum_buffer")
                _accumulate_momentum(buf, g, momentum, dampening)
            if nesterov:
                update = buf * momentum
                update += g
                g = update
            else:
                g = buf * lr  # the buffer itself must not be scaled
                flat.apply_step(g)
                return True
        g *= lr
        flat.apply_step(g)
        return True
