"""The cross-entropy's target check: one reduction in the common case, the same answer as the
plain min/max test."""

from __future__ import annotations

import numpy as np
import pytest

from nabla.ops.loss import all_counted as _all_counted


def _plain(y: np.ndarray, c: int, ignore_index: int) -> bool:
    if not y.size:
        return ignore_index != 0
    lo, hi = int(y.min()), int(y.max())
    return lo >= 0 and hi < c and not lo <= ignore_index <= hi


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint64])
@pytest.mark.parametrize("ignore_index", [-100, -1, 0, 1, 2, 3, 7])
def test_all_counted_agrees_with_min_and_max(dtype, ignore_index, rng) -> None:  # type: ignore[no-untyped-def]
    signed = np.dtype(dtype).kind == "i"
    cases = [rng.integers(-2 if signed else 0, 5, n).astype(dtype) for n in (0, 1, 4, 50)]
    cases += [np.array(v, dtype=dtype) for v in ([0, 1, 2], [2, 2], [0], [3])]
    if signed:
        cases += [np.array(v, dtype=dtype) for v in ([-1, 0], [-100, 1])]
    for y in cases:
        assert _all_counted(y, 3, ignore_index) == _plain(y, 3, ignore_index), y
