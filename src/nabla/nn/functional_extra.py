"""More of PyTorch 2.13's nn.functional: the piecewise activations, normalize, the distances and pad.

Every function is composed from differentiable nabla ops (selects, never products with masks),
so first and second derivatives follow from the graph and no NaN leaks from a branch not taken.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from nabla import functional as fn
from nabla.errors import ShapeError
from nabla.nn.functional_activation import elu, hardtanh, softplus
from nabla.ops.arithmetic import as_float
from nabla.tensor import Tensor, _wrap

__all__ = [
    "celu",
    "cosine_similarity",
    "glu",
    "hardsigmoid",
    "hardswish",
    "logsigmoid",
    "normalize",
    "pad",
    "pairwise_distance",
    "prelu",
    "relu6",
    "selu",
    "softmin",
    "softsign",
    "tanhshrink",
    "threshold",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _float(x: Any) -> Tensor:
    x = _t(x)
    return x if x.dtype.kind in "fc" else fn.cast(x, as_float(x.data).dtype)


def _number(op: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}(): argument '{name}' must be a number, not {type(value).__name__}")
    return float(value)


def _dim(op: str, dim: int, ndim: int) -> int:
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
            f"but got {dim})"
        )
    return dim % rank


# ----- activations -------------------------------------------------------------------------
def logsigmoid(input: Any) -> Tensor:
    """log σ(x) = −softplus(−x), finite for every x."""
    return -softplus(-_float(input))


def relu6(input: Any, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) (gradient 1 strictly inside (0, 6), as PyTorch)."""
    return hardtanh(input, 0.0, 6.0)


def selu(input: Any, inplace: bool = False) -> Tensor:
    """scale · elu(x, α) with PyTorch's self-normalising α and scale."""
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else α (exp(x / α) − 1)."""
    alpha = _number("celu", "alpha", alpha)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    x = _float(input)
    positive = x.data > 0
    negative = (fn.exp(fn.where(positive, 0.0, x) * (1.0 / alpha)) - 1.0) * alpha
    return fn.where(positive, x, negative)


def hardswish(input: Any, inplace: bool = False) -> Tensor:
    """x · relu6(x + 3) / 6; gradient 0 up to −3, (2x + 3)/6 strictly inside, 1 from 3 (PyTorch's)."""
    x = _float(input)
    middle = x * (x + 3.0) * (1.0 / 6.0)
    inner = fn.where(x.data < 3.0, middle, x)
    return fn.where(x.data <= -3.0, np.zeros((), x.dtype), inner)


def hardsigmoid(input: Any, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6; gradient 1/6 strictly inside (−3, 3)."""
    return hardtanh(_float(input) + 3.0, 0.0, 6.0) * (1.0 / 6.0)


def softsign(input: Any) -> Tensor:
    """x / (1 + |x|)."""
    x = _float(input)
    return x / (fn.abs(x) + 1.0)


def tanhshrink(input: Any) -> Tensor:
    """x − tanh(x)."""
    x = _float(input)
    return x - fn.tanh(x)


def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value`` (gradient 0 there)."""
    x = _t(input)
    limit = _number("threshold", "threshold", threshold)
    fill = np.asarray(_number("threshold", "value", value)).astype(x.dtype)
    return fn.where(x.data > limit, x, fill)


def glu(input: Any, dim: int = -1) -> Tensor:
    """a ⊙ σ(b), where a and b are the two halves of the input along ``dim``."""
    x = _float(input)
    if x.ndim == 0:
        raise ShapeError("glu does not support scalars because halving size must be even")
    axis = _dim("glu", dim, x.ndim)
    size = x.shape[axis]
    if size % 2:
        raise ShapeError(f"Halving dimension must be even, but dimension {axis} is size {size}")
    before = (slice(None),) * axis
    first, second = x[(*before, slice(0, size // 2))], x[(*before, slice(size // 2, size))]
    return first * fn.sigmoid(second)


def softmin(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(−x) along ``dim`` (PyTorch's implicit choice, with its warning, when None)."""
    x = _float(input)
    if dtype is not None:
        x = fn.cast(x, np.dtype(dtype))
    if dim is None:
        warnings.warn(
            "Implicit dimension choice for softmin has been deprecated. "
            "Change the call to include dim=X as an argument.",
            stacklevel=_stacklevel,
        )
        dim = 0 if x.ndim in (0, 1, 3) else 1
    _dim("softmin", dim, x.ndim)
    return fn.softmax(-x, dim)


def prelu(input: Any, weight: Any) -> Tensor:
    """x for x > 0, else w · x, with one w per channel (dimension 1) or one shared w."""
    x, w = _float(input), _t(weight)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if w.size != 1 and w.size != channels:
        raise ShapeError(
            "prelu: Mismatch of parameter numbers and input channel size. Found parameter "
            f"numbers = {w.size} and channel size = {channels}."
        )
    if w.size == 1 or x.ndim < 2:
        slope = fn.reshape(w, ())
    else:
        slope = fn.reshape(w, (channels,) + (1,) * (x.ndim - 2))
    return fn.where(x.data > 0, x, slope * x)


# ----- norms and distances -----------------------------------------------------------------
def _vector_norm(x: Tensor, p: float, dim: int, keepdim: bool) -> Tensor:
    """‖x‖_p along ``dim``, with PyTorch's zero subgradient where the norm is 0."""
    if p == math.inf:
        return fn.amax(fn.abs(x), dim, keepdim)
    if p == -math.inf:
        return fn.amin(fn.abs(x), dim, keepdim)
    if p == 0:
        return fn.sum(fn.where(x.data != 0, 1.0, 0.0 * x), dim, keepdim)
    if p == 1:
        return fn.sum(fn.abs(x), dim, keepdim)
    total = fn.sum(x * x if p == 2 else fn.abs(x) ** p, dim, keepdim)
    positive = total.data > 0
    safe = fn.where(positive, total, 1.0)
    root = fn.sqrt(safe) if p == 2 else safe ** (1.0 / p)
    return fn.where(positive, root, np.zeros((), x.dtype))


def normalize(
    input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None
) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim``."""
    x = _float(input)
    axis = _dim("normalize", dim, x.ndim)
    norm = _vector_norm(x, float(p), axis if x.ndim else None, True)  # type: ignore[arg-type]
    denom = fn.where(norm.data >= eps, norm, np.asarray(eps, x.dtype))
    return x / denom


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1 / max(‖x1‖, eps)) (x2 / max(‖x2‖, eps)) along ``dim``, as PyTorch 2.13: the clamp to
    eps changes the value but not the gradient path (PyTorch clamps in place under no_grad)."""
    a, b = _float(x1), _float(x2)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"cosine_similarity: x1 of shape {a.shape} and x2 of shape {b.shape} do not broadcast"
        ) from None
    a, b = fn.broadcast_to(a, shape), fn.broadcast_to(b, shape)
    axis = _dim("cosine_similarity", dim, len(shape))
    reduce_axis = axis if shape else None

    def scaled(v: Tensor) -> Tensor:
        norm = _vector_norm(v, 2.0, reduce_axis, True)  # type: ignore[arg-type]
        clamped = np.maximum(norm.data, np.asarray(eps, norm.dtype))
        return v / (norm + _wrap(clamped - norm.data))

    return fn.sum(scaled(a) * scaled(b), reduce_axis)


def pairwise_distance(
    x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """‖x1 − x2 + eps‖_p along the last dimension of the broadcast inputs."""
    a, b = _float(x1), _float(x2)
    try:
        diff = a - b + eps
    except ValueError:
        raise ShapeError(
            f"pairwise_distance: x1 of shape {a.shape} and x2 of shape {b.shape} do not broadcast"
        ) from None
    return _vector_norm(diff, float(p), -1 if diff.ndim else None, keepdim)  # type: ignore[arg-type]


# ----- pad ---------------------------------------------------------------------------------
_MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(mode: str, size: int, before: int, after: int) -> np.ndarray:
    """For each position of the padded axis, the input position it copies."""
    positions = np.arange(-before, size + after)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    if mode == "circular":
        return positions % size
    period = 2 * (size - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded < size, folded, period - folded)


def _constant_pad(x: Tensor, widths: list[tuple[int, tuple[int, int]]], value: float) -> Tensor:
    for axis, (before, after) in widths:
        size = x.shape[axis]
        x = x[(slice(None),) * axis + (slice(max(-before, 0), size - max(-after, 0)),)]
        pieces = []
        for width in (before, after):
            shape = list(x.shape)
            shape[axis] = max(width, 0)
            pieces.append(np.full(shape, value, dtype=x.dtype))
        x = fn.cat([_wrap(pieces[0]), x, _wrap(pieces[1])], axis)
    return x


def pad(input: Any, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad) / 2 dimensions (PyTorch's order: last dimension first).

    ``"constant"`` fills with ``value`` (negative widths crop); ``"reflect"``, ``"replicate"``
    and ``"circular"`` gather input entries by a NumPy index, so the gradient sums back onto them.
    """
    x = _t(input)
    widths_flat = [int(w) for w in pad]
    if len(widths_flat) % 2:
        raise ValueError("pad: padding length must be divisible by 2")
    if len(widths_flat) // 2 > x.ndim:
        raise ValueError(
            f"pad: padding length {len(widths_flat)} is too large for an input of shape {x.shape}"
        )
    if mode not in _MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}")
    n = len(widths_flat) // 2
    widths = [(x.ndim - 1 - i, (widths_flat[2 * i], widths_flat[2 * i + 1])) for i in range(n)]
    if mode == "constant":
        return _constant_pad(x, widths, 0.0 if value is None else float(value))
    if value not in (None, 0, 0.0):
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in a value argument")
    if not 1 <= n <= 3 or x.ndim not in (n + 1, n + 2):
        raise NotImplementedError(
            f"pad: padding size {len(widths_flat)} is not supported for a {x.ndim}D input of "
            f"shape {x.shape} in mode {mode!r} (needs a {n + 1}D or {n + 2}D input)"
        )
    for axis, (before, after) in widths:
        size = x.shape[axis]
        too_big = {
            "reflect": max(before, after) >= size,
            "circular": max(before, after) > size,
            "replicate": size == 0,
        }[mode]
        if too_big or (min(before, after) < 0 and mode != "circular") or size == 0:
            raise ValueError(
                f"pad: padding ({before}, {after}) at dimension {axis} of input shape {x.shape} "
                f"is invalid for mode {mode!r}"
            )
        index = _source_index(mode, size, before, after)
        x = x[(slice(None),) * axis + (index,)]
    return x
