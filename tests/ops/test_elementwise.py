"""The stable sigmoid: both of its paths, against the definition and at the extremes."""

from __future__ import annotations

import numpy as np
import pytest

from nabla.ops.elementwise import stable_sigmoid


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_sigmoid_paths_agree_bitwise(dtype: type, rng: np.random.Generator) -> None:
    x = (rng.standard_normal(6000) * 30).astype(dtype)
    x[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, -1e-30]
    large = stable_sigmoid(x)  # ≥ 1024 elements: one exponential
    small = np.concatenate([stable_sigmoid(x[i : i + 500]) for i in range(0, x.size, 500)])
    np.testing.assert_array_equal(large, small)
    assert large.dtype == dtype
    assert list(large[:4]) == [0.5, 0.5, 1.0, 0.0] and np.isnan(large[4])


def test_stable_sigmoid_matches_the_definition_and_keeps_tails() -> None:
    x = np.linspace(-700, 700, 4001)
    expected = np.exp(-np.logaddexp(0.0, -x))  # 1 / (1 + e^−x), computed without overflow
    np.testing.assert_allclose(stable_sigmoid(x), expected, rtol=1e-14, atol=0)
    tail = stable_sigmoid(np.array([-100.0] * 2000, dtype=np.float32))
    assert tail[0] > 0 and np.isclose(tail[0], np.exp(-100.0), rtol=0.1)  # a denormal, not 0
