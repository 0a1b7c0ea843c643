"""Module.half() and Module.type(dst_type) (nabla.nn.module) against PyTorch: which parameters
and buffers change dtype, integer buffers included for ``type``, and the refusal of an integer
dtype for parameters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nabla as nb

torch = pytest.importorskip("torch")


def _dtypes(state: dict[str, Any]) -> dict[str, str]:
    return {
        k: str(np.dtype(str(getattr(v, "dtype", v)).removeprefix("torch.")))
        for k, v in state.items()
    }


def _models() -> tuple[Any, Any]:
    ours = nb.nn.Sequential(nb.nn.Linear(3, 2), nb.nn.BatchNorm1d(2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    return ours, theirs


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda m: m.half(), lambda m: m.half()),
        (lambda m: m.type(nb.float64), lambda m: m.type(torch.float64)),
        (lambda m: m.type("torch.DoubleTensor"), lambda m: m.type("torch.DoubleTensor")),
        (lambda m: m.double().float(), lambda m: m.double().float()),
        (lambda m: m.type(nb.float16).float(), lambda m: m.type(torch.float16).float()),
    ],
)
def test_module_casts_match_pytorch(ours: Any, theirs: Any) -> None:
    m, tm = _models()
    assert ours(m) is m
    theirs(tm)
    assert _dtypes(m.state_dict()) == _dtypes(tm.state_dict())
    x = nb.tensor(np.ones((4, 3)), dtype=m[0].weight.dtype)
    assert m(x).dtype == m[0].weight.dtype


def test_module_type_refuses_an_integer_dtype_for_parameters() -> None:
    m, tm = _models()
    with pytest.raises(RuntimeError):
        tm.type(torch.long)
    with pytest.raises(TypeError, match="parameters must stay floating point"):
        m.type(nb.long)
