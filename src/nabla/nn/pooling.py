"""Pooling and channel-dropout layers with PyTorch's names and arguments."""

from __future__ import annotations

from typing import Any

from nabla.nn import functional_pool as C
from nabla.nn.functional_conv import ntuple
from nabla.nn.module import Module
from nabla.tensor import Tensor

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "Dropout1d",
    "Dropout2d",
    "MaxPool1d",
    "MaxPool2d",
]


class MaxPoolNd(Module):
    """The arguments of MaxPool1d and MaxPool2d (stride defaults to the kernel size)."""

    spatial = 0

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        op, n = type(self).__name__, self.spatial
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", op)
        self.stride = self.kernel_size if stride is None else ntuple(stride, n, "stride", op)
        self.padding = ntuple(padding, n, "padding", op)
        self.dilation = ntuple(dilation, n, "dilation", op)
        self.return_indices, self.ceil_mode = bool(return_indices), bool(ceil_mode)

    def forward(self, x: Any) -> Any:
        pool = C.max_pool1d if self.spatial == 1 else C.max_pool2d
        return pool(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "dilation": list(self.dilation),
            "return_indices": self.return_indices,
            "ceil_mode": self.ceil_mode,
        }

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(MaxPoolNd):
    """The maximum of each window of (N, C, L) inputs."""

    spatial = 1


class MaxPool2d(MaxPoolNd):
    """The maximum of each window of (N, C, H, W) inputs."""

    spatial = 2


class AvgPoolNd(Module):
    """The arguments of AvgPool1d and AvgPool2d."""

    spatial = 0

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        op, n = type(self).__name__, self.spatial
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", op)
        self.stride = self.kernel_size if stride is None else ntuple(stride, n, "stride", op)
        self.padding = ntuple(padding, n, "padding", op)
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = None if divisor_override is None else int(divisor_override)

    def forward(self, x: Any) -> Tensor:
        if self.spatial == 1:
            return C.avg_pool1d(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.ceil_mode,
                self.count_include_pad,
            )
        return C.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "ceil_mode": self.ceil_mode,
            "count_include_pad": self.count_include_pad,
        }
        if self.spatial == 2:
            config["divisor_override"] = self.divisor_override
        return config

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(AvgPoolNd):
    """The mean of each window of (N, C, L) inputs."""

    spatial = 1

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2d(AvgPoolNd):
    """The mean of each window of (N, C, H, W) inputs."""

    spatial = 2


class AdaptiveAvgPoolNd(Module):
    """The argument of AdaptiveAvgPool1d and AdaptiveAvgPool2d."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def get_config(self) -> dict[str, Any]:
        size = self.output_size
        return {"output_size": list(size) if isinstance(size, tuple) else size}

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPoolNd):
    """Average (N, C, L) inputs down to ``output_size`` positions (PyTorch's bins)."""

    def forward(self, x: Any) -> Tensor:
        return C.adaptive_avg_pool1d(x, self.output_size)


class AdaptiveAvgPool2d(AdaptiveAvgPoolNd):
    """Average (N, C, H, W) inputs down to ``output_size`` (an int, a pair; None keeps a size)."""

    def forward(self, x: Any) -> Tensor:
        return C.adaptive_avg_pool2d(x, self.output_size)


class ChannelDropout(Module):
    """Zero whole channels with probability p in training, scaling the rest by 1/(1 − p)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: probability must be in [0, 1], got {p}")
        self.p = float(p)

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout1d(ChannelDropout):
    """Zero whole channels of (N, C, L) inputs with probability p in training."""

    def forward(self, x: Any) -> Tensor:
        return C.dropout1d(x, self.p, self.training)


class Dropout2d(ChannelDropout):
    """Zero whole channels of (N, C, H, W) inputs with probability p in training."""

    def forward(self, x: Any) -> Tensor:
        return C.dropout2d(x, self.p, self.training)
