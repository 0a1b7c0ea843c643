"""Pooling and channel-dropout functions with PyTorch's names, arguments and checks.

``max_pool*`` is :class:`nabla.ops.pooling.MaxPool`. Average pooling is linear and separable:
each spatial axis is multiplied by a matrix of window weights, Y = A_h X A_wᵀ (the divisor of
each window folded into its row), so its backward is the matmul rule and every order of
derivative follows. Inputs are (N, C, *spatial), or (C, *spatial) unbatched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nabla import functional as fn
from nabla.errors import DTypeError, ShapeError
from nabla.nn.functional_conv import batched, ntuple, tensor_of, unbatched
from nabla.ops.conv import Geometry, geometry, output_size
from nabla.ops.pooling import MaxPool, max_positions, plane_positions
from nabla.ops.random import Dropout as DropoutOp
from nabla.tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "dropout1d",
    "dropout2d",
    "max_pool1d",
    "max_pool2d",
]


def _pool_args(
    op: str,
    spatial: int,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any = 1,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    kernel = ntuple(kernel_size, spatial, "kernel_size", op)
    strides = (
        kernel
        if stride is None or stride == [] or stride == ()
        else ntuple(stride, spatial, "stride", op)
    )
    pads = ntuple(padding, spatial, "padding", op)
    dilations = ntuple(dilation, spatial, "dilation", op)
    if min(kernel) < 1 or min(strides) < 1 or min(dilations) < 1 or min(pads) < 0:
        raise ValueError(
            f"{op}: kernel_size, stride and dilation must be positive and padding non-negative, "
            f"got kernel_size={kernel_size!r}, stride={stride!r}, padding={padding!r}"
        )
    for k, p, d in zip(kernel, pads, dilations, strict=True):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(
                f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation={d}"
            )
    return kernel, strides, pads, dilations


def _max_pool(
    op: str,
    spatial: int,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    x, squeeze = batched(op, tensor_of(input), spatial)
    kernel, strides, pads, dilations = _pool_args(
        op, spatial, kernel_size, stride, padding, dilation
    )
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    geo = geometry(
        op,
        tuple(x.shape[2:]),
        kernel,
        strides,
        tuple((p, p) for p in pads),
        dilations,
        ceil_mode=ceil_mode,
        fill=-np.inf,
    )
    z = MaxPool.apply(x, geo=geo)
    out = unbatched(z, squeeze)
    if not return_indices:
        return out
    index = _flat_indices(getattr(z._fn, "where", None), x, geo)
    return out, Tensor(index[0] if squeeze else index)


def _flat_indices(where: Any, x: Tensor, geo: Geometry) -> np.ndarray[Any, Any]:
    """PyTorch's ``return_indices``: each maximum's flat position in its (unpadded) plane."""
    if where is None:  # no graph was recorded: find the maxima again
        where = max_positions(x.data, geo)[1]
    return plane_positions(where, geo)


def max_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum of each window of (N, C, L) inputs."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum of each window of (N, C, H, W) inputs."""
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _separable(x: Tensor, matrices: Sequence[np.ndarray[Any, Any]]) -> Tensor:
    """x multiplied along each spatial axis by its matrix: Y = A_h X A_wᵀ for 2-D."""
    spatial = len(matrices)
    for axis, a in enumerate(matrices):
        a_t = Tensor(a.T.astype(x.dtype))
        moved = x.swapaxes(2 + axis, -1) if axis != spatial - 1 else x
        moved = moved @ a_t
        x = moved.swapaxes(2 + axis, -1) if axis != spatial - 1 else moved
    return x


def _average_matrix(
    n: int, out: int, k: int, s: int, p: int, include_pad: bool, override: Any
) -> np.ndarray[Any, Any]:
    """Row i averages window i of one axis; its weight is 1/divisor (PyTorch's divisor)."""
    a = np.zeros((out, n))
    for i in range(out):
        start = i * s - p
        end = min(start + k, n + p)
        lo, hi = max(start, 0), min(end, n)
        size = (end - start) if include_pad else (hi - lo)
        a[i, lo:hi] = 1.0 if override else 1.0 / size
    return a


def _avg_pool(
    op: str,
    spatial: int,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Any,
) -> Tensor:
    x, squeeze = batched(op, tensor_of(input), spatial)
    kernel, strides, pads, _ = _pool_args(op, spatial, kernel_size, stride, padding)
    if divisor_override is not None and int(divisor_override) == 0:
        raise ValueError(f"{op}: divisor must be not zero")
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    sizes = tuple(x.shape[2:])
    outs = [
        output_size(n, k, s, p, 1, ceil_mode) for n, k, s, p in zip(sizes, kernel, strides, pads)
    ]
    if min(outs) <= 0:
        raise ShapeError(
            f"{op}: input of spatial size {sizes} is too small for kernel {kernel} with padding "
            f"{pads}: the output size would be {tuple(outs)}"
        )
    matrices = [
        _average_matrix(n, o, k, s, p, count_include_pad, divisor_override)
        for n, o, k, s, p in zip(sizes, outs, kernel, strides, pads)
    ]
    if divisor_override is not None:
        # the override divides the whole window once, not each axis
        matrices[0] = matrices[0] / float(divisor_override)
    return unbatched(_separable(x, matrices), squeeze)


def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """The mean of each window of (N, C, L) inputs."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Any = None,
) -> Tensor:
    """The mean of each window of (N, C, H, W) inputs."""
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def adaptive_sizes(op: str, output_size: Any, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """The output size, ``None`` entries keeping the input's size."""
    if output_size is None or isinstance(output_size, (int, np.integer)):
        items: tuple[Any, ...] = (output_size,) * len(sizes)
    else:
        items = tuple(output_size)
        if len(items) != len(sizes):
            raise ValueError(
                f"{op}: output_size must have {len(sizes)} entries, got {output_size!r}"
            )
    outs = tuple(n if o is None else int(o) for o, n in zip(items, sizes, strict=True))
    if min(outs) < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    return outs


def _adaptive_matrix(n: int, out: int) -> np.ndarray[Any, Any]:
    """Row i averages input positions ⌊i n/out⌋ … ⌈(i+1) n/out⌉ − 1 (PyTorch's bins)."""
    a = np.zeros((out, n))
    for i in range(out):
        lo, hi = (i * n) // out, -(-((i + 1) * n) // out)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def _adaptive_avg_pool(op: str, spatial: int, input: Any, output_size: Any) -> Tensor:
    x, squeeze = batched(op, tensor_of(input), spatial)
    sizes = tuple(x.shape[2:])
    if min(sizes, default=1) == 0:
        raise ShapeError(
            f"{op}: expected non-empty spatial dimensions, got input of shape {x.shape}"
        )
    outs = adaptive_sizes(op, output_size, sizes)
    matrices = [_adaptive_matrix(n, o) for n, o in zip(sizes, outs, strict=True)]
    return unbatched(_separable(x, matrices), squeeze)


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Tensor:
    """Average (N, C, L) inputs down to ``output_size`` positions."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """Average (N, C, H, W) inputs down to ``output_size`` (an int, a pair, None keeps a size)."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def _channel_dropout(
    op: str, input: Any, p: float, training: bool, dims: tuple[int, ...]
) -> Tensor:
    x = tensor_of(input)
    if x.ndim not in dims:
        raise ShapeError(f"{op}: expected a {' or '.join(map(str, dims))}-D input, got {x.shape}")
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return fn.where(np.zeros((), dtype=bool), x, 0)
    # one draw per (sample, channel); dropout1d's unbatched (C, L) one per channel. A 3-D
    # input to dropout2d is (N, C, L), as PyTorch reads it
    mask_axes = 1 if op == "dropout1d" and x.ndim == 2 else 2
    return DropoutOp.apply(x, p=p, mask_axes=mask_axes)


def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability p, scale by 1/(1 − p)."""
    return _channel_dropout("dropout1d", input, p, training, (2, 3))


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) inputs with probability p, scale by 1/(1 − p)."""
    return _channel_dropout("dropout2d", input, p, training, (3, 4))
