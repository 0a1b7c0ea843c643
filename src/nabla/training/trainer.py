"""The training loop: mini-batch SGD over epochs, validation, and exact-resume checkpoints.

A checkpoint holds everything that decides the rest of a run: weights, optimizer and scheduler
state, nabla's global generator (dropout), the data loader's generator (batch order), the
metrics so far and a fingerprint of the settings. Resuming from it replays the remaining epochs
with the same arithmetic, so a run killed at any point and resumed ends with weights bitwise
equal to an uninterrupted run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nabla import creation
from nabla.autograd.mode import no_grad
from nabla.errors import NablaError
from nabla.nn.models import classification_loss
from nabla.nn.module import Module
from nabla.tensor import Tensor
from nabla.training.callbacks import Callback


@dataclass
class EpochMetrics:
    """What one epoch measured (losses are means over samples)."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    lr: float
    seconds: float


def _predicted_classes(logits: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if logits.ndim == 2 and logits.shape[1] == 1:
        return (logits[:, 0] > 0).astype(np.int64)
    classes: np.ndarray[Any, Any] = logits.argmax(axis=1)
    return classes


def predict_classes(
    model: Module, X: np.ndarray[Any, Any], batch_size: int = 4096
) -> np.ndarray[Any, Any]:
    """The class ``model`` predicts for each row of X, in eval mode, without a graph."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            parts = [
                _predicted_classes(model(Tensor(X[start : start + batch_size])).data)
                for start in range(0, len(X), batch_size)
            ]
    finally:
        model.train(was_training)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def evaluate_loss_accuracy(
    model: Module,
    X: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    loss_fn: Callable[[Tensor, Any], Tensor] = classification_loss,
    batch_size: int = 4096,
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on (X, y), in eval mode, without a graph."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    try:
        with no_grad():
            for start in range(0, len(X), batch_size):
                xb, yb = X[start : start + batch_size], y[start : start + batch_size]
                logits = model(Tensor(xb))
                total_loss += float(loss_fn(logits, yb).item()) * len(xb)
                correct += int((_predicted_classes(logits.data) == yb).sum())
    finally:
        model.train(was_training)
    n = max(len(X), 1)
    return total_loss / n, correct / n


class Trainer:
    """Train a classifier with an optimizer over a DataLoader, with optional checkpoints.

    Parameters
    ----------
    model : Module
        Returns logits.
    optimizer : nabla.optim.Optimizer
    loader : nabla.data.DataLoader
        Training batches (X, y) of NumPy arrays.
    scheduler : optional
        A learning-rate scheduler, stepped once per epoch (``ReduceLROnPlateau`` with the
        validation loss, or the training loss without validation data).
    val_data : (X, y), optional
    loss_fn : callable
        ``loss_fn(logits, y)``; defaults to the fused classification loss.
    checkpoint_path : path, optional
        Where checkpoints go; written atomically every ``checkpoint_every`` epochs and at the end.
    fingerprint : dict
        Settings that a resumed run must share (checked on resume).
    progress : bool
        Show a tqdm progress bar (when tqdm is installed and stderr is a terminal).
    log : callable, optional
        Receives one line of text per epoch.
    on_step : callable, optional
        Called as ``on_step(step, loss)`` after every optimizer step.
    callbacks : sequence of Callback, optional
        Hooks called at the start and end of ``fit``, after each backward (before the
        optimizer step) and at the end of each epoch, e.g. ``LayerMonitor()``.
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
        checkpoint_path: str | Path | None = None,
        checkpoint_every: int = 0,
        fingerprint: dict[str, Any] | None = None,
        progress: bool = True,
        log: Callable[[str], None] | None = None,
        on_step: Callable[[int, float], None] | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.model, self.optimizer, self.loader = model, optimizer, loader
        self.scheduler, self.val_data = scheduler, val_data
        # a model's own loss (LogisticRegression's) unless one is given
        default_loss: Callable[[Tensor, Any], Tensor] = getattr(model, "loss", classification_loss)
        self.loss_fn = loss_fn or default_loss
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.checkpoint_every = int(checkpoint_every)
        self.fingerprint = fingerprint or {}
        self.progress, self.log, self.on_step = progress, log, on_step
        self.callbacks = list(callbacks)
        self.global_step = 0
        self.history: list[EpochMetrics] = []
        self.epoch = 0
        self.samples_seen = 0
        self.train_seconds = 0.0

    # ----- checkpoints ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "format": "nabla-checkpoint",
            "epoch": self.epoch,
            "model": dict(self.model.state_dict()),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "rng": creation.get_rng_state(),
            "loader": self.loader.state_dict(),
            "history": [asdict(m) for m in self.history],
            "fingerprint": self.fingerprint,
            "samples_seen": self.samples_seen,
            "train_seconds": self.train_seconds,
        }

    def save_checkpoint(self) -> None:
        from nabla.io import save_checkpoint

        assert self.checkpoint_path is not None
        save_checkpoint(self.checkpoint_path, self.state())

    def load_checkpoint(self, path: str | Path | None = None) -> None:
        """Restore every piece of state from a checkpoint written by :meth:`save_checkpoint`."""
        from nabla.io import load_checkpoint

        path = Path(path) if path is not None else self.checkpoint_path
        if path is None or not path.exists():
            raise NablaError(f"cannot resume: no checkpoint at {path}")
        state = load_checkpoint(path)
        if state.get("format") != "nabla-checkpoint":
            raise NablaError(f"{path}: not a nabla training checkpoint")
        saved = state.get("fingerprint", {})
        changed = {k: (saved.get(k), v) for k, v in self.fingerprint.items() if saved.get(k) != v}
        if changed:
            details = ", ".join(f"{k}: {a!r} → {b!r}" for k, (a, b) in changed.items())
            raise NablaError(
                f"cannot resume from {path}: the settings differ from the checkpointed run "
                f"({details})"
            )
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

    # ----- the loop ---------------------------------------------------------------------------
    def _progress_bar(self, epochs: int) -> Any:
        if not self.progress:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        steps = len(self.loader)
        return tqdm(
            total=epochs * steps,
            initial=self.epoch * steps,
            unit="batch",
            file=sys.stderr,
            dynamic_ncols=True,
            disable=None,  # off when stderr is not a terminal
            leave=False,
        )

    def fit(self, epochs: int) -> list[EpochMetrics]:
        """Train until ``epochs`` epochs are done (counting epochs restored from a checkpoint)."""
        bar = self._progress_bar(epochs)
        for callback in self.callbacks:
            callback.on_fit_begin(self)
        try:
            while self.epoch < epochs:
                self._run_epoch(bar, epochs)
                last = self.epoch == epochs
                every = self.checkpoint_every
                if self.checkpoint_path is not None and (
                    (every and self.epoch % every == 0) or last
                ):
                    self.save_checkpoint()
        finally:
            if bar is not None:
                bar.close()
        for callback in self.callbacks:
            callback.on_fit_end(self)
        return self.history

    def _run_epoch(self, bar: Any, epochs: int) -> None:
        model, optimizer = self.model, self.optimizer
        model.train()
        started = time.perf_counter()
        total_loss, correct, seen = 0.0, 0, 0
        for step, (xb, yb) in enumerate(self.loader):
            logits = model(Tensor(xb))
            loss = self.loss_fn(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            for callback in self.callbacks:
                callback.on_after_backward(self)
            optimizer.step()
            n = len(xb)
            value = float(loss.item())
            self.global_step += 1
            if self.on_step is not None:
                self.on_step(self.global_step, value)
            total_loss += value * n
            correct += int((_predicted_classes(logits.data) == yb).sum())
            seen += n
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix(
                        epoch=f"{self.epoch + 1}/{epochs}",
                        loss=f"{total_loss / seen:.4f}",
                        acc=f"{correct / seen:.4f}",
                        refresh=False,
                    )
        seconds = time.perf_counter() - started
        self.epoch += 1
        self.samples_seen += seen
        self.train_seconds += seconds
        train_loss, train_acc = total_loss / max(seen, 1), correct / max(seen, 1)
        val_loss = val_acc = None
        if self.val_data is not None and len(self.val_data[0]):
            val_loss, val_acc = evaluate_loss_accuracy(model, *self.val_data, self.loss_fn)
        lr = float(optimizer.param_groups[0]["lr"])
        if self.scheduler is not None:
            if type(self.scheduler).__name__ == "ReduceLROnPlateau":
                self.scheduler.step(val_loss if val_loss is not None else train_loss)
            else:
                self.scheduler.step()
        metrics = EpochMetrics(self.epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds)
        self.history.append(metrics)
        if self.log is not None:
            val = "" if val_loss is None else f"  val loss {val_loss:.4f} acc {val_acc:.4f}"
            self.log(
                f"epoch {self.epoch}/{epochs}  loss {train_loss:.4f} acc {train_acc:.4f}{val}"
            )
        for callback in self.callbacks:
            callback.on_epoch_end(self, metrics)
