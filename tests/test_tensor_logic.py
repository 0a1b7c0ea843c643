"""Comparisons, value tests, logical/bitwise ops, all/any/count_nonzero, nonzero, where,
clamp_min/clamp_max (and in place), nan_to_num and masked_select (nabla.tensor_logic and
nabla.functional_logic): values, dtypes, shapes and gradients against PyTorch on every input
kind, first and second derivatives against central differences, and the errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla import functional_logic as FL
from nabla.errors import DTypeError, GraphError, ShapeError

torch = pytest.importorskip("torch")

FLOATS = [np.float32, np.float64]
NAN, INF = float("nan"), float("inf")


def _layouts(a: np.ndarray) -> Iterator[tuple[Any, np.ndarray]]:
    """The values of ``a`` in every memory layout nabla must read: C, Fortran, negative
    strides, a strided view, read-only, and a broadcast view (of a's first row: other values),
    each with PyTorch's contiguous copy."""
    for layout in _memory_layouts(a):
        yield _t(layout), layout


def _memory_layouts(a: np.ndarray) -> Iterator[np.ndarray]:
    yield a
    yield np.array(a, order="F")
    yield np.flip(np.flip(a).copy())
    if a.ndim:
        big = np.zeros(tuple(2 * n for n in a.shape), dtype=a.dtype)
        big[tuple(slice(None, None, 2) for _ in a.shape)] = a
        yield big[tuple(slice(None, None, 2) for _ in a.shape)]
    readonly = a.copy()
    readonly.flags.writeable = False
    yield readonly
    if a.ndim and a.shape[0] > 1:
        yield np.broadcast_to(a[:1], a.shape)


def _t(a: Any, requires_grad: bool = False) -> Any:
    return torch.tensor(np.array(a), requires_grad=requires_grad)


def _np_dtype(t: Any) -> np.dtype[Any]:
    return np.dtype(str(t.dtype).removeprefix("torch."))


def _same(got: Any, want: Any) -> None:
    """Shape, dtype and values (nan where nan) of a nabla result and PyTorch's."""
    assert got.shape == tuple(want.shape)
    assert got.dtype == _np_dtype(want)
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())


def _values(shape: tuple[int, ...], dtype: Any, seed: int = 0) -> np.ndarray:
    """Small values with ties, zeros and (for floats) nan and ±inf among them."""
    rng = np.random.default_rng(seed)
    pool = [0.0, 1.0, -1.5, 2.0, NAN, INF, -INF] if np.dtype(dtype).kind == "f" else [0, 1, 2]
    if np.dtype(dtype) == np.bool_:
        pool = [0, 1]
    return np.array(rng.choice(pool, size=shape)).astype(dtype)


# ----- comparisons ------------------------------------------------------------------------------
COMPARISONS = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less"]
COMPARISONS += ["less_equal", "not_equal"]
SHAPE_PAIRS = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1), (1, 3)), ((), (2,)), ((0, 3), (3,))]


@pytest.mark.parametrize("name", COMPARISONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize(("xs", "ys"), SHAPE_PAIRS)
def test_comparisons_match_pytorch(name: str, dtype: Any, xs: Any, ys: Any) -> None:
    a, b = _values(xs, dtype, 1), _values(ys, dtype, 2)
    for ta, layout in _layouts(a):
        want = getattr(torch, name)(ta, _t(b))
        _same(getattr(nb.tensor(layout), name)(nb.tensor(b)), want)
        _same(getattr(FL, name)(layout, nb.tensor(b)), want)
        _same(getattr(FL, name)(layout, b), want)
        _same(getattr(nb.tensor(layout), name)(b), want)  # an array operand
        _same(getattr(nb.tensor(layout), name)(1), getattr(torch, name)(ta, 1))  # a number


def test_comparisons_carry_no_gradient_and_refuse_bad_shapes() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    for out in (x.eq(x), x.lt(1.5), FL.ge(x, x), x.isnan(), x.logical_and(x), x.all()):
        assert not out.requires_grad and out.grad_fn is None
    with pytest.raises(ShapeError, match=r"^gt: x of shape \(2,\) and other of shape \(3,\)"):
        x.gt(nb.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ShapeError, match="logical_or: x of shape"):
        FL.logical_or(x, np.ones(3))


def test_mixed_dtypes_compare_as_pytorch() -> None:
    i, f = np.array([1, 2, 3]), np.array([1.0, 2.5, 3.0], dtype=np.float32)
    _same(nb.tensor(i).eq(nb.tensor(f)), torch.eq(_t(i), _t(f)))
    _same(nb.tensor(f).lt(2), torch.lt(_t(f), 2))
    _same(nb.tensor(i).le(2.5), torch.le(_t(i), 2.5))


# ----- equal, isclose, allclose -------------------------------------------------------------
def test_equal_matches_pytorch() -> None:
    a = np.array([[1.0, 2.0], [3.0, NAN]])
    cases = [(a[:, :1], a[:, :1]), (a, a), (a[0], a[0].astype(np.int64)), (a[0], a[:1])]
    cases += [(np.zeros((0, 2)), np.zeros((0, 2))), (np.array(2.0), np.array(2.0))]
    for x, y in cases:
        want = torch.equal(_t(x), _t(y))
        assert nb.tensor(x).equal(nb.tensor(y)) is want
        assert FL.equal(x, nb.tensor(y)) is want
    assert nb.tensor([1.0, 2.0]).equal(nb.tensor([1.0, 3.0])) is False


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("equal_nan", [False, True])
def test_isclose_and_allclose_match_pytorch(dtype: Any, equal_nan: bool) -> None:
    x = np.array([1.0, 1.0 + 1e-6, 1.0 + 1e-3, NAN, INF, -INF, INF, 0.0, 1e-9], dtype=dtype)
    y = np.array([1.0, 1.0, 1.0, NAN, INF, INF, 1e30, 1e-8, 0.0], dtype=dtype)
    for kwargs in ({}, {"rtol": 1e-2}, {"atol": 1e-3, "rtol": 0.0}):
        want = torch.isclose(_t(x), _t(y), equal_nan=equal_nan, **kwargs)
        for tx, layout in _layouts(x):
            _same(
                nb.tensor(layout).isclose(nb.tensor(y), equal_nan=equal_nan, **kwargs),
                torch.isclose(tx, _t(y), equal_nan=equal_nan, **kwargs),
            )
        _same(FL.isclose(x, nb.tensor(y), equal_nan=equal_nan, **kwargs), want)
        for i in range(len(x)):
            args = (_t(x[i : i + 1]), _t(y[i : i + 1]))
            want_all = torch.allclose(*args, equal_nan=equal_nan, **kwargs)
            got = nb.tensor(x[i : i + 1]).allclose(y[i : i + 1], equal_nan=equal_nan, **kwargs)
            assert got is want_all
    ints = np.array([1, 2, 10]), np.array([1, 3, 12])
    want = torch.isclose(_t(ints[0]), _t(ints[1]), rtol=0.1, atol=1)
    _same(FL.isclose(*ints, rtol=0.1, atol=1), want)
    _same(FL.isclose(nb.tensor(ints[0]), ints[1], rtol=0.1, atol=1), want)
    _same(nb.tensor(x).isclose(1.0), torch.isclose(_t(x), torch.tensor(1.0, dtype=_t(x).dtype)))


def test_isclose_refusals() -> None:
    with pytest.raises(DTypeError, match="isclose: x and other must have the same dtype"):
        nb.tensor([1.0]).isclose(nb.tensor([1.0], dtype=np.float64))
    with pytest.raises(ValueError, match="isclose: rtol must be greater than or equal to zero"):
        nb.tensor([1.0]).isclose(nb.tensor([1.0]), rtol=-1)
    with pytest.raises(ValueError, match="atol must be"):
        FL.allclose(nb.tensor([1.0]), nb.tensor([1.0]), atol=-1)


# ----- value tests, logical and bitwise --------------------------------------------------------
TESTS = ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not"]


@pytest.mark.parametrize("name", TESTS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.bool_])
@pytest.mark.parametrize("shape", [(), (0,), (7,), (2, 3, 4)])
def test_value_tests_match_pytorch(name: str, dtype: Any, shape: Any) -> None:
    a = _values(shape, dtype)
    for ta, layout in _layouts(a):
        _same(getattr(nb.tensor(layout), name)(), getattr(torch, name)(ta))
        _same(getattr(FL, name)(layout), getattr(torch, name)(ta))


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
@pytest.mark.parametrize(("xd", "yd"), [(np.float32, np.float32), (np.int64, np.float64)])
@pytest.mark.parametrize(("xs", "ys"), SHAPE_PAIRS)
def test_logical_ops_match_pytorch(name: str, xd: Any, yd: Any, xs: Any, ys: Any) -> None:
    a, b = _values(xs, xd, 3), _values(ys, yd, 4)
    for ta, layout in _layouts(a):
        want = getattr(torch, name)(ta, _t(b))
        _same(getattr(nb.tensor(layout), name)(nb.tensor(b)), want)
        _same(getattr(FL, name)(layout, nb.tensor(b)), want)


BITWISE = ["bitwise_and", "bitwise_or", "bitwise_xor"]


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int8, np.int32, np.int64])
def test_bitwise_ops_match_pytorch(dtype: Any) -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(0, 2 if dtype == np.bool_ else 100, (3, 4)).astype(dtype)
    b = rng.integers(0, 2 if dtype == np.bool_ else 100, (4,)).astype(dtype)
    for ta, layout in _layouts(a):
        _same(nb.tensor(layout).bitwise_not(), torch.bitwise_not(ta))
        _same(FL.bitwise_not(layout), torch.bitwise_not(ta))
        for name in BITWISE:
            want = getattr(torch, name)(ta, _t(b))
            _same(getattr(nb.tensor(layout), name)(nb.tensor(b)), want)
            _same(getattr(FL, name)(layout, nb.tensor(b)), want)
            _same(getattr(nb.tensor(layout), name)(3), getattr(torch, name)(ta, 3))
    _same(nb.tensor(a) ^ nb.tensor(b), _t(a) ^ _t(b))
    _same(nb.tensor(a) ^ b, _t(a) ^ _t(b))
    _same(1 ^ nb.tensor(a), 1 ^ _t(a))
    mixed = torch.bitwise_xor(_t(a), _t(b.astype(np.int16)))
    _same(nb.tensor(a).bitwise_xor(nb.tensor(b.astype(np.int16))), mixed)


def test_bitwise_refuses_floats() -> None:
    with pytest.raises(NotImplementedError):
        torch.tensor([1.0]).bitwise_not()
    with pytest.raises(DTypeError, match="bitwise_not: only bool and integer tensors"):
        nb.tensor([1.0]).bitwise_not()
    with pytest.raises(DTypeError, match="bitwise_and: only bool and integer"):
        FL.bitwise_and(nb.tensor([1]), nb.tensor([1.0]))


# ----- all, any, count_nonzero, nonzero ----------------------------------------------------------
DIMS = [None, 0, -1, 1, (0, 2), [2, 0], (), (-3, 1, 2)]


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_, np.uint8])
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_all_any_match_pytorch(name: str, dtype: Any, dim: Any, keepdim: bool) -> None:
    a = _values((2, 3, 4), dtype, 6)
    a[0] = 1  # one slice all True
    for ta, layout in _layouts(a):
        want = getattr(ta, name)() if dim is None else getattr(ta, name)(dim, keepdim)
        x = nb.tensor(layout)
        _same(getattr(x, name)() if dim is None else getattr(x, name)(dim, keepdim), want)
    ta = _t(a)
    want = getattr(ta, name)() if dim is None else getattr(ta, name)(dim, keepdim)
    _same(getattr(FL, name)(a, dim, keepdim) if dim is not None else getattr(FL, name)(a), want)
    if dim is not None:
        _same(getattr(nb.tensor(a), name)(axis=dim, keepdims=keepdim), want)


@pytest.mark.parametrize("name", ["all", "any", "count_nonzero"])
def test_reductions_of_0d_and_empty_tensors(name: str) -> None:
    for a, dims in [(np.array(2.0), [None, 0, -1, (0,)]), (np.zeros((2, 0)), [None, 0, 1])]:
        for dim in dims:
            want = getattr(torch, name)(_t(a)) if dim is None else getattr(torch, name)(_t(a), dim)
            got = getattr(nb.tensor(a), name)() if dim is None else getattr(FL, name)(a, dim)
            _same(got, want)


def test_reductions_refuse_bad_dims() -> None:
    x = nb.tensor(np.ones((2, 3)))
    with pytest.raises(IndexError, match="all: dimension out of range"):
        x.all(2)
    with pytest.raises(ValueError, match="any: dim 0 appears multiple times"):
        x.any((0, -2))
    with pytest.raises(ValueError, match="count_nonzero: dim 1 appears multiple times"):
        x.count_nonzero([1, 1])


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.bool_])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2), ()])
def test_count_nonzero_matches_pytorch(dtype: Any, dim: Any) -> None:
    a = _values((2, 3, 4), dtype, 7)
    for ta, layout in _layouts(a):
        _same(nb.tensor(layout).count_nonzero(dim), torch.count_nonzero(ta, dim))
        _same(FL.count_nonzero(layout, dim=dim), torch.count_nonzero(ta, dim))


@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 0, 3), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_nonzero_and_argwhere_match_pytorch(shape: Any, dtype: Any) -> None:
    for seed in range(2):
        a = _values(shape, dtype, seed)
        for ta, layout in _layouts(a):
            x = nb.tensor(layout)
            _same(x.nonzero(), torch.nonzero(ta))
            _same(FL.argwhere(layout), torch.argwhere(ta))
            got, want = x.nonzero(as_tuple=True), ta.nonzero(as_tuple=True)
            assert isinstance(got, tuple) and len(got) == len(want)
            for g, w in zip(got, want):
                _same(g, w)
        _same(FL.nonzero(a), torch.nonzero(_t(a)))
    zero = nb.tensor(0.0).nonzero(as_tuple=True)
    assert len(zero) == 1 and zero[0].shape == (0,)


def test_dtype_questions() -> None:
    for dtype in (np.float16, np.float32, np.float64, np.int64, np.uint8, np.bool_):
        data = np.zeros(2, dtype=dtype)
        assert nb.tensor(data).is_floating_point() is _t(data).is_floating_point()
        assert FL.is_floating_point(data) is torch.is_floating_point(_t(data))
        assert nb.tensor(data).is_complex() is FL.is_complex(data) is False
    assert nb.tensor(np.zeros(1, np.complex64)).is_complex() is True
    for value in ([0.0], [[2.0]], 3, True, [False]):
        assert nb.tensor(value).is_nonzero() is torch.tensor(value).is_nonzero()
        assert FL.is_nonzero(value) is torch.is_nonzero(torch.tensor(value))
    with pytest.raises(ShapeError, match="is_nonzero: Boolean value of Tensor with more than"):
        nb.tensor([1.0, 2.0]).is_nonzero()
    with pytest.raises(ShapeError, match="with no values is ambiguous"):
        nb.tensor([]).is_nonzero()


# ----- the differentiable ones: values and gradients against PyTorch ----------------------------
def _grads(
    data: list[np.ndarray], ours: Callable[..., Any], theirs: Callable[..., Any], u: Any = None
) -> None:
    """Values, dtype, and the gradient of ⟨u, f(...)⟩ of every float input (u random unless
    given), in nabla and PyTorch."""
    xs = [nb.tensor(a, requires_grad=a.dtype.kind == "f") for a in data]
    ts = [_t(a, requires_grad=a.dtype.kind == "f") for a in data]
    got, want = ours(*xs), theirs(*ts)
    assert got.shape == tuple(want.shape)
    assert got.dtype == _np_dtype(want)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-6)
    if u is None:
        u = np.random.default_rng(3).standard_normal(got.shape).astype(got.dtype)
    got.backward(u)
    want.backward(torch.tensor(np.array(u)))
    for x, t in zip(xs, ts):
        if t.requires_grad:
            assert x.grad is not None
            np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6, atol=1e-7)


def _check_both_orders(fn: Callable[..., Any], *data: np.ndarray) -> None:
    xs = [nb.tensor(a.astype(np.float64), requires_grad=True) for a in data]
    assert nb.gradcheck(fn, *xs)
    assert nb.gradgradcheck(fn, *xs)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(
    ("xs", "cs", "ys"), [((2, 3), (2, 3), (3,)), ((3, 1), (4,), ()), ((), (), ())]
)
def test_where_method_matches_pytorch(dtype: Any, xs: Any, cs: Any, ys: Any) -> None:
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ys).astype(dtype)
    cond = rng.random(cs) < 0.5
    for _, layout in _layouts(a):
        _grads(
            [layout, b],
            lambda x, y: x.where(nb.tensor(cond), y),
            lambda x, y: x.where(torch.tensor(cond), y),
        )
    _grads([a], lambda x: x.where(cond, 2.5), lambda x: x.where(torch.tensor(cond), 2.5))
    _check_both_orders(lambda x, y: x.where(nb.tensor(cond), y), a, b)


def test_where_method_selects_and_refuses_a_non_bool_condition() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    y = nb.tensor([3.0, 4.0], requires_grad=True)
    x.where(nb.tensor([True, False]), y).backward(np.array([INF, INF], dtype=np.float32))
    np.testing.assert_array_equal(x.grad, [INF, 0.0])  # a select: inf · 0 would be nan
    np.testing.assert_array_equal(y.grad, [0.0, INF])
    with pytest.raises(DTypeError, match="where expected condition to be a boolean tensor"):
        x.where(nb.tensor([1.0, 0.0]), y)
    _same(nb.tensor([1, 2]).where(np.array([True, False]), 2.5),
          torch.tensor([1, 2]).where(torch.tensor([True, False]), 2.5))  # fmt: skip


@pytest.mark.parametrize("dtype", FLOATS)
def test_clamp_min_max_match_pytorch(dtype: Any) -> None:
    a = np.array([[-2.0, -1.0, 0.0], [0.5, 1.0, 3.0]], dtype=dtype)  # ties at the bounds
    lo = np.array([-1.0, 0.5, 0.0], dtype=dtype)
    for _, layout in _layouts(a):
        _grads([layout], lambda x: x.clamp_min(-1.0), lambda x: x.clamp_min(-1.0))
        _grads([layout], lambda x: FL.clamp_max(x, 1.0), lambda x: torch.clamp_max(x, 1.0))
        _grads([layout, lo], lambda x, m: x.clamp_min(m), lambda x, m: torch.clamp_min(x, m))
        _grads([layout, lo], lambda x, m: FL.clamp_max(x, m), lambda x, m: x.clamp_max(m))
    for v in (np.array(0.3, dtype=dtype), np.zeros((0, 3), dtype=dtype)):
        _grads([v], lambda x: x.clamp_min(0.5), lambda x: x.clamp_min(0.5))
    nans = np.array([NAN, 1.0], dtype=dtype)
    _grads([nans], lambda x: x.clamp_max(0.5), lambda x: x.clamp_max(0.5))
    ints = np.array([1, 2, 3])
    _same(nb.tensor(ints).clamp_min(1.5), torch.tensor(ints).clamp_min(1.5))
    _same(FL.clamp_max(ints, 2), torch.clamp_max(torch.tensor(ints), 2))
    away = np.array([-2.0, -0.3, 0.4, 2.0])
    _check_both_orders(lambda x: x.clamp_min(-0.5).clamp_max(1.0), away)
    _check_both_orders(lambda x, m: x.clamp_min(m), away, np.array([0.0, -0.2, 0.6, 1.0]))


@pytest.mark.parametrize("name", ["clamp_", "clip_", "clamp_min_", "clamp_max_"])
def test_in_place_clamps_match_pytorch(name: str) -> None:
    a = np.array([[-2.0, -0.5, 0.0], [0.5, 1.0, 3.0]])
    args = {"clamp_": (-0.5, 1.0), "clip_": (1.0, -0.5), "clamp_min_": (0.0,)}
    bound = args.get(name, (0.5,))
    x, t = nb.tensor(a.copy()), torch.tensor(a)
    view = x[0]
    assert getattr(x, name)(*bound) is x
    getattr(t, name)(*bound)
    _same(x, t)
    np.testing.assert_array_equal(view.numpy(), t[0].numpy())  # the same memory
    assert x._version >= 1
    # recorded on a non-leaf: the gradient passes where nothing was clamped
    leaf, tleaf = nb.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = leaf * 1.0, tleaf * 1.0
    getattr(FL, name)(y, *bound)
    getattr(torch, name)(ty, *bound)
    u = np.random.default_rng(0).standard_normal(a.shape)
    y.backward(u)
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(leaf.grad, tleaf.grad.numpy())


def test_in_place_clamp_refusals() -> None:
    with pytest.raises(GraphError, match="clamp_: a leaf tensor that requires grad"):
        nb.tensor([1.0], requires_grad=True).clamp_(0.0, 1.0)
    with pytest.raises(DTypeError, match="clamp_min_: result type float32 can't be cast"):
        nb.tensor([1, 2]).clamp_min_(1.5)
    with pytest.raises(ValueError, match="at least one of 'min' or 'max'"):
        nb.tensor([1.0]).clamp_()
    x = nb.tensor([1, 5])
    x.clamp_max_(3)
    _same(x, torch.tensor([1, 3]))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_nan_to_num_matches_pytorch(dtype: Any) -> None:
    a = np.array([[NAN, INF, -INF], [1.5, -0.0, 2.0]], dtype=dtype)
    settings: list[dict[str, Any]] = [{}, {"nan": 1.0}, {"posinf": 9.0, "neginf": -8.0}]
    settings.append({"posinf": 1e40})  # beyond float32: inf, as in PyTorch
    for kwargs in settings:
        for ta, layout in _layouts(a):
            _same(nb.tensor(layout).nan_to_num(**kwargs), ta.nan_to_num(**kwargs))
        _same(FL.nan_to_num(a, **kwargs), torch.nan_to_num(_t(a), **kwargs))
    if dtype != np.float16:
        u = np.array([[INF, NAN, 1.0], [2.0, 3.0, 4.0]], dtype=dtype)  # non-finite g selected away
        _grads([a], lambda x: x.nan_to_num(), lambda x: x.nan_to_num(), u=np.nan_to_num(u))
        x = nb.tensor(a, requires_grad=True)
        x.nan_to_num().backward(u)
        np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 0.0], [2.0, 3.0, 4.0]])
        _grads([a[1:]], lambda x: x.nan_to_num(), lambda x: x.nan_to_num())


def test_nan_to_num_integers_and_both_orders() -> None:
    ints = np.array([1, -2, 3])
    got = nb.tensor(ints).nan_to_num()
    _same(got, torch.tensor(ints).nan_to_num())
    assert not np.shares_memory(got.numpy(), ints)
    _same(nb.tensor([True]).nan_to_num(), torch.tensor([True]).nan_to_num())
    _check_both_orders(lambda x: (x * x).nan_to_num(), np.array([0.5, -1.5, 2.0]))


MASK_CASES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3)), ((), ())]
MASK_CASES += [((), (4,)), ((0, 2), (2,)), ((2,), ())]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(("xs", "ms"), MASK_CASES)
def test_masked_select_matches_pytorch(dtype: Any, xs: Any, ms: Any) -> None:
    rng = np.random.default_rng(9)
    a = rng.standard_normal(xs).astype(dtype)
    mask = rng.random(ms) < 0.6
    for _, layout in _layouts(a):
        _grads([layout], lambda x: x.masked_select(nb.tensor(mask)),
               lambda x: x.masked_select(torch.tensor(mask)))  # fmt: skip
        _grads([layout], lambda x: FL.masked_select(x, mask),
               lambda x: torch.masked_select(x, torch.tensor(mask)))  # fmt: skip
    if a.size:
        _check_both_orders(lambda x: FL.masked_select(x * x, mask), a)


def test_masked_select_refusals_and_select() -> None:
    x = nb.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(DTypeError, match="masked_select: expected a bool mask, got dtype uint8"):
        x.masked_select(nb.tensor(np.array([1, 0, 1], dtype=np.uint8)))
    with pytest.raises(ShapeError, match=r"masked_select: x has shape \(3,\)"):
        x.masked_select(nb.tensor([True, False]))
    x.masked_select(nb.tensor([True, False, True])).backward(np.array([INF, 1.0], np.float32))
    np.testing.assert_array_equal(x.grad, [INF, 0.0, 1.0])  # the unselected entry stays 0


def test_masks_are_recomputed_by_a_compiled_step() -> None:
    def step(x: Any) -> Any:
        return x.nan_to_num().masked_select(x.isfinite().logical_and(x.gt(0))).sum()

    compiled = nb.compile(step)
    for data in ([1.0, NAN, 2.0], [-1.0, 3.0, INF], [4.0, 5.0, -6.0]):
        x = nb.tensor(data)
        assert float(compiled(x)) == float(step(x))


@pytest.mark.parametrize(
    ("a", "b"),
    [([1, 2, 12], [3, 1, 10]), ([True, False, True], [True, True, False]), ([7], [1, 2, 4])],
)
def test_operators_and_or_invert_are_torchs_bitwise_ones(a: Any, b: Any) -> None:
    """``&``, ``|``, ``~`` (and reflected with a number): bitwise on integers, logical on bools,
    as in PyTorch; a floating operand is refused."""
    x, y = nb.tensor(a), nb.tensor(b)
    tx, ty = torch.tensor(a), torch.tensor(b)
    for got, want in (
        (x & y, tx & ty),
        (x | y, tx | ty),
        (~x, ~tx),
        (
            x & 6 if x.dtype != np.bool_ else x & True,
            tx & 6 if tx.dtype != torch.bool else tx & True,
        ),
        (
            5 | x if x.dtype != np.bool_ else False | x,
            5 | tx if tx.dtype != torch.bool else False | tx,
        ),
    ):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.numpy().dtype == want.numpy().dtype
    with pytest.raises(DTypeError, match="bitwise_and"):
        nb.tensor([1.0]) & nb.tensor([1.0])
