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


def _mean_of_nothing(op: str, args: list[torch.Tensor], p: dict[str, Any]) -> bool:
    if op != "mean" or args[0].numel() or not args[0].ndim:
        return False
    axis = p["axis"]
    axes = range(args[0].ndim) if axis is None else ([axis] if isinstance(axis, int) else axis)
    return any(args[0].shape[a] == 0 for a in axes)


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
        "mean-of-empty-warns",
        "mean over a size-0 axis of a size-0 array whose result is empty (zeros((0, 0)) over "
        "axis 1): nabla's np.mean raises RuntimeWarning 'Mean of empty slice'; PyTorch returns "
        "the empty result",
        _mean_of_nothing,
        op="mean",
        zero=0.5,
    ),
]
