"""Training: the epoch loop with exact-resume checkpoints, and classification metrics."""

from nabla.training.callbacks import Callback, LayerMonitor
from nabla.training.metrics import (
    ClassificationReport,
    accuracy,
    classification_report,
    confusion_matrix,
)
from nabla.training.trainer import EpochMetrics, Trainer, evaluate_loss_accuracy

__all__ = [
    "Callback",
    "ClassificationReport",
    "EpochMetrics",
    "LayerMonitor",
    "Trainer",
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "evaluate_loss_accuracy",
]
