"""Training: the epoch loop with exact-resume checkpoints, classification metrics, and the
``nabla train`` recipe (:class:`TrainConfig` in, :class:`TrainRun` out)."""

from nabla.training.callbacks import Callback, LayerMonitor
from nabla.training.config import ConfigError, TrainConfig
from nabla.training.metrics import (
    ClassificationReport,
    accuracy,
    classification_report,
    confusion_matrix,
)
from nabla.training.recipe import TrainRun, train
from nabla.training.trainer import EpochMetrics, Trainer, evaluate_loss_accuracy

__all__ = [
    "Callback",
    "ClassificationReport",
    "ConfigError",
    "EpochMetrics",
    "LayerMonitor",
    "TrainConfig",
    "TrainRun",
    "Trainer",
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "evaluate_loss_accuracy",
    "train",
]
