"""Classification metrics from predicted and true class ids (NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of predictions equal to the truth."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred)) if y_true.size else float("nan")


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray[Any, Any]:
    """C[i, j] = number of samples of true class i predicted as class j."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


@dataclass
class ClassificationReport:
    """Per-class precision, recall, F1 and support, with the confusion matrix."""

    class_names: list[str]
    precision: np.ndarray[Any, Any]
    recall: np.ndarray[Any, Any]
    f1: np.ndarray[Any, Any]
    support: np.ndarray[Any, Any]
    confusion: np.ndarray[Any, Any]
    accuracy: float

    def to_text(self) -> str:
        width = max([len(n) for n in self.class_names] + [12])
        lines = [f"{'class':>{width}}  precision  recall  f1-score  support"]
        for i, name in enumerate(self.class_names):
            lines.append(
                f"{name:>{width}}  {self.precision[i]:9.4f}  {self.recall[i]:6.4f}  "
                f"{self.f1[i]:8.4f}  {int(self.support[i]):7d}"
            )
        total = int(self.support.sum())
        lines.append(
            f"{'macro avg':>{width}}  {self.precision.mean():9.4f}  {self.recall.mean():6.4f}  "
            f"{self.f1.mean():8.4f}  {total:7d}"
        )
        lines.append(f"{'accuracy':>{width}}  {'':9}  {'':6}  {self.accuracy:8.4f}  {total:7d}")
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted class)")
        cell = max(len(str(int(self.confusion.max(initial=0)))), 3)
        header = (
            " " * width + "  " + " ".join(f"{j:>{cell}}" for j in range(len(self.class_names)))
        )
        lines.append(header)
        for i, name in enumerate(self.class_names):
            row = " ".join(f"{int(v):>{cell}}" for v in self.confusion[i])
            lines.append(f"{name:>{width}}  {row}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "classes": {
                name: {
                    "precision": float(self.precision[i]),
                    "recall": float(self.recall[i]),
                    "f1": float(self.f1[i]),
                    "support": int(self.support[i]),
                }
                for i, name in enumerate(self.class_names)
            },
            "confusion_matrix": self.confusion.tolist(),
        }


def classification_report(
    y_true: Any, y_pred: Any, class_names: list[str]
) -> ClassificationReport:
    """Precision = TP / predicted, recall = TP / actual, F1 their harmonic mean (0 when undefined)."""
    n = len(class_names)
    cm = confusion_matrix(y_true, y_pred, n)
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(n), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(n), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n), where=denom > 0)
    return ClassificationReport(
        class_names, precision, recall, f1, actual, cm, accuracy(y_true, y_pred)
    )
