"""Known nabla defects that the fuzzer finds, each with the nodes it affects.

The main fuzz test avoids these nodes (so one known defect does not hide new ones), and
``test_fuzz.test_known_defect_still_fails`` forces them into programs under a strict xfail:
when a fix lands, that test passes unexpectedly and fails the run, asking to delete the entry.
"""

from __future__ import annotations

from typing import Any

import torch

from .programs import Defect

REDUCTIONS = ("sum", "mean", "var", "std", "amax", "amin", "logsumexp")


def _reduce_0d_axis(op: str, args: list[torch.Tensor], p: dict[str, Any]) -> bool:
    return op in REDUCTIONS and args[0].ndim == 0 and p.get("axis") is not None


def _softmax_0d(op: str, args: list[torch.Tensor], p: dict[str, Any]) -> bool:
    return op in ("softmax", "log_softmax") and args[0].ndim == 0


def _empty_list_index(op: str, args: list[torch.Tensor], p: dict[str, Any]) -> bool:
    return (
        op == "getitem"
        and p["style"] == 2
        and p["kind"] == "int"
        and any(getattr(i, "size", 1) == 0 for i in p["index"])
    )


def _linear_size0(op: str, args: list[torch.Tensor], p: dict[str, Any]) -> bool:
    return op == "linear" and any(a.numel() == 0 for a in args)


def _relu_0d(op: str, args: list[torch.Tensor], p: dict[str, Any]) -> bool:
    return op == "relu" and args[0].ndim == 0


def _sqrt_at_zero(op: str, args: list[torch.Tensor], p: dict[str, Any]) -> bool:
    root = op == "sqrt" or (op == "pow" and p["p"] != int(p["p"]))
    return root and bool((args[0] == 0).any())


DEFECTS = [
    Defect(
        "reduce-0d-axis",
        "sum/mean/var/std/amax/amin/logsumexp of a 0-d tensor over axis 0, -1 or (0,) raise "
        "ShapeError/IndexError; PyTorch accepts dim 0 and -1 on 0-d tensors",
        _reduce_0d_axis,
    ),
    Defect(
        "softmax-0d",
        "softmax/log_softmax of a 0-d tensor raise TypeError (np.exp(out=) on a NumPy scalar)",
        _softmax_0d,
    ),
    Defect(
        "getitem-empty-list",
        "x[[]] raises IndexError (the empty list becomes a float array); NumPy and PyTorch "
        "read it as an empty integer index",
        _empty_list_index,
    ),
    Defect(
        "linear-size0",
        "linear with a size-0 operand raises ValueError in backward (reshape of size 0 into "
        "(0,) with -1)",
        _linear_size0,
    ),
    Defect(
        "relu-0d-accumulated",
        "relu of a 0-d tensor read by two ops: the summed gradient is a NumPy scalar and "
        "Relu.backward_into's np.copyto raises TypeError",
        _relu_0d,
    ),
    Defect(
        "sqrt-at-zero-warns",
        "the gradient of sqrt(x) and x**0.5 at x = 0 is inf in both libraries, but nabla's "
        "division by 2·sqrt(0) raises RuntimeWarning (an error under the test settings)",
        _sqrt_at_zero,
    ),
]
