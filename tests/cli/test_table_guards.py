"""What real tables taught ``nabla train`` to refuse or warn about instead of training silently.

Each case comes from a public data set a tester ran: a target that names every row, a run
whose loss explodes or becomes NaN, a rare category that only the test rows have under
``--strict``, a count target whose summary must start at 0, a file without the model's target.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from nabla.cli import main

pytest.importorskip("safetensors")


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue())
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("note:")]
    err = "\n".join(lines)
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _train(*args: str) -> list[str]:
    return ["train", *args, "--no-progress", "--no-plots"]


def test_a_target_that_names_every_row_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    rows = [[f"car {i}", f"{rng.normal():.3f}", f"{rng.normal():.3f}"] for i in range(93)]
    path = _write(tmp_path / "cars.csv", ["Make", "price", "power"], rows)
    assert main(_train("--data", str(path), "--target", "Make", "--out", str(tmp_path / "r"))) == 1
    _one_line_error(capsys, "'Make'", "93 distinct values in 93 rows")
    assert not (tmp_path / "r").exists()


def _line(n: int = 200, seed: int = 0) -> list[list[object]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = 3 * x[:, 0] - x[:, 1] + 0.1 * rng.normal(size=n)
    return [[f"{a:.5f}", f"{b:.5f}", f"{t:.5f}"] for (a, b), t in zip(x, y)]


def test_a_nan_loss_stops_with_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "line.csv", ["a", "b", "y"], _line())
    args = _train("--data", str(path), "--out", str(tmp_path / "r"), "--lr", "1e6")
    args += ["--optimizer", "sgd"]
    assert main([*args, "--epochs", "5"]) == 1
    _one_line_error(capsys, "diverged", "learning rate")


def test_an_exploding_loss_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "line.csv", ["a", "b", "y"], _line())
    # SGD with momentum 0.9 at lr 2 on a linear model: the loss grows every epoch
    args = _train("--data", str(path), "--out", str(tmp_path / "r"), "--hidden", "none")
    code = main(
        [*args, "--lr", "1.9", "--epochs", "4", "--scheduler", "none", "--optimizer", "sgd"]
    )
    err = capsys.readouterr().err
    history = json.loads((tmp_path / "r" / "metrics.json").read_text())["epochs"]
    losses = [h["train_loss"] for h in history] if code == 0 else []
    if code == 0 and losses[-1] > 10 * losses[0]:
        assert "the run diverged" in err
    else:  # or it reached NaN first: an error, not a silent model
        assert code == 1 and "diverged" in err


def test_strict_training_keeps_rare_test_categories_for_scoring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(300):
        fuel = "rare" if i in (7, 150) else ["a", "b"][i % 2]
        rows.append([fuel, f"{rng.normal():.4f}", ["x", "y"][(i // 2) % 2]])
    path = _write(tmp_path / "fuel.csv", ["fuel", "v", "label"], rows)
    out = tmp_path / "r"
    args = _train("--data", str(path), "--out", str(out), "--strict", "--epochs", "2")
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    new = _write(tmp_path / "new.csv", ["fuel", "v"], [["unseen", "0.1"]])
    assert main(["predict", str(out / "model.safetensors"), str(new)]) == 1
    _one_line_error(capsys, "'fuel'", "unseen")


def test_a_count_target_is_summarised_from_its_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    counts = rng.poisson(np.exp(1 + x))
    rows = [[f"{a:.4f}", int(c)] for a, c in zip(x, counts)]
    path = _write(tmp_path / "visits.csv", ["x", "visits"], rows)
    args = _train("--data", str(path), "--out", str(tmp_path / "r"), "--task", "regression")
    assert main([*args, "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert f"target 'visits': 0 to {counts.max()} " in out


def test_evaluate_names_the_missing_target_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "line.csv", ["a", "b", "y"], _line())
    out = tmp_path / "r"
    assert main(_train("--data", str(path), "--out", str(out), "--epochs", "2")) == 0
    other = _write(tmp_path / "other.csv", ["a", "b", "extra"], _line(20, 1))
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.safetensors"), "--data", str(other)]) == 1
    _one_line_error(capsys, "no column 'y'", "--target")


def test_predict_to_stdout_with_a_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "line.csv", ["a", "b", "y"], _line())
    out = tmp_path / "r"
    assert main(_train("--data", str(path), "--out", str(out), "--epochs", "2")) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["predict", str(out / "model.safetensors"), str(path), "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("row,predicted\n")
    assert not (tmp_path / "-").exists()
