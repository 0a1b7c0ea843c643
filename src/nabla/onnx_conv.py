"""The image layers' steps as ONNX nodes (opset 17), for :mod:`nabla.onnx`.

- ``conv`` → ``Conv`` (``pads`` = [begin..., end...]: "same" pads as PyTorch, the extra pixel
  of an even kernel after), with ``kernel_shape``, ``strides``, ``dilations``, ``group``;
- ``max_pool`` → ``MaxPool``; ``avg_pool`` → ``AveragePool``. Shapes are static, so
  ``ceil_mode`` is written as the extra end padding it implies (nabla's
  :func:`nabla.ops.conv.geometry`, PyTorch's rule that the last window starts inside the input)
  with ``ceil_mode=0``: runtimes differ on that rule, explicit padding they all read alike.
  MaxPool's padding never wins; AveragePool's ceil-mode overhang is never counted, while its
  declared padding is with ``count_include_pad`` (a ``Pad`` of zeros first when both occur).
  ``divisor_override`` has no ONNX form and is refused;
- ``adaptive_avg_pool`` → ``GlobalAveragePool`` for output size 1, ``AveragePool`` with
  kernel = stride = input / output when every input size is a multiple of the output size
  (PyTorch's bins are then those windows); other sizes are refused.

BatchNorm2d is the ``batchnorm`` step (``BatchNormalization``), Dropout1d/2d vanish and
``flatten`` is ``Flatten``: those are :mod:`nabla.onnx`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nabla.deploy import ExportError, Step
from nabla.ops.conv import geometry

__all__ = ["IMAGE_EMITTERS"]


def _refuse(step: Step, why: str) -> ExportError:
    return ExportError(f"cannot export layer {step.path!r} ({step.attrs['layer']}) to ONNX: {why}")


def _conv(g: Any, step: Step, x: str, hint: str) -> str:
    a = step.attrs
    inputs = [x, g.const(f"{hint}_weight", step.arrays["weight"])]
    if a["bias"]:
        inputs.append(g.const(f"{hint}_bias", step.arrays["bias"]))
    out: str = g.node(
        "Conv",
        inputs,
        hint,
        kernel_shape=a["kernel"],
        strides=a["stride"],
        dilations=a["dilation"],
        pads=[*a["pad_before"], *a["pad_after"]],
        group=a["groups"],
    )
    return out


def _window(step: Step, dilation: list[int]) -> tuple[list[int], list[int]]:
    """(declared padding, end padding with the ceil-mode overhang) of a pooling step."""
    a = step.attrs
    pads = [int(p) for p in a["padding"]]
    geo = geometry(
        step.op,
        tuple(step.in_shape[2:]),
        tuple(a["kernel"]),
        tuple(a["stride"]),
        tuple((p, p) for p in pads),
        tuple(dilation),
        ceil_mode=bool(a["ceil_mode"]),
    )
    return pads, [int(p) for p in geo.pad_after]


def _max_pool(g: Any, step: Step, x: str, hint: str) -> str:
    a = step.attrs
    pads, after = _window(step, a["dilation"])
    out: str = g.node(
        "MaxPool",
        [x],
        hint,
        kernel_shape=a["kernel"],
        strides=a["stride"],
        dilations=a["dilation"],
        pads=[*pads, *after],
        ceil_mode=0,
    )
    return out


def _average(g: Any, x: str, hint: str, kernel: list[int], stride: list[int], **attrs: Any) -> str:
    out: str = g.node("AveragePool", [x], hint, kernel_shape=kernel, strides=stride, **attrs)
    return out


def _avg_pool(g: Any, step: Step, x: str, hint: str) -> str:
    a = step.attrs
    if a["divisor_override"] is not None:
        raise _refuse(step, "divisor_override has no ONNX AveragePool form")
    pads, after = _window(step, [1] * len(a["kernel"]))
    overhang = [end - p for end, p in zip(after, pads, strict=True)]
    include = bool(a["count_include_pad"]) and any(pads)
    if include and any(overhang):
        # the declared padding counts, the overhang does not: pad with zeros, then count only
        # what is there
        spatial = [0, 0] + pads
        widths = g.const("pads", np.array(spatial + [0, 0] + pads, np.int64))
        x = g.node("Pad", [x, widths], f"{hint}_padded", mode="constant")
        pads, after = [0] * len(pads), overhang
        include = False
    return _average(
        g,
        x,
        hint,
        a["kernel"],
        a["stride"],
        pads=[*pads, *after],
        count_include_pad=int(include),
        ceil_mode=0,
    )


def _adaptive(g: Any, step: Step, x: str, hint: str) -> str:
    sizes, outs = step.in_shape[2:], step.out_shape[2:]
    if all(o == 1 for o in outs):
        out: str = g.node("GlobalAveragePool", [x], hint)
        return out
    if any(n % o for n, o in zip(sizes, outs, strict=True)):
        raise _refuse(
            step,
            f"input size {tuple(sizes)} is not a multiple of output size {tuple(outs)}, and "
            "ONNX has no adaptive pooling with unequal bins",
        )
    kernel = [n // o for n, o in zip(sizes, outs, strict=True)]
    return _average(g, x, hint, kernel, kernel)


#: the emitters of the image steps, merged into nabla.onnx's table
IMAGE_EMITTERS: dict[str, Callable[[Any, Step, str, str], str]] = {
    "conv": _conv,
    "max_pool": _max_pool,
    "avg_pool": _avg_pool,
    "adaptive_avg_pool": _adaptive,
}
