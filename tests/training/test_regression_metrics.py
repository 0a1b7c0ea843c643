"""Regression metrics against scikit-learn's mean_squared_error, mean_absolute_error, r2_score."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nabla.errors import DataError
from nabla.training.metrics import RegressionReport, regression_metrics, regression_report

metrics = pytest.importorskip("sklearn.metrics")


def _sklearn(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "rmse": float(metrics.root_mean_squared_error(y_true, y_pred)),
        "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
        "r2": float(metrics.r2_score(y_true, y_pred)),
    }


@pytest.mark.parametrize("n", [2, 3, 17, 1000])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_sklearn_on_random_data(
    rng: np.random.Generator, n: int, dtype: type[np.floating]
) -> None:
    y_true = (rng.standard_normal(n) * 3 + 5).astype(dtype)
    y_pred = (y_true + rng.standard_normal(n)).astype(dtype)
    ours = regression_metrics(y_true, y_pred)
    # float32 inputs: nabla works in float64, scikit-learn may keep float32
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for key, value in _sklearn(y_true, y_pred).items():
        assert ours[key] == pytest.approx(value, rel=rtol, abs=rtol), key
    assert ours["samples"] == n
    # and the definitions, independently of scikit-learn
    t, p = y_true.astype(np.float64), y_pred.astype(np.float64)
    assert ours["rmse"] == pytest.approx(np.sqrt(np.mean((t - p) ** 2)), rel=1e-12)
    assert ours["mae"] == pytest.approx(np.mean(np.abs(t - p)), rel=1e-12)


def test_column_vectors_and_lists_are_accepted(rng: np.random.Generator) -> None:
    y_true, y_pred = rng.standard_normal(20), rng.standard_normal(20)
    expected = regression_metrics(y_true, y_pred)
    assert regression_metrics(y_true[:, None], y_pred) == expected
    assert regression_metrics(list(y_true), y_pred[:, None]) == expected


def test_several_outputs_average_like_sklearn(rng: np.random.Generator) -> None:
    y_true = rng.standard_normal((50, 3)) * [1.0, 10.0, 0.1]
    y_pred = y_true + rng.standard_normal((50, 3))
    ours = regression_metrics(y_true, y_pred)
    for key, value in _sklearn(y_true, y_pred).items():
        assert ours[key] == pytest.approx(value, rel=1e-12), key


def test_one_sample_has_no_r2() -> None:
    with pytest.warns(metrics._regression.UndefinedMetricWarning):
        expected = _sklearn(np.array([3.0]), np.array([2.5]))
    ours = regression_metrics([3.0], [2.5])
    assert np.isnan(expected["r2"]) and np.isnan(ours["r2"])
    assert ours["rmse"] == pytest.approx(expected["rmse"])
    assert ours["mae"] == pytest.approx(expected["mae"])
    assert ours["samples"] == 1


@pytest.mark.parametrize(
    "y_pred", [[2.0, 2.0, 2.0, 2.0], [2.0, 2.5, 2.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
)
def test_constant_target_follows_sklearn_force_finite(y_pred: list[float]) -> None:
    y_true = np.full(4, 2.0)
    ours = regression_metrics(y_true, y_pred)
    assert ours["r2"] == _sklearn(y_true, np.asarray(y_pred))["r2"]
    assert ours["r2"] == (1.0 if y_pred == [2.0] * 4 else 0.0)


def test_constant_target_is_detected_exactly() -> None:
    """scikit-learn's mean of three 0.1s is not 0.1, so its SS_tot is a rounding residue and
    its R² is about -1.7e31; the definition (force_finite) gives 0.0, and 1.0 when exact."""
    y_true = np.full(3, 0.1)
    assert y_true.mean() != 0.1  # the premise
    assert regression_metrics(y_true, [0.1, 0.2, 0.1])["r2"] == 0.0
    assert regression_metrics(y_true, y_true)["r2"] == 1.0


def test_perfect_and_mean_predictions() -> None:
    y_true = np.array([1.0, 2.0, 4.0, 8.0])
    assert regression_metrics(y_true, y_true) == {"rmse": 0.0, "mae": 0.0, "r2": 1.0, "samples": 4}
    assert regression_metrics(y_true, np.full(4, y_true.mean()))["r2"] == pytest.approx(0.0)


def test_no_samples_gives_nan() -> None:
    m = regression_metrics(np.zeros(0), np.zeros(0))
    assert m["samples"] == 0 and all(np.isnan(m[k]) for k in ("rmse", "mae", "r2"))


def test_nan_predictions_show_as_nan() -> None:
    m = regression_metrics([1.0, 2.0, 3.0], [1.0, np.nan, 3.0])
    assert all(np.isnan(m[k]) for k in ("rmse", "mae", "r2"))


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        (np.zeros(3), np.zeros(4), r"y_true has shape \(3,\) and y_pred has shape \(4,\)"),
        (np.zeros((3, 2)), np.zeros(3), "must match"),
        (np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), r"y_true has shape \(2, 2, 2\)"),
        (["a", "b"], [1.0, 2.0], "y_true is not numeric"),
    ],
)
def test_bad_inputs_raise_one_line_data_errors(
    y_true: object, y_pred: object, message: str
) -> None:
    with pytest.raises(DataError, match=message) as info:
        regression_metrics(y_true, y_pred)
    assert "\n" not in str(info.value)


def test_report_text_and_dict(rng: np.random.Generator) -> None:
    y_true = rng.standard_normal(30)
    y_pred = y_true + 0.3 * rng.standard_normal(30)
    report = regression_report(y_true, y_pred)
    assert isinstance(report, RegressionReport)
    expected = _sklearn(y_true, y_pred)
    data = report.to_dict()
    assert data == json.loads(json.dumps(data))  # plain JSON types
    assert data["samples"] == 30
    for key, value in expected.items():
        assert data[key] == pytest.approx(value, rel=1e-12)
    text = report.to_text()
    lines = text.splitlines()
    assert lines[0].split() == ["metric", "value"]
    assert [line.split()[0] for line in lines[1:]] == ["RMSE", "MAE", "R²", "samples"]
    for line, key in zip(lines[1:4], ("rmse", "mae", "r2")):
        assert float(line.split()[1]) == pytest.approx(expected[key], abs=5e-5)
    assert lines[4].split()[1] == "30"
