"""Adam and AdamW: adaptive moment estimation, with coupled or decoupled weight decay."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, NamedTuple

import numpy as np

from nabla._typing import Array
from nabla.optim.optimizer import (
    Optimizer,
    OptimizerError,
    ParamsArg,
    check_fraction,
    check_nonnegative,
    effective_gradient,
)


def _update_moments(
    g: Any, exp_avg: Any, exp_avg_sq: Any, beta1: float, beta2: float, dtype: Any
) -> Any:
    """m ← β₁m + (1−β₁)g (PyTorch's lerp form) and v ← β₂v + (1−β₂)g², in place; returns the
    one scratch array that served every intermediate, free for the caller to reuse."""
    scratch = np.subtract(g, exp_avg, dtype=dtype)
    scratch *= 1 - beta1
    exp_avg += scratch
    np.multiply(g, 1 - beta2, out=scratch)
    scratch *= g
    exp_avg_sq *= beta2
    exp_avg_sq += scratch
    return scratch


class AdamHyperparameters(NamedTuple):
    """A group's Adam hyperparameters, read once per step."""

    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    amsgrad: bool
    maximize: bool
    decoupled: bool


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), the update rule of ``torch.optim.Adam``.

    At step ``t``, with gradient ``g``, parameter ``θ`` and moment estimates ``m``, ``v``::

        g ← -g                                               if maximize
        θ ← θ · (1 - lr · weight_decay)    if decoupled_weight_decay  (AdamW)
        g ← g + weight_decay · θ           otherwise                  (L2 penalty)
        m ← m + (1 - β1) · (g - m)                           (= β1·m + (1-β1)·g)
        v ← β2 · v + (1 - β2) · g²
        v̂ ← max(v̂, v)  if amsgrad,  else  v̂ ← v
        θ ← θ - lr / (1 - β1^t) · m / (√v̂ / √(1 - β2^t) + eps)

    Parameters
    ----------
    params : iterable of parameters, or iterable of dicts
        Parameters to optimize, or parameter groups (see :class:`Optimizer`).
    lr : float, default 1e-3
        Learning rate.
    betas : tuple of two floats, default (0.9, 0.999)
        Decay rates ``(β1, β2)`` of the first and second moment estimates, each in [0, 1).
    eps : float, default 1e-8
        Added to the denominator for numerical stability.
    weight_decay : float, default 0
        L2 penalty added to the gradient (or, if ``decoupled_weight_decay``, the decay rate).
    amsgrad : bool, default False
        Normalize by the running maximum of ``v`` (Reddi et al., 2018).
    maximize : bool, default False
        Ascend the objective instead of descending it.
    decoupled_weight_decay : bool, default False
        Shrink the parameters directly instead of adding to the gradient; True is AdamW.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.array([1.0, -2.0]), grad=np.array([0.5, -4.0]))
    >>> Adam([w], lr=0.1).step()  # the first step moves each coordinate by about lr
    >>> w.data
    array([ 0.9, -1.9])
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        check_nonnegative(self, group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise OptimizerError(f"{type(self).__name__}: betas must be a pair, got {betas!r}")
        check_fraction(self, "betas[0]", betas[0], include_one=False)
        check_fraction(self, "betas[1]", betas[1], include_one=False)

    def _hyperparameters(self, group: dict[str, Any]) -> AdamHyperparameters:
        betas = group["betas"]
        return AdamHyperparameters(
            float(group["lr"]),
            float(betas[0]),
            float(betas[1]),
            float(group["eps"]),
            float(group["weight_decay"]),
            bool(group["amsgrad"]),
            bool(group["maximize"]),
            bool(group["decoupled_weight_decay"]),
        )

    def _update(
        self, data: Any, grad: Array, state: MutableMapping[str, Any], hp: AdamHyperparameters
    ) -> None:
        lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled = hp
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(data)
            state["exp_avg_sq"] = np.zeros_like(data)
        step = state["step"] = state["step"] + 1
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]

        if decoupled:
            if weight_decay != 0:
                data *= 1 - lr * weight_decay
            g, _ = effective_gradient(data, grad, 0.0, maximize)
        else:
            g, _ = effective_gradient(data, grad, weight_decay, maximize)

        scratch = _update_moments(g, exp_avg, exp_avg_sq, beta1, beta2, data.dtype)

        second_moment = exp_avg_sq
        if amsgrad:
            max_exp_avg_sq = state.get("max_exp_avg_sq")
            if max_exp_avg_sq is None:
                max_exp_avg_sq = state["max_exp_avg_sq"] = np.zeros_like(data)
            np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            second_moment = max_exp_avg_sq

        step_size = lr / (1 - beta1**step)
        if step_size == 0:  # lr = 0: the moments advance, the parameters stay
            return
        # PyTorch's capturable form of m·step_size / (√v̂/√bc2 + eps), two passes shorter:
        # θ ← θ - m / (√v̂ / (√bc2 · step_size) + eps / step_size)
        denom = np.sqrt(second_moment, out=scratch)
        denom /= (1 - beta2**step) ** 0.5 * step_size
        denom += eps / step_size
        data -= np.divide(exp_avg, denom, out=scratch)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    Each step first shrinks the parameters, ``θ ← θ · (1 - lr · weight_decay)``, then applies
    the Adam update to the undecayed gradient; see :class:`Adam` for the rest.

    Parameters
    ----------
    params : iterable of parameters, or iterable of dicts
        Parameters to optimize, or parameter groups (see :class:`Optimizer`).
    lr : float, default 1e-3
        Learning rate.
    betas : tuple of two floats, default (0.9, 0.999)
        Decay rates of the first and second moment estimates.
    eps : float, default 1e-8
        Added to the denominator for numerical stability.
    weight_decay : float, default 1e-2
        Decoupled weight decay rate.
    amsgrad : bool, default False
        Normalize by the running maximum of the second moment.
    maximize : bool, default False
        Ascend the objective instead of descending it.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.array([1.0]), grad=np.array([0.0]))
    >>> AdamW([w], lr=0.1, weight_decay=0.5).step()  # a zero gradient: only the decay acts
    >>> w.data
    array([0.95])
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a snapshot (see :meth:`Optimizer.load_state_dict`); decay stays decoupled."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
