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


def _ce_wider_target(op: str, args: list[torch.Tensor], p: dict[str, Any]) -> bool:
    return op == "cross_entropy" and len(args) == 2 and args[0].dtype != args[1].dtype


DEFECTS = [
    Defect(
        "sqrt-at-zero-warns",
        "the second derivative of sqrt(x) at x = 0 (nb.grad of nb.grad(sqrt(x), x, "
        "create_graph=True)): PyTorch gives -inf, nabla's Div backward divides by 0 and raises "
        "RuntimeWarning (an error under the test settings)",
        _sqrt_at_zero,
        op="sqrt",
    ),
    Defect(
        "cross-entropy-wider-target",
        "cross_entropy(float32 logits, float64 probability target): PyTorch computes in the "
        "promoted dtype and returns float64; nabla casts the target to float32",
        _ce_wider_target,
        op="cross_entropy",
        examples=((18944640172, ((0, 0), (0, 1))),),
    ),
]
