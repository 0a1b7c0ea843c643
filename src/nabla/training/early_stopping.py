"""Early stopping: watch a validation metric, keep the best epoch's weights, stop when it stalls.

The :class:`~nabla.training.Trainer` owns one :class:`EarlyStopping` when ``patience > 0``; its
state (including a copy of the best weights) goes into every checkpoint, so a resumed run
counts on exactly where the interrupted one was.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla._typing import Array
from nabla.errors import NablaError

if TYPE_CHECKING:
    from nabla.nn.module import Module
    from nabla.training.trainer import EpochMetrics

#: what can be monitored, and whether a larger value is better
MONITORS = {"val_loss": False, "val_accuracy": True}


class EarlyStopping:
    """Track the best value of ``monitor`` over epochs and when to stop.

    An epoch improves when its value is strictly better than the best so far (lower loss,
    higher accuracy); a NaN never improves. After ``patience`` epochs in a row without an
    improvement, :meth:`update` says stop. The best epoch's parameters and buffers are copied
    when it happens, and :meth:`restore` writes them back into the model.

    Parameters
    ----------
    patience : int
        Epochs without improvement tolerated before stopping; at least 1.
    monitor : {"val_loss", "val_accuracy"}
        The :class:`~nabla.training.trainer.EpochMetrics` field to watch.

    Attributes
    ----------
    best : float or None
        The best value so far (None before the first finite one).
    best_epoch : int or None
        The (1-based) epoch that reached it.
    bad_epochs : int
        Epochs since the last improvement.
    stopped : bool
        Whether patience ran out (until :meth:`extend` resets it).
    """

    def __init__(self, patience: int, monitor: str = "val_loss") -> None:
        if monitor not in MONITORS:
            raise NablaError(
                f"early stopping: monitor must be one of {sorted(MONITORS)}, got {monitor!r}"
            )
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise NablaError(f"early stopping: patience must be an int >= 1, got {patience!r}")
        self.patience, self.monitor = patience, monitor
        self.higher_is_better = MONITORS[monitor]
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.stopped = False
        self.best_state: dict[str, Array] | None = None

    def improves(self, value: float | None) -> bool:
        """Whether ``value`` is strictly better than the best so far."""
        if value is None or math.isnan(value):
            return False
        if self.best is None:
            return True
        return value > self.best if self.higher_is_better else value < self.best

    def update(self, metrics: EpochMetrics, model: Module) -> bool:
        """Record an epoch's metrics (copying the weights when it is the best); True: stop."""
        value = getattr(metrics, self.monitor)
        if value is None:
            raise NablaError(
                f"early stopping monitors {self.monitor}, but epoch {metrics.epoch} has none "
                "(no validation data?)"
            )
        if self.improves(value):
            self.best, self.best_epoch, self.bad_epochs = float(value), metrics.epoch, 0
            self.best_state = {k: np.array(v, copy=True) for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1
        self.stopped = self.bad_epochs >= self.patience
        return self.stopped

    def restore(self, model: Module) -> bool:
        """Write the best epoch's weights into ``model`` (copied in); False when there are none."""
        if self.best_state is None:
            return False
        model.load_state_dict({k: v.copy() for k, v in self.best_state.items()})
        return True

    def extend(self) -> None:
        """Let a stopped run train on (``fit`` with more epochs): the patience counter restarts
        from zero; the best value and weights stay, so only a strictly better epoch replaces
        them."""
        self.bad_epochs, self.stopped = 0, False

    def reason(self, epoch: int, planned: int) -> str:
        """One line on why the run ended after ``epoch`` of ``planned`` epochs."""
        if self.best_epoch is None:
            best = f"no epoch had a finite {self.monitor}, kept the last weights"
        else:
            best = f"restored epoch {self.best_epoch} ({self.monitor} {self.best:.6g})"
        if self.stopped:
            return (
                f"early stopping after epoch {epoch}: {self.monitor} did not improve for "
                f"{self.patience} epochs; {best}"
            )
        return f"trained all {planned} epochs; {best}"

    # ----- checkpoints ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "patience": self.patience,
            "monitor": self.monitor,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "stopped": self.stopped,
            "best_state": self.best_state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (the settings are the trainer's, not checked)."""
        best = state.get("best")
        self.best = None if best is None else float(best)
        best_epoch = state.get("best_epoch")
        self.best_epoch = None if best_epoch is None else int(best_epoch)
        self.bad_epochs = int(state.get("bad_epochs", 0))
        self.stopped = bool(state.get("stopped", False))
        saved = state.get("best_state")
        self.best_state = None if saved is None else {k: np.asarray(v) for k, v in saved.items()}


def early_stopping_for(
    patience: int, monitor: str, task: str, val_data: tuple[Any, Any] | None
) -> EarlyStopping | None:
    """The trainer's early stopping (None when ``patience`` is 0), checked against its data."""
    if patience == 0:
        return None
    if val_data is None or not len(val_data[0]):
        raise NablaError(
            f"early stopping (patience {patience}) watches {monitor}, which needs validation "
            "data (val_data), and there is none"
        )
    if task == "regression" and monitor == "val_accuracy":
        raise NablaError("Trainer: regression has no val_accuracy to monitor; use val_loss")
    return EarlyStopping(patience, monitor)
