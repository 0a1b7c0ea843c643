"""The image layers as inference steps, for :func:`nabla.deploy.lower`.

``conv`` (Conv1d/Conv2d: the padding before and after each axis, "same" resolved as PyTorch
pads it), ``max_pool``, ``avg_pool`` and ``adaptive_avg_pool`` (1-D and 2-D); BatchNorm2d is
the ``batchnorm`` step of BatchNorm1d and Dropout1d/Dropout2d vanish, as Dropout does. The
steps keep the layers' own settings; the exporters work out the patches' geometry from the
step's input shape with nabla's own :func:`nabla.ops.conv.geometry`.
"""

from __future__ import annotations

from typing import Any

from nabla.deploy import ExportError, Step, _unsupported
from nabla.nn.conv import ConvNd
from nabla.nn.functional_conv import conv_padding
from nabla.nn.module import Module
from nabla.nn.pooling import (
    AdaptiveAvgPool2d,
    AdaptiveAvgPoolNd,
    AvgPoolNd,
    ChannelDropout,
    MaxPoolNd,
)

__all__ = ["IMAGE_LAYERS", "image_input_shape", "image_step"]

#: the layer names the exporters translate, for the error that lists them
IMAGE_LAYERS = (
    "Conv1d",
    "Conv2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "BatchNorm2d",
    "Dropout1d",
    "Dropout2d",
)


def _spatial(path: str, module: Module, rank: int) -> int:
    """The layer's number of spatial axes; a batched (N, C, *spatial) input is required."""
    spatial = getattr(module, "spatial", 0) or (2 if isinstance(module, AdaptiveAvgPool2d) else 1)
    if rank != spatial + 2:
        raise _unsupported(
            path,
            module,
            f"the exporters take a batch: expected a {spatial + 2}-D input (N, C, "
            f"{'H, W' if spatial == 2 else 'L'}), got a {rank}-D one",
        )
    return spatial


def _conv_step(path: str, module: ConvNd, rank: int) -> Step:
    _spatial(path, module, rank)
    pads = conv_padding(
        type(module).__name__, module.padding, module.kernel_size, module.stride, module.dilation
    )
    arrays = {"weight": module.weight.data.copy()}
    if module.bias is not None:
        arrays["bias"] = module.bias.data.copy()
    attrs = {
        "layer": type(module).__name__,
        "kernel": list(module.kernel_size),
        "stride": list(module.stride),
        "dilation": list(module.dilation),
        "pad_before": [p[0] for p in pads],
        "pad_after": [p[1] for p in pads],
        "groups": module.groups,
        "bias": module.bias is not None,
    }
    return Step("conv", path, arrays, attrs)


def _max_pool_step(path: str, module: MaxPoolNd, rank: int) -> Step:
    _spatial(path, module, rank)
    if module.return_indices:
        raise _unsupported(
            path, module, "return_indices=True gives (values, indices), not one tensor"
        )
    attrs = {
        "layer": type(module).__name__,
        "kernel": list(module.kernel_size),
        "stride": list(module.stride),
        "padding": list(module.padding),
        "dilation": list(module.dilation),
        "ceil_mode": module.ceil_mode,
    }
    return Step("max_pool", path, attrs=attrs)


def _avg_pool_step(path: str, module: AvgPoolNd, rank: int) -> Step:
    _spatial(path, module, rank)
    attrs = {
        "layer": type(module).__name__,
        "kernel": list(module.kernel_size),
        "stride": list(module.stride),
        "padding": list(module.padding),
        "ceil_mode": module.ceil_mode,
        "count_include_pad": module.count_include_pad,
        "divisor_override": module.divisor_override,
    }
    return Step("avg_pool", path, attrs=attrs)


def _adaptive_step(path: str, module: AdaptiveAvgPoolNd, rank: int) -> Step:
    spatial = _spatial(path, module, rank)
    size = module.output_size
    sizes = list(size) if isinstance(size, (tuple, list)) else [size] * spatial
    sizes = [None if s is None else int(s) for s in sizes]
    attrs = {"layer": type(module).__name__, "output_size": sizes}
    return Step("adaptive_avg_pool", path, attrs=attrs)


_MAKERS: dict[type, Any] = {
    ConvNd: _conv_step,
    MaxPoolNd: _max_pool_step,
    AvgPoolNd: _avg_pool_step,
    AdaptiveAvgPoolNd: _adaptive_step,
}


def image_step(path: str, module: Module, rank: int) -> Step | None:
    """The step of an image layer (None where it does nothing at inference); ``rank`` is its
    input's number of axes. Any other layer is refused, naming the layers that export."""
    if isinstance(module, ChannelDropout):
        return None
    for cls, make in _MAKERS.items():
        if isinstance(module, cls):
            step: Step = make(path, module, rank)
            return step
    raise _unsupported(path, module)


def image_input_shape(network: Module, first: Module | None) -> tuple[int, ...]:
    """The input shape (without the batch axis) of a network of images, when it records one:
    an ``input_shape`` attribute, or ``in_channels`` and ``image_size`` (SmallCNN). Else a
    one-line error asking for an example input."""
    shape = getattr(network, "input_shape", None)
    if shape is not None:
        return tuple(int(n) for n in shape)
    channels, size = getattr(network, "in_channels", None), getattr(network, "image_size", None)
    if isinstance(channels, int) and size is not None:
        return (channels, *(int(n) for n in size))
    if isinstance(first, ConvNd):
        dims = "C, H, W" if type(first).__name__ == "Conv2d" else "C, L"
        raise ExportError(
            f"pass example_input, a batch of shape (n, {dims}): the model starts with "
            f"{type(first).__name__}({first.in_channels}, ...), whose weights do not fix the "
            "input size"
        )
    raise ExportError("pass example_input: the model does not start with a Linear layer")
