"""Controlling a ``nabla train`` run: early stopping, extending a finished run, Ctrl-C.

Ctrl-C is a real SIGINT sent to a real process: it must finish its step, write the checkpoint,
the metrics so far and the model, print the command that continues it and exit 130; running
that command ends bitwise equal to a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nabla as nb
from nabla.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")


def _weights(path: Path) -> dict[str, np.ndarray]:
    return dict(nb.load(path).state_dict())


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)


def test_early_stopping_keeps_the_best_epoch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = ["train", "--data", "iris", "--out", str(out), "--epochs", "200", "--patience", "3"]
    args += ["--optimizer", "adam", "--lr", "0.05", "--hidden", "32", "--no-progress"]
    assert main([*args, "--no-plots"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["epochs"]
    assert metrics["stopped_early"] and len(history) < 200
    val_losses = [h["val_loss"] for h in history]
    best = int(np.argmin(val_losses)) + 1
    assert metrics["best_epoch"] == best
    # patience 3: the run ends 3 epochs after the last improvement
    assert len(history) == best + 3
    assert "early stopping" in printed
    # the saved model is the best epoch's: its validation loss is the best one recorded
    from nabla.training.prepare import prepare_data

    config = nb.training.TrainConfig(data="iris")
    data = prepare_data(config)
    model = nb.load(out / "model.safetensors")
    loss, _ = nb.training.evaluate_loss_accuracy(model, data.X_val, data.y_val)
    assert loss == pytest.approx(val_losses[best - 1], rel=1e-6)


def test_extending_a_finished_run_equals_training_longer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["train", "--data", "iris", "--scheduler", "none", "--dropout", "0.1"]
    common += ["--no-progress", "--no-plots"]
    assert main([*common, "--epochs", "5", "--out", str(tmp_path / "long")]) == 0
    assert main([*common, "--epochs", "3", "--out", str(tmp_path / "short")]) == 0
    assert main([*common, "--epochs", "5", "--out", str(tmp_path / "short"), "--resume"]) == 0
    _assert_same_weights(
        tmp_path / "long" / "model.safetensors", tmp_path / "short" / "model.safetensors"
    )
    assert "extending the run from 3 to 5 epochs" in capsys.readouterr().err
    history = json.loads((tmp_path / "short" / "metrics.json").read_text())["epochs"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]


def test_extending_a_cosine_run_restarts_its_cycle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--data", "iris", "--lr", "0.1", "--no-progress", "--no-plots"]
    args += ["--out", str(tmp_path / "r")]
    assert main([*args, "--epochs", "4"]) == 0
    assert main([*args, "--epochs", "8", "--resume"]) == 0
    lrs = [h["lr"] for h in json.loads((tmp_path / "r" / "metrics.json").read_text())["epochs"]]
    cosine = [0.05 * (1 + np.cos(np.pi * t / 4)) for t in range(4)]
    np.testing.assert_allclose(lrs, cosine + cosine, rtol=1e-12)


def test_an_unfinished_run_resumes_with_its_own_epochs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    args = ["train", "--data", "iris", "--no-progress", "--no-plots", "--out", str(out)]
    assert main([*args, "--epochs", "2", "--checkpoint-every", "1"]) == 0
    # make the checkpoint look like a run of 6 stopped after 2
    from nabla.io import load_checkpoint, save_checkpoint

    state = load_checkpoint(out / "checkpoint.safetensors")
    state["planned_epochs"] = 6
    save_checkpoint(out / "checkpoint.safetensors", state)
    capsys.readouterr()
    assert main([*args, "--epochs", "9", "--resume"]) == 1
    err = capsys.readouterr().err
    assert "--epochs 6 first" in err and len(err.strip().splitlines()) == 1


def _nabla(*args: str) -> list[str]:
    return [sys.executable, "-m", "nabla", *args]


ARGS = ["train", "--data", "digits", "--hidden", "16", "--batch-size", "1", "--epochs", "12"]
ARGS += ["--dropout", "0.1", "--optimizer", "adam", "--no-progress", "--no-plots", "-v"]


def test_ctrl_c_keeps_the_work_and_resumes_bitwise(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    whole = subprocess.run(
        _nabla(*ARGS, "--out", str(tmp_path / "whole")),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "stopped"
    process = subprocess.Popen(
        _nabla(*ARGS, "--out", str(out)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    for line in process.stderr:  # wait for the second epoch, then press Ctrl-C
        if line.startswith("epoch 2/") or time.monotonic() > deadline:
            break
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    for name in ("checkpoint.safetensors", "model.safetensors", "metrics.json", "metrics.csv"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] and 2 <= len(metrics["epochs"]) < 12
    command = next(line.strip() for line in stderr.splitlines() if "--resume" in line)
    assert "Traceback" not in stderr
    argv = shlex.split(command)
    assert argv[0] == "nabla"
    resumed = subprocess.run(
        _nabla(*argv[1:]), capture_output=True, text=True, env=env, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_weights(tmp_path / "whole" / "model.safetensors", out / "model.safetensors")
    full = json.loads((tmp_path / "whole" / "metrics.json").read_text())["epochs"]
    again = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [h["train_loss"] for h in again] == [h["train_loss"] for h in full]
