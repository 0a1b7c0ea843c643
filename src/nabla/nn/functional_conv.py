"""Convolution functions with PyTorch's names, arguments and checks, and the argument
readers the pooling functions share.

``conv1d``/``conv2d`` are one op (:class:`nabla.ops.conv.Conv`): the dense layer on the patch
matrix. Inputs are (N, C, *spatial), or (C, *spatial) unbatched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla import functional as fn
from nabla.errors import DTypeError, ShapeError
from nabla.ops.conv import Conv, geometry
from nabla.tensor import Tensor

__all__ = ["conv1d", "conv2d"]


def ntuple(value: Any, n: int, what: str, op: str) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints as a tuple of ``n`` ints (PyTorch's _pair)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    try:
        items = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(
            f"{op}: {what} must be an int or a tuple of {n} ints, got {value!r}"
        ) from None
    if len(items) == 1:
        return items * n
    if len(items) != n:
        raise ValueError(f"{op}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    return items


def tensor_of(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def batched(op: str, x: Tensor, spatial: int) -> tuple[Tensor, bool]:
    """``x`` with a batch axis, and whether it had none (PyTorch accepts unbatched input)."""
    if x.ndim == spatial + 1:
        return fn.reshape(x, (1, *x.shape)), True
    if x.ndim != spatial + 2:
        dims = ", ".join(["N", "C"] + ["H", "W"][-spatial:] if spatial <= 2 else ["N", "C", "..."])
        raise ShapeError(
            f"{op}: expected a {spatial + 1}-D (unbatched) or {spatial + 2}-D ({dims}) input, "
            f"got shape {x.shape}"
        )
    return x, False


def unbatched(z: Tensor, squeeze: bool) -> Tensor:
    return fn.reshape(z, z.shape[1:]) if squeeze else z


def conv_padding(
    op: str,
    padding: Any,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[tuple[int, int], ...]:
    """Padding before and after along each axis: ints, ``"valid"`` or ``"same"`` (the extra
    pixel of an even kernel goes after, as PyTorch pads)."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(
                f"{op}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
            )
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    pads = ntuple(padding, n, "padding", op)
    if any(p < 0 for p in pads):
        raise ValueError(f"{op}: negative padding is not supported, got {padding!r}")
    return tuple((p, p) for p in pads)


def _conv(
    op: str,
    spatial: int,
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> Tensor:
    x, squeeze = batched(op, tensor_of(input), spatial)
    w = tensor_of(weight)
    if w.ndim != spatial + 2:
        raise ShapeError(
            f"{op}: weight must be {spatial + 2}-D (out_channels, in_channels/groups, *kernel), "
            f"got shape {w.shape}"
        )
    groups = int(groups)
    if groups < 1 or w.shape[0] % groups:
        raise ValueError(
            f"{op}: groups={groups} must be positive and divide out_channels={w.shape[0]}"
        )
    if x.shape[1] != w.shape[1] * groups:
        raise ShapeError(
            f"{op}: given groups={groups}, weight of size {list(w.shape)}, expected input"
            f"{list(x.shape)} to have {w.shape[1] * groups} channels, but got {x.shape[1]} "
            "channels instead"
        )
    if x.dtype != w.dtype:
        raise DTypeError(
            f"{op}: input type ({x.dtype}) and weight type ({w.dtype}) should be the same"
        )
    b = None if bias is None else tensor_of(bias)
    if b is not None and (b.shape != (w.shape[0],) or b.dtype != w.dtype):
        raise ShapeError(
            f"{op}: bias must have shape ({w.shape[0]},) and dtype {w.dtype}, got {b.shape} "
            f"{b.dtype}"
        )
    kernel = tuple(w.shape[2:])
    strides = ntuple(stride, spatial, "stride", op)
    dilations = ntuple(dilation, spatial, "dilation", op)
    if any(s < 1 for s in strides) or any(d < 1 for d in dilations):
        raise ValueError(
            f"{op}: stride and dilation must be positive, got {stride!r}, {dilation!r}"
        )
    pads = conv_padding(op, padding, kernel, strides, dilations)
    geo = geometry(op, tuple(x.shape[2:]), kernel, strides, pads, dilations)
    inputs = (x, w) if b is None else (x, w, b)
    return unbatched(Conv.apply(*inputs, geo=geo, groups=groups), squeeze)


def conv1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution of (N, C, L) inputs with a (out, C/groups, k) weight."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution of (N, C, H, W) inputs with a (out, C/groups, kh, kw) weight."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)
