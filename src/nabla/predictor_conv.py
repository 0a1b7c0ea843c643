"""The image layers in the NumPy-only predictor, from nabla's own NumPy code copied as source.

A predictor whose steps include ``conv``, ``max_pool``, ``avg_pool`` or ``adaptive_avg_pool``
(see :mod:`nabla.deploy_conv`) gets, before its runtime:

- the patch geometry and im2col of :mod:`nabla.ops.conv` (``geometry``, ``patches_view``...)
  and ``Conv.forward`` itself, renamed ``_conv_forward``: the convolution is the same one
  matrix product on the same patch matrix as in nabla;
- max pooling's ``max_positions`` (:mod:`nabla.ops.pooling`) and the window matrices of
  average and adaptive pooling (:mod:`nabla.nn.functional_pool`), applied along each spatial
  axis in turn as nabla applies them;
- ``_IMAGE_STEPS``, the step name → function table the runtime's ``forward`` reads.

Other predictors get an empty ``_IMAGE_STEPS``. BatchNorm2d is the runtime's ``batchnorm`` step
and Dropout1d/2d vanish, as for tables.
"""

from __future__ import annotations

import builtins
import inspect
import textwrap
import types
from typing import Any

from nabla.nn.functional_pool import _adaptive_matrix, _average_matrix, adaptive_sizes
from nabla.ops.conv import Conv, geometry
from nabla.ops.pooling import max_positions

__all__ = ["IMAGE_OPS", "image_code"]

#: the step names this module's code computes
IMAGE_OPS = frozenset({"conv", "max_pool", "avg_pool", "adaptive_avg_pool"})

_STEPS = '''

ShapeError = ValueError  # what the copied geometry() raises (INPUT_SHAPE is checked before)


class _Unsaved:
    """Where the copied Conv.forward keeps what nabla's backward would use (unused here)."""


def _conv_step(x, w, attrs):
    pads = tuple(zip(attrs["pad_before"], attrs["pad_after"]))
    geo = geometry(
        "conv",
        x.shape[2:],
        tuple(attrs["kernel"]),
        tuple(attrs["stride"]),
        pads,
        tuple(attrs["dilation"]),
    )
    bias = w("bias") if attrs["bias"] else None
    return _conv_forward(_Unsaved(), x, w("weight"), bias, geo, attrs["groups"])


def _max_pool_step(x, w, attrs):
    geo = geometry(
        "max_pool",
        x.shape[2:],
        tuple(attrs["kernel"]),
        tuple(attrs["stride"]),
        tuple((p, p) for p in attrs["padding"]),
        tuple(attrs["dilation"]),
        ceil_mode=attrs["ceil_mode"],
        fill=-np.inf,
    )
    return max_positions(x, geo)[0]


def _separable(x, matrices):
    """x multiplied along each spatial axis by its matrix (nabla's average pooling)."""
    spatial = len(matrices)
    for axis, a in enumerate(matrices):
        a_t = a.T.astype(x.dtype)
        moved = x.swapaxes(2 + axis, -1) if axis != spatial - 1 else x
        moved = moved @ a_t
        x = moved.swapaxes(2 + axis, -1) if axis != spatial - 1 else moved
    return x


def _avg_pool_step(x, w, attrs):
    override = attrs["divisor_override"]
    windows = zip(x.shape[2:], attrs["kernel"], attrs["stride"], attrs["padding"])
    matrices = []
    for n, k, s, p in windows:
        out = output_size(n, k, s, p, 1, attrs["ceil_mode"])
        matrices.append(_average_matrix(n, out, k, s, p, attrs["count_include_pad"], override))
    if override is not None:  # the override divides the whole window once
        matrices[0] = matrices[0] / float(override)
    return _separable(x, matrices)


def _adaptive_avg_pool_step(x, w, attrs):
    outs = adaptive_sizes("adaptive_avg_pool", attrs["output_size"], x.shape[2:])
    return _separable(x, [_adaptive_matrix(n, o) for n, o in zip(x.shape[2:], outs)])


_IMAGE_STEPS = {
    "conv": _conv_step,
    "max_pool": _max_pool_step,
    "avg_pool": _avg_pool_step,
    "adaptive_avg_pool": _adaptive_avg_pool_step,
}
'''


def _conv_forward_source() -> tuple[str, list[Any]]:
    """``Conv.forward`` as a module-level ``_conv_forward``, and the nabla functions and classes
    it uses (copied with theirs); a name the predictor could not resolve is an error here."""
    from nabla.predictor import _globals_of, _imported_names
    from nabla.predictor_runtime import IMPORTS

    function = Conv.forward
    source = textwrap.dedent(inspect.getsource(function))
    source = source.replace("def forward(", "def _conv_forward(", 1)
    scope, imported = function.__globals__, _imported_names(IMPORTS)
    roots = []
    for name in sorted(_globals_of(function.__code__)):
        value = scope.get(name)
        if isinstance(value, (types.FunctionType, type)) and value.__module__.startswith("nabla."):
            roots.append(value)
        elif name not in imported and name not in vars(builtins):
            raise ValueError(f"the predictor cannot copy {name!r}, used by Conv.forward")
    return source, roots


def image_code(ops: set[str]) -> str:
    """The predictor's code for the image steps among ``ops`` (an empty table without any)."""
    if not ops & IMAGE_OPS:
        return "\n\n_IMAGE_STEPS = {}  # the model has no image layers\n"
    from nabla.predictor import _closure

    forward, called = _conv_forward_source()
    roots = [geometry, max_positions, _average_matrix, _adaptive_matrix, adaptive_sizes, *called]
    constants, sources = _closure(roots)
    header = (
        "\n\n# the image layers: nabla's NumPy code (nabla.ops.conv, nabla.ops.pooling,\n"
        "# nabla.nn.functional_pool), copied by nabla.predictor\n"
    )
    parts = [
        header,
        "".join(f"{name} = {value}\n" for name, value in sorted(constants.items())),
    ]
    parts += ["\n\n" + source for source in sources.values()]
    parts += ["\n\n" + forward, _STEPS]
    return "".join(parts)
