"""The shared constant arrays and the fast paths built on them: the same values as the plain
NumPy calls they replace."""

from __future__ import annotations

import numpy as np
import pytest

from nabla.ops import constants
from nabla.ops.constants import arange, column_sums, max_operand, ones, relu_array, zeros


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3,), (8, 8), (128, 64), (5, 7, 9), (1024, 256), (30000, 3)])
def test_relu_array_equals_maximum_with_zero_bitwise(shape, dtype, rng) -> None:  # type: ignore[no-untyped-def]
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    flat = x.reshape(-1)
    flat[: min(6, flat.size)] = [0.0, -0.0, np.nan, np.inf, -np.inf, -1e-30][: min(6, flat.size)]
    expected = np.maximum(x, 0)
    got = relu_array(x)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == dtype
    assert (np.signbit(got) == np.signbit(expected)).all()  # −0 becomes +0 on both paths
    out = np.empty_like(x)
    assert relu_array(x, out=out) is out
    np.testing.assert_array_equal(out, expected)


def test_relu_array_keeps_integer_arrays() -> None:
    x = np.arange(-100, 100).reshape(20, 10)
    np.testing.assert_array_equal(relu_array(x), np.maximum(x, 0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [1, 2, 128, 1000])
def test_column_sums_is_the_row_sum(rows, dtype, rng) -> None:  # type: ignore[no-untyped-def]
    g = rng.standard_normal((rows, 37)).astype(dtype)
    expected = g.astype(np.float64).sum(axis=0)
    got = column_sums(g)
    assert got.shape == (37,) and got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * rows)


def test_cached_arrays_are_shared_read_only_and_bounded() -> None:
    z = zeros((4, 5), np.float32)
    assert z is zeros((4, 5), np.float32) and not z.flags.writeable
    assert z.dtype == np.float32 and not z.any()
    assert zeros((4, 5), np.float64) is not z  # one array per dtype
    o = ones(6, np.float64)
    assert o is ones(6, np.float64) and not o.flags.writeable and (o == 1).all()
    r = arange(9)
    assert r is arange(9) and list(r) == list(range(9))
    with pytest.raises(ValueError):
        r[0] = 1
    for n in range(constants._MAX_ENTRIES + 5):
        arange(1000 + n)
    assert len(constants._ARANGE) <= constants._MAX_ENTRIES


def test_max_operand_is_a_zero_that_broadcasts() -> None:
    f32 = np.dtype(np.float32)
    assert max_operand((4, 4), f32) == 0  # tiny: the scalar
    assert max_operand((128, 64), f32).shape == (128, 64)  # fits the cache: full zeros
    assert max_operand((1024, 256), f32).shape == (256,)  # large: one row, broadcast
    assert max_operand((100000, 3), f32) == 0  # large with short rows: the scalar
    assert max_operand((128, 64), np.dtype(np.int64)) == 0
    for shape in [(128, 64), (1024, 256)]:
        operand = max_operand(shape, f32)
        assert not operand.any() and np.broadcast_shapes(operand.shape, shape) == shape
