"""Classification metrics from predicted and true class ids, and regression metrics from
predicted and true values (NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nabla.errors import DataError


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


def _regression_arrays(
    y_true: Any, y_pred: Any
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Both arrays as float64 of shape (n_samples, n_outputs); (n,) and (n, 1) mix freely."""
    arrays = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"regression metrics: {name} is not numeric ({exc})") from exc
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise DataError(
                f"regression metrics: {name} has shape {array.shape}; "
                "expected (n_samples,) or (n_samples, n_outputs)"
            )
        arrays.append(array)
    true, pred = arrays
    if true.shape != pred.shape:
        raise DataError(
            f"regression metrics: y_true has shape {np.shape(y_true)} and y_pred has shape "
            f"{np.shape(y_pred)}; they must match"
        )
    return true, pred


def _r2(true: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> float:
    """R² = 1 − SS_res / SS_tot per output, averaged over outputs (scikit-learn's r2_score).

    A constant target (SS_tot = 0) scores 1.0 when predicted exactly, else 0.0 (scikit-learn's
    ``force_finite=True``). Constancy is tested exactly, so a constant 0.1 whose float mean is
    not exactly 0.1 still counts as constant (scikit-learn then divides by a rounding residue).
    With fewer than two samples R² is undefined: NaN, as in scikit-learn.
    """
    if len(true) < 2:
        return float("nan")
    ss_res = ((true - pred) ** 2).sum(axis=0)
    ss_tot = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
    constant = np.all(true == true[:1], axis=0) | (ss_tot == 0)
    scores = np.where(ss_res == 0, 1.0, 0.0)  # a constant target: exact or not
    varies = ~constant
    scores[varies] = 1.0 - ss_res[varies] / ss_tot[varies]
    return float(scores.mean())


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """RMSE, MAE and R² of predictions, as scikit-learn defines them, and the sample count.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True and predicted values; (n,) and (n, 1) are interchangeable. Computed in float64.

    Returns
    -------
    dict with ``"rmse"`` (√ mean (y − ŷ)²), ``"mae"`` (mean |y − ŷ|), ``"r2"`` (1 − SS_res /
    SS_tot; see :func:`_r2` for a constant target and a single sample) and ``"samples"``.
    With several outputs each metric is the plain mean of the per-output values (scikit-learn's
    ``multioutput="uniform_average"``). With no samples the three metrics are NaN.

    Examples
    --------
    >>> m = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    >>> round(m["rmse"], 4), round(m["mae"], 4), m["r2"], m["samples"]
    (1.1547, 0.6667, -1.0, 3)
    """
    true, pred = _regression_arrays(y_true, y_pred)
    if not len(true):
        nan = float("nan")
        return {"rmse": nan, "mae": nan, "r2": nan, "samples": 0}
    error = true - pred
    return {
        "rmse": float(np.sqrt((error**2).mean(axis=0)).mean()),
        "mae": float(np.abs(error).mean(axis=0).mean()),
        "r2": _r2(true, pred),
        "samples": len(true),
    }


@dataclass
class RegressionReport:
    """RMSE, MAE and R² of a regression model on one split, with the sample count."""

    rmse: float
    mae: float
    r2: float
    samples: int

    def to_text(self) -> str:
        """A small table, one metric a line::

        metric     value
        RMSE      0.5132
        ...
        """
        rows = [("RMSE", self.rmse), ("MAE", self.mae), ("R²", self.r2)]
        lines = [f"{'metric':<8}  {'value':>12}"]
        lines += [f"{name:<8}  {value:12.4f}" for name, value in rows]
        lines.append(f"{'samples':<8}  {self.samples:12d}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"rmse": self.rmse, "mae": self.mae, "r2": self.r2, "samples": self.samples}


def regression_report(y_true: Any, y_pred: Any) -> RegressionReport:
    """The :class:`RegressionReport` of predictions (see :func:`regression_metrics`)."""
    m = regression_metrics(y_true, y_pred)
    return RegressionReport(m["rmse"], m["mae"], m["r2"], m["samples"])
