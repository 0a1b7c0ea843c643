"""``Conv1d`` and ``Conv2d``: PyTorch's convolution layers, weights (out, in/groups, *kernel).

The op behind them is the notes' dense layer on the patch matrix (:mod:`nabla.ops.conv`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nabla.nn import init
from nabla.nn.functional_conv import conv1d as _conv1d
from nabla.nn.functional_conv import conv2d as _conv2d
from nabla.nn.functional_conv import conv_padding, ntuple
from nabla.nn.module import Module, Parameter
from nabla.tensor import Tensor

__all__ = ["Conv1d", "Conv2d"]


class ConvNd(Module):
    """The parameters and checks shared by Conv1d and Conv2d."""

    spatial = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        n = self.spatial
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(
                f"{op}: in_channels and out_channels must be positive, got "
                f"{in_channels} and {out_channels}"
            )
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{op}: groups={groups} must divide in_channels={in_channels} and "
                f"out_channels={out_channels}"
            )
        if padding_mode != "zeros":
            raise ValueError(
                f"{op}: padding_mode={padding_mode!r} is not supported; nabla pads "
                "with zeros (padding_mode='zeros')"
            )
        if device is not None:
            from nabla.device import device as as_device

            as_device(device)  # "cpu" only: anything else is refused in one line
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", op)
        self.stride = ntuple(stride, n, "stride", op)
        self.dilation = ntuple(dilation, n, "dilation", op)
        self.padding: Any = (
            padding if isinstance(padding, str) else ntuple(padding, n, "padding", op)
        )
        conv_padding(op, self.padding, self.kernel_size, self.stride, self.dilation)
        self.groups, self.padding_mode = int(groups), padding_mode
        dt = np.dtype(dtype)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's start: U(±1/√fan_in) for weight and bias (kaiming_uniform with a = √5)."""
        fan_in = (self.in_channels // self.groups) * math.prod(self.kernel_size)
        bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def get_config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias is not None,
            "dtype": str(self.weight.dtype),
        }

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self.spatial:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.spatial:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self._parameters.get("bias") is None:
            text += ", bias=False"
        return text


class Conv1d(ConvNd):
    """1-D convolution over (N, C, L) inputs (or unbatched (C, L))."""

    spatial = 1

    def forward(self, x: Any) -> Tensor:
        return _conv1d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class Conv2d(ConvNd):
    """2-D convolution over (N, C, H, W) images (or unbatched (C, H, W))."""

    spatial = 2

    def forward(self, x: Any) -> Tensor:
        return _conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )
