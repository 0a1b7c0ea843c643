""":class:`SequentialLR`, as ``torch.optim.lr_scheduler``'s: schedulers one after another.

Import it from :mod:`nabla.optim.lr_scheduler` or :mod:`nabla.optim`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from nabla.autograd.hooks import replayable
from nabla.optim.optimizer import Optimizer
from nabla.optim.plateau import ReduceLROnPlateau
from nabla.optim.scheduler import LRScheduler

__all__ = ["SequentialLR"]


def _jump(scheduler: LRScheduler, epoch: int) -> None:
    """PyTorch's ``_update_lr(epoch)``: go to ``epoch`` by the closed form where there is one."""
    scheduler.last_epoch = epoch
    closed = getattr(scheduler, "_get_closed_form_lr", None)
    values = closed() if closed is not None else scheduler.get_lr()
    groups = scheduler.optimizer.param_groups
    for group, lr in zip(groups, values, strict=True):
        group["lr"] = lr
    scheduler._last_lr = [group["lr"] for group in groups]


def _initial_step(scheduler: LRScheduler) -> None:
    """PyTorch's ``_initial_step``: restart the step count and take the initial step again."""
    scheduler._step_count = 0
    scheduler._is_initial = True
    try:
        scheduler.step()
    finally:
        scheduler._is_initial = False


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the epochs in ``milestones``.

    At a milestone the next scheduler restarts at its epoch 0 (from its closed form where it has
    one, as PyTorch). The schedulers must share ``optimizer``.

    Parameters
    ----------
    optimizer : Optimizer
    schedulers : list of LRScheduler
    milestones : list of int
        ``len(schedulers) - 1`` increasing epochs.
    last_epoch : int, default -1

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from nabla.optim import SGD
    >>> from nabla.optim.lr_scheduler import ExponentialLR, LinearLR
    >>> opt = SGD([SimpleNamespace(data=np.zeros(1), grad=None)], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> scheduler = SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(scheduler.get_last_lr()[0])
    ...     scheduler.step()
    >>> lrs
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError("SequentialLR: expects at least one scheduler, got none")
        for position, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(
                    f"SequentialLR: the scheduler at index {position} has no optimizer"
                )
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(  # noqa: TRY004 (PyTorch's)
                    f"SequentialLR: the scheduler at index {position} is a ReduceLROnPlateau, "
                    "whose step needs a metric; it cannot be sequenced"
                )
            if scheduler.optimizer is not optimizer:
                raise ValueError(
                    f"SequentialLR: the scheduler at index {position} "
                    f"({type(scheduler).__name__}) belongs to another optimizer"
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expects one milestone fewer than schedulers, got "
                f"{len(schedulers)} schedulers and {len(milestones)} milestones"
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # undo the schedulers' initial steps
            group["lr"] = group["initial_lr"]
        self._recursive_undo(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        _initial_step(first)
        self._last_lr = first.get_last_lr()

    def _recursive_undo(self, scheduler: Any) -> None:
        if hasattr(scheduler, "_schedulers"):
            for inner in scheduler._schedulers:
                self._recursive_undo(inner)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    @replayable
    def step(self) -> None:
        """Step the scheduler of the current epoch (restarting it at its milestone)."""
        self.last_epoch += 1
        position = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[position]
        if position > 0 and self._milestones[position - 1] == self.last_epoch:
            _jump(scheduler, 0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """This scheduler's attributes, with each inner scheduler's state dict."""
        state = {
            key: list(value) if isinstance(value, list) else value
            for key, value in vars(self).items()
            if key not in ("optimizer", "_schedulers")
        }
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes and every inner scheduler's state."""
        inner = state_dict["_schedulers"]
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "_schedulers"})
        for scheduler, state in zip(self._schedulers, inner, strict=True):
            scheduler.load_state_dict(state)
