"""A run killed with SIGKILL mid-epoch and resumed ends bitwise equal to an uninterrupted run."""

from __future__ import annotations

import os
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

# small batches make epochs long enough to be interrupted; dropout exercises the global RNG,
# the plateau scheduler the scheduler state, Adam the optimizer state
ARGS = [
    "train",
    "--data",
    "digits",
    "--hidden",
    "64",
    "--batch-size",
    "4",
    "--epochs",
    "24",
    "--optimizer",
    "adam",
    "--dropout",
    "0.2",
    "--scheduler",
    "plateau",
    "--checkpoint-every",
    "1",
    "--no-progress",
    "--no-plots",
]


def _weights(path: Path) -> dict[str, np.ndarray]:
    return dict(nb.load(path).state_dict())


def test_sigkill_then_resume_is_bitwise_equal(tmp_path: Path) -> None:
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    command = [sys.executable, "-m", "nabla", *ARGS, "--out", str(killed)]
    log = tmp_path / "killed.log"
    with log.open("wb") as stream:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stream)
    checkpoint = killed / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not checkpoint.exists():  # wait for the first checkpoint (end of epoch 1)
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.005)
    time.sleep(0.05)  # now somewhere inside epoch 2 or 3
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert not (killed / "model.safetensors").exists()  # it really died before finishing

    resumed = subprocess.run(
        [*command, "--resume"], capture_output=True, text=True, timeout=300, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr
    assert main([*ARGS, "--out", str(reference)]) == 0

    a = _weights(reference / "model.safetensors")
    b = _weights(killed / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)  # bitwise, not approximately


def test_resume_refuses_changed_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "train",
        "--data",
        "iris",
        "--epochs",
        "2",
        "--no-progress",
        "--no-plots",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args, "--resume", "--lr", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "settings differ" in err and "lr" in err


def test_resume_without_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--resume", "--out", str(tmp_path / "none"), "--no-progress"]) == 1
    assert "no checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()
