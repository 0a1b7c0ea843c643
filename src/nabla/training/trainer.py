"""The training loop: mini-batch SGD over epochs, validation, and exact-resume checkpoints.

A checkpoint holds everything that decides the rest of a run: weights, optimizer and scheduler
state, nabla's global generator (dropout), the data loader's generator (batch order), the
metrics so far and a fingerprint of the settings. Resuming from it replays the remaining epochs
with the same arithmetic, so a run killed at any point and resumed ends with weights bitwise
equal to an uninterrupted run. Ctrl-C during :meth:`Trainer.fit` finishes the current step,
writes a mid-epoch checkpoint (the loader's position and the epoch's partial sums included) and
raises :class:`~nabla.training.interrupt.TrainingInterrupted`; resuming from it is exact too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nabla import creation
from nabla.errors import NablaError
from nabla.nn.models import classification_loss
from nabla.nn.module import Module
from nabla.tensor import Tensor
from nabla.training.callbacks import Callback, progress_bar
from nabla.training.config_fields import fingerprint_changes
from nabla.training.early_stopping import early_stopping_for
from nabla.training.evaluation import (
    RegressionLoss,
    evaluate_loss_accuracy,
    evaluate_regression,
    predicted_classes,
)
from nabla.training.interrupt import InterruptFlag, TrainingInterrupted

TASKS = ("classification", "regression")


class TrainingDiverged(NablaError):
    """The training loss became NaN or infinite: the weights are no longer usable."""


@dataclass
class EpochMetrics:
    """What one epoch measured (losses are means over samples; accuracies None in regression)."""

    epoch: int
    train_loss: float
    train_accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    lr: float
    seconds: float


class Trainer:
    """Train a classifier or a regressor with an optimizer over a DataLoader, with checkpoints.

    Parameters
    ----------
    model : Module
        Returns logits (classification) or one output column per target (regression).
    optimizer : nabla.optim.Optimizer
    loader : nabla.data.DataLoader
        Training batches (X, y) of NumPy arrays.
    scheduler : optional
        Stepped once per epoch (``ReduceLROnPlateau`` with the validation loss, else the
        training loss).
    val_data : (X, y), optional
    loss_fn : callable
        ``loss_fn(output, y)``; defaults to the model's own loss or the fused classification
        loss, and to mean squared error (:class:`RegressionLoss`) in regression.
    task : {"classification", "regression"}
        Regression records no accuracies (None in :class:`EpochMetrics`).
    patience : int
        Early stopping (0: off): stop after ``patience`` epochs in a row without a strictly
        better ``monitor`` value, and at the end of the run (stopped or not) restore the best
        epoch's weights. Needs ``val_data``.
    monitor : {"val_loss", "val_accuracy"}
        What early stopping watches (lower loss, higher accuracy is better).
    checkpoint_path : path, optional
        Where checkpoints go; written atomically every ``checkpoint_every`` epochs, at the end,
        and when interrupted.
    fingerprint : dict
        Settings that a resumed run must share (checked on resume).
    progress : bool
        Show a tqdm progress bar (when tqdm is installed and stderr is a terminal).
    log : callable, optional
        Receives one line of text per epoch, and the reason early stopping stopped.
    on_step : callable, optional
        Called as ``on_step(step, loss)`` after every optimizer step.
    callbacks : sequence of Callback, optional
        Hooks at the start and end of ``fit``, after each backward (before the optimizer
        step) and at each epoch's end, e.g. ``LayerMonitor()``.

    Attributes
    ----------
    history : list of EpochMetrics
    epoch, global_step : int
        Epochs and optimizer steps done (restored epochs included).
    planned_epochs : int
        The ``epochs`` of the last :meth:`fit` (kept in the checkpoint).
    best_epoch : int or None
        The epoch whose weights early stopping keeps (None without early stopping).
    stopped_early : bool
        Whether patience ran out.
    stop_reason : str or None
        After :meth:`fit`, one line on how the run ended (also when it was interrupted).
    interrupt : InterruptFlag
        SIGINT sets it during :meth:`fit`; ``trainer.interrupt.request()`` does the same.
    """

    def __init__(
        self,
        model: Module,
        optimizer: Any,
        loader: Any,
        *,
        scheduler: Any = None,
        val_data: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None,
        loss_fn: Callable[[Tensor, Any], Tensor] | None = None,
        task: str = "classification",
        patience: int = 0,
        monitor: str = "val_loss",
        checkpoint_path: str | Path | None = None,
        checkpoint_every: int = 0,
        fingerprint: dict[str, Any] | None = None,
        progress: bool = True,
        log: Callable[[str], None] | None = None,
        on_step: Callable[[int, float], None] | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if task not in TASKS:
            raise NablaError(f"Trainer: task must be one of {TASKS}, got {task!r}")
        self.model, self.optimizer, self.loader = model, optimizer, loader
        self.scheduler, self.val_data, self.task = scheduler, val_data, task
        # a model's own loss (LogisticRegression's) unless one is given
        default_loss: Callable[[Tensor, Any], Tensor] = (
            getattr(model, "loss", classification_loss)
            if task == "classification"
            else RegressionLoss("mse")
        )
        self.loss_fn = loss_fn or default_loss
        self.early_stopping = early_stopping_for(patience, monitor, task, val_data)
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.checkpoint_every = int(checkpoint_every)
        self.fingerprint = fingerprint or {}
        self.progress, self.log, self.on_step = progress, log, on_step
        self.callbacks = list(callbacks)
        self.interrupt = InterruptFlag()
        self.global_step = self.epoch = self.planned_epochs = self.samples_seen = 0
        self.history: list[EpochMetrics] = []
        self.train_seconds = 0.0
        self.stop_reason: str | None = None
        # the sums of an epoch interrupted part-way, restored from its checkpoint
        self._partial: dict[str, Any] | None = None

    @property
    def best_epoch(self) -> int | None:
        return None if self.early_stopping is None else self.early_stopping.best_epoch

    @property
    def stopped_early(self) -> bool:
        return self.early_stopping is not None and self.early_stopping.stopped

    # ----- checkpoints ----------------------------------------------------------------------
    def state(self, partial: dict[str, Any] | None = None) -> dict[str, Any]:
        """Everything a checkpoint holds; ``partial``: the sums of an epoch stopped part-way
        (the loader then records its position in the epoch)."""
        stopping = self.early_stopping
        return {
            "format": "nabla-checkpoint",
            "epoch": self.epoch,
            "model": dict(self.model.state_dict()),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "rng": creation.get_rng_state(),
            "loader": self.loader.state_dict(mid_epoch=True)
            if partial is not None
            else self.loader.state_dict(),
            "history": [asdict(m) for m in self.history],
            "fingerprint": self.fingerprint,
            "samples_seen": self.samples_seen,
            "train_seconds": self.train_seconds,
            "global_step": self.global_step,
            "planned_epochs": self.planned_epochs,
            "early_stopping": None if stopping is None else stopping.state_dict(),
            "partial": partial,
        }

    def save_checkpoint(self, partial: dict[str, Any] | None = None) -> None:
        from nabla.io import save_checkpoint

        assert self.checkpoint_path is not None
        save_checkpoint(self.checkpoint_path, self.state(partial))

    def load_checkpoint(self, path: str | Path | None = None) -> None:
        """Restore every piece of state from a checkpoint written by :meth:`save_checkpoint`
        (older ones, without early stopping or a partial epoch, load with their defaults)."""
        from nabla.io import load_checkpoint

        path = Path(path) if path is not None else self.checkpoint_path
        if path is None or not path.exists():
            raise NablaError(f"cannot resume: no checkpoint at {path}")
        state = load_checkpoint(path)
        if state.get("format") != "nabla-checkpoint":
            raise NablaError(f"{path}: not a nabla training checkpoint")
        details = fingerprint_changes(state.get("fingerprint", {}), self.fingerprint)
        if details:
            raise NablaError(
                f"cannot resume from {path}: the settings differ from the checkpointed run "
                f"({details})"
            )
        self.load_state(state)

    def load_state(self, state: dict[str, Any]) -> None:  # a checkpoint's, checked
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        creation.set_rng_state(state["rng"])
        self.loader.load_state_dict(state["loader"])
        self.history = [EpochMetrics(**m) for m in state["history"]]
        self.epoch = int(state["epoch"])
        self.samples_seen = int(state.get("samples_seen", 0))
        self.train_seconds = float(state.get("train_seconds", 0.0))
        self.global_step = int(state.get("global_step", self.epoch * len(self.loader)))
        self.planned_epochs = int(state.get("planned_epochs", self.epoch))
        stopping = state.get("early_stopping")
        if self.early_stopping is not None and stopping is not None:
            self.early_stopping.load_state_dict(stopping)
        self._partial = state.get("partial")

    # ----- the loop ---------------------------------------------------------------------------
    def _progress_bar(self, epochs: int) -> Any:
        steps = len(self.loader)
        done = self.epoch * steps + (self._partial["step"] if self._partial else 0)
        return progress_bar(self.progress, total=epochs * steps, done=done)

    def fit(self, epochs: int) -> list[EpochMetrics]:
        """Train until ``epochs`` epochs are done (counting epochs restored from a checkpoint).

        A larger ``epochs`` than the run was fitted with extends it (a finished run trains on;
        after early stopping, from the restored best weights with the patience counter reset).
        A run that stopped early and is fitted again with no more epochs does nothing. After
        :class:`TrainingInterrupted`, calling ``fit`` again continues where it stopped.

        Raises
        ------
        TrainingInterrupted
            After Ctrl-C (or ``self.interrupt.request()``): once the current optimizer step is
            done, with a checkpoint written when ``checkpoint_path`` is set.
        """
        stopping = self.early_stopping
        if stopping is not None and stopping.stopped and epochs > self.planned_epochs:
            stopping.extend()
        if not self.stopped_early:
            self.planned_epochs = epochs
        self.interrupt.clear()
        bar = self._progress_bar(self.planned_epochs)
        for callback in self.callbacks:
            callback.on_fit_begin(self)
        try:
            # overflow on the way to a non-finite loss is reported once, as TrainingDiverged
            with self.interrupt.catching(), np.errstate(over="ignore", invalid="ignore"):
                while self.epoch < self.planned_epochs and not self.stopped_early:
                    self._run_epoch(bar)
                    self._end_epoch()
        except TrainingInterrupted as stop:
            self.stop_reason = str(stop)
            raise
        finally:
            if bar is not None:
                bar.close()
        self.stop_reason = (
            f"trained {self.epoch} epochs"
            if stopping is None
            else stopping.reason(self.epoch, self.planned_epochs)
        )
        for callback in self.callbacks:
            callback.on_fit_end(self)
        return self.history

    def _end_epoch(self) -> None:
        """Early stopping, the checkpoint, and an interrupt that came after the last step."""
        stopping = self.early_stopping
        stop = stopping is not None and stopping.update(self.history[-1], self.model)
        last = stop or self.epoch >= self.planned_epochs
        if last and stopping is not None:
            stopping.restore(self.model)  # the checkpoint then holds the weights kept
            if stop and self.log is not None:
                self.log(stopping.reason(self.epoch, self.planned_epochs))
        every, path = self.checkpoint_every, self.checkpoint_path
        saved = path is not None and (bool(every and self.epoch % every == 0) or last)
        if saved:
            self.save_checkpoint()
        if self._stop_requested() and not last:
            if path is not None and not saved:
                self.save_checkpoint()
            raise TrainingInterrupted(self.epoch, 0, self.global_step, self.checkpoint_path)

    def _run_epoch(self, bar: Any) -> None:
        model, optimizer, flag = self.model, self.optimizer, self.interrupt
        classify = self.task == "classification"
        model.train()
        partial, self._partial = self._partial, None
        first, total_loss, correct, seen, spent = 0, 0.0, 0, 0, 0.0
        if partial is not None:  # the rest of an epoch interrupted part-way
            first, total_loss = int(partial["step"]), float(partial["loss"])
            correct, seen = int(partial["correct"]), int(partial["seen"])
            spent = float(partial["seconds"])
        n_batches = len(self.loader)
        started = time.perf_counter() - spent
        for step, (xb, yb) in enumerate(self.loader, first):
            logits = model(Tensor(xb))
            loss = self.loss_fn(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            for callback in self.callbacks:
                callback.on_after_backward(self)
            optimizer.step()
            n = len(xb)
            value = float(loss.item())
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"the training loss became {value} at step {step + 1} of epoch "
                    f"{self.epoch + 1}: training diverged; lower the learning rate (now "
                    f"{optimizer.param_groups[0]['lr']:g}) or use another optimizer"
                )
            self.global_step += 1
            if self.on_step is not None:
                self.on_step(self.global_step, value)
            total_loss += value * n
            if classify:
                correct += int((predicted_classes(logits.data) == yb).sum())
            seen += n
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    shown = {"acc": f"{correct / seen:.4f}"} if classify else {}
                    bar.set_postfix(
                        epoch=f"{self.epoch + 1}/{self.planned_epochs}",
                        loss=f"{total_loss / seen:.4f}",
                        refresh=False,
                        **shown,
                    )
            if flag.requested and step + 1 < n_batches:  # the last step ends the epoch first
                sums = {"loss": total_loss, "correct": correct, "seen": seen}
                self._stop_mid_epoch(step + 1, sums, time.perf_counter() - started)
        seconds = time.perf_counter() - started
        self.epoch += 1
        self.samples_seen += seen
        self.train_seconds += seconds
        self._record_epoch(total_loss / max(seen, 1), correct / max(seen, 1), seconds)

    def _stop_mid_epoch(self, step: int, sums: dict[str, Any], seconds: float) -> None:
        partial = {"step": step, **sums, "seconds": seconds}
        if self.checkpoint_path is not None:
            self.save_checkpoint(partial)
        # calling fit again (in a notebook, say) finishes this epoch, as a resume would
        self._partial = partial
        self.loader.load_state_dict(self.loader.state_dict(mid_epoch=True))
        raise TrainingInterrupted(self.epoch, step, self.global_step, self.checkpoint_path)

    def _record_epoch(self, train_loss: float, train_acc: float, seconds: float) -> None:
        optimizer, classify = self.optimizer, self.task == "classification"
        val_loss, val_acc = self._validate()
        lr = float(optimizer.param_groups[0]["lr"])
        if self.scheduler is not None:
            if type(self.scheduler).__name__ == "ReduceLROnPlateau":
                self.scheduler.step(val_loss if val_loss is not None else train_loss)
            else:
                self.scheduler.step()
        accuracy = train_acc if classify else None
        metrics = EpochMetrics(self.epoch, train_loss, accuracy, val_loss, val_acc, lr, seconds)
        self.history.append(metrics)
        if self.log is not None:
            epochs = self.planned_epochs
            acc = f" acc {train_acc:.4f}" if classify else ""
            val = "" if val_loss is None else f"  val loss {val_loss:.4f}"
            val += "" if val_acc is None else f" acc {val_acc:.4f}"
            self.log(f"epoch {self.epoch}/{epochs}  loss {train_loss:.4f}{acc}{val}")
        for callback in self.callbacks:
            callback.on_epoch_end(self, metrics)

    def _validate(self) -> tuple[float | None, float | None]:
        """Validation loss and accuracy (None without validation rows; accuracy in regression)."""
        if self.val_data is None or not len(self.val_data[0]):
            return None, None
        if self.task == "classification":
            return evaluate_loss_accuracy(self.model, *self.val_data, self.loss_fn)
        return evaluate_regression(self.model, *self.val_data, self.loss_fn)[0], None

    def _stop_requested(self) -> bool:
        """Whether Ctrl-C asked to stop (at an epoch's end; distributed: agreed by every rank)."""
        return self.interrupt.requested
