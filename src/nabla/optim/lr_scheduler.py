"""Learning-rate schedulers, with the epoch counting and formulas of ``torch.optim.lr_scheduler``.

A scheduler rewrites ``group["lr"]`` in its optimizer's parameter groups each time its
:meth:`~LRScheduler.step` is called, usually once per epoch after the optimizer's own steps.
Constructing one performs the initial step (``last_epoch`` goes from -1 to 0) and records each
group's starting rate as ``group["initial_lr"]``. Like PyTorch's, the schedules are chainable:
each step scales the current rate, so two schedulers on one optimizer multiply their effects.

This module holds the schedules that are a formula of the epoch (the cyclic ones are
defined in :mod:`nabla.optim.lr_cyclic`, the ones given as functions in
:mod:`nabla.optim.lr_lambda`, :class:`SequentialLR` in :mod:`nabla.optim.lr_sequential`); the base class lives in
:mod:`nabla.optim.scheduler` and the metric-driven :class:`ReduceLROnPlateau` in
:mod:`nabla.optim.plateau`, both importable from here as in PyTorch.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable

from nabla.optim.lr_cyclic import CyclicLR, OneCycleLR
from nabla.optim.lr_lambda import LambdaLR, MultiplicativeLR
from nabla.optim.lr_sequential import SequentialLR
from nabla.optim.optimizer import Optimizer, OptimizerError
from nabla.optim.plateau import ReduceLROnPlateau
from nabla.optim.scheduler import LRScheduler

__all__ = [
    "CosineAnnealingLR",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


class StepLR(LRScheduler):
    """Multiply the learning rates by ``gamma`` every ``step_size`` epochs.

    ``lr = initial_lr · gamma ** (epoch // step_size)`` when nothing else changes the rates.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates are scheduled.
    step_size : int
        Period of the decay, in epochs (>= 1).
    gamma : float, default 0.1
        Multiplicative factor of the decay.
    last_epoch : int, default -1
        See :class:`LRScheduler`.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from nabla.optim import SGD
    >>> opt = SGD([SimpleNamespace(data=np.zeros(1), grad=None)], lr=1.0)
    >>> scheduler = StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(scheduler.get_last_lr()[0])
    ...     scheduler.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise OptimizerError(f"StepLR: step_size must be an integer >= 1, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current rates, times ``gamma`` on a non-zero multiple of ``step_size``."""
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [lr * self.gamma ** (self.last_epoch // self.step_size) for lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the learning rates by ``gamma`` every epoch: ``lr = initial_lr · gamma ** epoch``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates are scheduled.
    gamma : float
        Multiplicative factor of the decay.
    last_epoch : int, default -1
        See :class:`LRScheduler`.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from nabla.optim import SGD
    >>> opt = SGD([SimpleNamespace(data=np.zeros(1), grad=None)], lr=1.0)
    >>> scheduler = ExponentialLR(opt, gamma=0.5)
    >>> scheduler.step()
    >>> scheduler.step()
    >>> scheduler.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current rates times ``gamma`` (unchanged on the initial step)."""
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [lr * self.gamma**self.last_epoch for lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rates along a half cosine from ``initial_lr`` to ``eta_min``.

    The closed form, for epoch ``t``, is::

        lr_t = eta_min + (initial_lr - eta_min) · (1 + cos(π · t / T_max)) / 2

    Past ``T_max`` the cosine continues (the rate rises again). As in PyTorch the rates are
    computed recursively from the current ones, so changes made by other schedulers compose::

        lr_t = eta_min + (lr_{t-1} - eta_min) · (1 + cos(π t / T_max)) / (1 + cos(π (t-1) / T_max))

    with the closed-form increment where that denominator is zero.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates are scheduled.
    T_max : int
        Number of epochs of the half period (>= 1).
    eta_min : float, default 0
        The smallest learning rate.
    last_epoch : int, default -1
        See :class:`LRScheduler`.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from nabla.optim import SGD
    >>> opt = SGD([SimpleNamespace(data=np.zeros(1), grad=None)], lr=1.0)
    >>> scheduler = CosineAnnealingLR(opt, T_max=2)
    >>> lrs = []
    >>> for epoch in range(3):
    ...     lrs.append(round(scheduler.get_last_lr()[0], 12))
    ...     scheduler.step()
    >>> lrs
    [1.0, 0.5, 0.0]
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise OptimizerError(
                f"CosineAnnealingLR: T_max must be an integer >= 1, got {T_max!r}"
            )
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The next rates of the recursive cosine schedule."""
        if self._is_initial:
            return self._current_lrs()
        epoch, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if (epoch - 1 - period) % (2 * period) == 0:
            # the previous epoch sat at the bottom of the cosine: 1 + cos(...) = 0 there
            increment = (1 - math.cos(math.pi / period)) / 2
            return [
                lr + (base_lr - eta_min) * increment
                for base_lr, lr in zip(self.base_lrs, self._current_lrs(), strict=True)
            ]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (
            1 + math.cos(math.pi * (epoch - 1) / period)
        )
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (lr - self.eta_min) * cosine for lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rates by ``gamma`` at each milestone epoch (``gamma ** k`` for a milestone
    listed ``k`` times).

    Parameters
    ----------
    optimizer : Optimizer
    milestones : iterable of int
        Epochs at which to decay.
    gamma : float, default 0.1
    last_epoch : int, default -1
        See :class:`LRScheduler`.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from nabla.optim import SGD
    >>> opt = SGD([SimpleNamespace(data=np.zeros(1), grad=None)], lr=1.0)
    >>> scheduler = MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(4):
    ...     lrs.append(scheduler.get_last_lr()[0])
    ...     scheduler.step()
    >>> lrs
    [1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current rates, times ``gamma ** count`` on a milestone."""
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [lr * self.gamma**passed for lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the rates by a factor going linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs, then constant.

    Parameters
    ----------
    optimizer : Optimizer
    start_factor : float, default 1/3
        In (0, 1].
    end_factor : float, default 1.0
        In [0, 1].
    total_iters : int, default 5
    last_epoch : int, default -1
        See :class:`LRScheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current rates times the ratio of this epoch's factor to the previous one's."""
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (
            self.total_iters * self.start_factor + (self.last_epoch - 1) * change
        )
        return [lr * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [lr * factor for lr in self.base_lrs]
