"""Evaluating a model without a graph: class predictions, loss and accuracy, regression
outputs and losses, for the trainer, the recipe and the commands that read a saved model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from nabla.autograd.mode import no_grad
from nabla.errors import NablaError
from nabla.nn import functional as F
from nabla.nn.models import classification_loss
from nabla.nn.module import Module
from nabla.tensor import Tensor

__all__ = [
    "REGRESSION_LOSSES",
    "RegressionLoss",
    "evaluate_loss_accuracy",
    "evaluate_regression",
    "predict_classes",
    "predict_values",
    "predicted_classes",
]

#: regression losses by the name ``--loss`` uses
REGRESSION_LOSSES: dict[str, Callable[..., Tensor]] = {
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "huber": F.huber_loss,
}


def predicted_classes(logits: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if logits.ndim == 2 and logits.shape[1] == 1:
        return (logits[:, 0] > 0).astype(np.int64)
    classes: np.ndarray[Any, Any] = logits.argmax(axis=1)
    return classes


@contextmanager
def _evaluating(model: Module) -> Iterator[None]:
    """Eval mode without a graph inside the block; the model's mode is restored after it."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train(was_training)


#: images are scored this many at a time: a convolution's patch matrix holds every pixel
#: kernel-size times (28 × 28 images, 24 channels, 3 × 3: about 0.7 MB a row)
IMAGE_ROWS = 256


def rows_per_batch(X: np.ndarray[Any, Any], batch_size: int) -> int:
    """The rows scored at once: ``batch_size``, or at most :data:`IMAGE_ROWS` for images."""
    return min(batch_size, IMAGE_ROWS) if X.ndim > 2 else batch_size


def _one_column(parts: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    """Batches of outputs joined; a single output column comes back as shape (n,)."""
    if not parts:
        return np.zeros(0, dtype=np.float32)
    out = np.concatenate(parts)
    return out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out


def predict_classes(
    model: Module, X: np.ndarray[Any, Any], batch_size: int = 4096
) -> np.ndarray[Any, Any]:
    """The class ``model`` predicts for each row of X, in eval mode, without a graph."""
    batch_size = rows_per_batch(X, batch_size)
    with _evaluating(model):
        parts = [
            predicted_classes(model(Tensor(X[start : start + batch_size])).data)
            for start in range(0, len(X), batch_size)
        ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def evaluate_loss_accuracy(
    model: Module,
    X: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    loss_fn: Callable[[Tensor, Any], Tensor] = classification_loss,
    batch_size: int = 4096,
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on (X, y), in eval mode, without a graph."""
    batch_size = rows_per_batch(X, batch_size)
    total_loss, correct = 0.0, 0
    with _evaluating(model):
        for start in range(0, len(X), batch_size):
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            logits = model(Tensor(xb))
            total_loss += float(loss_fn(logits, yb).item()) * len(xb)
            correct += int((predicted_classes(logits.data) == yb).sum())
    n = max(len(X), 1)
    return total_loss / n, correct / n


class RegressionLoss:
    """``loss(output, y)``: a regression loss of a model's output against targets of one value
    per row, shaped like the output ((n,) targets against an (n, 1) output, cast to its dtype).

    Parameters
    ----------
    name : {"mse", "mae", "huber"}
    delta : float
        Huber's threshold (``huber`` only).
    """

    def __init__(self, name: str = "mse", delta: float = 1.0) -> None:
        if name not in REGRESSION_LOSSES:
            raise NablaError(
                f"regression loss must be one of {sorted(REGRESSION_LOSSES)}, got {name!r}"
            )
        self.name, self.delta = name, delta

    def __call__(self, output: Tensor, target: Any) -> Tensor:
        y = np.asarray(getattr(target, "data", target), dtype=output.dtype)
        y = y.reshape(output.shape)
        if self.name == "huber":
            return F.huber_loss(output, y, delta=self.delta)
        return REGRESSION_LOSSES[self.name](output, y)

    def __repr__(self) -> str:
        return f"RegressionLoss({self.name!r})"


def predict_values(
    model: Module, X: np.ndarray[Any, Any], batch_size: int = 4096
) -> np.ndarray[Any, Any]:
    """The model's outputs for X in eval mode, without a graph; one column comes back as (n,)."""
    batch_size = rows_per_batch(X, batch_size)
    with _evaluating(model):
        parts = [
            model(Tensor(X[start : start + batch_size])).data
            for start in range(0, len(X), batch_size)
        ]
    return _one_column(parts)


def evaluate_regression(
    model: Module,
    X: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    loss_fn: Callable[[Tensor, Any], Tensor] | None = None,
    batch_size: int = 4096,
) -> tuple[float, np.ndarray[Any, Any]]:
    """Mean loss (NaN without rows) and the predictions of a regression model on (X, y).

    ``loss_fn`` (default mean squared error) is a mean over the rows of a batch, so the
    batches' losses weighted by their sizes give the mean over all rows. Predictions are the
    model's outputs (``(n,)`` for one output column), in the target's scale as trained.
    """
    batch_size = rows_per_batch(X, batch_size)
    loss_fn = loss_fn or RegressionLoss("mse")
    total_loss, parts = 0.0, []
    with _evaluating(model):
        for start in range(0, len(X), batch_size):
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            output = model(Tensor(xb))
            total_loss += float(loss_fn(output, yb).item()) * len(xb)
            parts.append(output.data)
    return total_loss / len(X) if len(X) else float("nan"), _one_column(parts)
