"""Counting, on arrays (no gradient: the results are integers, or counts of a float tensor):
``unique``, ``bincount`` and ``histc`` with PyTorch's results, dtypes and errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.errors import DTypeError, ShapeError


def unique_arrays(x: Array, axis: int | None) -> tuple[Array, Array, Array]:
    """The sorted distinct values (or slices along ``axis``), the position of each entry (or
    slice) among them, and how often each occurs; int64 positions and counts."""
    if axis is not None and x.ndim == 0:
        raise IndexError("unique: dim must be None for a 0-d tensor")
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True, axis=axis)
    inverse = inverse.reshape(x.shape if axis is None else (-1,))
    return (
        np.ascontiguousarray(values),
        inverse.astype(np.int64),
        counts.astype(np.int64),
    )


def bincount_array(x: Array, weights: Array | None, minlength: int) -> Array:
    """``torch.bincount``: int64 counts, or the weights' sums (float32 weights stay float32,
    any others give float64)."""
    if x.ndim != 1 or x.dtype.kind not in "iub" or (x.size and x.min() < 0):
        raise ValueError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise ValueError(f"bincount: minlength should be >= 0, got {minlength}")
    if weights is None:
        return np.bincount(x, minlength=minlength).astype(np.int64)
    if weights.shape != x.shape:
        raise ShapeError(
            f"bincount: weights (shape {weights.shape}) should have the same length as input "
            f"(shape {x.shape})"
        )
    dtype = weights.dtype if weights.dtype.kind == "f" else np.dtype(np.float64)
    sums = np.bincount(x, weights=weights.astype(np.float64), minlength=minlength)
    return sums.astype(dtype)


def histc_array(x: Array, bins: int, low: Any, high: Any) -> Array:
    """``torch.histc``: counts of ``bins`` equal bins over [low, high] (x's range when both
    are equal; widened by 1 each way when that range is one value), in x's float dtype; values
    outside are not counted."""
    if x.dtype.kind != "f":
        raise DTypeError(f"histc: not implemented for dtype {x.dtype} (floats only)")
    if bins <= 0:
        raise ValueError(f"torch.histogram(): bins must be > 0, but got {bins}")
    lo, hi = x.dtype.type(low), x.dtype.type(high)
    if lo == hi and x.size:
        lo, hi = x.min(), x.max()
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not lo < hi:
        raise ValueError("torch.histc: max must be larger than min")
    flat = x.reshape(-1)
    inside = flat[(flat >= lo) & (flat <= hi)]
    # PyTorch's linear interpolation, in x's dtype; the right edge falls in the last bin
    position = ((inside - lo) / (hi - lo) * x.dtype.type(bins)).astype(np.int64)
    counts: Array = np.bincount(np.minimum(position, bins - 1), minlength=bins)
    return counts.astype(x.dtype)


__all__ = ["bincount_array", "histc_array", "unique_arrays"]
