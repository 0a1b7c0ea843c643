""":class:`LambdaLR` and :class:`MultiplicativeLR`, as ``torch.optim.lr_scheduler``'s: the rate
as a function of the epoch given by the user (state dicts leave the functions out, as PyTorch's
do). Import them from :mod:`nabla.optim.lr_scheduler` or :mod:`nabla.optim`.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from nabla.optim.optimizer import Optimizer
from nabla.optim.scheduler import LRScheduler

__all__ = ["LambdaLR", "MultiplicativeLR"]


def _lambdas(name: str, optimizer: Optimizer, lr_lambda: Any) -> list[Callable[[int], float]]:
    """One function per parameter group (a single one is shared), as PyTorch's."""
    if not isinstance(lr_lambda, (list, tuple)):
        return [lr_lambda] * len(optimizer.param_groups)
    if len(lr_lambda) != len(optimizer.param_groups):
        raise ValueError(
            f"{name}: expected {len(optimizer.param_groups)} lr_lambdas, got {len(lr_lambda)}"
        )
    return list(lr_lambda)


class _LambdaState(LRScheduler):
    """Checkpoints without the functions: a plain function is saved as None, a callable
    object as a copy of its ``__dict__`` (PyTorch's rule; the functions are code, not state)."""

    lr_lambdas: list[Callable[[int], float]]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else dict(vars(fn))
            for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict.get("lr_lambdas", [])
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "lr_lambdas"})
        for fn, attributes in zip(self.lr_lambdas, saved, strict=False):
            if attributes is not None:
                vars(fn).update(attributes)


class LambdaLR(_LambdaState):
    """Set each group's rate to ``initial_lr · lr_lambda(epoch)``.

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callables
        A function of the epoch (an int), or one per parameter group.
    last_epoch : int, default -1
        See :class:`LRScheduler`.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from nabla.optim import SGD
    >>> opt = SGD([SimpleNamespace(data=np.zeros(1), grad=None)], lr=1.0)
    >>> scheduler = LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    >>> scheduler.step()
    >>> scheduler.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """``initial_lr · lr_lambda(last_epoch)`` for every group."""
        return [
            base * fn(self.last_epoch)
            for fn, base in zip(self.lr_lambdas, self.base_lrs, strict=True)
        ]


class MultiplicativeLR(_LambdaState):
    """Multiply each group's rate by ``lr_lambda(epoch)`` at every step after the first.

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callables
        A function of the epoch giving the factor, or one per parameter group.
    last_epoch : int, default -1
        See :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas("MultiplicativeLR", optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(
                    f"MultiplicativeLR: lr_lambda should be a function, got {type(fn).__name__}"
                )
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current rates times ``lr_lambda(last_epoch)`` (unchanged on the initial step)."""
        if self._is_initial:
            return self._current_lrs()
        return [
            lr * fn(self.last_epoch)
            for fn, lr in zip(self.lr_lambdas, self._current_lrs(), strict=True)
        ]
