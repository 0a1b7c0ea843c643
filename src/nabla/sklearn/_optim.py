"""scikit-learn's MLP update rules as nabla optimizers (``sklearn/neural_network/_stochastic_optimizers``).

They differ from ``nabla.optim.SGD``/``Adam`` (PyTorch's rules) in where the learning rate and
``eps`` enter, so the estimators use these to reproduce scikit-learn's ``loss_curve_`` exactly.
The learning rate lives in ``param_groups[0]["lr"]``; the estimator changes it per epoch
(``invscaling``, ``adaptive``) as scikit-learn's ``iteration_ends``/``trigger_stopping`` do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nabla.optim.optimizer import Optimizer, ParamsArg, check_fraction, check_nonnegative


class SGDOptimizer(Optimizer):
    r"""scikit-learn's SGD with (Nesterov) momentum, in velocity form.

    With gradient ``g``, parameter ``θ`` and velocity ``v`` (zero at the start)::

        v ← momentum · v - lr · g
        θ ← θ + momentum · v - lr · g     if nesterov
        θ ← θ + v                          otherwise

    For a constant ``lr`` this is ``torch.optim.SGD`` with ``v = -lr · b``; when ``lr`` changes
    between steps the two differ, since here the velocity keeps the old rates.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.array([1.0]), grad=np.array([0.5]))
    >>> opt = SGDOptimizer([w], lr=0.1, momentum=0.9, nesterov=False)
    >>> opt.step(); opt.step()
    >>> w.data  # v = -0.05, then 0.9 · (-0.05) - 0.05 = -0.095
    array([0.855])
    """

    def __init__(
        self, params: ParamsArg, lr: float = 0.1, momentum: float = 0.9, nesterov: bool = True
    ) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov})

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        check_nonnegative(self, group, "lr", "momentum")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, momentum, nesterov = float(group["lr"]), float(group["momentum"]), group["nesterov"]
        for param, data, grad in self._params_with_grad(group):
            state = self.state[param]
            velocity = state.get("velocity")
            if velocity is None:
                velocity = np.zeros_like(data)
            # the same expressions, in the same order, as scikit-learn's _get_updates
            velocity = momentum * velocity - lr * grad
            state["velocity"] = velocity
            update = momentum * velocity - lr * grad if nesterov else velocity
            data += update


class AdamOptimizer(Optimizer):
    r"""scikit-learn's Adam: ``eps`` is added to ``√v`` before the bias correction.

    At step ``t`` (one counter for all parameters), with gradient ``g``::

        m ← β1 · m + (1 - β1) · g
        v ← β2 · v + (1 - β2) · g²
        θ ← θ - lr · √(1 - β2^t) / (1 - β1^t) · m / (√v + eps)

    ``torch.optim.Adam`` divides by ``√v / √(1 - β2^t) + eps`` instead.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.array([1.0, -2.0]), grad=np.array([0.5, -4.0]))
    >>> AdamOptimizer([w], lr=0.1).step()  # the first step moves each coordinate by about lr
    >>> np.round(w.data, 6)
    array([ 0.9, -1.9])
    """

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        check_nonnegative(self, group, "lr", "eps")
        check_fraction(self, "betas[0]", group["betas"][0], include_one=False)
        check_fraction(self, "betas[1]", group["betas"][1], include_one=False)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, eps = float(group["lr"]), float(group["eps"])
        beta_1, beta_2 = (float(b) for b in group["betas"])
        for param, data, grad in self._params_with_grad(group):
            state = self.state[param]
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(data)
                state["exp_avg_sq"] = np.zeros_like(data)
            t = state["step"] = state["step"] + 1
            m = state["exp_avg"] = beta_1 * state["exp_avg"] + (1 - beta_1) * grad
            v = state["exp_avg_sq"] = beta_2 * state["exp_avg_sq"] + (1 - beta_2) * grad**2
            lr_t = float(lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t))  # weak: keeps float32
            data += -lr_t * m / (np.sqrt(v) + eps)
