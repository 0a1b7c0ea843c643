"""``nabla train`` as a regressor: scikit-learn's diabetes data written to CSV.

A float target is a regression target (with a notice); the CLI's held-out R² is compared
with scikit-learn's ``MLPRegressor`` trained on the same split, and ``evaluate``, ``predict``
and the exporters give values in the target's units.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nabla.cli import main

pytest.importorskip("safetensors")
sklearn_datasets = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("diabetes")
    bunch = sklearn_datasets.load_diabetes()
    path = folder / "diabetes.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([*bunch.feature_names, "progression"])
        for x, y in zip(bunch.data, bunch.target):
            writer.writerow([*(f"{v:.8g}" for v in x), f"{y + 0.5:g}"])  # a float target
    out = folder / "run"
    code = main(
        ["train", "--data", str(path), "--out", str(out), "--hidden", "32", "--epochs", "80"]
        + ["--optimizer", "adam", "--lr", "0.003", "--no-progress", "--no-plots"]
    )
    assert code == 0
    return {"csv": path, "model": out / "model.safetensors", "out": out, "bunch": bunch}


def _test_split(diabetes: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The run's train and test rows, by the split the model file records."""
    from nabla.io import load_metadata
    from nabla.training.prepare import split_rows

    meta = load_metadata(diabetes["model"])["user"]
    X, y = diabetes["bunch"].data, diabetes["bunch"].target + 0.5
    train, _, test = split_rows(
        y, meta["val_split"], meta["test_split"], meta["seed"], stratify=False
    )
    return X[train], y[train], X[test], y[test]


def test_the_default_run_is_within_noise_of_scikit_learn(tmp_path: Path) -> None:
    """`nabla train --data diabetes.csv` with every default: R² within 0.05 of scikit-learn's
    MLPRegressor (its defaults, converged) on the same split, for three split seeds."""
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    from nabla.training.prepare import split_rows

    bunch = sklearn_datasets.load_diabetes()
    path = tmp_path / "diabetes.csv"
    lines = [",".join([*bunch.feature_names, "progression"])]
    lines += [
        ",".join([*(f"{v:.8g}" for v in x), f"{y + 0.5:g}"])
        for x, y in zip(bunch.data, bunch.target)
    ]
    path.write_text("\n".join(lines) + "\n")
    X, y = bunch.data, bunch.target + 0.5
    ours, theirs = [], []
    for seed in (1, 2, 3):
        out = tmp_path / f"run{seed}"
        args = ["train", "--data", str(path), "--out", str(out), "--seed", str(seed)]
        assert main([*args, "--no-progress", "--no-plots"]) == 0
        ours.append(json.loads((out / "metrics.json").read_text())["final"]["test"]["r2"])
        train, _, test = split_rows(y, 0.1, 0.2, seed, stratify=False)
        scaler = StandardScaler().fit(X[train])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning
            reference = MLPRegressor(max_iter=2000, random_state=0)
            reference.fit(scaler.transform(X[train]), y[train])
        theirs.append(reference.score(scaler.transform(X[test]), y[test]))
    assert np.mean(ours) >= np.mean(theirs) - 0.05, (ours, theirs)


def test_r2_is_within_noise_of_scikit_learn(diabetes: dict[str, Any]) -> None:
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    X_train, y_train, X_test, y_test = _test_split(diabetes)
    scaler = StandardScaler().fit(X_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        reference = MLPRegressor(max_iter=2000, random_state=0).fit(
            scaler.transform(X_train), y_train
        )
    sklearn_r2 = reference.score(scaler.transform(X_test), y_test)
    metrics = json.loads((diabetes["out"] / "metrics.json").read_text())
    nabla_r2 = metrics["final"]["test"]["r2"]
    assert nabla_r2 >= sklearn_r2 - 0.05, (nabla_r2, sklearn_r2)
    assert metrics["final"]["test"]["samples"] == len(y_test)


def test_evaluate_reports_the_run_s_test_metrics(
    diabetes: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.metrics import mean_absolute_error, r2_score

    report = tmp_path / "eval.json"
    args = ["evaluate", str(diabetes["model"]), "--data", str(diabetes["csv"])]
    assert main([*args, "--json", str(report)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "rmse" in out.lower() and "r2" in out.lower().replace("²", "2")
    result = json.loads(report.read_text())
    assert result["split"] == "test"
    # the same numbers as predict's values on the run's test rows, scored by scikit-learn
    _, _, X_test, y_test = _test_split(diabetes)
    rows = tmp_path / "test_rows.csv"
    names = list(diabetes["bunch"].feature_names)
    with rows.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(names)
        writer.writerows([[f"{v:.8g}" for v in x] for x in X_test])
    predictions = tmp_path / "p.csv"
    assert main(["predict", str(diabetes["model"]), str(rows), "-o", str(predictions)]) == 0
    values = np.array(
        [float(r["predicted"]) for r in csv.DictReader(io.StringIO(predictions.read_text()))]
    )
    assert result["r2"] == pytest.approx(r2_score(y_test, values), abs=1e-4)
    assert result["mae"] == pytest.approx(mean_absolute_error(y_test, values), rel=1e-4)


def test_a_float_target_says_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "line.csv"
    x = rng.normal(size=200)
    lines = ["x,y"] + [f"{a:.5f},{2 * a + 0.1 * b:.5f}" for a, b in zip(x, rng.normal(size=200))]
    path.write_text("\n".join(lines) + "\n")
    args = ["train", "--data", str(path), "--out", str(tmp_path / "r"), "--epochs", "40"]
    assert (
        main([*args, "--hidden", "none", "--optimizer", "sgd", "--no-progress", "--no-plots"]) == 0
    )
    out, err = capsys.readouterr()
    assert "regressor" in err  # the notice
    r2 = float(out.split("held-out test R²:")[1].split()[0])
    assert r2 > 0.95


def test_many_integer_values_ask_for_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "counts.csv"
    lines = ["x,count"] + [
        f"{a:.3f},{int(c)}" for a, c in zip(rng.normal(size=300), rng.integers(0, 500, 300))
    ]
    path.write_text("\n".join(lines) + "\n")
    args = ["train", "--data", str(path), "--out", str(tmp_path / "r"), "--epochs", "1"]
    assert main([*args, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "--task regression" in err and len(err.strip().splitlines()) == 1
    assert main([*args, "--no-progress", "--no-plots", "--task", "regression"]) == 0


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_each_regression_loss_trains(
    tmp_path: Path, loss: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bunch = sklearn_datasets.load_diabetes()
    path = tmp_path / "d.npz"
    np.savez(path, X=bunch.data, y=bunch.target + 0.5)
    args = ["train", "--data", str(path), "--out", str(tmp_path / loss), "--epochs", "30"]
    args += ["--loss", loss, "--optimizer", "adam", "--lr", "0.003", "--no-progress", "--no-plots"]
    assert main(args) == 0, capsys.readouterr().err
    metrics = json.loads((tmp_path / loss / "metrics.json").read_text())
    assert metrics["final"]["test"]["r2"] > 0.3


def test_an_npz_of_counts_asks_for_task_like_a_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    counts = rng.poisson(np.exp(4 + X[:, 0]))  # integers with many distinct values
    path = tmp_path / "counts.npz"
    np.savez(path, X=X, y=counts)
    args = ["train", "--data", str(path), "--out", str(tmp_path / "r"), "--epochs", "20"]
    assert main([*args, "--no-progress"]) == 1
    assert "--task regression" in capsys.readouterr().err
    assert main([*args, "--no-progress", "--no-plots", "--task", "regression"]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["final"]["test"]["r2"] > 0.5
