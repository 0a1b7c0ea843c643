"""Training: the epoch loop with exact-resume checkpoints, early stopping and a safe Ctrl-C,
classification and regression metrics, and the ``nabla train`` recipe (:class:`TrainConfig`
in, :class:`TrainRun` out)."""

from nabla.training.callbacks import Callback, LayerMonitor
from nabla.training.config import ConfigError, TrainConfig
from nabla.training.evaluation import (
    RegressionLoss,
    evaluate_loss_accuracy,
    evaluate_regression,
    predict_values,
)
from nabla.training.interrupt import TrainingInterrupted, deferred_interrupts
from nabla.training.metrics import (
    ClassificationReport,
    RegressionReport,
    accuracy,
    classification_report,
    confusion_matrix,
    regression_metrics,
    regression_report,
)
from nabla.training.recipe import TrainRun, train
from nabla.training.trainer import EpochMetrics, Trainer

__all__ = [
    "Callback",
    "ClassificationReport",
    "ConfigError",
    "EpochMetrics",
    "LayerMonitor",
    "RegressionLoss",
    "RegressionReport",
    "TrainConfig",
    "TrainRun",
    "Trainer",
    "TrainingInterrupted",
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "deferred_interrupts",
    "evaluate_loss_accuracy",
    "evaluate_regression",
    "predict_values",
    "regression_metrics",
    "regression_report",
    "train",
]
