"""examples/ddp_digits.py, the README's many-processes example, on 1, 2 and 3 ranks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ddp_digits.py"


def test_the_example_prints_the_same_accuracy_on_any_number_of_ranks(mpirun: Any) -> None:
    pytest.importorskip("sklearn")
    printed = []
    for n in (1, 2, 3):
        done = mpirun(EXAMPLE.read_text(), n, limit=90)
        assert done.returncode == 0, done.output
        lines = re.findall(r"(\d) rank\(s\): held-out accuracy ([0-9.]+)", done.output)
        assert lines == [(str(n), lines[0][1])]  # rank 0 alone prints
        printed.append(float(lines[0][1]))
    assert printed[0] > 0.95
    assert printed == [printed[0]] * 3  # a global batch of 48 rows however it is shared
