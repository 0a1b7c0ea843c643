"""The op table, part 4: convolution and pooling (PyTorch's ``conv1d``/``conv2d``, pooling).

Values are small (the harness keeps programs under 512 elements), so the proposals draw images
of a few pixels and kernels of 1 to 3, with every option (stride, padding incl. ``"same"``,
dilation, groups, ceil mode, count_include_pad) chosen at random.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as TF

import nabla.nn.functional as F

from .optable import op
from .programs import Builder


def _conv_args(p: dict[str, Any]) -> dict[str, Any]:
    return {k: p[k] for k in ("stride", "padding", "dilation", "groups")}


@op(
    "conv",
    (
        lambda a, p: (F.conv1d if p["dims"] == 1 else F.conv2d)(*a, **_conv_args(p)),
        lambda a, p: (F.conv1d if p["dims"] == 1 else F.conv2d)(
            a[0], a[1], a[2] if len(a) > 2 else None, **_conv_args(p)
        ),
    ),
    lambda a, p: (TF.conv1d if p["dims"] == 1 else TF.conv2d)(*a, **_conv_args(p)),
)
def _conv(b: Builder) -> bool:
    dims = int(b.choice([1, 2]))
    groups = int(b.choice([1, 1, 2]))
    c_in, c_out = groups * int(b.rng.integers(1, 3)), groups * int(b.rng.integers(1, 3))
    n = int(b.rng.integers(1, 3))
    size = tuple(int(v) for v in b.rng.integers(3, 7 if dims == 1 else 5, dims))
    kernel = tuple(int(v) for v in b.rng.integers(1, 4, dims))
    stride = int(b.choice([1, 1, 2]))
    dilation = int(b.choice([1, 1, 2]))
    padding: Any = b.choice([0, 1, "same", "valid"]) if stride == 1 else int(b.choice([0, 1]))
    x = b.operand((n, c_in, *size))
    w = b.operand((c_out, c_in // groups, *kernel))
    args = [x, w] + ([b.operand((c_out,))] if b.chance(0.6) else [])
    params = {
        "dims": dims,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
    }
    return b.push("conv", args, params)


def _pool_args(p: dict[str, Any]) -> dict[str, Any]:
    keys = ("kernel_size", "stride", "padding", "ceil_mode")
    extra = ("dilation",) if p["kind"] == "max" else ("count_include_pad",)
    return {k: p[k] for k in keys + extra}


def _pool(module: Any, p: dict[str, Any]) -> Any:
    name = f"{p['kind']}_pool{p['dims']}d"
    return getattr(module, name)


@op(
    "pool",
    (lambda a, p: _pool(F, p)(a[0], **_pool_args(p)),),
    lambda a, p: _pool(TF, p)(a[0], **_pool_args(p)),
)
def _pooling(b: Builder) -> bool:
    dims = int(b.choice([1, 2]))
    kind = b.choice(["max", "avg"])
    size = tuple(int(v) for v in b.rng.integers(2, 8 if dims == 1 else 6, dims))
    kernel = int(b.rng.integers(1, 4))
    params = {
        "dims": dims,
        "kind": kind,
        "kernel_size": kernel,
        "stride": int(b.choice([1, 2, kernel])),
        "padding": int(b.rng.integers(0, kernel // 2 + 1)),
        "ceil_mode": b.chance(0.3),
        "dilation": int(b.choice([1, 1, 2])),
        "count_include_pad": b.chance(0.5),
    }
    x = b.operand((int(b.rng.integers(1, 3)), int(b.rng.integers(1, 3)), *size))
    return b.push("pool", [x], params)


@op(
    "adaptive_avg_pool",
    (
        lambda a, p: (F.adaptive_avg_pool1d if p["dims"] == 1 else F.adaptive_avg_pool2d)(
            a[0], p["out"]
        ),
    ),
    lambda a, p: (TF.adaptive_avg_pool1d if p["dims"] == 1 else TF.adaptive_avg_pool2d)(
        a[0], p["out"]
    ),
)
def _adaptive(b: Builder) -> bool:
    dims = int(b.choice([1, 2]))
    size = tuple(int(v) for v in b.rng.integers(1, 7, dims))
    out = tuple(int(v) for v in b.rng.integers(1, 5, dims))
    x = b.operand((int(b.rng.integers(1, 3)), int(b.rng.integers(1, 3)), *size))
    return b.push("adaptive_avg_pool", [x], {"dims": dims, "out": out if dims == 2 else out[0]})


__all__ = ["torch"]
