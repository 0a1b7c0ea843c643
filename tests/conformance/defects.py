"""Known nabla defects that the fuzzer finds, each with the nodes it affects.

The main fuzz test avoids these nodes (so one known defect does not hide new ones), and
``test_fuzz.test_known_defect_still_fails`` forces them into programs under a strict xfail:
when a fix lands, that test passes unexpectedly and fails the run, asking to delete the entry.
"""

from __future__ import annotations

from typing import Any

import torch

from .programs import Defect


def _sqrt_at_zero(op: str, args: list[torch.Tensor], p: dict[str, Any]) -> bool:
    root = op == "sqrt" or (op == "pow" and p["p"] != int(p["p"]))
    return root and bool((args[0] == 0).any())


DEFECTS = [
    Defect(
        "sqrt-at-zero-warns",
        "the gradient of sqrt(x) and x**0.5 at x = 0 is inf in both libraries, but nabla's "
        "division by 2·sqrt(0) raises RuntimeWarning (an error under the test settings)",
        _sqrt_at_zero,
    ),
]
