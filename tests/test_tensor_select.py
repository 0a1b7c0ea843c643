"""gather, index_select, masked_fill, sort, argsort, topk, cumsum, norm (nabla.tensor_select)
and chunk, repeat, t, contiguous (nabla.tensor_shape): values and gradients against PyTorch,
first and second derivatives against central differences (nb.gradcheck / gradgradcheck)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nabla as nb

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


def _pair(data: np.ndarray) -> tuple[Any, Any]:
    return nb.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)


def _compare(
    data: np.ndarray,
    ours: Callable[[Any], Any],
    theirs: Callable[[Any], Any],
    rtol: float = 1e-5,
) -> None:
    """Values, dtype and the gradient of ⟨w, f(x)⟩ (w random, so no gradient is all ones)."""
    x, tx = _pair(data)
    got, want = ours(x), theirs(tx)
    assert got.shape == tuple(want.shape)
    assert got.dtype == np.dtype(str(want.dtype).removeprefix("torch."))
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=rtol, atol=1e-6)
    if not want.requires_grad:
        assert not got.requires_grad
        return
    w = np.random.default_rng(1).standard_normal(got.shape).astype(data.dtype)
    (got * nb.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    if tx.grad is None:  # PyTorch's p = 0 norm: recorded, with no gradient
        assert x.grad is None
        return
    assert x.grad is not None
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=rtol, atol=1e-6)


def _check_both_orders(fn: Callable[[Any], Any], data: np.ndarray) -> None:
    x = nb.tensor(data.astype(np.float64), requires_grad=True)
    assert nb.gradcheck(fn, x)
    assert nb.gradgradcheck(fn, x)


def _distinct(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Values with no ties (a permutation, scaled), so sort and topk pick one order."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n).reshape(shape) * 0.37 - 1.1).astype(
        np.float64
    )


# ----- gather and index_select ----------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_gather_matches_pytorch_with_repeats(dtype: Any, dim: int) -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 4)).astype(dtype)
    n = data.shape[dim]
    index = rng.integers(0, n, size=(2, 3) if dim in (0, -2) else (3, 5))  # shorter elsewhere
    _compare(
        data,
        lambda x: x.gather(dim, nb.tensor(index)),
        lambda t: torch.gather(t, dim, torch.tensor(index)),
    )
    _compare(
        data,
        lambda x: nb.gather(x, dim, index),
        lambda t: t.gather(dim, torch.tensor(index)),
    )


def test_gather_0d_and_empty_index() -> None:
    _compare(
        np.array(2.5),
        lambda x: x.gather(0, nb.tensor([0, 0])),
        lambda t: t.gather(0, torch.tensor([0, 0])),
    )
    empty = np.zeros((2, 0), dtype=np.int64)
    _compare(
        np.ones((2, 3)),
        lambda x: x.gather(1, nb.tensor(empty)),
        lambda t: t.gather(1, torch.tensor(empty)),
    )


def test_gather_refuses_bad_indices() -> None:
    x = nb.tensor(np.ones((2, 3)))
    with pytest.raises(IndexError, match="gather: index -1 is out of bounds"):
        x.gather(1, nb.tensor([[-1]]))
    with pytest.raises(IndexError, match="gather: index 3 is out of bounds"):
        x.gather(1, nb.tensor([[3]]))
    with pytest.raises(IndexError, match="index has 1 dimensions but x has 2"):
        x.gather(1, nb.tensor([0]))
    with pytest.raises(IndexError, match="larger than size 2"):
        x.gather(1, nb.tensor(np.zeros((3, 1), dtype=np.int64)))
    with pytest.raises(TypeError, match="integer tensor"):
        x.gather(1, nb.tensor([[0.0]]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_index_select_matches_pytorch(dtype: Any, dim: int) -> None:
    data = np.random.default_rng(2).standard_normal((3, 4, 2)).astype(dtype)
    index = np.array([1, 0, 1, 1])[: data.shape[dim] + 1] % data.shape[dim]
    _compare(
        data,
        lambda x: x.index_select(dim, nb.tensor(index)),
        lambda t: t.index_select(dim, torch.tensor(index)),
    )
    _compare(
        data,
        lambda x: nb.index_select(x, dim, nb.tensor(index[:0])),
        lambda t: torch.index_select(t, dim, torch.tensor(index[:0])),
    )
    with pytest.raises(IndexError, match="index_select: index 9 is out of bounds"):
        nb.tensor(data).index_select(dim, [9])


def test_gather_and_index_select_second_order() -> None:
    index = np.array([[0, 2, 2], [1, 1, 0]])
    _check_both_orders(lambda x: x.gather(1, nb.tensor(index)) ** 2, _distinct((2, 3)))
    _check_both_orders(lambda x: x.index_select(0, [1, 1, 0]) ** 3, _distinct((2, 3)))


# ----- masked_fill --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_fill_matches_pytorch_and_selects(dtype: Any) -> None:
    data = np.random.default_rng(3).standard_normal((3, 4)).astype(dtype)
    mask = np.array([True, False, True, False])  # broadcast over rows
    _compare(
        data,
        lambda x: nb.masked_fill(x, nb.tensor(mask), 2.0),
        lambda t: torch.masked_fill(t, torch.tensor(mask), 2.0),
    )
    # an infinite fill value must not leak nan into the gradient (select, not multiply)
    x = nb.tensor(data, requires_grad=True)
    x.masked_fill(nb.tensor(mask), -np.inf).softmax(-1).sum().backward()
    assert x.grad is not None and np.isfinite(x.grad).all()


def test_masked_fill_value_tensor_gets_the_gradient_and_dtype_is_kept() -> None:
    data = np.arange(6.0).reshape(2, 3)
    mask = data > 2
    x, tx = _pair(data)
    v, tv = (
        nb.tensor(0.5, requires_grad=True),
        torch.tensor(0.5, requires_grad=True, dtype=torch.float64),
    )
    (x.masked_fill(nb.tensor(mask), v) * nb.tensor(data)).sum().backward()
    (tx.masked_fill(torch.tensor(mask), tv) * torch.tensor(data)).sum().backward()
    np.testing.assert_allclose(v.grad, tv.grad.numpy())
    np.testing.assert_allclose(x.grad, tx.grad.numpy())
    ints = nb.tensor([0, 1, 2, 3]).masked_fill(nb.tensor([False, True, False, True]), 2.7)
    want = torch.tensor([0, 1, 2, 3]).masked_fill(torch.tensor([False, True, False, True]), 2.7)
    assert ints.dtype == np.int64
    np.testing.assert_array_equal(ints.numpy(), want.numpy())


def test_masked_fill_refuses_bad_masks_and_values() -> None:
    x = nb.tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match="boolean masks"):
        x.masked_fill(nb.tensor([1.0, 0.0, 1.0]), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(2,\) does not"):
        x.masked_fill(np.ones(2, dtype=bool), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill_: mask of shape \(4, 2, 3\) does not"):
        x.masked_fill_(np.ones((4, 2, 3), dtype=bool), 0.0)
    # out of place, the mask may widen the result, as PyTorch's
    wide = np.array([[[True], [False]]] * 2)
    _compare(
        np.ones((1, 3)),
        lambda v: v.masked_fill(wide, 2.0),
        lambda t: t.masked_fill(torch.from_numpy(wide), 2.0),
    )
    with pytest.raises(ValueError, match="0-dimensional value"):
        x.masked_fill(np.ones(3, dtype=bool), nb.tensor([1.0]))


def test_masked_fill_in_place_as_pytorch() -> None:
    data = np.random.default_rng(4).standard_normal((2, 3))
    mask = np.array([[True], [False]])
    y, ty = (
        nb.tensor(data).masked_fill_(nb.tensor(mask), 7.0),
        torch.tensor(data).masked_fill_(torch.tensor(mask), 7.0),
    )
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    x, tx = _pair(data)
    v, tv = (
        nb.tensor(1.5, dtype=np.float64, requires_grad=True),
        torch.tensor(1.5, dtype=torch.float64, requires_grad=True),
    )
    z, tz = x * 2, tx * 2
    z.masked_fill_(nb.tensor(mask), v)
    tz.masked_fill_(torch.tensor(mask), tv)
    (z * z).sum().backward()
    (tz * tz).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())
    np.testing.assert_allclose(v.grad, tv.grad.numpy())


def test_masked_fill_second_order() -> None:
    mask = nb.tensor(np.array([[True, False, False], [False, True, False]]))
    _check_both_orders(lambda x: x.masked_fill(mask, 1.0) ** 3, _distinct((2, 3)))


# ----- sort, argsort, topk ------------------------------------------------------------------
TIES = np.array(
    [[3.0, 1.0, 3.0, 2.0, 1.0, 3.0, np.nan, 1.0], [0.0, -0.0, 2.0, 2.0, 5.0, 0.0, 1.0, 2.0]]
)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [1, -1, 0])
def test_sort_with_ties_and_nan_is_pytorchs_stable_sort(
    dtype: Any, descending: bool, dim: int
) -> None:
    data = TIES.astype(dtype)
    values, indices = nb.tensor(data).sort(dim, descending=descending)
    want = torch.sort(torch.tensor(data), dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(indices.numpy(), want.indices.numpy())
    np.testing.assert_array_equal(values.numpy(), want.values.numpy())
    assert indices.dtype == np.int64
    got = nb.sort(nb.tensor(data), dim=dim, descending=descending)
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    np.testing.assert_array_equal(
        nb.argsort(nb.tensor(data), dim, descending).numpy(),
        torch.argsort(torch.tensor(data), dim=dim, descending=descending, stable=True).numpy(),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("descending", [False, True])
def test_sort_gradient_matches_pytorch(dtype: Any, descending: bool) -> None:
    data = _distinct((3, 5)).astype(dtype)
    for dim in (0, 1, -1):
        _compare(
            data,
            lambda x, dim=dim: x.sort(dim, descending).values,
            lambda t, dim=dim: t.sort(dim, descending).values,
        )
    _check_both_orders(lambda x: x.sort(1, True).values ** 2, _distinct((3, 5)))


def test_sort_of_0d_empty_and_integers() -> None:
    for data in (np.array(2.5), np.zeros((0, 3)), np.zeros((2, 0))):
        got, want = nb.tensor(data).sort(), torch.tensor(data).sort()
        assert got.values.shape == tuple(want.values.shape)
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    ints = np.array([3, 1, 2, 1])
    got, want = (
        nb.tensor(ints).sort(descending=True),
        torch.tensor(ints).sort(descending=True, stable=True),
    )
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [0, -1])
def test_topk_matches_pytorch(dtype: Any, largest: bool, dim: int) -> None:
    data = _distinct((4, 6)).astype(dtype)
    for k in (0, 1, 3, data.shape[dim]):
        got = nb.tensor(data).topk(k, dim, largest)
        want = torch.topk(torch.tensor(data), k, dim, largest)
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        _compare(
            data,
            lambda x, k=k: nb.topk(x, k, dim=dim, largest=largest).values,
            lambda t, k=k: t.topk(k, dim=dim, largest=largest).values,
        )
    _check_both_orders(lambda x: x.topk(2, 0, largest).values ** 3, _distinct((4, 3)))


def test_topk_with_ties_gives_pytorchs_values_and_valid_indices() -> None:
    data = np.tile(TIES, (1, 3))
    for largest in (True, False):
        got = nb.tensor(data).topk(7, largest=largest)
        want = torch.topk(torch.tensor(data), 7, largest=largest)
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        picked = np.take_along_axis(data, got.indices.numpy(), axis=-1)
        np.testing.assert_array_equal(picked, want.values.numpy())
        assert all(len(set(row)) == 7 for row in got.indices.numpy().tolist())
    with pytest.raises(IndexError, match=r"topk: k \(9\) is out of range"):
        nb.tensor(np.ones(8)).topk(9)


# ----- cumsum --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_cumsum_matches_pytorch(dtype: Any, dim: int) -> None:
    data = np.random.default_rng(5).standard_normal((3, 4, 2)).astype(dtype)
    _compare(data, lambda x: x.cumsum(dim), lambda t: t.cumsum(dim), rtol=1e-4)
    _compare(data, lambda x: nb.cumsum(x, dim), lambda t: torch.cumsum(t, dim), rtol=1e-4)
    # a non-contiguous input
    _compare(data, lambda x: x.mT.cumsum(dim), lambda t: t.mT.cumsum(dim), rtol=1e-4)


def test_cumsum_0d_empty_integer_and_dtype() -> None:
    for data in (
        np.array(2.5),
        np.zeros((0, 3)),
        np.array([True, False, True]),
        np.array([1, 2], dtype=np.int32),
    ):
        got, want = nb.tensor(data).cumsum(0), torch.tensor(data).cumsum(0)
        assert got.dtype == np.dtype(str(want.dtype).removeprefix("torch."))
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    got = nb.tensor([1, 2, 3]).cumsum(0, dtype=np.float64)
    assert got.dtype == np.float64
    with pytest.raises(TypeError, match="missing required argument 'dim'"):
        nb.tensor([1.0]).cumsum()
    with pytest.raises(IndexError, match="cumsum: dimension out of range"):
        nb.tensor([1.0]).cumsum(1)


def test_cumsum_second_order() -> None:
    _check_both_orders(lambda x: x.cumsum(1) ** 2, _distinct((2, 4)))
    _check_both_orders(lambda x: x.cumsum(0) ** 3, _distinct((3, 2)))


# ----- norm ----------------------------------------------------------------------------------
NORMS = [2, 1, math.inf, -math.inf, "fro", 3, 0.5]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", NORMS)
@pytest.mark.parametrize(
    ("dim", "keepdim"), [(None, False), (1, False), (-1, True), ((0, 1), False), ((0, 2), True)]
)
def test_norm_matches_pytorch(dtype: Any, p: Any, dim: Any, keepdim: bool) -> None:
    if p == "fro" and dim is not None and not isinstance(dim, tuple):
        dim = (dim,)
    data = (np.random.default_rng(6).standard_normal((2, 3, 4)) + 0.1).astype(dtype)
    _compare(
        data,
        lambda x: x.norm(p, dim, keepdim),
        lambda t: t.norm(p, dim, keepdim),
        rtol=1e-4,
    )
    _compare(data, lambda x: nb.norm(x, p, dim), lambda t: torch.norm(t, p, dim), rtol=1e-4)


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, math.inf, -math.inf])
def test_norm_at_zero_and_ties_matches_pytorch(p: Any) -> None:
    _compare(np.zeros(3), lambda x: x.norm(p), lambda t: t.norm(p))
    _compare(np.array([1.0, -3.0, 3.0, 2.0, 0.0]), lambda x: x.norm(p), lambda t: t.norm(p))
    _compare(np.array(-2.0), lambda x: x.norm(p), lambda t: t.norm(p))


def test_norm_p0_empty_and_refusals() -> None:
    _compare(np.array([[0.0, 1.0], [2.0, 0.0]]), lambda x: x.norm(0, 1), lambda t: t.norm(0, 1))
    _compare(np.zeros((0, 3)), lambda x: x.norm(), lambda t: t.norm())
    with pytest.raises(TypeError, match="norm: expected a floating point tensor"):
        nb.tensor([1, 2]).norm()
    with pytest.raises(ValueError, match="not supported"):
        nb.tensor([1.0]).norm("nuc")
    assert nb.tensor([3, 4]).norm(dtype=np.float64).item() == 5.0


@pytest.mark.parametrize("p", [2, 1, 3, 1.5, math.inf, "fro"])
def test_norm_second_order(p: Any) -> None:
    _check_both_orders(lambda x: x.norm(p, dim=1) ** 2, _distinct((2, 3)))
    _check_both_orders(lambda x: x.norm(p) * x.sum(), _distinct((2, 3), seed=1))


# ----- chunk, repeat, t, contiguous --------------------------------------------------------
@pytest.mark.parametrize(("n", "chunks"), [(5, 3), (6, 4), (0, 2), (6, 6), (3, 7)])
def test_chunk_matches_pytorch(n: int, chunks: int) -> None:
    data = np.arange(n * 2.0).reshape(2, n)
    got, want = nb.tensor(data).chunk(chunks, -1), torch.tensor(data).chunk(chunks, -1)
    assert isinstance(got, tuple) and len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert [c.shape for c in nb.chunk(nb.tensor(data), chunks, 1)] == [
        tuple(c.shape) for c in want
    ]
    with pytest.raises(ValueError, match="greater than 0"):
        nb.tensor(data).chunk(0)
    with pytest.raises(ValueError, match="at least a 1-dimensional"):
        nb.tensor(1.0).chunk(1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [(2, 1), (1, 3), (2, 2, 3), (3, 1, 1, 2), (2, 0)])
def test_repeat_matches_pytorch(dtype: Any, sizes: tuple[int, ...]) -> None:
    data = np.random.default_rng(7).standard_normal((2, 3)).astype(dtype)
    _compare(data, lambda x: x.repeat(*sizes), lambda t: t.repeat(*sizes))
    _compare(data, lambda x: x.repeat(sizes), lambda t: t.repeat(sizes))
    _compare(np.array(1.5, dtype=dtype), lambda x: x.repeat(2, 3), lambda t: t.repeat(2, 3))
    with pytest.raises(ValueError, match="can not be smaller"):
        nb.tensor(data).repeat(2)


def test_repeat_second_order() -> None:
    _check_both_orders(lambda x: x.repeat(2, 1, 2) ** 3, _distinct((2, 3)))


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_t_matches_pytorch(shape: tuple[int, ...]) -> None:
    data = np.random.default_rng(8).standard_normal(shape)
    _compare(data, lambda x: x.t(), lambda t: t.t())
    _compare(data, lambda x: nb.t(x), lambda t: torch.t(t))
    with pytest.raises(ValueError, match=r"t\(\) expects a tensor with <= 2 dimensions"):
        nb.zeros(2, 2, 2).t()


def test_contiguous_copies_only_strided_views() -> None:
    x = nb.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.contiguous() is x and x.is_contiguous()
    y = x.t()
    assert y.is_contiguous() is False and torch.ones(2, 3).t().is_contiguous() is False
    z = y.contiguous()
    assert z.is_contiguous() and z.data.flags.c_contiguous
    np.testing.assert_array_equal(z.numpy(), x.numpy().T)
    (z * nb.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    np.testing.assert_array_equal(x.grad, np.arange(6.0).reshape(3, 2).T)
    _check_both_orders(lambda v: v.t().contiguous() ** 2, _distinct((2, 3)))
