"""A conv net's training checkpoint (nb.save of model, optimizer and RNG state) resumes exactly.

BatchNorm2d's running statistics and its int64 step count, Dropout2d's draws from the global
generator and AdamW's moments all come back, so three steps, a checkpoint, a fresh process-like
rebuild and three more steps end bit for bit where six uninterrupted steps end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla import nn

pytest.importorskip("safetensors")


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 4, padding="same"),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Dropout2d(0.25),
        nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2, dilation=2),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.AvgPool2d(2, padding=1, count_include_pad=False),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def _steps(model: nn.Module, optimizer: Any, batches: list[Any]) -> None:
    model.train()
    for x, y in batches:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(nb.tensor(x)), nb.tensor(y)).backward()
        optimizer.step()


def test_interrupted_training_resumes_bit_for_bit(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    batches = [
        (rng.normal(size=(6, 1, 9, 9)).astype(np.float32), rng.integers(0, 3, 6)) for _ in range(6)
    ]
    nb.manual_seed(1)
    straight = _net()
    optimizer = nb.optim.AdamW(straight.parameters(), lr=0.01)
    _steps(straight, optimizer, batches)

    nb.manual_seed(1)
    first = _net()
    first_optimizer = nb.optim.AdamW(first.parameters(), lr=0.01)
    _steps(first, first_optimizer, batches[:3])
    checkpoint = {
        "model": first.state_dict(),
        "optimizer": first_optimizer.state_dict(),
        "rng": nb.get_rng_state(),
    }
    nb.save(checkpoint, tmp_path / "ckpt.safetensors")
    nb.manual_seed(99)  # the resumed run starts from another state: the file must restore it
    state = nb.load(tmp_path / "ckpt.safetensors")
    resumed = _net()
    resumed.load_state_dict(state["model"])
    resumed_optimizer = nb.optim.AdamW(resumed.parameters(), lr=0.01)
    resumed_optimizer.load_state_dict(state["optimizer"])
    nb.set_rng_state(state["rng"])
    _steps(resumed, resumed_optimizer, batches[3:])

    expected, got = straight.state_dict(), resumed.state_dict()
    assert list(got) == list(expected)
    for key in expected:
        a, b = np.asarray(expected[key]), np.asarray(got[key])
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), key
    assert int(np.asarray(got["1.num_batches_tracked"])) == 6
