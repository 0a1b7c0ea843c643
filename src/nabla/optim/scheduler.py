"""The scheduler base class: epoch counting, the initial step, and checkpoints.

A scheduler rewrites ``group["lr"]`` in its optimizer's parameter groups each time its
:meth:`~LRScheduler.step` is called, usually once per epoch after the optimizer's own steps.
Constructing one performs the initial step (``last_epoch`` goes from -1 to 0) and records each
group's starting rate as ``group["initial_lr"]``. Like PyTorch's, the schedules are chainable:
each step scales the current rate, so two schedulers on one optimizer multiply their effects.
The schedules themselves are in :mod:`nabla.optim.lr_scheduler`.
"""

from __future__ import annotations

from typing import Any

from nabla.autograd.hooks import replayable
from nabla.optim.optimizer import Optimizer, OptimizerError

__all__ = ["LRScheduler"]


class LRScheduler:
    """Base class of the schedulers: subclasses compute the next rates in :meth:`get_lr`.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose ``param_groups`` learning rates are scheduled.
    last_epoch : int, default -1
        Index of the last epoch seen. Leave at -1 to start; a value >= 0 resumes a schedule and
        needs ``initial_lr`` in every group (an optimizer restored from a checkpoint has it).

    Attributes
    ----------
    base_lrs : list of float
        Each group's ``initial_lr``.
    last_epoch : int
        Number of :meth:`step` calls since the start of the schedule (0 after construction).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for position, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise OptimizerError(
                        f"{type(self).__name__}: last_epoch={last_epoch} resumes a schedule, but "
                        f"param_groups[{position}] has no 'initial_lr'; load the optimizer's "
                        "state dict first, or start with last_epoch=-1"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True  # PyTorch's _initial_mode: some schedules skip the first step
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for epoch ``last_epoch``, one per parameter group."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr")

    @replayable
    def step(self) -> None:
        """Advance the schedule by one epoch and write the new rates into the optimizer."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (lists copied), as PyTorch saves schedulers."""
        return {
            key: list(value) if isinstance(value, list) else value
            for key, value in vars(self).items()
            if key != "optimizer"
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore attributes saved by :meth:`state_dict`."""
        vars(self).update(
            (key, list(value) if isinstance(value, list) else value)
            for key, value in state_dict.items()
        )

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]
